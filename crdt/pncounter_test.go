package crdt

import (
	"maps"
	"math"
	"math/rand"
	"reflect"
	"slices"
	"testing"
	"testing/quick"

	"github.com/stretchr/testify/require"
)

func quickConfig(seed int64) *quick.Config {
	return &quick.Config{MaxCount: 500, Rand: rand.New(rand.NewSource(seed))}
}

var pnNodes = []string{"a", "b", "c", "d", "e"}

// refCounter is the naive reference: a map of per-node maxima.
type refCounter map[string]pnPair

func (r refCounter) merge(d PNDelta) {
	for _, e := range d.Entries {
		cur := r[e.Node]
		r[e.Node] = pnPair{p: max(cur.p, e.P), n: max(cur.n, e.N)}
	}
}

func (r refCounter) state() PNDelta {
	var d PNDelta
	for _, node := range slices.Sorted(maps.Keys(r)) {
		if e := r[node]; e != (pnPair{}) {
			d.Entries = append(d.Entries, PNEntry{Node: node, P: e.p, N: e.n})
		}
	}
	return d
}

func (r refCounter) value() int64 {
	var v int64
	for _, e := range r {
		v += int64(e.p) - int64(e.n)
	}
	return v
}

// genDelta is an arbitrary delta over a few nodes with small values, unsorted
// and possibly naming a node twice.
type genDelta PNDelta

func (genDelta) Generate(r *rand.Rand, size int) reflect.Value {
	d := genDelta{}
	for range r.Intn(6) {
		d.Entries = append(d.Entries, PNEntry{
			Node: pnNodes[r.Intn(len(pnNodes))],
			P:    uint64(r.Intn(20)),
			N:    uint64(r.Intn(20)),
		})
	}
	return reflect.ValueOf(d)
}

func counterOf(ds ...PNDelta) *PNCounter {
	c := NewPNCounter()
	for _, d := range ds {
		c.Merge(d)
	}
	return c
}

func TestPNCounterMergeMatchesReference(t *testing.T) {
	prop := func(ds []genDelta) bool {
		ref := refCounter{}
		c := NewPNCounter()
		for _, d := range ds {
			ref.merge(PNDelta(d))
			c.Merge(PNDelta(d))
		}
		for node, e := range ref {
			if p, n := c.Entry(node); p != e.p || n != e.n {
				return false
			}
		}
		return reflect.DeepEqual(c.State(), ref.state()) && c.Value() == ref.value()
	}
	require.NoError(t, quick.Check(prop, quickConfig(1)))
}

func TestPNCounterMergeCommutative(t *testing.T) {
	prop := func(x, y genDelta) bool {
		xy, yx := counterOf(PNDelta(x), PNDelta(y)), counterOf(PNDelta(y), PNDelta(x))
		return reflect.DeepEqual(xy.State(), yx.State()) && xy.Value() == yx.Value()
	}
	require.NoError(t, quick.Check(prop, quickConfig(2)))
}

func TestPNCounterMergeAssociative(t *testing.T) {
	prop := func(x, y, z genDelta) bool {
		left := counterOf(counterOf(PNDelta(x), PNDelta(y)).State(), PNDelta(z))
		right := counterOf(PNDelta(x), counterOf(PNDelta(y), PNDelta(z)).State())
		return reflect.DeepEqual(left.State(), right.State()) && left.Value() == right.Value()
	}
	require.NoError(t, quick.Check(prop, quickConfig(3)))
}

func TestPNCounterMergeIdempotent(t *testing.T) {
	prop := func(x genDelta) bool {
		once := counterOf(PNDelta(x))
		twice := counterOf(PNDelta(x), PNDelta(x))
		if !reflect.DeepEqual(once.State(), twice.State()) {
			return false
		}
		// Merging a counter's own state raises nothing and marks nothing changed.
		once.TakeDelta()
		before := once.State()
		once.Merge(before)
		return reflect.DeepEqual(before, once.State()) && len(once.TakeDelta().Entries) == 0
	}
	require.NoError(t, quick.Check(prop, quickConfig(4)))
}

