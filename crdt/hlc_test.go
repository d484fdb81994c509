package crdt

import (
	"errors"
	"math"
	"math/rand"
	"reflect"
	"testing"
	"testing/quick"
	"time"

	"github.com/stretchr/testify/require"
)

// fakePhysical is a physical clock the test sets by hand.
type fakePhysical struct{ ns int64 }

func (f *fakePhysical) read() int64 { return f.ns }

// hlcStep is one event on a clock: a local event when remote is nil,
// otherwise the receipt of remote.
type hlcStep struct {
	name     string
	physical int64
	remote   *Timestamp
	want     Timestamp
	wantErr  bool
}

func ts(wall int64, logical uint32) Timestamp { return Timestamp{WallTime: wall, Logical: logical} }
func rts(wall int64, logical uint32) *Timestamp {
	t := ts(wall, logical)
	return &t
}

func runSteps(t *testing.T, maxOffset time.Duration, steps []hlcStep) {
	t.Helper()
	phys := &fakePhysical{}
	c := NewHLC(phys.read, maxOffset)
	for i, s := range steps {
		phys.ns = s.physical
		before := c.Last()
		var got Timestamp
		var err error
		if s.remote == nil {
			got = c.Now()
		} else {
			got, err = c.Update(*s.remote)
		}
		if s.wantErr {
			require.ErrorIs(t, err, ErrClockOffset, "step %d %q", i, s.name)
		} else {
			require.NoError(t, err, "step %d %q", i, s.name)
		}
		require.Equal(t, s.want, got, "step %d %q", i, s.name)
		require.Equal(t, got, c.Last(), "step %d %q: Last", i, s.name)
		require.True(t, before.Less(got), "step %d %q: %s not after %s", i, s.name, got, before)
	}
}

func TestHLCNowMonotonicWhenPhysicalGoesBackwards(t *testing.T) {
	runSteps(t, 0, []hlcStep{
		{name: "first reading", physical: 100, want: ts(100, 0)},
		{name: "physical stuck", physical: 100, want: ts(100, 1)},
		{name: "physical stuck again", physical: 100, want: ts(100, 2)},
		{name: "physical advances", physical: 105, want: ts(105, 0)},
		{name: "physical steps back", physical: 90, want: ts(105, 1)},
		{name: "still behind", physical: 104, want: ts(105, 2)},
		{name: "catches up exactly", physical: 105, want: ts(105, 3)},
		{name: "passes", physical: 106, want: ts(106, 0)},
	})
}

func TestHLCUpdateLogicalRules(t *testing.T) {
	runSteps(t, 100*time.Nanosecond, []hlcStep{
		{name: "local", physical: 10, want: ts(10, 0)},
		{name: "remote ahead within offset: adopt remote, logical+1", physical: 10, remote: rts(50, 3), want: ts(50, 4)},
		{name: "remote equal wall, lower logical: max(local, remote)+1", physical: 20, remote: rts(50, 2), want: ts(50, 5)},
		{name: "remote equal wall, higher logical: max(local, remote)+1", physical: 20, remote: rts(50, 9), want: ts(50, 10)},
		{name: "remote behind local: local logical+1", physical: 20, remote: rts(30, 99), want: ts(50, 11)},
		{name: "physical ahead of both: logical resets", physical: 60, remote: rts(55, 7), want: ts(60, 0)},
		{name: "remote exactly maxOffset ahead is adopted", physical: 60, remote: rts(160, 0), want: ts(160, 1)},
		{name: "local after adoption keeps the adopted wall", physical: 61, want: ts(160, 2)},
		{name: "zero remote acts as a local event", physical: 61, remote: rts(0, 0), want: ts(160, 3)},
	})
}

func TestHLCUpdateRejectsRemoteBeyondMaxOffset(t *testing.T) {
	phys := &fakePhysical{ns: 1_000}
	c := NewHLC(phys.read, 500*time.Nanosecond)
	require.Equal(t, ts(1_000, 0), c.Now())

	got, err := c.Update(ts(1_501, 0)) // one nanosecond beyond the bound
	require.ErrorIs(t, err, ErrClockOffset)
	require.True(t, errors.Is(err, ErrClockOffset))
	require.Contains(t, err.Error(), "crdt: ")
	require.Contains(t, err.Error(), "0.000001501,0", "error names the remote timestamp")
	require.Equal(t, ts(1_000, 1), got, "rejected update is a local event")
	require.Equal(t, got, c.Last())
	require.LessOrEqual(t, c.Last().WallTime, phys.ns, "remote wall time was not adopted")

	// Nothing of the rejected remote lingers: later events follow physical time.
	phys.ns = 1_200
	require.Equal(t, ts(1_200, 0), c.Now())

	// The same remote is adopted once the local clock has caught up.
	phys.ns = 1_001 + 500
	got, err = c.Update(ts(1_501, 0))
	require.NoError(t, err)
	require.Equal(t, ts(1_501, 1), got)
}

func TestHLCUpdateRejectionDoesNotOverflow(t *testing.T) {
	phys := &fakePhysical{ns: 10}
	c := NewHLC(phys.read, time.Second)
	_, err := c.Update(ts(math.MaxInt64, 0))
	require.ErrorIs(t, err, ErrClockOffset)
	require.Equal(t, phys.ns, c.Last().WallTime)

	phys.ns = math.MaxInt64 - 10
	got, err := c.Update(ts(math.MaxInt64-5, 0))
	require.NoError(t, err, "remote within offset near the top of the range")
	require.Equal(t, ts(math.MaxInt64-5, 1), got)
}

