package sim

import (
	"math"
	"testing"
)

func TestIdealShares(t *testing.T) {
	cases := []struct {
		name     string
		capacity float64
		claims   []claim
		want     []float64
	}{
		{"two saturating, weights 2 and 1", 900,
			[]claim{{weight: 2, demand: 1000, limit: -1}, {weight: 1, demand: 1000, limit: -1}},
			[]float64{600, 300}},
		{"everything fits", 1000,
			[]claim{{weight: 1, demand: 100, limit: -1}, {weight: 5, demand: 200, limit: -1}},
			[]float64{100, 200}},
		{"a small client gets all it wants, the rest split by weight", 1000,
			[]claim{{weight: 1, demand: 100, limit: -1}, {weight: 1, demand: 900, limit: -1}, {weight: 2, demand: 900, limit: -1}},
			[]float64{100, 300, 600}},
		{"own limit caps a share and frees capacity", 1000,
			[]claim{{weight: 3, demand: 900, limit: -1}, {weight: 1, demand: 500, limit: 200}, {weight: 2, demand: 600, limit: -1}},
			// level 1000/6 = 166.67 < 200: nobody fits, all share one level.
			[]float64{500, 166.66666666666666, 333.3333333333333}},
		{"limit below the level", 1000,
			[]claim{{weight: 1, demand: 500, limit: 100}, {weight: 1, demand: 1000, limit: -1}},
			[]float64{100, 900}},
		{"zero weight gets its floor while capacity is saturated", 1000,
			[]claim{{weight: 2, demand: 800, limit: -1}, {weight: 1, demand: 800, limit: -1}, {weight: 0, demand: 200, limit: -1, floor: 50}},
			[]float64{633.3333333333334, 316.6666666666667, 50}},
		{"zero weight scavenges what weighted clients leave", 1000,
			[]claim{{weight: 1, demand: 300, limit: -1}, {weight: 0, demand: 900, limit: -1, floor: 10}},
			[]float64{300, 700}},
		{"scavengers split the leftover equally beyond their floors", 1000,
			[]claim{{weight: 1, demand: 600, limit: -1}, {weight: 0, demand: 900, limit: -1, floor: 100}, {weight: 0, demand: 150, limit: -1, floor: 10}},
			// floors 100+10, weighted 600, leftover 290: second wants 140 more, gets 140; first gets 150.
			[]float64{600, 250, 150}},
		{"floors above capacity are scaled", 100,
			[]claim{{weight: 0, demand: 500, limit: -1, floor: 100}, {weight: 0, demand: 500, limit: -1, floor: 100}, {weight: 1, demand: 50, limit: -1}},
			[]float64{50, 50, 0}},
		{"floor above demand is the demand", 100,
			[]claim{{weight: 0, demand: 3, limit: -1, floor: 10}, {weight: 1, demand: 500, limit: -1}},
			[]float64{3, 97}},
		{"no capacity: demand capped by limit", -1,
			[]claim{{weight: 1, demand: 500, limit: 200}, {weight: 0, demand: 70, limit: -1}},
			[]float64{200, 70}},
		{"rate 0 blocks", 1000,
			[]claim{{weight: 1, demand: 500, limit: 0}, {weight: 1, demand: 2000, limit: -1}},
			[]float64{0, 1000}},
		{"zero capacity", 0,
			[]claim{{weight: 1, demand: 5, limit: -1}, {weight: 0, demand: 5, limit: -1, floor: 1}},
			[]float64{0, 0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := idealShares(tc.capacity, tc.claims, nil)
			for i := range tc.want {
				if math.Abs(got[i]-tc.want[i]) > 1e-9 {
					t.Fatalf("shares = %v, want %v", got, tc.want)
				}
			}
		})
	}
}

// TestIdealSharesProperties checks, over seeded random inputs, that the
// ideal is work-conserving, never above demand or limit, and max-min fair:
// weighted clients left short share one level no lower than any satisfied
// weighted client's.
func TestIdealSharesProperties(t *testing.T) {
	rng := newTestRand(42)
	for it := 0; it < 2000; it++ {
		n := 1 + rng.IntN(8)
		claims := make([]claim, n)
		sumWant := 0.0
		for i := range claims {
			c := claim{weight: rng.IntN(4), demand: float64(rng.IntN(500)), limit: -1, floor: float64(rng.IntN(20))}
			if rng.IntN(3) == 0 {
				c.limit = float64(rng.IntN(300))
			}
			claims[i] = c
			e := c.demand
			if c.limit >= 0 {
				e = min(e, c.limit)
			}
			sumWant += e
		}
		capacity := float64(rng.IntN(1500))
		got := idealShares(capacity, claims, nil)
		sum := 0.0
		for i, c := range claims {
			e := c.demand
			if c.limit >= 0 {
				e = min(e, c.limit)
			}
			if got[i] < -1e-9 || got[i] > e+1e-9 {
				t.Fatalf("case %d: share %v outside [0, %v] (%+v)", it, got[i], e, claims)
			}
			sum += got[i]
		}
		if math.Abs(sum-min(capacity, sumWant)) > 1e-6 {
			t.Fatalf("case %d: Σ shares %v, want min(%v, %v): %+v → %v", it, sum, capacity, sumWant, claims, got)
		}
		level, maxSat := math.Inf(1), 0.0
		for i, c := range claims {
			if c.weight == 0 {
				continue
			}
			e := c.demand
			if c.limit >= 0 {
				e = min(e, c.limit)
			}
			l := got[i] / float64(c.weight)
			if got[i] < e-1e-6 {
				if !math.IsInf(level, 1) && math.Abs(level-l) > 1e-6 {
					t.Fatalf("case %d: short clients on different levels: %+v → %v", it, claims, got)
				}
				level = l
			} else {
				maxSat = max(maxSat, l)
			}
		}
		if !math.IsInf(level, 1) && maxSat > level+1e-6 {
			t.Fatalf("case %d: a satisfied client is above the level of the short ones: %+v → %v", it, claims, got)
		}
	}
}
