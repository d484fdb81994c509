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
