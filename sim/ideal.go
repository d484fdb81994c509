package sim

// The ideal allocation: what one perfect limiter with exact global knowledge
// would admit in a window. It is written here from the definition, on
// purpose apart from package wfq, so that the simulator checks the mesh
// against an independent computation.
//
//  1. A client never gets more than e = min(demand, limit).
//  2. Zero-weight clients first get their floor min(e, floor); if the floors
//     exceed the capacity they are scaled down by one common factor.
//  3. Weighted clients share what is left by weighted max-min fairness
//     (water-filling): each gets min(e, λ·w) for the level λ that uses it
//     all, or e if everything fits.
//  4. What weighted clients leave goes to zero-weight clients beyond their
//     floors, in equal extra amounts, each up to its e (unweighted
//     water-filling).
//
// Without a capacity every client gets e.

import (
	"math"
	"sort"
)

// claim is one client's input to the ideal allocation, in requests per
// window.
type claim struct {
	weight int
	demand float64
	limit  float64 // < 0: no own limit
	floor  float64 // used for zero-weight clients only
}

// idealShares returns each claim's ideal admitted count for a window of the
// given capacity; capacity < 0 means no shared capacity. out is reused when
// large enough.
func idealShares(capacity float64, claims []claim, out []float64) []float64 {
	if cap(out) < len(claims) {
		out = make([]float64, len(claims))
	}
	out = out[:len(claims)]
	want := make([]float64, len(claims))
	for i, c := range claims {
		e := max(c.demand, 0)
		if c.limit >= 0 {
			e = min(e, c.limit)
		}
		want[i] = e
		out[i] = 0
	}
	if capacity < 0 {
		copy(out, want)
		return out
	}
	left := capacity

	// 2. floors of zero-weight clients.
	var zero, weighted []int
	floorSum := 0.0
	for i, c := range claims {
		if c.weight == 0 {
			zero = append(zero, i)
			out[i] = min(want[i], max(c.floor, 0))
			floorSum += out[i]
		} else {
			weighted = append(weighted, i)
		}
	}
	if floorSum > left {
		f := left / floorSum
		for _, i := range zero {
			out[i] *= f
		}
		return out
	}
	left -= floorSum

	// 3. weighted water-filling.
	left = waterFill(left, weighted, func(i int) float64 { return float64(claims[i].weight) },
		func(i int) float64 { return want[i] }, out)

	// 4. scavengers: equal extra on top of the floors.
	waterFill(left, zero, func(int) float64 { return 1 },
		func(i int) float64 { return want[i] - out[i] }, out)
	return out
}

// waterFill adds to out[i], for i in idx, min(room(i), λ·weight(i)) at the
// level λ that spends budget (or room(i) when everything fits), and returns
// what is left of budget.
func waterFill(budget float64, idx []int, weight, room func(int) float64, out []float64) float64 {
	type item struct {
		i    int
		w, r float64
	}
	items := make([]item, 0, len(idx))
	for _, i := range idx {
		if r := room(i); r > 0 {
			items = append(items, item{i, weight(i), r})
		}
	}
	// Satisfy clients in order of room per weight: the ones that want the
	// least relative to their weight fill first.
	sort.Slice(items, func(a, b int) bool {
		ra, rb := items[a].r/items[a].w, items[b].r/items[b].w
		if ra != rb {
			return ra < rb
		}
		return items[a].i < items[b].i
	})
	wsum := 0.0
	for _, it := range items {
		wsum += it.w
	}
	for k, it := range items {
		if budget <= 0 {
			break
		}
		level := budget / wsum
		if it.r <= level*it.w {
			out[it.i] += it.r
			budget -= it.r
			wsum -= it.w
			continue
		}
		// Nobody left fits: all get the same level.
		for _, rest := range items[k:] {
			out[rest.i] += level * rest.w
		}
		return 0
	}
	return math.Max(budget, 0)
}
