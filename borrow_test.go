package fairmesh_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fairmesh/fairmesh"
)

// Traffic that moves to one node within a window is served from the rights
// the others hold unused: the node that runs dry borrows them, in the same
// window, and the mesh never admits more than the limit.
func TestRunningDryBorrowsUnusedRights(t *testing.T) {
	h := newMesh(t, 3, fairmesh.Config{})
	require.NoError(t, h.nodes["n1"].UpdateClientRateLimit("api", 300, time.Second))
	even := map[string]map[string]float64{"n1": {"api": 0.05}, "n2": {"api": 0.05}, "n3": {"api": 0.05}}
	for range 4 {
		got := h.window(even)
		require.LessOrEqual(t, got["api"], 301)
	}
	// 370 ms into the next window, all of it moves to n1, at 600/s: n1
	// holds about a third of the limit, and the others nothing they use
	// from then on.
	moved := map[string]map[string]float64{"n1": {"api": 0.6}}
	admitted := 0
	allow := func(node string, k int) {
		for range k {
			if h.nodes[node].Allow("api") {
				admitted++
			}
		}
	}
	for ms := range 1000 {
		switch {
		case ms < 370 && ms%20 == 0: // even: 50/s at each node
			for _, node := range []string{"n1", "n2", "n3"} {
				allow(node, 1)
			}
		case ms >= 370 && ms%5 == 0: // moved: 600/s at n1
			allow("n1", 3)
		}
		h.step()
	}
	require.LessOrEqual(t, admitted, 301)
	require.GreaterOrEqual(t, admitted, 270, "n1 borrowed what n2 and n3 did not use")
	require.Greater(t, h.nodes["n1"].Status().Counters.RightsBorrowed, uint64(0))
	lent := h.nodes["n2"].Status().Counters.RightsLent + h.nodes["n3"].Status().Counters.RightsLent
	require.Equal(t, h.nodes["n1"].Status().Counters.RightsBorrowed, lent, "every right borrowed was lent once")
	for range 3 {
		got := h.window(moved)
		require.LessOrEqual(t, got["api"], 301)
		require.GreaterOrEqual(t, got["api"], 295)
	}
}
