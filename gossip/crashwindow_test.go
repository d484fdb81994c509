package gossip

import (
	"context"
	"testing"
	"time"

	"github.com/fairmesh/fairmesh"
)

// TestCrashMidLongWindow kills a node in the middle of a 10 s window under
// load, on real memberlist meshes. What the dead node admitted before it
// died stays counted: the survivors never re-grant its part of the window,
// so the window's admitted total, the dead node's included, stays within
// the allowance; and the next windows are served by the survivors.
func TestCrashMidLongWindow(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three 10 s windows in real time")
	}
	const (
		limit  = 600
		period = 10 * time.Second
	)
	c := newCluster(t, 4, func(i int) Config {
		cfg := testConfig("", fairmesh.Config{})
		cfg.Timing = FastTiming()
		return cfg
	})
	c.setLimit(0, "quota", limit, period)
	rec := newRecorder(period)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// 150/s offered against 60/s allowed, spread evenly: every node runs
	// dry of its part within the window.
	wait := c.drive(ctx, rec, []demand{{"quota", 150, []float64{0.25, 0.25, 0.25, 0.25}}})
	start := rec.window(time.Now())
	// Into the next whole window, then 4.3 s on: mid-window, off any
	// boundary.
	for rec.window(time.Now()) < start+1 {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(4300 * time.Millisecond)
	killW := rec.window(time.Now())
	c.killNode(3)
	for rec.window(time.Now()) < killW+2 {
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	wait()
	for w := start + 1; w <= killW+1; w++ {
		a := rec.admitted("quota", w)
		t.Logf("window %d (kill in %d): attempts %d admitted %d", w-start, killW-start, rec.attempts("quota", w), a)
		if float64(a) > limit*1.01+1 {
			t.Errorf("window %d: admitted %d over the allowance %d", w-start, a, limit)
		}
	}
	if a := rec.admitted("quota", killW+1); a < limit/2 {
		t.Errorf("the window after the crash admitted %d: the survivors did not serve it", a)
	}
}
