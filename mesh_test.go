package fairmesh_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fairmesh/fairmesh"
	"github.com/fairmesh/fairmesh/clock"
)

// meshHarness runs nodes on one manual clock with a perfect network:
// every 100 ms each node ticks and its messages reach the others at once.
type meshHarness struct {
	clk   *clock.ManualClock
	nodes map[string]*fairmesh.Node
	ids   []string
	down  map[string]bool
	cut   bool // the network delivers nothing
	// side, when set, confines delivery to nodes of the same side;
	// mute stops what a node sends (it still receives).
	side map[string]int
	mute map[string]bool
	ms   int
}

func newMesh(t *testing.T, size int, cfg fairmesh.Config) *meshHarness {
	h := &meshHarness{clk: clock.NewManualClock(epoch), nodes: map[string]*fairmesh.Node{}, down: map[string]bool{}}
	for i := range size {
		id := fmt.Sprintf("n%d", i+1)
		c := cfg
		c.NodeID, c.Clock = id, h.clk
		n, err := fairmesh.NewNode(c)
		require.NoError(t, err)
		h.nodes[id] = n
		h.ids = append(h.ids, id)
	}
	for _, a := range h.ids {
		for _, b := range h.ids {
			if a != b {
				h.nodes[a].SetMember(b, fairmesh.MemberAlive)
			}
		}
	}
	return h
}

func (h *meshHarness) step() {
	h.clk.Advance(time.Millisecond)
	h.ms++
	if h.ms%100 != 0 {
		return
	}
	for _, from := range h.ids {
		if h.down[from] {
			continue
		}
		for _, m := range h.nodes[from].Tick(h.clk.Now()) {
			if h.cut {
				continue
			}
			for _, to := range h.ids {
				if to == from || h.down[to] || (m.To != "" && m.To != to) || h.side[to] != h.side[from] || h.mute[from] {
					continue
				}
				if err := h.nodes[to].Receive(from, m.Payload); err != nil {
					panic(err)
				}
			}
		}
	}
}

// window drives one second; perMs[node][client] requests per millisecond
// (fractions accumulate). It returns mesh-wide admissions per client.
func (h *meshHarness) window(perMs map[string]map[string]float64) map[string]int {
	got := map[string]int{}
	acc := map[string]float64{}
	for range 1000 {
		for _, node := range h.ids {
			for client, rate := range perMs[node] {
				k := node + "/" + client
				acc[k] += rate
				for acc[k] >= 1 {
					acc[k]--
					if h.nodes[node].Allow(client) {
						got[client]++
					}
				}
			}
		}
		h.step()
	}
	return got
}

// requireWholeLimit sets client "api" to limit a second through node via
// and drives demand for windows seconds: never past the limit, and no
// fewer than least admitted in each window from window from on.
func requireWholeLimit(t *testing.T, h *meshHarness, via string, limit, least int, demand map[string]map[string]float64, windows, from int) {
	t.Helper()
	require.NoError(t, h.nodes[via].UpdateClientRateLimit("api", limit, time.Second))
	for w := range windows {
		got := h.window(demand)
		t.Logf("window %d: %v", w, got)
		require.LessOrEqual(t, got["api"], limit+1, "window %d: the limit", w)
		if w >= from {
			require.GreaterOrEqual(t, got["api"], least, "window %d: the whole limit", w)
		}
	}
}

func TestMeshHoldsLimitWithUnevenSpread(t *testing.T) {
	h := newMesh(t, 3, fairmesh.Config{})
	requireWholeLimit(t, h, "n1", 300, 295, map[string]map[string]float64{
		"n1": {"api": 0.3}, "n2": {"api": 0.2}, "n3": {"api": 0.1},
	}, 10, 4)
}

