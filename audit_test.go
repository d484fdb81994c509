package fairmesh_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fairmesh/fairmesh"
)

// driveCounted runs the harness for ms milliseconds with every node asked
// perMs requests per millisecond of each client, and counts the admissions
// by the window each decision names.
func driveCounted(h *meshHarness, clients []string, perMs float64, ms int, byWindow map[int64]uint64) {
	acc := 0.0
	for range ms {
		acc += perMs
		for acc >= 1 {
			acc--
			for _, id := range h.ids {
				if h.down[id] {
					continue
				}
				for _, c := range clients {
					if d := h.nodes[id].Decide(c, 1); d.Allowed {
						byWindow[d.WindowStart.UnixNano()]++
					}
				}
			}
		}
		h.step()
	}
}

// The audit adds up what every member admitted in each capacity window:
// in a steady mesh it finds exactly what was admitted, and never more than
// the capacity.
func TestAuditAddsUpTheMeshsAdmissions(t *testing.T) {
	h := newMesh(t, 3, fairmesh.Config{Capacity: 300})
	require.NoError(t, h.nodes["n1"].UpdateClientWeight("gold", 2))
	byWindow := map[int64]uint64{}
	driveCounted(h, []string{"gold", "free"}, 0.5, 12_000, byWindow)
	for _, id := range h.ids {
		a := h.nodes[id].Status().Counters.Audit
		assert.GreaterOrEqual(t, a.Windows, uint64(6), "%s: windows audited", id)
		assert.Zero(t, a.OverWindows, id)
		require.NotZero(t, a.LastWindow, id)
		assert.Equal(t, byWindow[a.LastWindow], a.LastAdmitted, "%s: the audit's total is what was admitted", id)
		assert.LessOrEqual(t, a.LastAdmitted, uint64(300))
		assert.Greater(t, a.LastAdmitted, uint64(250), "%s: the capacity is used", id)
	}
}

// Under the available policy a split lets each side admit the capacity:
// the mesh admitted more than it may, and once the sides hear each other
// again the audit says so, window by window, exactly. While a side cannot
// hear the other, the windows wait for the missing counts: none is passed
// as fine.
func TestAuditFindsTheOverAdmissionOfASplit(t *testing.T) {
	h := newMesh(t, 4, fairmesh.Config{Capacity: 200, Partition: fairmesh.Available})
	byWindow := map[int64]uint64{}
	driveCounted(h, []string{"a"}, 0.5, 4_300, byWindow)
	before := h.nodes["n1"].Status().Counters.Audit
	require.Zero(t, before.OverWindows)

	splitWindow := h.clk.Now().Truncate(time.Second).UnixNano() // the window the split begins in
	h.side = map[string]int{"n1": 0, "n2": 0, "n3": 1, "n4": 1}
	members := func(s fairmesh.MemberState) {
		for _, a := range h.ids {
			for _, b := range h.ids {
				if h.side[a] != h.side[b] {
					h.nodes[a].SetMember(b, s)
				}
			}
		}
	}
	members(fairmesh.MemberDead) // what memberlist reports on each side
	driveCounted(h, []string{"a"}, 0.5, 6_000, byWindow)
	during := h.nodes["n1"].Status().Counters.Audit
	assert.Less(t, during.LastWindow, splitWindow, "no window of the split audited without the other side's counts")
	assert.Zero(t, during.OverWindows)

	members(fairmesh.MemberAlive)
	h.side = nil
	driveCounted(h, []string{"a"}, 0.5, 8_000, byWindow)
	for _, id := range h.ids {
		after := h.nodes[id].Status().Counters.Audit
		var overWindows, overRequests uint64
		for w, n := range byWindow {
			if w <= after.LastWindow && n > 200 {
				overWindows++
				overRequests += n - 200
			}
		}
		require.GreaterOrEqual(t, overWindows, uint64(4), "the split over-admitted")
		assert.Equal(t, overWindows, after.OverWindows, "%s: the windows over the capacity", id)
		assert.Equal(t, overRequests, after.OverRequests, "%s: the requests over it", id)
		assert.Zero(t, after.Incomplete, "%s: every count arrived after the heal", id)
	}
}
