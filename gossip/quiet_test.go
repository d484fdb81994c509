package gossip

import (
	"testing"
	"time"

	"github.com/fairmesh/fairmesh"
)

// quietCluster is a 3-node cluster whose nodes run the default clock (a
// clock.CoarseClock owned by each Mesh, which tells when decisions are
// made) at the given quiet pace.
func quietCluster(t *testing.T, pace time.Duration) *cluster {
	return newCluster(t, 3, func(i int) Config {
		cfg := testConfig("", fairmesh.Config{Capacity: 1000, Lease: max(10*time.Second, 4*pace)})
		cfg.Node.Clock = nil
		cfg.QuietInterval = pace
		return cfg
	})
}

func (c *cluster) waitQuiet(within time.Duration) {
	c.t.Helper()
	poll(c.t, within, "every node quiet", func() bool {
		for _, m := range c.meshes {
			if !m.Quiet() {
				return false
			}
		}
		return true
	})
}

// An idle mesh goes quiet, and at its quiet pace (1 s, silent far longer
// than SuspectAfter between keepalives) nobody is taken for suspect: each
// quiet envelope tells the others how long to wait.
func TestQuietMeshIsNotSuspected(t *testing.T) {
	c := quietCluster(t, time.Second)
	c.waitQuiet(20 * time.Second)
	sent := c.meshes[0].Stats().PacketsSent
	deadline := time.Now().Add(4 * time.Second)
	for time.Now().Before(deadline) {
		for i, m := range c.meshes {
			for _, mi := range m.Members() {
				if mi.State != fairmesh.MemberAlive {
					t.Fatalf("%s sees %s %v while the mesh is quiet", c.ids[i], mi.ID, mi.State)
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	// 4 s at 1 s: a few keepalives to each of 2 peers, not forty.
	if n := c.meshes[0].Stats().PacketsSent - sent; n > 20 {
		t.Errorf("a quiet node sent %d packets in 4 s", n)
	}
}

// At a quiet pace of 30 s, what happens next can only be quick if it wakes
// the nodes: a decision wakes its node through the clock, and the news
// wakes the others; a config change wakes its node, and its peers learn it
// within seconds, not at the next keepalive.
func TestQuietMeshWakesAtOnce(t *testing.T) {
	c := quietCluster(t, 30*time.Second)
	c.waitQuiet(20 * time.Second)

	if err := c.meshes[0].UpdateClientWeight("tenant", 7); err != nil {
		t.Fatal(err)
	}
	poll(t, 10*time.Second, "the new weight on every node", func() bool {
		for _, m := range c.meshes[1:] {
			if st, err := m.Client("tenant"); err != nil || st.Config.Weight != 7 {
				return false
			}
		}
		return true
	})

	c.waitQuiet(20 * time.Second)
	a := c.meshes[1]
	poll(t, 10*time.Second, "a decision to wake its node and the news the others", func() bool {
		a.Allow("tenant")
		return !c.meshes[0].Quiet() && !c.meshes[1].Quiet() && !c.meshes[2].Quiet()
	})
}