func TestMeshWeightedCapacity(t *testing.T) {
	h := newMesh(t, 3, fairmesh.Config{Capacity: 1000})
	require.NoError(t, h.nodes["n2"].UpdateClientWeight("gold", 2))
	demand := map[string]map[string]float64{
		"n1": {"gold": 1.0, "silver": 0.2}, "n2": {"gold": 0.4, "silver": 0.4}, "n3": {"silver": 1.0},
	}
	var gold, silver int
	for w := range 10 {
		got := h.window(demand)
		t.Logf("window %d: %v", w, got)
		require.LessOrEqual(t, got["gold"]+got["silver"], 1001, "window %d", w)
		if w >= 4 {
			gold += got["gold"]
			silver += got["silver"]
		}
	}
	require.InDelta(t, 2.0, float64(gold)/float64(silver), 0.05)
	require.InDelta(t, 6000, gold+silver, 120)
}

// Slices of an unreachable member stay reserved under the lease policy
// (in a mesh of two, one side is never a strict majority: each keeps its
// own half for good), and are reclaimed at suspicion under available, from
// the next window, never in the window in progress (what the member held
// there counts as consumed).
func TestPartitionPolicies(t *testing.T) {
	for _, tc := range []struct {
		policy        fairmesh.PartitionPolicy
		suspect, dead int64
	}{
		{fairmesh.Lease, 50, 50},
		{fairmesh.Available, 100, 100},
	} {
		t.Run(string(tc.policy), func(t *testing.T) {
			h := newMesh(t, 2, fairmesh.Config{Partition: tc.policy})
			require.NoError(t, h.nodes["n1"].UpdateClientRateLimit("api", 100, time.Second))
			even := map[string]map[string]float64{"n1": {"api": 0.2}, "n2": {"api": 0.2}}
			for range 4 {
				h.window(even)
			}
			slice := func() int64 {
				st, err := h.nodes["n1"].Client("api")
				require.NoError(t, err)
				return st.Slice
			}
			require.Equal(t, int64(50), slice(), "even demand, even split")
			h.nodes["n1"].SetMember("n2", fairmesh.MemberSuspect)
			require.Equal(t, int64(50), slice(), "n2 suspected: the window in progress keeps its split")
			h.window(even)
			require.Equal(t, tc.suspect, slice(), "n2 suspected, next window")
			h.nodes["n1"].SetMember("n2", fairmesh.MemberDead)
			require.Equal(t, tc.suspect, slice(), "n2 dead: the window in progress keeps its split")
			h.window(even)
			require.Equal(t, tc.dead, slice(), "n2 dead, next window")
			h.nodes["n1"].SetMember("n2", fairmesh.MemberAlive)
			h.window(even)
			require.Equal(t, int64(50), slice(), "n2 back: an even split again")
		})
	}
}

// While a peer is suspect it cannot have this node's newer reports, so a
// node keeps splitting by the report the peer last had: the two sides'
// slices still sum to the allowance when demand moves during a partition.
func TestSplitFrozenWhilePeerSuspect(t *testing.T) {
	h := newMesh(t, 2, fairmesh.Config{})
	require.NoError(t, h.nodes["n1"].UpdateClientRateLimit("api", 100, time.Second))
	for range 4 {
		h.window(map[string]map[string]float64{"n1": {"api": 0.2}, "n2": {"api": 0.2}})
	}
	h.cut = true
	h.nodes["n1"].SetMember("n2", fairmesh.MemberSuspect)
	h.nodes["n2"].SetMember("n1", fairmesh.MemberSuspect)
	for w := range 4 {
		got := h.window(map[string]map[string]float64{"n1": {"api": 0.6}, "n2": {"api": 0.2}})
		s1, _ := h.nodes["n1"].Client("api")
		s2, _ := h.nodes["n2"].Client("api")
		require.LessOrEqual(t, s1.Slice+s2.Slice, int64(100), "window %d: slices %d + %d", w, s1.Slice, s2.Slice)
		require.LessOrEqual(t, got["api"], 100, "window %d", w)
	}
}
