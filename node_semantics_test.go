package fairmesh_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fairmesh/fairmesh"
	"github.com/fairmesh/fairmesh/clock"
)

// epoch is a fixed instant aligned on a second, so window k of a 1s period
// starts at epoch + k seconds.
var epoch = time.Unix(1_800_000_000, 0)

func newNode(t *testing.T, cfg fairmesh.Config) (*fairmesh.Node, *clock.ManualClock) {
	t.Helper()
	clk := clock.NewManualClock(epoch)
	cfg.Clock = clk
	n, err := fairmesh.NewNode(cfg)
	require.NoError(t, err)
	return n, clk
}

// demand drives the node for one second in 1 ms steps; perMs[id] is how
// many requests client id attempts in each millisecond. It returns how many
// each client was admitted.
func demand(n *fairmesh.Node, clk *clock.ManualClock, perMs map[string]int) map[string]int {
	got := map[string]int{}
	for range 1000 {
		for id, k := range perMs {
			for range k {
				if n.Allow(id) {
					got[id]++
				}
			}
		}
		clk.Advance(time.Millisecond)
	}
	return got
}

func TestLimitAdmitsExactlyNPerWindowAndAgainAfter(t *testing.T) {
	n, clk := newNode(t, fairmesh.Config{})
	require.NoError(t, n.UpdateClientRateLimit("a", 5, time.Second))
	for w := range 3 {
		admitted := 0
		for range 20 {
			if n.Allow("a") {
				admitted++
			}
		}
		require.Equal(t, 5, admitted, "window %d", w)
		clk.Advance(999 * time.Millisecond)
		require.False(t, n.Allow("a"), "still window %d at its last millisecond", w)
		clk.Advance(time.Millisecond)
	}
}

func TestZeroRateBlocks(t *testing.T) {
	n, _ := newNode(t, fairmesh.Config{})
	require.True(t, n.Allow("a"))
	require.NoError(t, n.UpdateClientRateLimit("a", 0, time.Second))
	require.False(t, n.Allow("a"))
}

func TestWeightedShareTwoToOne(t *testing.T) {
	n, clk := newNode(t, fairmesh.Config{Capacity: 1000})
	require.NoError(t, n.UpdateClientWeight("gold", 2))
	require.NoError(t, n.UpdateClientWeight("silver", 1))
	var gold, silver int
	for w := range 11 {
		got := demand(n, clk, map[string]int{"gold": 2, "silver": 2})
		if w >= 3 {
			gold += got["gold"]
			silver += got["silver"]
		}
	}
	ratio := float64(gold) / float64(silver)
	require.InDelta(t, 2.0, ratio, 0.05, "gold %d silver %d", gold, silver)
	perSec := float64(gold+silver) / 8
	require.InDelta(t, 1000, perSec, 50, "total per second")
}

func TestLightClientGetsAllItWants(t *testing.T) {
	n, clk := newNode(t, fairmesh.Config{Capacity: 1000})
	require.NoError(t, n.UpdateClientWeight("light", 2))
	require.NoError(t, n.UpdateClientWeight("heavy", 1))
	var got map[string]int
	for range 6 {
		got = map[string]int{"light": 0, "heavy": 0}
		// light: 1 request every 10 ms = 100/s; heavy: 3 per ms.
		for ms := range 1000 {
			if ms%10 == 0 && n.Allow("light") {
				got["light"]++
			}
			for range 3 {
				if n.Allow("heavy") {
					got["heavy"]++
				}
			}
			clk.Advance(time.Millisecond)
		}
	}
	require.Equal(t, 100, got["light"])
	require.InDelta(t, 900, got["heavy"], 10)
}

func TestZeroWeightKeepsFloor(t *testing.T) {
	n, clk := newNode(t, fairmesh.Config{Capacity: 1000, MinRate: 5})
	require.NoError(t, n.UpdateClientWeight("free", 0))
	for w := range 8 {
		got := demand(n, clk, map[string]int{"a": 2, "b": 2, "free": 1})
		if w >= 2 {
			require.GreaterOrEqual(t, got["free"], 5, "window %d: %v", w, got)
			require.LessOrEqual(t, got["a"]+got["b"]+got["free"], 1001, "window %d", w)
		}
	}
}

func TestWeightChangeWithinTwoWindows(t *testing.T) {
	n, clk := newNode(t, fairmesh.Config{Capacity: 1000})
	for range 4 {
		demand(n, clk, map[string]int{"a": 2, "b": 2})
	}
	require.NoError(t, n.UpdateClientWeight("a", 3))
	var got map[string]int
	for range 2 {
		got = demand(n, clk, map[string]int{"a": 2, "b": 2})
	}
	require.InDelta(t, 3.0, float64(got["a"])/float64(got["b"]), 0.1, "%v", got)
}

func TestConcurrentHammerNeverExceedsLimit(t *testing.T) {
	n, clk := newNode(t, fairmesh.Config{})
	require.NoError(t, n.UpdateClientRateLimit("hot", 1000, time.Second))
	for range 3 {
		var admitted atomic.Int64
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 2000 {
					if n.Allow("hot") {
						admitted.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		require.Equal(t, int64(1000), admitted.Load())
		clk.Advance(time.Second)
	}
}

func TestInvalidInputChangesNothing(t *testing.T) {
	n, _ := newNode(t, fairmesh.Config{})
	require.NoError(t, n.UpdateClientRateLimit("a", 10, time.Second))
	require.NoError(t, n.UpdateClientWeight("a", 4))
	long := string(make([]byte, fairmesh.MaxClientIDLen+1))
	cases := []struct {
		name string
		err  error
	}{
		{"negative weight", n.UpdateClientWeight("a", -1)},
		{"negative rate", n.UpdateClientRateLimit("a", -1, time.Second)},
		{"period under 1ms", n.UpdateClientRateLimit("a", 5, time.Microsecond)},
		{"period over 24h", n.UpdateClientRateLimit("a", 5, 25*time.Hour)},
		{"empty ID", n.UpdateClientWeight("", 1)},
		{"long ID", n.UpdateClientRateLimit(long, 1, time.Second)},
	}
	for _, c := range cases {
		require.Error(t, c.err, c.name)
		require.Contains(t, c.err.Error(), "fairmesh: ", c.name)
	}
	st, err := n.Client("a")
	require.NoError(t, err)
	require.Equal(t, fairmesh.ClientConfig{Weight: 4, Rate: 10, Period: time.Second, Limited: true, Configured: true, OwnWeight: true, OwnLimit: true}, st.Config)
	require.False(t, n.Allow(""))
	require.False(t, n.Allow(long))
	require.False(t, n.AllowN("a", 0))
	require.Len(t, n.Clients(0), 1)
}
