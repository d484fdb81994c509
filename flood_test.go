package fairmesh_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fairmesh/fairmesh"
)

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestMemoryPerClient tracks 1M clients and measures the heap they hold:
// entry, bookkeeping, table slot and the ID itself.
func TestMemoryPerClient(t *testing.T) {
	clients := 1_000_000
	if testing.Short() {
		clients = 100_000
	}
	ids := make([]string, clients)
	for i := range ids {
		ids[i] = fmt.Sprintf("client-%07d", i)
	}
	before := heapInUse()
	n, _ := newNode(t, fairmesh.Config{MaxClients: clients, DefaultRate: 10})
	for _, id := range ids {
		require.True(t, n.Allow(id))
	}
	require.Equal(t, clients, n.Status().TrackedClients)
	after := heapInUse()
	// The IDs were allocated before the baseline; count their bytes too,
	// since the table keeps them alive.
	perClient := float64(after-before)/float64(clients) + 16
	t.Logf("%.0f bytes per tracked client (%d clients)", perClient, clients)
	require.LessOrEqual(t, perClient, 256.0)
	runtime.KeepAlive(n)
}

// TestFloodOfRandomIDs sends 10M distinct random client IDs (1M in -short)
// alongside two known clients, with a shared capacity, and checks that
// memory stays bounded and the known clients are admitted as much as in a
// control run without the flood.
func TestFloodOfRandomIDs(t *testing.T) {
	perWindow := 1_000_000
	if testing.Short() {
		perWindow = 100_000
	}
	const windows = 10
	run := func(flood bool) (admitted map[string]int, tracked int, heapGrowth int64) {
		n, clk := newNode(t, fairmesh.Config{Capacity: 1000, MaxClients: 10_000, DefaultRate: 50})
		for _, id := range []string{"known-a", "known-b"} {
			require.NoError(t, n.UpdateClientRateLimit(id, 2000, time.Second))
		}
		r := rand.New(rand.NewPCG(1, 2))
		admitted = map[string]int{}
		var start uint64
		buf := make([]byte, 0, 32)
		for w := range windows {
			if w == 3 {
				start = heapInUse()
			}
			// 1000 steps per window; each step both known clients try 2
			// requests and the flood sends perWindow/1000 new IDs.
			for range 1000 {
				for _, id := range []string{"known-a", "known-b"} {
					for range 2 {
						if n.Allow(id) && w >= 3 {
							admitted[id]++
						}
					}
				}
				if flood {
					for range perWindow / 1000 {
						buf = strconv.AppendUint(buf[:0], r.Uint64(), 36)
						n.Allow(string(buf))
					}
				}
				clk.Advance(time.Millisecond)
			}
		}
		return admitted, n.Status().TrackedClients, int64(heapInUse()) - int64(start)
	}
	control, _, _ := run(false)
	got, tracked, growth := run(true)
	t.Logf("control %v, flood %v, tracked %d, heap growth over 7 windows %d bytes", control, got, tracked, growth)
	require.LessOrEqual(t, tracked, 10_000)
	require.Less(t, growth, int64(8<<20), "memory must not grow with the flood")
	for _, id := range []string{"known-a", "known-b"} {
		// Known clients share the capacity: ~500 each per window.
		require.Greater(t, control[id], 7*450, id)
		require.GreaterOrEqual(t, float64(got[id]), 0.99*float64(control[id]), id)
	}
}
