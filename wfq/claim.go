package wfq

// Claim is one client's input to the allocation. All quantities are rates in
// the same unit (e.g. requests per second) as the capacity passed to Allocate.
//
// The zero Claim is a scavenger that wants nothing and receives nothing.
// Allocate never rejects a Claim: out-of-range values are read as described
// on each field, because the inputs are measurements from a live mesh and one
// bad sample must not take the allocator down.
type Claim struct {
	// Weight is the client's share of contended capacity relative to the other
	// weighted clients. A client with Weight > 0 takes part in weighted
	// max-min fair sharing. Weight 0 (or negative, read as 0) makes the client
	// a scavenger: it keeps its Floor and otherwise gets only capacity that
	// the weighted clients leave unused.
	Weight int64

	// Demand is the client's measured demand. Negative or NaN is read as 0.
	// +Inf means "takes everything it is given" (bounded by Cap if set).
	Demand float64

	// Cap is the client's own limit: it never receives more than Cap.
	// Cap <= 0, NaN or +Inf means the client has no limit of its own.
	// (0 is "unset" rather than "limit 0" so that the zero Claim needs no
	// special value; a client that must get nothing should have Demand 0.)
	Cap float64

	// Floor is the minimum a zero-weight client keeps even when weighted
	// clients saturate the capacity, as long as it wants that much. Negative
	// or NaN is read as 0. It is ignored when Weight > 0: a weighted client's
	// guarantee is its weight.
	Floor float64
}

// nonNeg reads NaN and negative values as 0, so that one garbage measurement
// cannot turn every sum it enters into NaN.
func nonNeg(x float64) float64 {
	if !(x > 0) { // also true for NaN
		return 0
	}
	return x
}

// weight is the claim's weight as a float; sums of int64 weights could
// overflow, sums of their float images cannot.
func (c *Claim) weight() float64 {
	if c.Weight <= 0 {
		return 0
	}
	return float64(c.Weight)
}

// demand is the effective demand e = min(Demand, Cap), with Cap applied only
// when it is a positive finite number.
func (c *Claim) demand() float64 {
	d := nonNeg(c.Demand)
	if c.Cap > 0 && c.Cap < d { // false for NaN and +Inf caps: no limit
		d = c.Cap
	}
	return d
}

// wantedFloor is the floor a zero-weight claim asks for, min(e, Floor),
// before any scaling to fit the capacity. It is 0 for weighted claims.
func (c *Claim) wantedFloor() float64 {
	if c.Weight > 0 {
		return 0
	}
	return min(c.demand(), nonNeg(c.Floor))
}
