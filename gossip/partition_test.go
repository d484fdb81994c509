package gossip

import (
	"context"
	"testing"
	"time"

	"github.com/fairmesh/fairmesh"
)

// TestPartitionHeal splits the mesh 2|3 through the FaultNet for less than
// the dead timeout. Under the default (lease) policy nothing is
// over-admitted while partitioned; a config update made on one side
// reaches the other after the heal, membership converges, and admissions
// are back within bounds within 3 windows.
func TestPartitionHeal(t *testing.T) {
	const limit = 300
	c := newCluster(t, 5, func(i int) Config {
		cfg := testConfig("", fairmesh.Config{})
		// Suspicion lasts 16 probe intervals (4 s): longer than the partition.
		cfg.Timing.SuspicionMult = 16
		cfg.Timing.SuspicionMaxTimeoutMult = 1
		return cfg
	})
	c.setLimit(0, "api", limit, time.Second)
	rec := newRecorder(time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wait := c.drive(ctx, rec, []demand{{"api", 2 * limit, []float64{0.3, 0.1, 0.2, 0.2, 0.2}}})
	start := rec.window(time.Now())
	for rec.window(time.Now()) < start+4 {
		time.Sleep(20 * time.Millisecond)
	}

	partW := rec.window(time.Now())
	c.fn.Partition(c.addrs[:2], c.addrs[2:])
	must(t, c.meshes[0].UpdateClientWeight("api", 7)) // on the minority side
	time.Sleep(3 * time.Second)                       // the partition itself: a fixed span, shorter than suspicion
	for _, i := range c.live() {
		for _, mem := range c.meshes[i].Status().Members {
			if mem.State == fairmesh.MemberDead || mem.State == fairmesh.MemberLeft {
				t.Fatalf("%s sees %s %v: the partition outlasted the dead timeout", c.ids[i], mem.ID, mem.State)
			}
		}
	}
	suspects := 0
	for _, i := range c.live() {
		for _, mem := range c.meshes[i].Members() {
			if mem.State == fairmesh.MemberSuspect {
				suspects++
			}
		}
	}
	if suspects == 0 {
		t.Fatal("no node suspected the other side: the partition did not take")
	}
	c.fn.Heal()
	healW := rec.window(time.Now())
	took := c.waitConverged(10 * time.Second)
	t.Logf("membership converged %v after heal", took)
	poll(t, 5*time.Second, "the weight set during the partition to reach all", func() bool {
		for _, m := range c.meshes {
			if cs, err := m.Client("api"); err != nil || cs.Config.Weight != 7 {
				return false
			}
		}
		return true
	})
	convW := rec.window(time.Now())
	end := convW + 3 + 2
	for rec.window(time.Now()) <= end {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	wait()
	t.Logf("FaultNet: %+v", c.fn.Stats())
	for w := start + 1; w <= end; w++ {
		a := rec.admitted("api", w)
		phase := "before"
		switch {
		case w >= partW && w <= healW:
			phase = "split"
		case w > healW && w <= convW+3:
			phase = "healing"
		case w > convW+3:
			phase = "after"
		}
		t.Logf("window %2d %-7s attempts %3d admitted %3d", w-start, phase, rec.attempts("api", w), a)
		if float64(a) > limit*1.02+1 {
			t.Errorf("window %d (%s): admitted %d over limit %d", w-start, phase, a, limit)
		}
		if phase == "after" && float64(a) < 0.95*limit {
			t.Errorf("window %d after convergence: admitted %d, want ≥ 95 %% of %d", w-start, a, limit)
		}
	}
}
