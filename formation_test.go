package fairmesh_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fairmesh/fairmesh"
	"github.com/fairmesh/fairmesh/clock"
)

// A mesh forming over a real membership layer: each node's first view
// reaches the others before the membership layer reports the sender as a
// member, so each learns every other's incarnation first. No node may then leave
// the others out of its view while they leave it out of theirs: each
// would claim as if alone. In no window is the limit exceeded, and once
// formed the mesh serves the whole limit.
func TestFormingMeshViewsBeforeMembership(t *testing.T) {
	clk := clock.NewManualClock(epoch)
	// The nodes start 300 ms into a window: the next window's rights are
	// claimed 200 ms later, while the mesh is still forming.
	clk.Advance(300 * time.Millisecond)
	ids := []string{"n1", "n2", "n3", "n4"}
	nodes := map[string]*fairmesh.Node{}
	for _, id := range ids {
		n, err := fairmesh.NewNode(fairmesh.Config{NodeID: id, Clock: clk, Lease: 2 * time.Second})
		require.NoError(t, err)
		nodes[id] = n
	}
	deliver := func() {
		for _, from := range ids {
			for _, m := range nodes[from].Tick(clk.Now()) {
				for _, to := range ids {
					if to != from && (m.To == "" || m.To == to) {
						require.NoError(t, nodes[to].Receive(from, m.Payload))
					}
				}
			}
		}
	}
	// Views first: each node's first views reach the others (the network
	// here delivers to every node) before the membership layer reports
	// anyone but a member that then leaves ("zz": a node alone sends
	// nothing).
	for _, id := range ids {
		nodes[id].SetMember("zz", fairmesh.MemberAlive)
	}
	clk.Advance(time.Millisecond)
	deliver()
	for _, a := range ids {
		nodes[a].SetMember("zz", fairmesh.MemberLeft)
		for _, b := range ids {
			if a != b {
				nodes[a].SetMember(b, fairmesh.MemberAlive)
			}
		}
	}
	require.NoError(t, nodes["n1"].UpdateClientRateLimit("api", 100, time.Second))
	got := map[int64]int{}
	first := epoch.Unix()
	for ms := range 6000 {
		w := clk.Now().Unix() - first
		for _, id := range ids {
			if nodes[id].Allow("api") {
				got[w]++
			}
		}
		clk.Advance(time.Millisecond)
		if ms%100 == 0 {
			deliver()
		}
	}
	for w := int64(0); w < 6; w++ {
		t.Logf("window %d: %d", w, got[w])
		require.LessOrEqual(t, got[w], 100, "window %d: the limit", w)
	}
	require.Equal(t, 100, got[5], fmt.Sprintf("the mesh formed and serves the whole limit: %v", got))
}
