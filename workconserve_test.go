package fairmesh_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fairmesh/fairmesh"
)

// A node alone with capacity 2000/s and a default limit of 200/s: the
// capacity nobody uses is not withheld from anyone under their own limit.
func workConservingNode(t *testing.T) (*fairmesh.Node, func(time.Duration)) {
	n, clk := newNode(t, fairmesh.Config{Capacity: 2000, DefaultRate: 200})
	// Start off a window boundary: nothing below may line up with one.
	clk.Advance(370 * time.Millisecond)
	return n, clk.Advance
}

// A client bursting 50 requests every 2, 4 or 30 s, alone, gets all 50
// every time, however long it idled: its demand two windows ago is zero,
// and that must not make its allowance zero.
func TestBurstyClientGetsEveryBurst(t *testing.T) {
	for _, gap := range []time.Duration{2 * time.Second, 4 * time.Second, 30 * time.Second} {
		t.Run(gap.String(), func(t *testing.T) {
			n, advance := workConservingNode(t)
			for burst := range 8 {
				got := 0
				for range 50 {
					if n.Allow("bursty") {
						got++
					}
					advance(3 * time.Millisecond) // a burst of 150 ms
				}
				require.Equal(t, 50, got, "burst %d", burst)
				advance(gap - 150*time.Millisecond + time.Duration(burst)*17*time.Millisecond)
			}
			// The client's own limit still binds within one burst.
			got := 0
			for range 300 {
				if n.Allow("bursty") {
					got++
				}
			}
			require.Equal(t, 200, got, "a burst above the default limit")
		})
	}
}

// 1000 clients never seen before, one request each within one window of
// an idle node: every one is admitted.
func TestThousandNewcomersInOneWindowAllAdmitted(t *testing.T) {
	n, advance := workConservingNode(t)
	for round := range 3 {
		got := 0
		for i := range 1000 {
			if n.Allow(fmt.Sprintf("new-%d-%d", round, i)) {
				got++
			}
			if i%100 == 99 {
				advance(50 * time.Millisecond)
			}
		}
		require.Equal(t, 1000, got, "round %d", round)
		advance(1300 * time.Millisecond)
	}
}

// A weight-3 client returning after 10 s idle beside two saturating
// weight-1 clients reaches its weighted share of 2000 (1200) from the
// second window after its return; while it idles, the other two share the
// whole capacity.
func TestReturningClientReachesItsShare(t *testing.T) {
	n, advance := workConservingNode(t)
	for id, w := range map[string]int{"gold": 3, "a": 1, "b": 1} {
		require.NoError(t, n.UpdateClientWeight(id, w))
		require.NoError(t, n.UpdateClientRateLimit(id, 5000, time.Second))
	}
	// Whole windows from here, so that per-window counts are exact; the
	// start was off a boundary, and so is gold's return below.
	advance(630 * time.Millisecond)
	run := func(windows int, gold bool) []map[string]int {
		var out []map[string]int
		for range windows {
			got := map[string]int{}
			for range 1000 {
				for _, id := range []string{"a", "b"} {
					for range 3 {
						if n.Allow(id) {
							got[id]++
						}
					}
				}
				if gold {
					for range 3 {
						if n.Allow("gold") {
							got["gold"]++
						}
					}
				}
				advance(time.Millisecond)
			}
			out = append(out, got)
		}
		return out
	}
	run(1, true) // gold is known, then idles
	for _, got := range run(10, false)[2:] {
		require.InDelta(t, 2000, got["a"]+got["b"], 2, "%v", got)
	}
	after := run(6, true)
	for i, got := range after[2:] {
		require.InDelta(t, 1200, got["gold"], 60, "window %d after the return: %v", i+2, got)
		require.InDelta(t, 2000, got["a"]+got["b"]+got["gold"], 2, "window %d: %v", i+2, got)
	}
}

// Ten zero-weight clients, each with its own limit of 145/s and offering
// 101.5/s, 70% of it to n1 and 30% to n4 of nine nodes, capacity 955/s:
// demand exceeds the capacity, so each is owed an equal share (95.5). The
// seven idle nodes hold a ninth of each client's limit; they must give it
// to n1 and n4 ahead of each window, although a zero-weight client could
// not draw on the pool at an idle node until late in a window. (They kept
// it: the mesh served 320 of 955 a window.) From the third window on the
// whole capacity is served, each client its share, never past the
// capacity or a limit.
func TestZeroWeightLimitRightsFollowTraffic(t *testing.T) {
	h := newMesh(t, 9, fairmesh.Config{Capacity: 955})
	for i := range 10 {
		id := fmt.Sprintf("c%d", i)
		require.NoError(t, h.nodes["n1"].UpdateClientRateLimit(id, 145, time.Second))
		require.NoError(t, h.nodes["n1"].UpdateClientWeight(id, 0))
	}
	demand := map[string]map[string]float64{"n1": {}, "n4": {}}
	for i := range 10 {
		id := fmt.Sprintf("c%d", i)
		demand["n1"][id] = 0.1015 * 0.7
		demand["n4"][id] = 0.1015 * 0.3
	}
	for w := range 12 {
		got := h.window(demand)
		total := 0
		for id, c := range got {
			total += c
			require.LessOrEqual(t, c, 145, "window %d: %s's limit", w, id)
			if w >= 3 {
				require.InDelta(t, 95.5, c, 0.05*95.5, "window %d: %s's equal share", w, id)
			}
		}
		t.Logf("window %d: %d admitted", w, total)
		require.LessOrEqual(t, total, 955, "window %d: the capacity", w)
		if w >= 3 {
			require.GreaterOrEqual(t, total, 950, "window %d: the whole capacity", w)
		}
	}
}
