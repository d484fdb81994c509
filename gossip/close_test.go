package gossip

import (
	"runtime"
	"testing"
	"time"

	"github.com/fairmesh/fairmesh"
)

// TestCloseLeavesAndStopsEverything: a node that closes is seen "left"
// (not dead) by the others, Close is idempotent, the Node still answers
// within its part, and once every node is closed no goroutine is left behind (the
// Mesh's own, memberlist's, the owned CoarseClock's, delayed packets').
func TestCloseLeavesAndStopsEverything(t *testing.T) {
	before := runtime.NumGoroutine()
	c := newCluster(t, 3, func(i int) Config {
		cfg := testConfig("", fairmesh.Config{DefaultRate: 50})
		cfg.Node.Clock = nil // the Mesh owns a CoarseClock
		return cfg
	})
	c.fn.SetDelay(time.Millisecond, 2*time.Millisecond)
	m := c.meshes[2]
	if err := m.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	downMu.Lock()
	c.meshes[2] = nil
	downMu.Unlock()
	poll(t, 10*time.Second, "n3 to be seen left", func() bool {
		for _, i := range c.live() {
			found := false
			for _, mem := range c.meshes[i].Status().Members {
				if mem.ID == "n3" {
					found = mem.State == fairmesh.MemberLeft
				}
			}
			if !found {
				return false
			}
		}
		return true
	})
	// The closed node's Node still answers, within what it held: in the
	// window in progress the others count its part as consumed, so it must
	// not take the whole default limit (its clock stopped with the Mesh,
	// so that window never ends here).
	admitted := 0
	for range 60 {
		if m.Allow("solo") {
			admitted++
		}
	}
	if admitted > 50/3+1 {
		t.Errorf("closed node admitted %d of 60, more than its part of a default limit of 50 over 3 nodes", admitted)
	}
	c.close()
	c.meshes = nil
	waitGoroutines(t, before, 10*time.Second)
}
