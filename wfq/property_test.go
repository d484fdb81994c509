package wfq

import (
	"math"
	"math/rand"
	"reflect"
	"testing"
	"testing/quick"

	"github.com/stretchr/testify/require"
)

// scenario is a random, well-formed Allocate input: finite moderate values
// drawn partly from a small grid so that ties, zeros, exact fits and
// saturation all occur often.
type scenario struct {
	Capacity float64
	Claims   []Claim
}

var grid = []float64{0, 1, 10, 100, 250, 1000}

func pick(r *rand.Rand) float64 {
	if r.Intn(2) == 0 {
		return grid[r.Intn(len(grid))]
	}
	return r.Float64() * 1000
}

func (scenario) Generate(r *rand.Rand, size int) reflect.Value {
	n := r.Intn(min(size, 40) + 1)
	s := scenario{Claims: make([]Claim, n)}
	var sumE float64
	for i := range s.Claims {
		c := Claim{Demand: pick(r)}
		switch r.Intn(10) {
		case 0, 1, 2:
			c.Weight = 0
		case 3:
			c.Weight = 1 + r.Int63n(1_000_000)
		default:
			c.Weight = 1 + r.Int63n(10)
		}
		switch r.Intn(6) {
		case 0:
			c.Cap = pick(r)
		case 1:
			c.Cap = math.Inf(1)
		case 2:
			c.Cap = -1
		}
		if r.Intn(2) == 0 {
			c.Floor = pick(r) / 4
		}
		s.Claims[i] = c
		sumE += refDemand(c)
	}
	switch r.Intn(10) {
	case 0:
		s.Capacity = grid[r.Intn(len(grid))]
	case 1:
		s.Capacity = math.Inf(1)
	case 2:
		s.Capacity = sumE // exact fit
	default:
		s.Capacity = r.Float64() * 1.5 * math.Max(sumE, 1)
	}
	return reflect.ValueOf(s)
}

// garbage is a random input with hostile values: NaN, infinities,
// negatives, extreme weights. Only the invariants are checked on it.
type garbage scenario

func (garbage) Generate(r *rand.Rand, size int) reflect.Value {
	wild := func() float64 {
		switch r.Intn(8) {
		case 0:
			return math.NaN()
		case 1:
			return math.Inf(1)
		case 2:
			return math.Inf(-1)
		case 3:
			return -r.Float64() * 100
		case 4:
			return r.Float64() * 1e12
		default:
			return pick(r)
		}
	}
	n := r.Intn(min(size, 40) + 1)
	g := garbage{Capacity: wild(), Claims: make([]Claim, n)}
	for i := range g.Claims {
		w := []int64{0, 1, 3, -1, math.MaxInt64, math.MinInt64}[r.Intn(6)]
		g.Claims[i] = Claim{Weight: w, Demand: wild(), Cap: wild(), Floor: wild()}
	}
	return reflect.ValueOf(g)
}

func quickConfig(seed int64) *quick.Config {
	return &quick.Config{MaxCount: 3000, Rand: rand.New(rand.NewSource(seed))}
}

// TestAllocateMatchesReference compares Allocate with the naive reference
// on random inputs.
func TestAllocateMatchesReference(t *testing.T) {
	f := func(s scenario) bool {
		got := Allocate(s.Capacity, s.Claims, nil)
		want := refAllocate(s.Capacity, s.Claims)
		tol := 1e-9 * math.Max(1, s.Capacity)
		if math.IsInf(s.Capacity, 1) {
			tol = 0
		}
		for i := range want {
			if !(math.Abs(got[i]-want[i]) <= tol) && got[i] != want[i] {
				t.Logf("capacity %v claims %+v\n got %v\nwant %v", s.Capacity, s.Claims, got, want)
				return false
			}
		}
		return len(got) == len(want)
	}
	require.NoError(t, quick.Check(f, quickConfig(1)))
}

// TestAllocateInvariants checks the documented guarantees on random inputs.
func TestAllocateInvariants(t *testing.T) {
	f := func(s scenario) bool {
		out := Allocate(s.Capacity, s.Claims, nil)
		if err := checkInvariants(s.Capacity, s.Claims, out); err != nil {
			t.Logf("capacity %v claims %+v out %v: %v", s.Capacity, s.Claims, out, err)
			return false
		}
		return true
	}
	require.NoError(t, quick.Check(f, quickConfig(2)))
}

// TestAllocateGarbage checks that hostile inputs never panic and still
// satisfy every guarantee.
func TestAllocateGarbage(t *testing.T) {
	f := func(g garbage) bool {
		out := Allocate(g.Capacity, g.Claims, nil)
		if err := checkInvariants(g.Capacity, g.Claims, out); err != nil {
			t.Logf("capacity %v claims %+v out %v: %v", g.Capacity, g.Claims, out, err)
			return false
		}
		return true
	}
	require.NoError(t, quick.Check(f, quickConfig(3)))
}

// TestAllocateOrderIndependent checks that a client's share does not depend
// on where its claim sits in the slice.
func TestAllocateOrderIndependent(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	f := func(s scenario) bool {
		perm := r.Perm(len(s.Claims))
		shuffled := make([]Claim, len(s.Claims))
		for i, p := range perm {
			shuffled[p] = s.Claims[i]
		}
		a := Allocate(s.Capacity, s.Claims, nil)
		b := Allocate(s.Capacity, shuffled, nil)
		tol := 1e-9 * math.Max(1, s.Capacity)
		for i, p := range perm {
			if !(math.Abs(a[i]-b[p]) <= tol) && a[i] != b[p] {
				t.Logf("claim %d: %v in place, %v shuffled", i, a[i], b[p])
				return false
			}
		}
		return true
	}
	require.NoError(t, quick.Check(f, quickConfig(5)))
}

// TestAllocateMonotoneInCapacity checks that more capacity never takes
// anything away from any client.
func TestAllocateMonotoneInCapacity(t *testing.T) {
	f := func(s scenario, grow uint16) bool {
		more := s.Capacity * (1 + float64(grow)/1000)
		a := Allocate(s.Capacity, s.Claims, nil)
		b := Allocate(more, s.Claims, nil)
		tol := 1e-9 * math.Max(1, more)
		for i := range a {
			if b[i] < a[i]-tol {
				t.Logf("capacity %v -> %v: claim %d went %v -> %v", s.Capacity, more, i, a[i], b[i])
				return false
			}
		}
		return true
	}
	require.NoError(t, quick.Check(f, quickConfig(6)))
}