// pnHistory is a random run of three replicas, each counting on its own node,
// forwarding deltas to each other now and then. It yields every delta the
// replicas emitted and the final state of each.
type pnHistory struct {
	deltas   []PNDelta
	replicas []*PNCounter
	want     int64 // total increments minus total decrements, counted naively
	seed     int64 // drives delivery schedules
}

func (pnHistory) Generate(r *rand.Rand, size int) reflect.Value {
	ids := []string{"a", "b", "c"}
	h := pnHistory{seed: r.Int63()}
	for range ids {
		h.replicas = append(h.replicas, NewPNCounter())
	}
	for range r.Intn(4 * (size + 1)) {
		i := r.Intn(len(ids))
		c := h.replicas[i]
		d := uint64(r.Intn(5))
		switch r.Intn(4) {
		case 0:
			c.Increment(ids[i], d)
			h.want += int64(d)
		case 1:
			c.Decrement(ids[i], d)
			h.want -= int64(d)
		case 2:
			h.deltas = append(h.deltas, c.TakeDelta())
		case 3:
			if len(h.deltas) > 0 { // forward an earlier delta, as gossip would
				c.Merge(h.deltas[r.Intn(len(h.deltas))])
			}
		}
	}
	for _, c := range h.replicas {
		h.deltas = append(h.deltas, c.TakeDelta())
	}
	return reflect.ValueOf(h)
}

// schedule returns a delivery order of n deltas: a permutation in which each
// delta appears between one and three times.
func schedule(r *rand.Rand, n int) []int {
	var order []int
	for i := range n {
		for range 1 + r.Intn(3) {
			order = append(order, i)
		}
	}
	r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	return order
}

func TestPNCounterDeltasConvergeInAnyOrderWithDuplicates(t *testing.T) {
	prop := func(h pnHistory) bool {
		joined := NewPNCounter()
		for _, c := range h.replicas {
			joined.Merge(c.State())
		}
		want := joined.State()
		if joined.Value() != h.want {
			return false
		}
		r := rand.New(rand.NewSource(h.seed))
		for range 4 {
			recv := NewPNCounter()
			for _, i := range schedule(r, len(h.deltas)) {
				recv.Merge(h.deltas[i])
			}
			if recv.Value() != h.want || !reflect.DeepEqual(recv.State(), want) {
				return false
			}
		}
		return true
	}
	require.NoError(t, quick.Check(prop, quickConfig(5)))
}

func TestPNCounterLostDeltasRepairedByState(t *testing.T) {
	prop := func(h pnHistory) bool {
		r := rand.New(rand.NewSource(h.seed))
		recv := NewPNCounter()
		for _, i := range schedule(r, len(h.deltas)) {
			if r.Intn(2) == 0 { // lose half the messages
				recv.Merge(h.deltas[i])
			}
		}
		for _, c := range h.replicas { // periodic full-state exchange
			recv.Merge(c.State())
		}
		return recv.Value() == h.want
	}
	require.NoError(t, quick.Check(prop, quickConfig(6)))
}

// pnScript is a random sequence of operations on one replica.
type pnScript []pnStep

type pnStep struct {
	kind  int // 0 increment, 1 decrement, 2 merge, 3 take delta
	node  string
	d     uint64
	delta PNDelta
}

func (pnScript) Generate(r *rand.Rand, size int) reflect.Value {
	s := make(pnScript, r.Intn(4*(size+1)))
	for i := range s {
		s[i] = pnStep{kind: r.Intn(4), node: pnNodes[r.Intn(len(pnNodes))], d: uint64(r.Intn(3))}
		if s[i].kind == 2 {
			s[i].delta = PNDelta(genDelta{}.Generate(r, size).Interface().(genDelta))
		}
	}
	return reflect.ValueOf(s)
}

