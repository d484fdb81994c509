package bucket

import (
	"sync"
	"testing"
)

// poolFor returns a pool entry granting n units per 1 s window, from
// window w on.
func poolFor(n uint64, w int64) *Entry {
	return NewEntry(0, "", &Policy{Period: sec, Window: w, Slice: n, NextSlice: n}, 0)
}

func TestAdmitUsesSliceThenExtraFromPool(t *testing.T) {
	pool := poolFor(3, 10)
	e := NewEntry(1, "a", &Policy{Period: sec, Window: 10, Slice: 2, NextSlice: 2, Extra: 5, NextExtra: 5, Pool: pool}, 0)
	now := 10 * sec
	want := []bool{true, true, true, true, true, false, false}
	for i, w := range want {
		if got := e.Admit(now+int64(i), 1).Allowed; got != w {
			t.Fatalf("request %d: allowed %v, want %v", i, got, w)
		}
	}
	// 2 from the slice, 3 from the pool; the pool is spent though extra is not.
	if _, adm := pool.Counts(10); adm != 3 {
		t.Fatalf("pool admitted %d, want 3", adm)
	}
	// Next window: both start over.
	if !e.Admit(11*sec, 1).Allowed {
		t.Fatal("next window refused")
	}
}

func TestExtraBoundsPoolUse(t *testing.T) {
	pool := poolFor(100, 5)
	e := NewEntry(1, "a", &Policy{Period: sec, Window: 5, Slice: 1, NextSlice: 1, Extra: 2, NextExtra: 2, Pool: pool}, 0)
	n := 0
	for range 10 {
		if e.Admit(5*sec, 1).Allowed {
			n++
		}
	}
	if n != 3 {
		t.Fatalf("admitted %d, want slice 1 + extra 2", n)
	}
	if _, adm := pool.Counts(5); adm != 2 {
		t.Fatalf("pool gave %d, want 2 (one per extra admission, none for denials)", adm)
	}
}

func TestExtraWithoutPoolIsPlainRights(t *testing.T) {
	e := NewEntry(1, "a", &Policy{Period: sec, Slice: 1, NextSlice: 1, Extra: 2, NextExtra: 2}, 0)
	n := 0
	for range 5 {
		if e.Admit(sec, 1).Allowed {
			n++
		}
	}
	if n != 3 {
		t.Fatalf("admitted %d, want 3", n)
	}
}

func TestReleaseGivesBackAtMostAdmitted(t *testing.T) {
	e := NewEntry(1, "a", &Policy{Period: sec, Slice: 2, NextSlice: 2}, 0)
	e.Admit(sec, 1)
	e.Admit(sec, 1)
	if e.Admit(sec, 1).Allowed {
		t.Fatal("third admitted past a slice of 2")
	}
	if r := e.Release(sec, 5); r != 2 {
		t.Fatalf("released %d, want 2", r)
	}
	if att, adm := e.Counts(1); att != 3 || adm != 0 {
		t.Fatalf("counts %d/%d, want 3 attempts, 0 admitted", att, adm)
	}
	if !e.Admit(sec, 2).Allowed {
		t.Fatal("released rights not usable")
	}
	if r := e.Release(3*sec, 1); r != 0 {
		t.Fatalf("released %d from a window with no admissions", r)
	}
}

// Many goroutines racing for a small pool through several clients never
// take more than it holds, and every admission beyond a slice is one pool
// unit.
func TestPoolNeverOverGrantsUnderRace(t *testing.T) {
	pool := poolFor(50, 7)
	var es []*Entry
	for i := range 8 {
		es = append(es, NewEntry(uint64(i), "c", &Policy{Period: sec, Window: 7, Slice: 5, NextSlice: 5, Extra: 100, NextExtra: 100, Pool: pool}, 0))
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := 0
			for range 200 {
				if es[g%len(es)].Admit(7*sec, 1).Allowed {
					n++
				}
			}
			mu.Lock()
			total += n
			mu.Unlock()
		}()
	}
	wg.Wait()
	if total != 8*5+50 {
		t.Fatalf("admitted %d, want 8 slices of 5 plus a pool of 50", total)
	}
	if _, adm := pool.Counts(7); adm != 50 {
		t.Fatalf("pool counted %d, want 50", adm)
	}
}

// A client whose limit moves from a 1 s to a 1 min window (its config
// arrived after its first requests, say) keeps being decided in the
// current minute: counts of 1 s windows must not read as a window far in
// the future.
func TestPeriodChangeStartsCountsOver(t *testing.T) {
	now := 1_767_225_780 * sec
	e := NewEntry(1, "a", &Policy{Period: sec, Slice: 5, NextSlice: 5}, now)
	for range 3 {
		e.Admit(now, 1)
	}
	e.SetPolicy(&Policy{Period: 60 * sec, Window: now / (60 * sec), Slice: 2, NextSlice: 2})
	d := e.Admit(now+sec, 1)
	if !d.Allowed || d.ResetNanos > 60*sec {
		t.Fatalf("after the period change: %+v", d)
	}
	if _, adm := e.Counts((now + sec) / (60 * sec)); adm != 1 {
		t.Fatalf("counted %d in the current minute, want 1", adm)
	}
}
