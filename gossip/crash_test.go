package gossip

import (
	"context"
	"testing"
	"time"

	"github.com/fairmesh/fairmesh"
)

// TestCrashReclaim kills a node without leaving. The others keep serving,
// never over-admit, see it dead after the dead timeout, reclaim its slices
// once its lease has certainly run out (theirs then sum to the allowance)
// and are back within bounds (≤ limit·1.02+1, ≥ 95 % of the limit) within
// 3 windows of that.
func TestCrashReclaim(t *testing.T) {
	const limit, lease = 200, 2 * time.Second
	c := newCluster(t, 5, func(i int) Config {
		cfg := testConfig("", fairmesh.Config{Lease: lease})
		cfg.Timing = FastTiming()
		return cfg
	})
	c.setLimit(0, "api", limit, time.Second)
	rec := newRecorder(time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wait := c.drive(ctx, rec, []demand{{"api", 2 * limit, []float64{0.2, 0.2, 0.2, 0.2, 0.2}}})
	start := rec.window(time.Now())
	for rec.window(time.Now()) < start+4 {
		time.Sleep(20 * time.Millisecond)
	}

	killedAt := time.Now()
	c.killNode(4)
	dead := poll(t, 15*time.Second, "n5 declared dead by every survivor", func() bool {
		for _, i := range c.live() {
			for _, mem := range c.meshes[i].Status().Members {
				if mem.ID == "n5" && mem.State != fairmesh.MemberDead {
					return false
				}
			}
		}
		return true
	})
	t.Logf("n5 dead everywhere %v after the kill", dead)
	// Reclaimed: the survivors' slices of the current window sum to the
	// allowance, once the lease plus the clock guard has passed since they
	// last heard from it (checked a window later, once the new split
	// applies).
	reclaimed := poll(t, lease+3*time.Second, "survivors' slices to sum to the allowance", func() bool {
		var sum int64
		for _, i := range c.live() {
			cs, err := c.meshes[i].Client("api")
			if err != nil {
				return false
			}
			sum += cs.Slice
		}
		return sum == limit
	})
	if since := time.Since(killedAt); since < lease {
		t.Errorf("reclaimed %v after the kill, before the lease (%v) ran out", since, lease)
	}
	t.Logf("reclaimed %v after n5 was dead everywhere", reclaimed)
	deadW := rec.window(time.Now())
	end := deadW + 3 + 3
	for rec.window(time.Now()) <= end {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	wait()
	for w := start + 1; w <= end; w++ {
		a := rec.admitted("api", w)
		phase := "before"
		switch {
		case w >= rec.window(killedAt) && w < deadW:
			phase = "leased"
		case w >= deadW && w <= deadW+3:
			phase = "reclaim"
		case w > deadW+3:
			phase = "after"
		}
		t.Logf("window %2d %-7s attempts %3d admitted %3d", w-start, phase, rec.attempts("api", w), a)
		if float64(a) > limit*1.02+1 {
			t.Errorf("window %d (%s): admitted %d over limit %d", w-start, phase, a, limit)
		}
		if phase == "after" && float64(a) < 0.95*limit {
			t.Errorf("window %d, %d windows after dead: admitted %d, want ≥ 95 %% of %d", w-start, w-deadW, a, limit)
		}
	}
}