func TestPNCounterTakeDeltaReturnsOnlyChangedEntries(t *testing.T) {
	prop := func(script pnScript) bool {
		c := NewPNCounter()
		model := refCounter{}
		mirror := NewPNCounter()
		taken := refCounter{} // the model as of the last TakeDelta
		for _, s := range append(script, pnStep{kind: 3}) {
			switch s.kind {
			case 0:
				c.Increment(s.node, s.d)
				e := model[s.node]
				model[s.node] = pnPair{p: e.p + s.d, n: e.n}
			case 1:
				c.Decrement(s.node, s.d)
				e := model[s.node]
				model[s.node] = pnPair{p: e.p, n: e.n + s.d}
			case 2:
				c.Merge(s.delta)
				model.merge(s.delta)
			case 3:
				// Expected delta: the entries that differ from the last take.
				var want PNDelta
				for _, e := range model.state().Entries {
					if old := taken[e.Node]; old.p != e.P || old.n != e.N {
						want.Entries = append(want.Entries, e)
					}
				}
				got := c.TakeDelta()
				if !reflect.DeepEqual(got, want) {
					return false
				}
				taken = maps.Clone(model)
				mirror.Merge(got)
				// Applying every delta taken so far reproduces the replica.
				if !reflect.DeepEqual(mirror.State(), c.State()) {
					return false
				}
			}
			if !reflect.DeepEqual(c.State(), model.state()) || c.Value() != model.value() {
				return false
			}
		}
		return len(c.TakeDelta().Entries) == 0
	}
	require.NoError(t, quick.Check(prop, quickConfig(7)))
}

func TestPNCounterTakeDeltaStep(t *testing.T) {
	c := NewPNCounter()
	require.Equal(t, PNDelta{}, c.TakeDelta(), "new counter has nothing to send")

	c.Increment("b", 3)
	c.Decrement("a", 2)
	c.Increment("a", 0) // no change
	require.Equal(t, PNDelta{Entries: []PNEntry{{Node: "a", N: 2}, {Node: "b", P: 3}}}, c.TakeDelta())
	require.Equal(t, PNDelta{}, c.TakeDelta(), "change set cleared")

	c.Merge(PNDelta{Entries: []PNEntry{{Node: "b", P: 1}, {Node: "c", P: 4, N: 1}, {Node: "a"}}})
	require.Equal(t, PNDelta{Entries: []PNEntry{{Node: "c", P: 4, N: 1}}}, c.TakeDelta(),
		"only entries the merge raised")

	c.Increment("a", 5)
	require.Equal(t, PNDelta{Entries: []PNEntry{{Node: "a", P: 5, N: 2}}}, c.TakeDelta(),
		"absolute values, both totals")
	require.Equal(t, int64(5-2+3+4-1), c.Value())
	require.Equal(t, PNDelta{Entries: []PNEntry{{Node: "a", P: 5, N: 2}, {Node: "b", P: 3}, {Node: "c", P: 4, N: 1}}}, c.State())
}

func TestPNCounterZeroValueUsable(t *testing.T) {
	var c PNCounter
	require.Equal(t, int64(0), c.Value())
	require.Equal(t, PNDelta{}, c.State())
	p, n := c.Entry("x")
	require.Zero(t, p)
	require.Zero(t, n)
	c.Decrement("x", 4)
	require.Equal(t, int64(-4), c.Value())
	require.Equal(t, PNDelta{Entries: []PNEntry{{Node: "x", N: 4}}}, c.TakeDelta())
}

func TestPNCounterSaturatesInsteadOfWrapping(t *testing.T) {
	c := NewPNCounter()
	c.Increment("a", math.MaxUint64-1)
	c.TakeDelta()
	c.Increment("a", 5)
	p, _ := c.Entry("a")
	require.Equal(t, uint64(math.MaxUint64), p)
	require.Len(t, c.TakeDelta().Entries, 1)
	c.Increment("a", 1)
	require.Empty(t, c.TakeDelta().Entries, "a saturated total does not change")
	c.Decrement("a", math.MaxUint64)
	require.Equal(t, int64(0), c.Value())
}

func TestPNCounterReturnedSlicesAreCopies(t *testing.T) {
	c := NewPNCounter()
	c.Increment("a", 1)
	s := c.State()
	s.Entries[0].P = 100
	d := c.TakeDelta()
	d.Entries[0].P = 200
	p, _ := c.Entry("a")
	require.Equal(t, uint64(1), p)
}
