package fairmesh

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fairmesh/fairmesh/clock"
	"github.com/fairmesh/fairmesh/crdt"
)

func beaconFrom(t *testing.T, n *Node, from string, wall time.Time) {
	t.Helper()
	require.NoError(t, n.Receive(from, encodeBeacon(crdt.Timestamp{WallTime: wall.UnixNano()})))
}

func TestMeshTimeAdoptsPeersWithinMaxOffset(t *testing.T) {
	base := time.Unix(1_800_000_000, 0)
	n, err := NewNode(Config{NodeID: "n1", Clock: clock.NewManualClock(base)})
	require.NoError(t, err)
	for _, p := range []string{"n2", "n3", "n4"} {
		n.SetMember(p, MemberAlive)
	}
	steps := []struct {
		from    string
		ahead   time.Duration
		offset  time.Duration
		rejects uint64
	}{
		{"n2", -100 * time.Millisecond, 0, 0},                     // behind: nothing to adopt
		{"n2", 300 * time.Millisecond, 300 * time.Millisecond, 0}, // within the guard
		{"n3", 700 * time.Millisecond, 700 * time.Millisecond, 0}, // 400 ms past mesh time: a step
		{"n4", 5 * time.Second, 700 * time.Millisecond, 1},        // one fast clock: refused
		// 700 ms past mesh time, and only one peer of three is that far:
		// the median (n3, 700 ms) is where mesh time already is.
		{"n4", 1400 * time.Millisecond, 700 * time.Millisecond, 2},
	}
	for i, s := range steps {
		beaconFrom(t, n, s.from, base.Add(s.ahead))
		st := n.Status()
		require.Equal(t, s.offset, st.ClockOffset, "step %d", i)
		require.Equal(t, s.rejects, st.Counters.ClockOffsetRejects, "step %d", i)
	}
}

// A node whose own clock lags every peer by more than MaxClockOffset is the
// broken one: it adopts the median of its peers' clocks.
func TestMeshTimeAdoptsMajorityBeyondMaxOffset(t *testing.T) {
	base := time.Unix(1_800_000_000, 0)
	n, err := NewNode(Config{NodeID: "slow", Clock: clock.NewManualClock(base)})
	require.NoError(t, err)
	for _, p := range []string{"a", "b", "c"} {
		n.SetMember(p, MemberAlive)
	}
	beaconFrom(t, n, "a", base.Add(900*time.Millisecond))
	require.Zero(t, n.Status().ClockOffset, "one peer is no majority")
	beaconFrom(t, n, "b", base.Add(950*time.Millisecond))
	require.Equal(t, 900*time.Millisecond, n.Status().ClockOffset, "median of two peers ahead")
	beaconFrom(t, n, "c", base.Add(10*time.Second))
	require.Equal(t, 950*time.Millisecond, n.Status().ClockOffset, "a single fast clock is not the median")
}

// Mesh time only moves forward, and a local clock that steps back cannot
// reopen a window the client has already moved past.
func TestClockSteppingBackCannotReopenWindow(t *testing.T) {
	base := time.Unix(1_800_000_000, 0)
	clk := clock.NewManualClock(base.Add(900 * time.Millisecond))
	n, err := NewNode(Config{NodeID: "n1", Clock: clk})
	require.NoError(t, err)
	n.SetMember("n2", MemberAlive)
	require.NoError(t, n.UpdateClientRateLimit("a", 2, time.Second))
	n.SetMember("n2", MemberLeft) // alone again: the whole limit is ours
	require.True(t, n.Allow("a"), "window 0: 1 of 2")
	beaconFrom(t, n, "n2", base.Add(1400*time.Millisecond)) // adopt +500 ms: window 1
	require.True(t, n.AllowN("a", 2), "window 1: 2 of 2")
	clk.Set(base.Add(300 * time.Millisecond)) // mesh time back to base+800ms: window 0
	require.False(t, n.Allow("a"), "window 0 must not reopen")
	require.Equal(t, 500*time.Millisecond, n.Status().ClockOffset)
}
