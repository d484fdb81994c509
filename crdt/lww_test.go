package crdt

import (
	"cmp"
	"math/rand"
	"reflect"
	"slices"
	"testing"
	"testing/quick"

	"github.com/stretchr/testify/require"
)

func reg(value int, wall int64, logical uint32, node string) LWW[int] {
	return LWW[int]{Value: value, Stamp: ts(wall, logical), Node: node}
}

func TestLWWNewer(t *testing.T) {
	cases := []struct {
		name string
		r, o LWW[int]
		want bool
	}{
		{"greater wall time wins", reg(1, 2, 0, "a"), reg(2, 1, 9, "z"), true},
		{"lesser wall time loses", reg(1, 1, 9, "z"), reg(2, 2, 0, "a"), false},
		{"logical breaks a wall tie before node", reg(1, 1, 2, "a"), reg(2, 1, 1, "z"), true},
		{"equal stamp: greater node wins", reg(1, 1, 1, "b"), reg(2, 1, 1, "a"), true},
		{"equal stamp: lesser node loses", reg(1, 1, 1, "a"), reg(2, 1, 1, "b"), false},
		{"same write is not newer", reg(1, 1, 1, "a"), reg(1, 1, 1, "a"), false},
		{"any write beats the zero register", reg(0, 0, 0, "a"), LWW[int]{}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, tc.r.Newer(tc.o))
		})
	}
}

func TestLWWMerge(t *testing.T) {
	r := reg(1, 5, 0, "b")
	require.False(t, r.Merge(reg(2, 4, 9, "z")), "older write ignored")
	require.Equal(t, reg(1, 5, 0, "b"), r)
	require.False(t, r.Merge(reg(3, 5, 0, "a")), "tie lost to greater node")
	require.Equal(t, reg(1, 5, 0, "b"), r)
	require.True(t, r.Merge(reg(4, 5, 0, "c")), "tie won by greater node")
	require.Equal(t, reg(4, 5, 0, "c"), r)
	require.False(t, r.Merge(r), "merging itself changes nothing")

	var zero LWW[string]
	require.True(t, zero.Merge(LWW[string]{Value: "cfg", Stamp: ts(1, 0), Node: "n1"}))
	require.Equal(t, "cfg", zero.Value)
}

// lwwSet is a set of writes with distinct (Stamp, Node) pairs drawn from a
// small domain so that stamps and nodes often tie; Value is the write's index.
type lwwSet struct {
	writes []LWW[int]
	seed   int64
}

func (lwwSet) Generate(r *rand.Rand, size int) reflect.Value {
	nodes := []string{"", "a", "b", "c"}
	type key struct {
		stamp Timestamp
		node  string
	}
	seen := map[key]bool{}
	s := lwwSet{seed: r.Int63()}
	for range 1 + r.Intn(8) {
		w := reg(len(s.writes), r.Int63n(3), uint32(r.Intn(2)), nodes[r.Intn(len(nodes))])
		if k := (key{w.Stamp, w.Node}); !seen[k] {
			seen[k] = true
			s.writes = append(s.writes, w)
		}
	}
	return reflect.ValueOf(s)
}

// naiveWinner is the reference: the write with the lexicographically greatest
// (WallTime, Logical, Node).
func naiveWinner(ws []LWW[int]) LWW[int] {
	return slices.MaxFunc(ws, func(a, b LWW[int]) int {
		return cmp.Or(
			cmp.Compare(a.Stamp.WallTime, b.Stamp.WallTime),
			cmp.Compare(a.Stamp.Logical, b.Stamp.Logical),
			cmp.Compare(a.Node, b.Node),
		)
	})
}

func TestLWWConvergesInAnyMergeOrder(t *testing.T) {
	prop := func(s lwwSet) bool {
		want := naiveWinner(s.writes)
		r := rand.New(rand.NewSource(s.seed))
		for range 6 {
			perm := r.Perm(len(s.writes))

			// Fold in a random order, checking Merge's report each time.
			acc := s.writes[perm[0]]
			for _, i := range perm[1:] {
				before := acc
				if acc.Merge(s.writes[i]) != (acc != before) {
					return false
				}
			}
			if acc != want {
				return false
			}

			// Merge pairwise in a random tree, as replicas gossiping would.
			pool := make([]LWW[int], 0, len(perm))
			for _, i := range perm {
				pool = append(pool, s.writes[i])
			}
			for len(pool) > 1 {
				i, j := r.Intn(len(pool)), r.Intn(len(pool)-1)
				if j >= i {
					j++
				}
				pool[i].Merge(pool[j])
				pool = slices.Delete(pool, j, j+1)
			}
			if pool[0] != want {
				return false
			}
		}
		// Re-delivering any write to the winner changes nothing.
		for _, w := range s.writes {
			acc := want
			if acc.Merge(w) {
				return false
			}
		}
		return true
	}
	require.NoError(t, quick.Check(prop, quickConfig(8)))
}
