package bucket

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/cespare/xxhash/v2"
	"github.com/stretchr/testify/require"
)

const sec = int64(1e9)

func policy(slice uint64) *Policy {
	return &Policy{Period: sec, Slice: slice, NextSlice: slice, Limit: int64(slice)}
}

func TestAdmitStepTable(t *testing.T) {
	e := NewEntry(1, "a", policy(3), 0)
	steps := []struct {
		now     int64
		k       uint64
		allowed bool
		rem     uint64
	}{
		{0, 1, true, 2},
		{sec / 2, 2, true, 0},
		{sec - 1, 1, false, 0},
		{sec, 2, true, 1},      // window 1 starts fresh
		{sec + 5, 2, false, 1}, // all or nothing
		{sec + 6, 1, true, 0},
		{sec / 2, 1, false, 0}, // clock stepped back into window 0: stays in window 1
	}
	for i, s := range steps {
		d := e.Admit(s.now, s.k)
		require.Equal(t, s.allowed, d.Allowed, "step %d", i)
		require.Equal(t, s.rem, d.Remaining, "step %d", i)
	}
	att, adm := e.Counts(1)
	require.Equal(t, uint64(6), att) // 2+2+1 in window 1 plus the step back
	require.Equal(t, uint64(3), adm)
	e.SetPolicy(&Policy{Period: sec, Window: 3, Slice: 3, NextSlice: 3, Limit: 3})
	require.True(t, e.Admit(3*sec, 3).Allowed, "window 3 reuses window 1's slot")
	att, _ = e.Counts(1)
	require.Zero(t, att, "window 1 is gone once window 3 counts")
	require.Equal(t, 3*sec, e.LastSeen())
}

func TestAdmitBackwardsClockCannotReopenWindow(t *testing.T) {
	e := NewEntry(1, "a", &Policy{Period: sec, Window: 10, Slice: 1, NextSlice: 1, Limit: 1}, 0)
	require.True(t, e.Admit(10*sec, 1).Allowed)
	for back := int64(1); back < 10; back++ {
		require.False(t, e.Admit(10*sec-back*sec, 1).Allowed, "%d windows back", back)
	}
}

// A policy more than a window old decides nothing and counts nothing: its
// owner never derived rights for the window (it was paused), so the caller
// must bring it up to date first.
func TestAdmitRefusesToDecideOnAStalePolicy(t *testing.T) {
	e := NewEntry(1, "a", &Policy{Period: sec, Window: 4, Slice: 5, NextSlice: 5, Limit: 5}, 0)
	require.True(t, e.Admit(5*sec+7, 1).Allowed, "the window after the policy's: its next slice")
	d := e.Admit(6*sec+7, 1)
	require.True(t, d.Stale)
	require.False(t, d.Allowed)
	att, adm := e.Counts(6)
	require.Zero(t, att+adm, "nothing counted")
	e.SetPolicy(&Policy{Period: sec, Window: 6, Slice: 5, NextSlice: 5, Limit: 5})
	d = e.Admit(6*sec+8, 1)
	require.False(t, d.Stale)
	require.True(t, d.Allowed)
}

// A reader whose clock lags the one that derived the policy (the fast
// path's coarse clock behind maintenance's exact one, its ticker starved of
// CPU) must not decide in the older window on the newer window's rights:
// that window's admissions would grow past its own slice by the difference.
// The request counts, and is released, in the policy's window, as if the
// reader's clock had caught up.
func TestAdmitOnALaggingClockCountsInThePolicysWindow(t *testing.T) {
	const ms = sec / 1000
	e := NewEntry(1, "a", &Policy{Period: sec, Window: 4, Slice: 2, NextSlice: 2, Limit: 5}, 0)
	require.True(t, e.Admit(4*sec+900*ms, 2).Allowed, "window 4's slice, spent")
	e.SetPolicy(&Policy{Period: sec, Window: 5, Slice: 5, NextSlice: 5, Limit: 5})

	d := e.Admit(5*sec-3*ms, 1) // this reader's clock is still in window 4
	require.True(t, d.Allowed)
	require.Equal(t, sec+3*ms, d.ResetNanos, "decided in window 5, which ends a window and 3 ms from now")
	_, adm4 := e.Counts(4)
	_, adm5 := e.Counts(5)
	require.Equal(t, uint64(2), adm4, "window 4 admits no more than its slice")
	require.Equal(t, uint64(1), adm5)

	require.True(t, e.Admit(5*sec-2*ms, 4).Allowed, "the rest of window 5's slice")
	require.False(t, e.Admit(5*sec+ms, 1).Allowed, "window 5 is spent")
	require.Equal(t, uint64(1), e.Release(5*sec-ms, 1), "a release on the lagging clock gives back to window 5")
	_, adm5 = e.Counts(5)
	require.Equal(t, uint64(4), adm5)
}

