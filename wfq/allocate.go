package wfq

import "math"

// Allocate divides capacity among claims by weighted max-min fairness with
// zero-weight floors, as described in the package documentation, and
// returns each claim's share in the claim's position.
//
// The result is written into out, reusing its storage when
// cap(out) >= len(claims) (the returned slice then shares out's backing
// array); otherwise a new slice is allocated. The contents of out on entry
// are ignored. Allocate uses out itself as its only scratch space, so with
// a large enough out it allocates nothing.
//
// capacity <= 0 or NaN gives every claim 0, floors included: a floor is a
// share of the capacity, not a rate of its own. capacity = +Inf means there is
// no shared limit: every claim gets its effective demand min(Demand, Cap).
//
// It runs in O(n log n) time for n claims, never panics, and is a pure
// function of its arguments (deterministic, no shared state), so it is safe
// for concurrent use as long as callers do not share out.
func Allocate(capacity float64, claims []Claim, out []float64) []float64 {
	n := len(claims)
	if cap(out) >= n {
		out = out[:n]
	} else {
		out = make([]float64, n)
	}
	switch {
	case n == 0:
		return out
	case !(capacity > 0): // also NaN
		clear(out)
		return out
	case math.IsInf(capacity, 1):
		for i := range claims {
			out[i] = claims[i].demand()
		}
		return out
	}

	// Floors come first: they are the only thing a scavenger is promised.
	floors := fitFloors(capacity, claims)
	budget := max(0, capacity-floors.total)

	weighted := pool{}
	lambda, leftover := weighted.level(claims, budget, out)

	scavengers := pool{scavengers: true, floors: &floors}
	mu, _ := scavengers.level(claims, leftover, out)

	// Every share is a closed form of the claim and the two water levels, so
	// out, used as scratch above, can now be overwritten in place.
	for i := range claims {
		c := &claims[i]
		e := c.demand()
		if w := c.weight(); w > 0 {
			out[i] = min(e, lambda*w)
			continue
		}
		f := floors.grant(c)
		// The outer min keeps rounding in f + (e-f) from exceeding e.
		out[i] = min(e, f+min(e-f, mu))
	}
	return out
}
