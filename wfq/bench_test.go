package wfq

import (
	"math/rand"
	"testing"
)

// benchClaims builds n claims with a fixed seed: a mix of weights, caps,
// and scavengers with floors, with total demand well above 1e5.
func benchClaims(n int) []Claim {
	r := rand.New(rand.NewSource(42))
	claims := make([]Claim, n)
	for i := range claims {
		c := Claim{Weight: r.Int63n(10), Demand: r.Float64() * 100}
		if r.Intn(4) == 0 {
			c.Cap = r.Float64() * 50
		}
		if c.Weight == 0 {
			c.Floor = r.Float64()
		}
		claims[i] = c
	}
	return claims
}

func BenchmarkAllocate(b *testing.B) {
	claims := benchClaims(10_000)
	out := make([]float64, len(claims))
	b.ReportAllocs()
	for b.Loop() {
		out = Allocate(1e5, claims, out)
	}
}
