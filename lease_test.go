package fairmesh_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fairmesh/fairmesh"
)

// split confines delivery to the given sides and tells each node that the
// members of the other sides are suspect, then (dead) dead, as the
// membership layer would.
func (h *meshHarness) split(state fairmesh.MemberState, sides ...[]string) {
	h.side = map[string]int{}
	for i, s := range sides {
		for _, id := range s {
			h.side[id] = i
		}
	}
	for _, a := range h.ids {
		for _, b := range h.ids {
			if a != b && h.side[a] != h.side[b] {
				h.nodes[a].SetMember(b, state)
			}
		}
	}
}

// heal delivers everything again and tells every node all are alive.
func (h *meshHarness) heal() {
	h.side = nil
	for _, a := range h.ids {
		for _, b := range h.ids {
			if a != b {
				h.nodes[a].SetMember(b, fairmesh.MemberAlive)
			}
		}
	}
}

func evenDemand(h *meshHarness, client string, perMs float64) map[string]map[string]float64 {
	d := map[string]map[string]float64{}
	for _, id := range h.ids {
		d[id] = map[string]float64{client: perMs}
	}
	return d
}

// A 2|3 split longer than the lease, at an instant off any boundary: the
// minority serves the shares it holds for its lease, then fences; the
// majority keeps the minority's shares reserved until the lease has
// certainly run out, then reclaims them and serves the whole limit; after
// the heal everyone serves an even split again. In no window is the limit
// exceeded.
func TestLeaseMinorityFencesMajorityReclaims(t *testing.T) {
	lease := 3 * time.Second
	h := newMesh(t, 5, fairmesh.Config{Lease: lease})
	require.NoError(t, h.nodes["n1"].UpdateClientRateLimit("api", 100, time.Second))
	even := evenDemand(h, "api", 0.05) // 250/s offered
	for range 3 {
		require.LessOrEqual(t, h.window(even)["api"], 101)
	}
	for range 437 {
		h.step()
	}
	h.split(fairmesh.MemberSuspect, []string{"n1", "n2"}, []string{"n3", "n4", "n5"})
	slice := func(node string) int64 {
		st, err := h.nodes[node].Client("api")
		require.NoError(t, err)
		return st.Slice
	}
	// Counted by the window each decision fell in, as a user would.
	minority, majority := map[int64]int{}, map[int64]int{}
	first := h.clk.Now().Unix()
	for ms := range 9000 {
		if ms == 2000 {
			h.split(fairmesh.MemberDead, []string{"n1", "n2"}, []string{"n3", "n4", "n5"})
		}
		w := h.clk.Now().Unix() - first
		for _, id := range h.ids {
			if h.nodes[id].Allow("api") {
				if id == "n1" || id == "n2" {
					minority[w]++
				} else {
					majority[w]++
				}
			}
		}
		h.step()
	}
	for w := int64(0); w <= 9; w++ {
		t.Logf("window %d after the split: minority %d, majority %d", w, minority[w], majority[w])
		require.LessOrEqual(t, minority[w]+majority[w], 101, "window %d: the limit, both sides together", w)
	}
	require.Equal(t, 40, minority[1], "within its lease the minority serves the shares it holds")
	require.True(t, h.nodes["n1"].Fenced(), "past its lease the minority is fenced")
	require.Equal(t, 0, minority[8])
	require.Equal(t, 60, majority[1], "within the minority's lease the majority keeps its shares reserved")
	require.GreaterOrEqual(t, majority[8], 99, "once the lease certainly ran out the majority serves the whole limit")

	h.heal()
	first = h.clk.Now().Unix()
	healed := map[int64]int{}
	for range 7000 {
		w := h.clk.Now().Unix() - first
		for _, id := range h.ids {
			if h.nodes[id].Allow("api") {
				healed[w]++
			}
		}
		h.step()
	}
	for w := int64(0); w <= 6; w++ {
		t.Logf("window %d after the heal: %d", w, healed[w])
		require.LessOrEqual(t, healed[w], 101, "window %d after the heal", w)
		if w >= 3 {
			require.GreaterOrEqual(t, healed[w], 99, "window %d after the heal", w)
		}
	}
	require.False(t, h.nodes["n1"].Fenced())
	require.Equal(t, int64(20), slice("n1"), "an even split again")
}
