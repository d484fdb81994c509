package fairmesh_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fairmesh/fairmesh"
)

// offer drives n for ms milliseconds in 1 ms steps, client id asking at
// perSec[id] requests a second, evenly spread; it returns what each was
// admitted.
func offer(n *fairmesh.Node, advance func(time.Duration), ms int, perSec map[string]float64) map[string]int {
	got := map[string]int{}
	owed := map[string]float64{}
	for range ms {
		for id, r := range perSec {
			for owed[id] += r / 1000; owed[id] >= 1; owed[id]-- {
				if n.Allow(id) {
					got[id]++
				}
			}
		}
		advance(time.Millisecond)
	}
	return got
}

// Under contention, zero-weight clients get their floor and only what
// weighted clients leave. A weighted client whose limit has a shorter
// window than the capacity's reserves no share (its share stays in the
// pool): two greedy zero-weight clients asking far more often must not
// take it first. And the capacity is still used to the last request.
func TestZeroWeightClientsLeaveWeightedSharesAlone(t *testing.T) {
	n, clk := newNode(t, fairmesh.Config{Capacity: 500})
	require.NoError(t, n.UpdateClientWeight("fast", 3))
	require.NoError(t, n.UpdateClientRateLimit("fast", 1000, 100*time.Millisecond))
	for _, id := range []string{"free-a", "free-b"} {
		require.NoError(t, n.UpdateClientWeight(id, 0))
	}
	// The clients start 370 ms into a window; each window is measured.
	clk.Advance(370 * time.Millisecond)
	load := map[string]float64{"fast": 60, "free-a": 400, "free-b": 700}
	offer(n, clk.Advance, 630, load)
	for w := range 8 {
		got := offer(n, clk.Advance, 1000, load)
		t.Logf("window %d: %v", w, got)
		total := got["fast"] + got["free-a"] + got["free-b"]
		require.LessOrEqual(t, total, 500, "window %d: the capacity", w)
		if w < 2 {
			continue
		}
		// The weighted client asks 60 and is owed all of it.
		require.GreaterOrEqual(t, got["fast"], 59, "window %d: the weighted client", w)
		require.GreaterOrEqual(t, total, 495, "window %d: capacity left unused", w)
		require.GreaterOrEqual(t, got["free-a"], 1, "window %d: a zero-weight client's floor", w)
		require.GreaterOrEqual(t, got["free-b"], 1, "window %d: a zero-weight client's floor", w)
	}
}

// Clients past MaxClients share the overflow bucket, a zero-weight client
// at the default limit. With a default limit per 100 ms, under a capacity
// per second that the flood and a known client together exceed, the
// overflow's share (what the known client leaves) is reserved in each of
// its ten windows and counted ten times against the capacity: no capacity
// window is over, and each gets its share.
func TestOverflowWithShortDefaultWindowHoldsTheCapacity(t *testing.T) {
	n, clk := newNode(t, fairmesh.Config{Capacity: 500, MaxClients: 2, DefaultRate: 200, DefaultPeriod: 100 * time.Millisecond})
	require.NoError(t, n.UpdateClientWeight("known", 1))
	require.NoError(t, n.UpdateClientRateLimit("known", 1000, time.Second))
	clk.Advance(370 * time.Millisecond)
	flood := 0
	step := func(ms int) map[string]int {
		got := map[string]int{}
		for i := range ms {
			if i%10 < 3 && n.Allow("known") { // 300 a second
				got["known"]++
			}
			for range 2 {
				flood++
				if n.Allow(fmt.Sprintf("flood-%d", flood)) {
					got["flood"]++
				}
			}
			clk.Advance(time.Millisecond)
		}
		return got
	}
	step(630)
	for w := range 6 {
		got := step(1000)
		t.Logf("window %d: %v", w, got)
		require.LessOrEqual(t, got["known"]+got["flood"], 500, "window %d: the capacity", w)
		if w >= 2 {
			require.GreaterOrEqual(t, got["known"], 295, "window %d: the weighted client", w)
			require.GreaterOrEqual(t, got["flood"], 190, "window %d: what it leaves, to the overflow", w)
		}
	}
}

// A client that goes silent leaves its reserved share unused; once the
// node releases it, what the weighted clients there still want of the
// window is lent to them at once, and what they do not want to the
// zero-weight client, rather than waiting in the pool for the window's
// last quarter (where a quarter of the capacity used to idle each time an
// on/off client went off).
func TestSilentClientsShareGoesToOthersAtOnce(t *testing.T) {
	h := newMesh(t, 2, fairmesh.Config{Capacity: 1000})
	for id, w := range map[string]int{"gold": 3, "bronze": 1, "silver": 2, "scav": 0, "lim": 2} {
		require.NoError(t, h.nodes["n1"].UpdateClientWeight(id, w))
	}
	// A client that asks twice its own limit: nothing lent to it may go
	// past its part of the limit (capacity nobody could use).
	require.NoError(t, h.nodes["n1"].UpdateClientRateLimit("lim", 100, time.Second))
	// Per node and millisecond: 1200 a second without silver, so the
	// capacity binds whether silver sends or not.
	base := map[string]float64{"gold": 0.25, "bronze": 0.15, "scav": 0.15, "lim": 0.1}
	owed := map[string]float64{}
	got := map[int64]int{}
	first := h.clk.Now().Unix()
	for ms := range 20000 {
		on := (ms+370)%2600 < 1300 // 1.3 s on, 1.3 s off, off the window boundaries
		w := h.clk.Now().Unix() - first
		for _, node := range h.ids {
			for id, r := range base {
				owed[node+id] += r
			}
			if on {
				owed[node+"silver"] += 0.3
			}
			for _, id := range []string{"gold", "bronze", "scav", "silver", "lim"} {
				for ; owed[node+id] >= 1; owed[node+id]-- {
					if h.nodes[node].Allow(id) {
						got[w]++
					}
				}
			}
		}
		h.step()
		if ms%100 == 0 {
			for _, node := range h.ids {
				require.NoError(t, h.nodes[node].CheckInvariants(), "%d ms", ms)
			}
		}
	}
	sum := 0
	for w := int64(4); w < 20; w++ {
		t.Logf("window %d: %d", w, got[w])
		require.LessOrEqual(t, got[w], 1001, "window %d: the capacity", w)
		// 757 at worst, 955 on average, when what an idle client left
		// waited in the pool for the window's last quarter (and its last
		// tenth for the zero-weight client).
		require.GreaterOrEqual(t, got[w], 950, "window %d: capacity idle while clients asked for it", w)
		sum += got[w]
	}
	require.GreaterOrEqual(t, sum/16, 990, "mean over the windows")
}
