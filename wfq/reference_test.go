package wfq

import "math"

// refAllocate is a naive reference for Allocate, written from the package
// documentation without reusing any of the package's code: sanitise each
// input, grant floors (scaled by capacity/sum when they do not fit), then
// fill with the classic loop "give every unfrozen client level·weight,
// freeze those that are satisfied, repeat". O(n²), which is fine for the
// small inputs the property tests use. It assumes sums do not overflow.
func refAllocate(capacity float64, claims []Claim) []float64 {
	n := len(claims)
	out := make([]float64, n)
	if n == 0 || math.IsNaN(capacity) || capacity <= 0 {
		return out
	}

	e := make([]float64, n)
	w := make([]float64, n)
	for i, c := range claims {
		e[i] = refDemand(c)
		if c.Weight > 0 {
			w[i] = float64(c.Weight)
		}
	}
	if math.IsInf(capacity, 1) {
		return e
	}

	floorSum := 0.0
	for i, c := range claims {
		if w[i] > 0 {
			continue
		}
		out[i] = refFloor(c)
		floorSum += out[i]
	}
	if floorSum > capacity {
		for i := range out {
			out[i] *= capacity / floorSum
		}
		return out
	}

	// Weighted round.
	isWeighted := func(i int) bool { return w[i] > 0 }
	want := func(i int) float64 { return e[i] }
	left := refFill(capacity-floorSum, n, isWeighted, want, func(i int) float64 { return w[i] }, out)

	// Scavenger round, over what each scavenger wants beyond its floor.
	floors := append([]float64(nil), out...)
	isScavenger := func(i int) bool { return w[i] == 0 }
	wantMore := func(i int) float64 { return e[i] - floors[i] }
	refFill(left, n, isScavenger, wantMore, func(int) float64 { return 1 }, out)
	return out
}

// refFill adds to out[i], for each i with in(i), a max-min fair share of
// budget by progressive freezing, and returns the unused budget.
func refFill(budget float64, n int, in func(int) bool, want, weight func(int) float64, out []float64) float64 {
	active := make([]bool, n)
	remaining := 0
	for i := range active {
		if in(i) {
			active[i] = true
			remaining++
		}
	}
	for remaining > 0 {
		var totalW float64
		for i, a := range active {
			if a {
				totalW += weight(i)
			}
		}
		level := math.Max(0, budget) / totalW
		froze := false
		for i, a := range active {
			if a && want(i) <= level*weight(i) {
				out[i] += want(i)
				budget -= want(i)
				active[i] = false
				remaining--
				froze = true
			}
		}
		if !froze {
			for i, a := range active {
				if a {
					out[i] += level * weight(i)
				}
			}
			return 0
		}
	}
	return math.Max(0, budget)
}

// refDemand is the effective demand min(Demand, Cap) as documented.
func refDemand(c Claim) float64 {
	d := c.Demand
	if math.IsNaN(d) || d < 0 {
		d = 0
	}
	if c.Cap > 0 && !math.IsInf(c.Cap, 1) && c.Cap < d {
		d = c.Cap
	}
	return d
}

// refFloor is the floor a claim asks for before scaling: min(e, Floor) for
// zero-weight claims, 0 for weighted ones.
func refFloor(c Claim) float64 {
	if c.Weight > 0 {
		return 0
	}
	f := c.Floor
	if math.IsNaN(f) || f < 0 {
		f = 0
	}
	return math.Min(refDemand(c), f)
}
