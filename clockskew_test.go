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
	require.NoError(t, n.Receive(from, encodeBeacon(crdt.Timestamp{WallTime: wall.UnixNano()}, 0)))
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
		{"n2", 300 * time.Millisecond, 298 * time.Millisecond, 0}, // within the guard, less the 2 ms band
		{"n3", 700 * time.Millisecond, 698 * time.Millisecond, 0}, // 402 ms past mesh time: a step
		{"n4", 5 * time.Second, 698 * time.Millisecond, 1},        // one fast clock: refused
		// 700 ms past mesh time, and only one peer of three is that far:
		// the median (n3, 700 ms) is where mesh time already is.
		{"n4", 1400 * time.Millisecond, 698 * time.Millisecond, 2},
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
	require.Equal(t, 898*time.Millisecond, n.Status().ClockOffset, "median of two peers ahead, less the band")
	beaconFrom(t, n, "c", base.Add(10*time.Second))
	require.Equal(t, 948*time.Millisecond, n.Status().ClockOffset, "a single fast clock is not the median")
}

// Mesh time only moves forward, and a local clock that steps back cannot
// reopen a window the client has already moved past.
func TestClockSteppingBackCannotReopenWindow(t *testing.T) {
	base := time.Unix(1_800_000_000, 0)
	clk := clock.NewManualClock(base.Add(900 * time.Millisecond))
	n, err := NewNode(Config{NodeID: "n1", Clock: clk})
	require.NoError(t, err)
	require.NoError(t, n.UpdateClientRateLimit("a", 2, time.Second))
	require.True(t, n.Allow("a"), "window 0: 1 of 2")
	beaconFrom(t, n, "n2", base.Add(1400*time.Millisecond)) // adopt +500 ms: window 1
	require.True(t, n.AllowN("a", 2), "window 1: 2 of 2")
	clk.Set(base.Add(300 * time.Millisecond)) // mesh time back to base+800ms: window 0
	require.False(t, n.Allow("a"), "window 0 must not reopen")
	require.Equal(t, 498*time.Millisecond, n.Status().ClockOffset)
}

// Nodes that adopt each other's lead must not drive mesh time forward on
// noise: with clocks that agree but readings that jitter by up to a
// millisecond either way, the offsets stay at zero.
func TestMeshTimeDoesNotCreepOnNoise(t *testing.T) {
	base := time.Unix(1_800_000_000, 0)
	clk := clock.NewManualClock(base)
	a, err := NewNode(Config{NodeID: "a", Clock: clk})
	require.NoError(t, err)
	b, err := NewNode(Config{NodeID: "b", Clock: clk})
	require.NoError(t, err)
	a.SetMember("b", MemberAlive)
	b.SetMember("a", MemberAlive)
	jitter := []time.Duration{time.Millisecond, -time.Millisecond, 900 * time.Microsecond, 0, 1500 * time.Microsecond}
	for i := range 2000 {
		clk.Advance(50 * time.Millisecond)
		j := jitter[i%len(jitter)]
		sa := a.meshNow() + int64(j)
		sb := b.meshNow() + int64(j)
		require.NoError(t, b.Receive("a", encodeBeacon(crdt.Timestamp{WallTime: sa}, 0)))
		require.NoError(t, a.Receive("b", encodeBeacon(crdt.Timestamp{WallTime: sb}, 0)))
	}
	require.Zero(t, a.Status().ClockOffset)
	require.Zero(t, b.Status().ClockOffset)
}
