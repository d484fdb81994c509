package clock

import (
	"runtime"
	"testing"
	"time"
)

func TestManualClockMovesOnlyWhenTold(t *testing.T) {
	base := time.Unix(1_800_000_000, 0)
	c := NewManualClock(base)
	if !c.Now().Equal(base) || c.UnixNano() != base.UnixNano() {
		t.Fatalf("Now = %v, want %v", c.Now(), base)
	}
	c.Advance(1500 * time.Millisecond)
	if got := c.Now().Sub(base); got != 1500*time.Millisecond {
		t.Fatalf("after Advance: %v", got)
	}
	c.Set(base.Add(-time.Second))
	if got := c.Now().Sub(base); got != -time.Second {
		t.Fatalf("after Set back: %v", got)
	}
}

// The coarse reading advances by itself, and Stop releases its goroutine
// (twice is fine).
func TestCoarseClockAdvancesAndStops(t *testing.T) {
	before := runtime.NumGoroutine()
	c := NewCoarseClock(time.Millisecond)
	first := c.UnixNano()
	deadline := time.Now().Add(2 * time.Second)
	for c.UnixNano() == first {
		if time.Now().After(deadline) {
			t.Fatal("the coarse reading did not advance within 2s")
		}
		time.Sleep(time.Millisecond)
	}
	if d := time.Since(time.Unix(0, c.UnixNano())); d < 0 || d > time.Second {
		t.Fatalf("coarse reading is %v away from the wall clock", d)
	}
	c.Stop()
	c.Stop()
	for deadline := time.Now().Add(2 * time.Second); runtime.NumGoroutine() > before; {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines after Stop, %d before", runtime.NumGoroutine(), before)
		}
		time.Sleep(time.Millisecond)
	}
	stopped := c.UnixNano()
	time.Sleep(5 * time.Millisecond)
	if c.UnixNano() != stopped {
		t.Fatal("the coarse reading moved after Stop")
	}
}

// A clock nobody reads stops ticking (an idle node must cost no wakeups a
// millisecond); a reading while it sleeps is the wall time, not the stale
// stored one, and wakes it.
func TestCoarseClockSleepsWhenUnreadAndWakesOnARead(t *testing.T) {
	c := NewCoarseClock(time.Millisecond)
	defer c.Stop()
	deadline := time.Now().Add(5 * time.Second)
	for !c.Asleep() {
		if time.Now().After(deadline) {
			t.Fatal("an unread clock did not go to sleep within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	stored := c.nanos.Load()
	time.Sleep(30 * time.Millisecond)
	if c.nanos.Load() != stored {
		t.Fatal("a sleeping clock still ticks")
	}
	select {
	case <-c.Woke():
		t.Fatal("Woke signalled before any reading woke the clock")
	default:
	}
	before := time.Now().UnixNano()
	got := c.UnixNano()
	if got < before {
		t.Fatalf("a read while asleep returned %v, older than the wall clock before it (%v)", got, before)
	}
	for deadline := time.Now().Add(5 * time.Second); c.sleeping.Load() || c.nanos.Load() == stored; {
		if time.Now().After(deadline) {
			t.Fatal("a read did not wake the clock within 5s")
		}
		c.UnixNano() // a node serving traffic keeps reading
		time.Sleep(time.Millisecond)
	}
	select {
	case <-c.Woke():
	case <-time.After(5 * time.Second):
		t.Fatal("the clock woke without signalling Woke")
	}
}
