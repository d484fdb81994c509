package wfq

import (
	"math"
	"slices"
)

// pool selects the claims one water level is computed over and says what
// each member wants and weighs in that round. Two rounds exist: the weighted
// clients over what the floors leave, then the scavengers (equal weights,
// wanting what is left of their demand above the floor) over what the
// weighted clients leave.
type pool struct {
	scavengers bool
	floors     *floorFit // used by the scavenger round only
}

// member reports whether c takes part in this round, and if so its want and
// weight (weight > 0).
func (p *pool) member(c *Claim) (want, weight float64, ok bool) {
	if !p.scavengers {
		w := c.weight()
		return c.demand(), w, w > 0
	}
	if c.Weight > 0 {
		return 0, 0, false
	}
	return max(0, c.demand()-p.floors.grant(c)), 1, true
}

// fill is what the members take in total at water level x:
// the sum of min(want, x·weight).
func (p *pool) fill(claims []Claim, x float64) float64 {
	var sum float64
	for i := range claims {
		if want, w, ok := p.member(&claims[i]); ok {
			sum += min(want, x*w)
		}
	}
	return sum
}

// level finds the water level λ at which the members, each given
// min(want, λ·weight), take exactly budget; or λ = +Inf with the unused
// budget as leftover when they all fit. scratch must have room for one
// float64 per claim; its contents are overwritten.
//
// fill is piecewise linear and non-decreasing in λ with breakpoints at the
// members' want/weight ratios. Sorting the ratios (O(n log n)) and binary
// searching for the first breakpoint where fill reaches the budget
// (O(n log n): log n evaluations of an O(n) fill) locates the linear piece
// that holds λ, which is then solved exactly. This needs no per-claim
// bookkeeping beyond the sorted ratios, so out can serve as the scratch and
// Allocate allocates nothing.
func (p *pool) level(claims []Claim, budget float64, scratch []float64) (lambda, leftover float64) {
	keys := scratch[:0]
	var total float64
	for i := range claims {
		if want, w, ok := p.member(&claims[i]); ok {
			keys = append(keys, want/w) // never grows: at most len(claims) members
			total += want
		}
	}
	if total <= budget {
		return math.Inf(1), budget - total
	}
	slices.Sort(keys)

	// Smallest k with fill(keys[k]) >= budget. fill at the largest ratio is
	// the total, which exceeds the budget, so only rounding can leave k at
	// the last index without the predicate holding; the solve below is
	// still right then.
	lo, hi := 0, len(keys)-1
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if p.fill(claims, keys[mid]) >= budget {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	top := keys[lo]
	bottom := 0.0
	if lo > 0 {
		bottom = keys[lo-1]
	}

	// On (bottom, top] members with a smaller ratio than top are satisfied
	// and the rest receive λ·weight, so budget = satisfied + λ·rest.
	var satisfied, rest float64
	for i := range claims {
		if want, w, ok := p.member(&claims[i]); ok {
			if want/w < top {
				satisfied += want
			} else {
				rest += w
			}
		}
	}
	// rest > 0: the member whose ratio is top counts in it.
	lambda = (budget - satisfied) / rest
	return min(max(lambda, bottom), top), 0
}
