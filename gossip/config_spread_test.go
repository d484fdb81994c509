package gossip

import (
	"testing"
	"time"

	"github.com/fairmesh/fairmesh"
)

// TestConfigUpdateSpreads: a weight and a limit set through one node are
// seen by every node within 1 s.
func TestConfigUpdateSpreads(t *testing.T) {
	c := newCluster(t, 5, func(i int) Config { return testConfig("", fairmesh.Config{Capacity: 1000}) })
	for round, via := range []int{0, 3, 4} {
		weight := 5 + round
		must(t, c.meshes[via].UpdateClientWeight("acme", weight))
		must(t, c.meshes[via].UpdateClientRateLimit("acme", 100+round, time.Second))
		took := poll(t, 2*time.Second, "config to spread", func() bool {
			for _, m := range c.meshes {
				cs, err := m.Client("acme")
				if err != nil || cs.Config.Weight != weight || cs.Config.Rate != 100+round || !cs.Config.Limited {
					return false
				}
			}
			return true
		})
		t.Logf("update through %s seen by all in %v", c.ids[via], took)
		if took > time.Second {
			t.Errorf("update through %s took %v to reach every node, want ≤ 1s", c.ids[via], took)
		}
	}
}
