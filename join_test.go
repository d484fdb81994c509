package fairmesh_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fairmesh/fairmesh"
)

// A process that joins a mesh in the middle of a window admits nothing of
// that window, not even for a client it would take to be unlimited: it may
// not have learnt the client's limit yet (here it has not: no config has
// reached it). From the first window whose lead instant it was a member
// at, it serves: an unlimited client fully, a limited one within the
// mesh's limit.
func TestJoinerAdmitsNothingOfTheWindowItJoined(t *testing.T) {
	h := newMesh(t, 3, fairmesh.Config{})
	require.NoError(t, h.nodes["n1"].UpdateClientRateLimit("api", 100, time.Second))
	for range 2 {
		h.window(map[string]map[string]float64{"n1": {"api": 0.05}, "n2": {"api": 0.05}})
	}
	for range 370 { // off the boundary
		h.step()
	}
	n4, err := fairmesh.NewNode(fairmesh.Config{NodeID: "n4", Clock: h.clk})
	require.NoError(t, err)
	for _, id := range h.ids {
		h.nodes[id].SetMember("n4", fairmesh.MemberAlive)
		n4.SetMember(id, fairmesh.MemberAlive)
	}
	h.nodes["n4"], h.ids = n4, append(h.ids, "n4")

	for range 50 {
		require.False(t, n4.Allow("api"), "a limit the joiner has not learnt")
		require.False(t, n4.Allow("free"), "an unlimited client, in the window the joiner joined")
	}
	// The rest of this window, then two whole ones, everyone sending.
	demand := map[string]map[string]float64{}
	for _, id := range h.ids {
		demand[id] = map[string]float64{"api": 0.1, "free": 0.01}
	}
	for range 630 {
		h.step()
	}
	for w := range 2 {
		got := h.window(demand)
		t.Logf("window %d after the join: %v", w+1, got)
		require.LessOrEqual(t, got["api"], 101, "window %d", w+1)
		require.GreaterOrEqual(t, got["api"], 95, "window %d", w+1)
		require.Equal(t, 40, got["free"], "window %d: an unlimited client is refused nowhere", w+1)
	}
}
