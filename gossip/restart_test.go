package gossip

import (
	"context"
	"testing"
	"time"

	"github.com/fairmesh/fairmesh"
)

// TestRestartSameIDAndAddress kills a node without leaving, restarts it
// (empty state) under the same ID and address, and checks that it rejoins,
// learns the config set while it was down, and that the mesh is back
// within bounds.
func TestRestartSameIDAndAddress(t *testing.T) {
	const limit = 200
	c := newCluster(t, 5, func(i int) Config {
		cfg := testConfig("", fairmesh.Config{})
		cfg.Timing = FastTiming()
		return cfg
	})
	c.setLimit(0, "api", limit, time.Second)

	c.killNode(2)
	poll(t, 15*time.Second, "n3 declared dead", func() bool {
		for _, i := range c.live() {
			for _, mem := range c.meshes[i].Status().Members {
				if mem.ID == "n3" && mem.State != fairmesh.MemberDead {
					return false
				}
			}
		}
		return true
	})
	must(t, c.meshes[1].UpdateClientWeight("api", 4)) // while n3 is down

	restarted := time.Now()
	c.start(2, nil)
	if err := c.meshes[2].WaitJoined(context.Background()); err != nil {
		t.Fatal(err)
	}
	took := c.waitConverged(10 * time.Second)
	t.Logf("n3 back in every view %v after restart", took)
	poll(t, 5*time.Second, "the restarted node to learn the config", func() bool {
		cs, err := c.meshes[2].Client("api")
		return err == nil && cs.Config.Weight == 4 && cs.Config.Rate == limit
	})
	t.Logf("config learnt %v after restart", time.Since(restarted))

	rec := newRecorder(time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wait := c.drive(ctx, rec, []demand{{"api", 2 * limit, []float64{0.2, 0.2, 0.2, 0.2, 0.2}}})
	start := rec.window(time.Now())
	end := start + 4
	for rec.window(time.Now()) <= end {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	wait()
	for w := start + 1; w <= end; w++ {
		a := rec.admitted("api", w)
		t.Logf("window %d attempts %d admitted %d", w-start, rec.attempts("api", w), a)
		if float64(a) > limit*1.02+1 {
			t.Errorf("window %d: admitted %d over limit %d", w-start, a, limit)
		}
		if w >= start+3 && float64(a) < 0.95*limit {
			t.Errorf("window %d: admitted %d, want ≥ 95 %% of %d", w-start, a, limit)
		}
	}
}
