package fairmesh_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fairmesh/fairmesh"
	"github.com/fairmesh/fairmesh/clock"
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

// countByWindow drives ms milliseconds of one request per millisecond at
// each node and counts admissions by the window (second) each fell in,
// from the window of now on.
func countByWindow(h *meshHarness, client string, ms int, skip map[string]bool) map[int64]int {
	first := h.clk.Now().Unix()
	got := map[int64]int{}
	for range ms {
		w := h.clk.Now().Unix() - first
		for _, id := range h.ids {
			if !skip[id] && !h.down[id] && h.nodes[id].Allow(client) {
				got[w]++
			}
		}
		h.step()
	}
	return got
}

// An even split (2|2) never ends anyone's lease: neither side can be a
// strict majority, so each keeps serving its own shares for as long as the
// split lasts, and neither reclaims the other's.
func TestLeaseEvenSplitKeepsOwnShares(t *testing.T) {
	h := newMesh(t, 4, fairmesh.Config{Lease: 2 * time.Second})
	require.NoError(t, h.nodes["n1"].UpdateClientRateLimit("api", 100, time.Second))
	countByWindow(h, "api", 3291, nil)
	h.split(fairmesh.MemberDead, []string{"n1", "n3"}, []string{"n2", "n4"})
	got := countByWindow(h, "api", 12000, nil)
	for w := int64(1); w < 12; w++ {
		require.Equal(t, 100, got[w], "window %d: each side serves its half, no more", w)
	}
	for _, id := range h.ids {
		require.False(t, h.nodes[id].Fenced(), "%s: half the members is enough to serve", id)
		st, err := h.nodes[id].Client("api")
		require.NoError(t, err)
		require.Equal(t, int64(25), st.Slice, "%s keeps its own quarter", id)
	}
}

// One node's messages stop reaching anyone while it still hears everyone
// (a one-way cut): hearing the others is not enough for a lease, being
// heard is. It fences after its lease, the others reclaim its share only
// after that, and no window is over.
func TestLeaseOneWayCut(t *testing.T) {
	h := newMesh(t, 5, fairmesh.Config{Lease: 2 * time.Second})
	require.NoError(t, h.nodes["n1"].UpdateClientRateLimit("api", 100, time.Second))
	countByWindow(h, "api", 3613, nil)
	h.mute = map[string]bool{"n5": true}
	for _, id := range []string{"n1", "n2", "n3", "n4"} {
		h.nodes[id].SetMember("n5", fairmesh.MemberSuspect)
	}
	got := countByWindow(h, "api", 8000, nil)
	for w := int64(0); w < 8; w++ {
		require.LessOrEqual(t, got[w], 101, "window %d", w)
	}
	require.True(t, h.nodes["n5"].Fenced(), "n5 is heard by nobody: no lease")
	require.Equal(t, 100, got[7], "the others reclaimed its share")
}

// A paused process (no ticks, no messages, its clock running on) resumes
// with requests already waiting: past its lease, it refuses them before
// it has heard from anyone, and no window is over; the others reclaimed
// its share meanwhile. It then rejoins as a new incarnation and serves its
// share again.
func TestLeasePauseFencesOnResume(t *testing.T) {
	h := newMesh(t, 3, fairmesh.Config{Lease: 2 * time.Second})
	require.NoError(t, h.nodes["n1"].UpdateClientRateLimit("api", 90, time.Second))
	countByWindow(h, "api", 2777, nil)
	h.down["n3"] = true
	for _, id := range []string{"n1", "n2"} {
		h.nodes[id].SetMember("n3", fairmesh.MemberSuspect)
	}
	got := countByWindow(h, "api", 5000, nil)
	for w := int64(0); w < 5; w++ {
		require.LessOrEqual(t, got[w], 91, "window %d while n3 is paused", w)
	}
	require.Equal(t, 90, got[4], "the others reclaimed the paused node's share")
	delete(h.down, "n3")
	for range 50 {
		require.False(t, h.nodes["n3"].Allow("api"), "the backlog, decided on resume: refused")
	}
	require.True(t, h.nodes["n3"].Fenced())
	for _, id := range []string{"n1", "n2"} {
		h.nodes[id].SetMember("n3", fairmesh.MemberAlive)
	}
	got = countByWindow(h, "api", 5000, nil)
	for w := int64(0); w < 5; w++ {
		require.LessOrEqual(t, got[w], 91, "window %d after the resume", w)
	}
	require.False(t, h.nodes["n3"].Fenced())
	st, err := h.nodes["n3"].Client("api")
	require.NoError(t, err)
	require.Equal(t, int64(30), st.Slice, "back to its third")
}

// A node told to join others admits nothing until it has heard from one
// (a wrong key, unreachable peers); a node started alone serves alone.
func TestSeedsFenceUntilJoined(t *testing.T) {
	clk := clock.NewManualClock(epoch)
	lone, err := fairmesh.NewNode(fairmesh.Config{NodeID: "a", Clock: clk, Capacity: 100})
	require.NoError(t, err)
	require.True(t, lone.Allow("x"))
	joiner, err := fairmesh.NewNode(fairmesh.Config{NodeID: "b", Clock: clk, Capacity: 100, Seeds: 2})
	require.NoError(t, err)
	require.True(t, joiner.Fenced())
	require.False(t, joiner.Allow("x"), "not the whole capacity on its own")
	require.True(t, joiner.Status().Fenced)
}

// An operator removes a crashed member of a two-node mesh, where the
// survivor alone is no majority and would keep only its half for good:
// from the next window it serves the whole limit. An alive member cannot
// be removed.
func TestRemoveMember(t *testing.T) {
	h := newMesh(t, 2, fairmesh.Config{Lease: 2 * time.Second})
	require.NoError(t, h.nodes["n1"].UpdateClientRateLimit("api", 100, time.Second))
	countByWindow(h, "api", 2500, nil)
	require.ErrorIs(t, h.nodes["n1"].RemoveMember("n2"), fairmesh.ErrMemberAlive)
	require.ErrorIs(t, h.nodes["n1"].RemoveMember("n9"), fairmesh.ErrUnknownMember)
	h.down["n2"] = true
	h.nodes["n1"].SetMember("n2", fairmesh.MemberDead)
	got := countByWindow(h, "api", 6000, nil)
	require.Equal(t, 50, got[5], "half: the survivor is no majority")
	require.NoError(t, h.nodes["n1"].RemoveMember("n2"))
	got = countByWindow(h, "api", 3000, nil)
	require.Equal(t, 100, got[2], "removed: the whole limit")
}
