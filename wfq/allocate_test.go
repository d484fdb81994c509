package wfq

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

var inf = math.Inf(1)

// TestAllocateTable checks hand-worked cases with exact answers.
func TestAllocateTable(t *testing.T) {
	tests := []struct {
		name     string
		capacity float64
		claims   []Claim
		want     []float64
	}{
		{
			name:     "weights 2 and 1 both saturating",
			capacity: 1000,
			claims:   []Claim{{Weight: 2, Demand: 5000}, {Weight: 1, Demand: 5000}},
			want:     []float64{2000.0 / 3, 1000.0 / 3},
		},
		{
			name:     "light client gets all it wants, rest to the other",
			capacity: 1000,
			claims:   []Claim{{Weight: 2, Demand: 100}, {Weight: 1, Demand: 5000}},
			want:     []float64{100, 900},
		},
		{
			name:     "three-level water-filling",
			capacity: 900,
			claims:   []Claim{{Weight: 1, Demand: 100}, {Weight: 1, Demand: 1000}, {Weight: 2, Demand: 1000}},
			want:     []float64{100, 800.0 / 3, 1600.0 / 3},
		},
		{
			name:     "cap limits a client and its excess goes to the other",
			capacity: 1000,
			claims:   []Claim{{Weight: 5, Demand: 5000, Cap: 200}, {Weight: 1, Demand: 5000}},
			want:     []float64{200, 800},
		},
		{
			name:     "cap 0, negative, NaN and +Inf mean no cap",
			capacity: 1000,
			claims: []Claim{
				{Weight: 1, Demand: 100, Cap: 0},
				{Weight: 1, Demand: 100, Cap: -5},
				{Weight: 1, Demand: 100, Cap: math.NaN()},
				{Weight: 1, Demand: 100, Cap: inf},
			},
			want: []float64{100, 100, 100, 100},
		},
		{
			name:     "cap above demand does not matter",
			capacity: 1000,
			claims:   []Claim{{Weight: 1, Demand: 50, Cap: 300}, {Weight: 1, Demand: 5000}},
			want:     []float64{50, 950},
		},
		{
			name:     "infinite demand saturates",
			capacity: 1000,
			claims:   []Claim{{Weight: 1, Demand: inf}, {Weight: 1, Demand: 100}},
			want:     []float64{900, 100},
		},
		{
			name:     "scavenger keeps its floor while weighted client saturates",
			capacity: 1000,
			claims:   []Claim{{Weight: 1, Demand: 5000}, {Weight: 0, Demand: 400, Floor: 1}},
			want:     []float64{999, 1},
		},
		{
			name:     "scavenger without floor starves while weighted client saturates",
			capacity: 1000,
			claims:   []Claim{{Weight: 1, Demand: 5000}, {Weight: 0, Demand: 400}},
			want:     []float64{1000, 0},
		},
		{
			name:     "floor of a weighted client is ignored",
			capacity: 1000,
			claims:   []Claim{{Weight: 1, Demand: 5000, Floor: 900}, {Weight: 1, Demand: 5000}},
			want:     []float64{500, 500},
		},
		{
			name:     "floor above demand grants only the demand",
			capacity: 1000,
			claims:   []Claim{{Weight: 1, Demand: 5000}, {Weight: 0, Demand: 10, Floor: 50}},
			want:     []float64{990, 10},
		},
		{
			name:     "scavengers split leftovers equally beyond their floors",
			capacity: 1000,
			claims: []Claim{
				{Weight: 1, Demand: 300},
				{Weight: 0, Demand: 400, Floor: 1},
				{Weight: 0, Demand: 1000},
			},
			// 1 floor, 300 weighted, 699 left: extras of 349.5 each.
			want: []float64{300, 350.5, 349.5},
		},
		{
			name:     "scavenger leftovers water-fill up to demand",
			capacity: 1000,
			claims: []Claim{
				{Weight: 3, Demand: 400},
				{Weight: 0, Demand: 100},
				{Weight: 0, Demand: 5000},
			},
			want: []float64{400, 100, 500},
		},
		{
			name:     "floors exceeding capacity are scaled proportionally",
			capacity: 100,
			claims: []Claim{
				{Weight: 0, Demand: 1000, Floor: 150},
				{Weight: 0, Demand: 1000, Floor: 50},
				{Weight: 1, Demand: 500},
			},
			want: []float64{75, 25, 0},
		},
		{
			name:     "floors limited by demand before scaling",
			capacity: 100,
			claims: []Claim{
				{Weight: 0, Demand: 60, Floor: 150},
				{Weight: 0, Demand: 1000, Floor: 140},
			},
			want: []float64{30, 70},
		},
		{
			name:     "infinite floors share the capacity equally",
			capacity: 100,
			claims: []Claim{
				{Weight: 0, Demand: inf, Floor: inf},
				{Weight: 0, Demand: inf, Floor: inf},
				{Weight: 0, Demand: 1000, Floor: 10},
			},
			want: []float64{50, 50, 0},
		},
		{
			name:     "everyone fits",
			capacity: 1000,
			claims:   []Claim{{Weight: 1, Demand: 100}, {Weight: 2, Demand: 200}, {Weight: 0, Demand: 300, Floor: 5}},
			want:     []float64{100, 200, 300},
		},
		{
			name:     "all zero demand",
			capacity: 1000,
			claims:   []Claim{{Weight: 1}, {Weight: 0, Floor: 10}, {}},
			want:     []float64{0, 0, 0},
		},
		{
			name:     "infinite capacity gives min(demand, cap)",
			capacity: inf,
			claims:   []Claim{{Weight: 1, Demand: 5000, Cap: 200}, {Weight: 0, Demand: 300}, {Weight: 1, Demand: inf}},
			want:     []float64{200, 300, inf},
		},
		{
			name:     "zero capacity gives nothing, floors included",
			capacity: 0,
			claims:   []Claim{{Weight: 1, Demand: 100}, {Weight: 0, Demand: 100, Floor: 10}},
			want:     []float64{0, 0},
		},
		{
			name:     "negative capacity gives nothing",
			capacity: -1,
			claims:   []Claim{{Weight: 1, Demand: 100}},
			want:     []float64{0},
		},
		{
			name:     "NaN capacity gives nothing",
			capacity: math.NaN(),
			claims:   []Claim{{Weight: 1, Demand: 100}},
			want:     []float64{0},
		},
		{
			name:     "garbage inputs read as zero",
			capacity: 1000,
			claims: []Claim{
				{Weight: 1, Demand: math.NaN()},
				{Weight: 1, Demand: -50},
				{Weight: -3, Demand: 5000, Floor: math.NaN()},
				{Weight: 1, Demand: 600},
			},
			// The negative-weight client is a scavenger without floor.
			want: []float64{0, 0, 400, 600},
		},
		{
			name:     "huge weights do not overflow",
			capacity: 1000,
			claims:   []Claim{{Weight: math.MaxInt64, Demand: 5000}, {Weight: math.MaxInt64, Demand: 5000}},
			want:     []float64{500, 500},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Allocate(tt.capacity, tt.claims, nil)
			require.InDeltaSlice(t, tt.want, got, 1e-9, "got %v", got)
			require.NoError(t, checkInvariants(tt.capacity, tt.claims, got))
		})
	}
}