func TestPolicySwapIsAtomic(t *testing.T) {
	e := NewEntry(1, "a", policy(10), 0)
	require.True(t, e.Admit(0, 10).Allowed)
	e.SetPolicy(&Policy{Period: sec, Slice: 15, NextSlice: 15, Limit: 15})
	require.True(t, e.Admit(1, 5).Allowed)
	require.False(t, e.Admit(2, 1).Allowed)
	e.SetPolicy(&Policy{Period: sec, Unlimited: true, Limit: -1})
	require.True(t, e.Admit(3, 1000).Allowed)
}

func TestNextSliceAppliesAfterPolicyWindow(t *testing.T) {
	e := NewEntry(1, "a", &Policy{Period: sec, Window: 4, Slice: 1, NextSlice: 2}, 0)
	require.True(t, e.Admit(4*sec, 1).Allowed)
	require.False(t, e.Admit(4*sec+1, 1).Allowed)
	// Window 5 has not been re-split by the owner yet: it runs on the
	// split computed in advance, not on window 4's.
	require.True(t, e.Admit(5*sec, 2).Allowed)
	require.False(t, e.Admit(5*sec+1, 1).Allowed)
}

func TestCountsSaturate(t *testing.T) {
	e := NewEntry(1, "a", &Policy{Period: sec, Unlimited: true}, 0)
	e.Admit(0, MaxCount)
	e.Admit(0, 5)
	att, adm := e.Counts(0)
	require.Equal(t, uint64(MaxCount), att)
	require.Equal(t, uint64(MaxCount), adm)
}

func TestTableInsertLookupDelete(t *testing.T) {
	tb := NewTable(1000, 0)
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = fmt.Sprintf("client-%d", i)
		e, created, err := tb.Insert(xxhash.Sum64String(ids[i]), ids[i], policy(1), 0)
		require.NoError(t, err)
		require.True(t, created)
		require.Equal(t, ids[i], e.ID())
	}
	require.Equal(t, 1000, tb.Len())
	_, _, err := tb.Insert(xxhash.Sum64String("one more"), "one more", policy(1), 0)
	require.ErrorIs(t, err, ErrFull)
	for i, id := range ids {
		e := tb.Lookup(xxhash.Sum64String(id), id)
		require.NotNil(t, e, id)
		if i%2 == 0 {
			require.True(t, tb.Delete(e))
			require.False(t, tb.Delete(e))
		}
	}
	require.Equal(t, 500, tb.Len())
	seen := 0
	tb.Range(func(e *Entry) bool { seen++; return true })
	require.Equal(t, 500, seen)
	for i, id := range ids {
		e := tb.Lookup(xxhash.Sum64String(id), id)
		require.Equal(t, i%2 == 1, e != nil, id)
	}
	// Colliding hashes with different IDs are distinct entries.
	tb2 := NewTable(10, 0)
	a, _, _ := tb2.Insert(42, "x", policy(1), 0)
	b, _, _ := tb2.Insert(42, "y", policy(1), 0)
	require.NotSame(t, a, b)
	require.Same(t, b, tb2.Lookup(42, "y"))
}

// Concurrent inserts, lookups and deletes agree with a reference map.
func TestTableConcurrent(t *testing.T) {
	tb := NewTable(1<<20, 0)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 1))
			mine := map[string]*Entry{}
			for i := range 20000 {
				id := fmt.Sprintf("g%d-%d", g, r.IntN(3000))
				h := xxhash.Sum64String(id)
				switch {
				case i%7 == 0 && mine[id] != nil:
					if !tb.Delete(mine[id]) {
						t.Errorf("delete of %s failed", id)
					}
					delete(mine, id)
				default:
					e, _, err := tb.Insert(h, id, policy(1), 0)
					if err != nil {
						t.Error(err)
						return
					}
					if mine[id] != nil && mine[id] != e {
						t.Errorf("%s: two entries", id)
					}
					mine[id] = e
				}
				if got := tb.Lookup(h, id); got != mine[id] {
					t.Errorf("%s: lookup %p want %p", id, got, mine[id])
					return
				}
			}
		}()
	}
	wg.Wait()
}

