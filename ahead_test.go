package fairmesh_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fairmesh/fairmesh"
)

// Demand moves rights between nodes ahead of each window, but a node whose
// picture of demand is stale (reports lost while the network dropped
// everything, at instants off the window boundaries) can only give too
// little or too much to someone, never more than it holds: with demand
// jumping from node to node every window, no window admits past the limit
// or the capacity; and once demand holds still, the client gets its whole
// limit from the node that has its traffic.
func TestGiftsNeverCreateRights(t *testing.T) {
	h := newMesh(t, 3, fairmesh.Config{Capacity: 500})
	require.NoError(t, h.nodes["n1"].UpdateClientRateLimit("api", 300, time.Second))
	hot := []string{"n1", "n3", "n2", "n1", "n2", "n3", "n3", "n1"}
	for w, at := range hot {
		demand := map[string]map[string]float64{
			at:   {"api": 0.6, "bulk": 0.6},
			"n2": {"bulk": 0.2},
		}
		// Drop everything for 250 ms starting 130 ms into the window.
		got := map[string]int{}
		for ms := range 1000 {
			h.cut = ms >= 130 && ms < 380
			for node, cs := range demand {
				for client, rate := range cs {
					if ms%int(1/rate) == 0 && h.nodes[node].Allow(client) {
						got[client]++
					}
				}
			}
			h.step()
		}
		h.cut = false
		t.Logf("window %d, traffic at %s: %v", w, at, got)
		require.LessOrEqual(t, got["api"], 301, "window %d: the limit", w)
		require.LessOrEqual(t, got["api"]+got["bulk"], 501, "window %d: the capacity", w)
	}
	still := map[string]map[string]float64{"n3": {"api": 0.6}}
	for w := range 4 {
		got := h.window(still)
		t.Logf("still, window %d: %v", w, got)
		if w >= 2 {
			require.GreaterOrEqual(t, got["api"], 295, "window %d: the limit, from the node that has the traffic", w)
		}
	}
}

// A client whose demand exceeds its limit on every node, most of it on one:
// each node's part of the limit follows its part of the demand, so the
// client gets its whole limit however its traffic is spread. (Were each
// node to keep its demand and a margin, the light nodes would keep an
// even part they cannot use while the heavy one runs dry.)
func TestLimitFollowsDemandWhenDemandExceedsIt(t *testing.T) {
	h := newMesh(t, 3, fairmesh.Config{})
	requireWholeLimit(t, h, "n2", 390, 385, map[string]map[string]float64{
		"n1": {"api": 1}, "n2": {"api": 0.11}, "n3": {"api": 0.115},
	}, 6, 3)
}
