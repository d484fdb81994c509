package wfq

import "math"

// floorFit records how the zero-weight floors were fitted into the capacity,
// so that each claim's granted floor can be recomputed from the claim alone
// (Allocate keeps no per-claim scratch besides out).
type floorFit struct {
	// scaled is set when the wanted floors together exceed the capacity and
	// are scaled down proportionally to sum to it.
	scaled bool
	// unit is the largest wanted floor. When scaled, floors are measured in
	// this unit so that neither their sum nor the scaling can overflow.
	unit float64
	// factor turns a floor measured in unit into the granted floor.
	factor float64
	// total is the sum of the granted floors; never more than the capacity.
	total float64
}

// fitFloors decides the granted floors for a finite positive capacity:
// min(e, Floor) for each zero-weight claim, scaled down proportionally when
// they do not all fit.
func fitFloors(capacity float64, claims []Claim) floorFit {
	var unit, sum float64
	for i := range claims {
		f := claims[i].wantedFloor()
		unit = max(unit, f)
		sum += f // may overflow to +Inf; then it certainly exceeds capacity
	}
	if sum <= capacity {
		return floorFit{unit: unit, total: sum}
	}
	var q float64 // the sum in units of the largest floor: each term <= 1
	for i := range claims {
		q += inUnits(claims[i].wantedFloor(), unit)
	}
	return floorFit{scaled: true, unit: unit, factor: capacity / q, total: capacity}
}

// inUnits is f/unit, with the limit case of infinite floors (a claim with
// infinite demand and infinite floor) read as "the infinite floors share the
// capacity equally and finite floors are negligible beside them".
func inUnits(f, unit float64) float64 {
	if math.IsInf(unit, 1) {
		if math.IsInf(f, 1) {
			return 1
		}
		return 0
	}
	return f / unit
}

// grant is the floor granted to c: at most min(e, Floor), and 0 for weighted
// claims.
func (ff *floorFit) grant(c *Claim) float64 {
	f := c.wantedFloor()
	if !ff.scaled || f == 0 {
		return f
	}
	// min guards against rounding lifting a scaled floor above the wanted one.
	return min(f, inUnits(f, ff.unit)*ff.factor)
}