// Admits racing the resizes that inserts force must neither lose nor double
// a count, nor a policy set meanwhile: the totals match exactly. It guards any
// table that moves hot state on resize (a version that copied slots without
// freezing them failed it).
func TestAdmitDuringResizeCountsExactly(t *testing.T) {
	tb := NewTable(1<<20, 0)
	const (
		hot      = 64     // clients hammered while their shards grow
		perG     = 20_000 // admits per hammering goroutine
		hammers  = 4
		inserted = 50_000 // clients inserted to force resizes
	)
	p := &Policy{Period: sec, Unlimited: true, Limit: -1}
	ids := make([]string, hot)
	for i := range ids {
		ids[i] = fmt.Sprintf("hot-%d", i)
		_, _, err := tb.Insert(xxhash.Sum64String(ids[i]), ids[i], p, 0)
		require.NoError(t, err)
	}
	var wg sync.WaitGroup
	for g := range hammers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 7))
			for i := range perG {
				id := ids[r.IntN(hot)]
				now := int64(i) // window 0 throughout; lastSeen grows
				if !tb.Lookup(xxhash.Sum64String(id), id).Admit(now, 1).Allowed {
					t.Errorf("%s: not allowed", id)
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() { // policy updates racing the resizes must not be lost
		defer wg.Done()
		for i := range 2000 {
			e := tb.Lookup(xxhash.Sum64String(ids[i%hot]), ids[i%hot])
			e.SetPolicy(&Policy{Period: sec, Unlimited: true, Limit: int64(i)})
		}
	}()
	for i := range inserted {
		id := fmt.Sprintf("cold-%d", i)
		_, _, err := tb.Insert(xxhash.Sum64String(id), id, p, 0)
		require.NoError(t, err)
		if i%5 == 0 { // and deletes, so that tombstone rebuilds race too
			require.True(t, tb.Delete(tb.Lookup(xxhash.Sum64String(id), id)))
		}
	}
	wg.Wait()
	var total uint64
	for i, id := range ids {
		e := tb.Lookup(xxhash.Sum64String(id), id)
		require.NotNil(t, e)
		att, adm := e.Counts(0)
		require.Equal(t, att, adm)
		total += att
		if i < 2000 {
			last := i + (1999-i)/hot*hot // the last update for this client
			require.Equal(t, int64(last), e.Policy().Limit, id)
		}
		require.Equal(t, id, e.ID())
		require.Equal(t, xxhash.Sum64String(id), e.Hash())
	}
	require.Equal(t, uint64(hammers*perG), total)
	require.Equal(t, hot+inserted-inserted/5, tb.Len())
}

// The table never holds more than its bound, and frees room on Delete.
func TestTableBound(t *testing.T) {
	tb := NewTable(100, 0)
	var es []*Entry
	for i := range 150 {
		id := fmt.Sprintf("c%d", i)
		e, _, err := tb.Insert(xxhash.Sum64String(id), id, policy(1), 0)
		if i >= 100 {
			require.ErrorIs(t, err, ErrFull)
			continue
		}
		es = append(es, e)
	}
	require.Equal(t, 100, tb.Len())
	require.True(t, tb.Delete(es[0]))
	_, created, err := tb.Insert(42, "new", policy(1), 0)
	require.NoError(t, err)
	require.True(t, created)
	require.Equal(t, 100, tb.Len())
}

func TestEntryIsOneCacheLine(t *testing.T) {
	require.Equal(t, uintptr(64), unsafe.Sizeof(Entry{}))
}

// IDs that share a hash and a length, and differ only past the bytes an
// entry holds inline, must still get entries of their own.
func TestLongIDsWithSameHashStayApart(t *testing.T) {
	tb := NewTable(8, 0)
	p := &Policy{Period: 1e9, Slice: 5, NextSlice: 5}
	const h = 42 // forced collision
	for _, n := range []int{inlineID - 1, inlineID, inlineID + 1, 200} {
		a := strings.Repeat("x", n-1) + "a"
		b := strings.Repeat("x", n-1) + "b"
		ea, created, err := tb.Insert(h, a, p, 0)
		require.NoError(t, err)
		require.True(t, created)
		eb, created, err := tb.Insert(h, b, p, 0)
		require.NoError(t, err)
		require.True(t, created, "len %d: %q took %q's entry", n, b, a)
		require.NotSame(t, ea, eb)
		require.Same(t, ea, tb.Lookup(h, a))
		require.Same(t, eb, tb.Lookup(h, b))
		require.Nil(t, tb.Lookup(h, strings.Repeat("x", n-1)+"c"))
		require.Nil(t, tb.Lookup(h, a+"a"))
		require.Equal(t, b, eb.ID())
		require.Same(t, ea, tb.LookupHash(h), "LookupHash finds the first of the two")
		require.True(t, tb.Delete(ea))
		require.Same(t, eb, tb.LookupHash(h))
		require.True(t, tb.Delete(eb))
		require.Nil(t, tb.LookupHash(h))
	}
}

// Matching an ID longer than the inline head reads the copy kept in Cold,
// whose other fields the owner writes under its own lock meanwhile: the
// race detector must see no conflict (hash and id never change).
func TestLongIDLookupRacesOwnerBookkeeping(t *testing.T) {
	tb := NewTable(4, 0)
	id := strings.Repeat("long-client-id/", 4)
	h := xxhash.Sum64String(id)
	e, _, err := tb.Insert(h, id, policy(MaxCount), 0)
	require.NoError(t, err)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := range 5000 {
			e.Cold.Share = float64(i) // the owner's bookkeeping
			e.Cold.Demand = uint64(i)
		}
	}()
	go func() {
		defer wg.Done()
		for range 5000 {
			if got := tb.Lookup(h, id); got != e {
				t.Errorf("lookup = %p, want %p", got, e)
				return
			}
			e.Admit(1, 1)
		}
	}()
	wg.Wait()
	att, adm := e.Counts(0)
	require.Equal(t, uint64(5000), att)
	require.Equal(t, uint64(5000), adm)
}