func TestHLCNoGuardAdoptsAnyRemote(t *testing.T) {
	for _, maxOffset := range []time.Duration{0, -time.Second} {
		phys := &fakePhysical{ns: 1}
		c := NewHLC(phys.read, maxOffset)
		got, err := c.Update(ts(1_000_000_000_000, 7))
		require.NoError(t, err, "maxOffset %v", maxOffset)
		require.Equal(t, ts(1_000_000_000_000, 8), got, "maxOffset %v", maxOffset)
	}
}

func TestHLCLogicalOverflowCarriesIntoWallTime(t *testing.T) {
	phys := &fakePhysical{ns: 10}
	c := NewHLC(phys.read, 0)
	got, err := c.Update(ts(10, math.MaxUint32))
	require.NoError(t, err)
	require.Equal(t, ts(11, 0), got)
	require.True(t, ts(10, math.MaxUint32).Less(got))

	got, err = c.Update(ts(20, math.MaxUint32))
	require.NoError(t, err)
	require.Equal(t, ts(21, 0), got)
	require.Equal(t, ts(21, 1), c.Now())
}

func TestHLCLastHasNoSideEffect(t *testing.T) {
	calls := 0
	c := NewHLC(func() int64 { calls++; return 5 }, 0)
	require.True(t, c.Last().IsZero())
	require.Equal(t, 0, calls, "Last does not read the physical clock")
	now := c.Now()
	require.Equal(t, 1, calls)
	require.Equal(t, now, c.Last())
	require.Equal(t, now, c.Last())
	require.Equal(t, ts(5, 1), c.Now(), "Last did not advance the clock")
}

func TestNewHLCPanicsOnNilPhysical(t *testing.T) {
	require.PanicsWithValue(t, "crdt: NewHLC: physical clock is nil", func() { NewHLC(nil, 0) })
}

func TestTimestampOrderingAndString(t *testing.T) {
	cases := []struct {
		a, b Timestamp
		less bool
	}{
		{ts(1, 0), ts(2, 0), true},
		{ts(2, 0), ts(1, 9), false},
		{ts(1, 1), ts(1, 2), true},
		{ts(1, 2), ts(1, 2), false},
		{ts(-1, 5), ts(0, 0), true},
	}
	for _, tc := range cases {
		require.Equal(t, tc.less, tc.a.Less(tc.b), "%s < %s", tc.a, tc.b)
	}
	require.True(t, Timestamp{}.IsZero())
	require.False(t, ts(0, 1).IsZero())
	require.False(t, ts(1, 0).IsZero())
	require.Equal(t, "1700000000.000000123,4", ts(1_700_000_000_000_000_123, 4).String())
	require.Equal(t, "0.000000000,0", Timestamp{}.String())
	require.Equal(t, "-1.500000000,2", ts(-1_500_000_000, 2).String())
	require.Equal(t, "-9223372036.854775808,0", ts(math.MinInt64, 0).String())
}

// hlcScript is a random sequence of clock events for property tests.
type hlcScript []hlcEvent

type hlcEvent struct {
	physicalStep int64 // added to the physical clock; may be negative
	update       bool
	remoteAhead  int64 // remote wall time relative to physical
	remoteLog    uint32
}

func (hlcScript) Generate(r *rand.Rand, size int) reflect.Value {
	s := make(hlcScript, r.Intn(size+1))
	for i := range s {
		s[i] = hlcEvent{
			physicalStep: r.Int63n(21) - 10,
			update:       r.Intn(2) == 0,
			remoteAhead:  r.Int63n(61) - 30,
			remoteLog:    uint32(r.Intn(4)),
		}
		if r.Intn(10) == 0 {
			s[i].remoteLog = math.MaxUint32 - uint32(r.Intn(2))
		}
	}
	return reflect.ValueOf(s)
}

func TestHLCPropertyStrictlyIncreasing(t *testing.T) {
	const maxOffset = 20
	prop := func(script hlcScript) bool {
		phys := &fakePhysical{ns: 1_000}
		c := NewHLC(phys.read, maxOffset)
		for _, ev := range script {
			phys.ns += ev.physicalStep
			prev := c.Last()
			if !ev.update {
				got := c.Now()
				if !prev.Less(got) || got.WallTime < phys.ns || got != c.Last() {
					return false
				}
				continue
			}
			remote := ts(phys.ns+ev.remoteAhead, ev.remoteLog)
			got, err := c.Update(remote)
			if !prev.Less(got) || got.WallTime < phys.ns || got != c.Last() {
				return false
			}
			if ev.remoteAhead > maxOffset {
				if !errors.Is(err, ErrClockOffset) || got.WallTime > max(prev.WallTime, phys.ns)+1 {
					return false
				}
			} else if err != nil || !remote.Less(got) {
				return false
			}
		}
		return true
	}
	require.NoError(t, quick.Check(prop, &quick.Config{MaxCount: 1000, Rand: rand.New(rand.NewSource(1))}))
}
