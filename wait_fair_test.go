//go:build !race

// The race detector allows 8128 goroutines at once, and this test holds
// about ten thousand in Wait; .ci/run runs it without the detector.

package fairmesh_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/fairmesh/fairmesh"
)

// Capacity 1000/s; clients of weights 3, 1 and 0 each offer 2000 requests
// a second through Wait with a 2 s deadline. The admitted rates are the
// weighted max-min shares (the zero-weight client its floor of 50/s, the
// others 950 in 3:1), every window admits within the capacity, and once
// every context has ended no goroutine is left.
func TestWaitIsWeightedFair(t *testing.T) {
	if testing.Short() {
		t.Skip("10 s of real time")
	}
	before := runtime.NumGoroutine()
	n, err := fairmesh.NewNode(fairmesh.Config{NodeID: "n1", Capacity: 1000, MinRate: 50, MaxWaitingPerClient: 8192})
	if err != nil {
		t.Fatal(err)
	}
	weights := map[string]int{"heavy": 3, "light": 1, "zero": 0}
	for id, w := range weights {
		if err := n.UpdateClientWeight(id, w); err != nil {
			t.Fatal(err)
		}
	}
	share := map[string]float64{"heavy": 950 * 0.75, "light": 950 * 0.25, "zero": 50}

	type key struct {
		client string
		window int64
	}
	var mu sync.Mutex
	admitted := map[key]int{}
	perWindow := map[int64]int{}
	var failures, others int
	var wg sync.WaitGroup
	start := time.Now()
	const load = 6 * time.Second
	for id := range weights {
		wg.Add(1)
		go func() { // 2000 a second: two every millisecond
			defer wg.Done()
			tick := time.NewTicker(time.Millisecond)
			defer tick.Stop()
			sent := 0
			for now := range tick.C {
				due := int(now.Sub(start).Seconds() * 2000)
				for ; sent < due; sent++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
						defer cancel()
						d, err := n.WaitDecide(ctx, id, 1)
						mu.Lock()
						defer mu.Unlock()
						switch {
						case err == nil:
							w := d.WindowStart.UnixNano()
							admitted[key{id, w}]++
							perWindow[w]++
						case errors.Is(err, context.DeadlineExceeded):
							failures++
						default:
							others++
						}
					}()
				}
				if now.Sub(start) >= load {
					return
				}
			}
		}()
	}
	wg.Wait()

	if others > 0 {
		t.Errorf("%d Waits failed with something other than their deadline", others)
	}
	if failures == 0 {
		t.Error("no Wait ran out of time, at twice the capacity offered per client")
	}
	for w, got := range perWindow {
		if got > 1000 {
			t.Errorf("window %v admitted %d, capacity 1000", time.Unix(0, w), got)
		}
	}
	// The steady windows: past the first two (demand is measured) and
	// before the last (the load stops within it).
	first := start.Add(2 * time.Second).Truncate(time.Second).UnixNano()
	last := start.Add(load - time.Second).Truncate(time.Second).UnixNano()
	for id, want := range share {
		sum, windows := 0, 0
		for w := first; w < last; w += int64(time.Second) {
			sum += admitted[key{id, w}]
			windows++
		}
		got := float64(sum) / float64(windows)
		t.Logf("%s (weight %d): %.1f a window, share %.1f", id, weights[id], got, want)
		if got < 0.95*want || got > 1.05*want {
			t.Errorf("%s (weight %d): %.1f admitted a window over %d windows, want %.1f ± 5%%", id, weights[id], got, windows, want)
		}
	}

	waitGoroutines(t, before)
}
