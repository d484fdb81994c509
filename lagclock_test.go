package fairmesh_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fairmesh/fairmesh"
	"github.com/fairmesh/fairmesh/clock"
)

// laggingClock is what `fairmesh serve` runs on, at its worst: the fast
// path reads a coarse clock (UnixNano) that a ticker goroutine advances, and
// that lags the exact one (Now) when the ticker is starved of CPU, while
// maintenance runs on the exact clock.
type laggingClock struct {
	clk *clock.ManualClock
	lag time.Duration
}

func (c laggingClock) Now() time.Time  { return c.clk.Now() }
func (c laggingClock) UnixNano() int64 { return c.clk.Now().Add(-c.lag).UnixNano() }

// Three nodes whose fast path lags their maintenance by 7 ms, with demand
// that moves from node to node every two windows, so that what each node
// holds changes at boundaries. Every tick falls on a 100 ms mark, so the
// one at a window's start derives that window's policies: from then on,
// every decision must be counted in that window, however far the fast
// path's clock lags. (Before, the first 7 ms of each window were decided on
// its rights but counted in the window before, which could then admit past
// its own share: up to 1.2% over the capacity on real hosts whose clock
// ticker was starved of CPU.) Counted by the window each decision names, no
// window admits more than the client's limit or the capacity.
func TestLaggingFastClockNeverOverAdmits(t *testing.T) {
	clk := clock.NewManualClock(epoch)
	lc := laggingClock{clk: clk, lag: 7 * time.Millisecond}
	ids := []string{"n1", "n2", "n3"}
	nodes := map[string]*fairmesh.Node{}
	for _, id := range ids {
		n, err := fairmesh.NewNode(fairmesh.Config{NodeID: id, Clock: lc, Capacity: 300})
		require.NoError(t, err)
		nodes[id] = n
	}
	for _, a := range ids {
		for _, b := range ids {
			if a != b {
				nodes[a].SetMember(b, fairmesh.MemberAlive)
			}
		}
	}
	require.NoError(t, nodes["n1"].UpdateClientRateLimit("api", 100, time.Second))
	require.NoError(t, nodes["n2"].UpdateClientWeight("bulk", 2))

	type key struct {
		window int64
		client string
	}
	admitted := map[key]int{}
	acc := map[string]float64{}
	for ms := range 40_000 {
		w := ms / 1000
		for i, id := range ids {
			// The node whose turn it is (two windows each) gets most of
			// the traffic: its rights grow at the second window's start.
			heavy := i == w/2%3
			for _, c := range []string{"api", "bulk"} {
				rate := 0.05
				if heavy {
					rate = 2
				}
				acc[id+c] += rate
				for acc[id+c] >= 1 {
					acc[id+c]--
					d := nodes[id].Decide(c, 1)
					// The tick at the boundary derived window w's
					// policies: a lagging reading still in w-1 is
					// decided and counted in w.
					if got := d.WindowStart.Sub(epoch) / time.Second; ms >= 1000 && got != time.Duration(w) {
						t.Fatalf("%d ms: %s decided %s in window %d, after the tick that opened window %d", ms, id, c, got, w)
					}
					if d.Allowed {
						admitted[key{d.WindowStart.UnixNano(), c}]++
						admitted[key{d.WindowStart.UnixNano(), ""}]++
					}
				}
			}
		}
		clk.Advance(time.Millisecond)
		if (ms+1)%100 == 0 {
			for _, from := range ids {
				for _, m := range nodes[from].Tick(clk.Now()) {
					for _, to := range ids {
						if to != from && (m.To == "" || m.To == to) {
							require.NoError(t, nodes[to].Receive(from, m.Payload))
						}
					}
				}
			}
		}
	}
	worst := map[string]int{}
	for k, n := range admitted {
		worst[k.client] = max(worst[k.client], n)
	}
	t.Logf("most admitted in a window: api %d (limit 100), all %d (capacity 300)", worst["api"], worst[""])
	require.LessOrEqual(t, worst["api"], 100, "the client's limit")
	require.LessOrEqual(t, worst[""], 300, "the capacity")
	require.Greater(t, worst[""], 250, "and the capacity is used")
}