func TestAllocateEmpty(t *testing.T) {
	require.Empty(t, Allocate(1000, nil, nil))
	out := Allocate(1000, []Claim{}, make([]float64, 3))
	require.Empty(t, out)
}

// TestAllocateReusesOut checks the storage promise: out is reused when it
// is large enough, its old contents do not leak in, and it is replaced when
// too small.
func TestAllocateReusesOut(t *testing.T) {
	claims := []Claim{{Weight: 2, Demand: 5000}, {Weight: 1, Demand: 5000}}

	buf := []float64{7, 7, 7, 7}
	got := Allocate(900, claims, buf)
	require.Len(t, got, 2)
	require.Same(t, &buf[0], &got[0])
	require.InDeltaSlice(t, []float64{600, 300}, got, 1e-9)

	small := []float64{7}
	got = Allocate(900, claims, small)
	require.Len(t, got, 2)
	require.InDeltaSlice(t, []float64{600, 300}, got, 1e-9)
	require.Equal(t, 7.0, small[0], "a too-small out must not be written")
}

// TestAllocateNoAllocs checks that a large enough out makes Allocate
// allocation-free, scavengers and floors included.
func TestAllocateNoAllocs(t *testing.T) {
	claims := benchClaims(1000)
	out := make([]float64, len(claims))
	allocs := testing.AllocsPerRun(20, func() {
		out = Allocate(1e5, claims, out)
	})
	require.Zero(t, allocs)
}
