package wfq

import (
	"fmt"
	"math"
)

// checkInvariants verifies the guarantees listed in the package
// documentation for one call, independently of how out was computed.
// Tolerances are relative to the capacity (1e-9).
func checkInvariants(capacity float64, claims []Claim, out []float64) error {
	if len(out) != len(claims) {
		return fmt.Errorf("len(out) = %d, want %d", len(out), len(claims))
	}
	e := make([]float64, len(claims))
	for i, c := range claims {
		e[i] = refDemand(c)
	}
	if math.IsNaN(capacity) || capacity <= 0 {
		for i, x := range out {
			if x != 0 {
				return fmt.Errorf("capacity %v: out[%d] = %v, want 0", capacity, i, x)
			}
		}
		return nil
	}
	if math.IsInf(capacity, 1) {
		for i, x := range out {
			if x != e[i] {
				return fmt.Errorf("infinite capacity: out[%d] = %v, want e = %v", i, x, e[i])
			}
		}
		return nil
	}

	tol := 1e-9 * capacity
	var sum, sumE, sumF float64
	for i, x := range out {
		if math.IsNaN(x) || x < 0 || x > e[i] {
			return fmt.Errorf("out[%d] = %v outside [0, e=%v]", i, x, e[i])
		}
		sum += x
		sumE += e[i]
		sumF += refFloor(claims[i])
	}
	if sum > capacity+tol {
		return fmt.Errorf("sum %v exceeds capacity %v", sum, capacity)
	}
	if want := math.Min(capacity, sumE); math.Abs(sum-want) > tol {
		return fmt.Errorf("not work-conserving: sum %v, want min(capacity, Σe) = %v", sum, want)
	}

	// Weighted clients short of their demand share one water level, and no
	// satisfied weighted client sits above it.
	level, short := 0.0, false
	for i, c := range claims {
		if c.Weight > 0 && out[i] < e[i]-tol {
			level = math.Max(level, out[i]/float64(c.Weight))
			short = true
		}
	}
	if short {
		for i, c := range claims {
			if c.Weight <= 0 {
				continue
			}
			w := float64(c.Weight)
			if out[i] < e[i]-tol && out[i] < level*w-tol {
				return fmt.Errorf("short client %d at %v/w=%v below level %v", i, out[i], out[i]/w, level)
			}
			if out[i] > level*w+tol {
				return fmt.Errorf("client %d at %v/w=%v above level %v", i, out[i], out[i]/w, level)
			}
		}
	}

	// Scavengers keep their floor share, and get nothing more while a
	// weighted client is short.
	scale := 1.0
	if sumF > capacity {
		scale = capacity / sumF
	}
	for i, c := range claims {
		if c.Weight > 0 {
			continue
		}
		f := refFloor(c) * scale
		if math.IsInf(sumF, 1) {
			f = 0 // infinite floors: no finite share to check
		}
		if out[i] < f-tol {
			return fmt.Errorf("scavenger %d got %v below its floor share %v", i, out[i], f)
		}
		if short && !math.IsInf(sumF, 1) && out[i] > f+tol {
			return fmt.Errorf("scavenger %d got %v above its floor %v while weighted clients are short", i, out[i], f)
		}
	}
	return nil
}
