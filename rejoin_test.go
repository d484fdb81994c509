package fairmesh_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fairmesh/fairmesh"
)

// A cut that does not reach every node at the same instant: the side that
// turns out to be the minority heard one member of the majority last a
// little earlier than the others, so it gives up on that member a little
// before its own lease runs out. After the heal, that member learns it was
// given up on and takes a new incarnation. It held its lease all along
// (the majority confirmed it), so nothing it claimed was reclaimed: it
// must keep serving what it had already claimed, in the window under way
// and the next one, and it must not fence while the members confirm the
// new incarnation.
func TestGivenUpByMinorityKeepsServingThroughHeal(t *testing.T) {
	h := newMesh(t, 5, fairmesh.Config{Lease: 2 * time.Second})
	require.NoError(t, h.nodes["n1"].UpdateClientRateLimit("api", 90, time.Second))
	countByWindow(h, "api", 3311, nil)

	// n1 is cut from everyone first, 300 ms before the 3|2 split is whole.
	h.split(fairmesh.MemberSuspect, []string{"n1"}, []string{"n2", "n3", "n4", "n5"})
	countByWindow(h, "api", 300, nil)
	h.split(fairmesh.MemberSuspect, []string{"n1", "n2", "n3"}, []string{"n4", "n5"})
	for _, a := range []string{"n1", "n2", "n3"} {
		for _, b := range []string{"n1", "n2", "n3"} {
			if a != b {
				h.nodes[a].SetMember(b, fairmesh.MemberAlive)
			}
		}
	}
	got := countByWindow(h, "api", 1500, nil)
	h.split(fairmesh.MemberDead, []string{"n1", "n2", "n3"}, []string{"n4", "n5"})
	got2 := countByWindow(h, "api", 5000, nil)
	require.True(t, h.nodes["n4"].Fenced(), "the minority fenced")
	require.False(t, h.nodes["n1"].Fenced(), "the majority confirmed n1 throughout")
	for w, c := range got {
		require.LessOrEqual(t, c, 91, "window %d of the split", w)
	}
	for w, c := range got2 {
		require.LessOrEqual(t, c, 91, "window %d of the split", w)
	}

	// Heal 700 ms into a window: the next window is already claimed (its
	// lead instant is 500 ms before it opens) when n1 learns that n4 and
	// n5 gave up on it.
	for h.clk.Now().UnixMilli()%1000 != 700 {
		countByWindow(h, "api", 1, nil)
	}
	h.heal()
	byNode := map[string]map[int64]int{}
	total := map[int64]int{}
	first := h.clk.Now().Unix()
	fencedAfterHeal := false
	for range 4300 {
		w := h.clk.Now().Unix() - first
		for _, id := range h.ids {
			if h.nodes[id].Allow("api") {
				if byNode[id] == nil {
					byNode[id] = map[int64]int{}
				}
				byNode[id][w]++
				total[w]++
			}
		}
		fencedAfterHeal = fencedAfterHeal || h.nodes["n1"].Fenced()
		h.step()
	}
	for w := int64(0); w <= 4; w++ {
		t.Logf("window %d after the heal: n1 %d, n2 %d, n3 %d, n4 %d, n5 %d", w,
			byNode["n1"][w], byNode["n2"][w], byNode["n3"][w], byNode["n4"][w], byNode["n5"][w])
		require.LessOrEqual(t, total[w], 91, "window %d after the heal", w)
	}
	require.False(t, fencedAfterHeal, "n1 held its lease through its new incarnation")
	require.Equal(t, 30, byNode["n1"][1], "n1 serves the third it claimed before the heal")
	require.GreaterOrEqual(t, total[1], 89, "the majority serves the whole limit in the window it claimed before the heal")
	require.Equal(t, 90, total[4], "everyone serves again")
}
