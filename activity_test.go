package fairmesh_test

import (
	"testing"
	"time"

	"github.com/fairmesh/fairmesh"
)

func signalled(n *fairmesh.Node) bool {
	select {
	case <-n.Changed():
		return true
	default:
		return false
	}
}

// An idle mesh goes quiet: once the joins settle, its ticks carry only
// keepalives and the same state again is no news. Consumption, a local
// config change and news from a member each end the quiet, and only news
// (a config change here, a report there) wakes the runtime.
func TestQuietForFollowsNews(t *testing.T) {
	h := newMesh(t, 3, fairmesh.Config{Capacity: 1000})
	for range 5000 {
		h.step()
	}
	a, b := h.nodes["n1"], h.nodes["n2"]
	for _, id := range h.ids {
		if q := h.nodes[id].QuietFor(h.clk.Now()); q < 2*time.Second {
			t.Fatalf("%s: quiet for %v after 5 s with no traffic", id, q)
		}
	}
	for _, id := range h.ids {
		signalled(h.nodes[id]) // drain the joins' news
	}

	// Decisions: once their window is over, n1 reports its demand (the
	// Node cannot see decisions sooner; the runtime's clock does), and
	// the members hear news.
	for range 1100 {
		a.Allow("c")
		h.step()
	}
	if q := a.QuietFor(h.clk.Now()); q > 200*time.Millisecond {
		t.Errorf("n1 quiet for %v after reporting its demand", q)
	}
	if !signalled(b) || b.QuietFor(h.clk.Now()) > 100*time.Millisecond {
		t.Error("n2 was not woken by n1's report")
	}

	for range 5000 {
		h.step()
	}
	signalled(a)
	signalled(b)
	if q := b.QuietFor(h.clk.Now()); q < 2*time.Second {
		t.Fatalf("n2 quiet for only %v, 5 s after the last decision", q)
	}
	// A local config change signals at once, before any tick.
	if err := a.UpdateClientWeight("c", 3); err != nil {
		t.Fatal(err)
	}
	if !signalled(a) || a.QuietFor(h.clk.Now()) != 0 {
		t.Error("a local config change neither signalled nor ended the quiet")
	}
	for range 100 {
		h.step()
	}
	if !signalled(b) {
		t.Error("n2 was not woken by the new weight")
	}
	// The same register again (as a push/pull repeats it) is no news.
	for range 3000 {
		h.step()
	}
	signalled(b)
	before := b.QuietFor(h.clk.Now())
	for _, p := range a.FullState() {
		if err := b.Receive("n1", p); err != nil {
			t.Fatal(err)
		}
	}
	if signalled(b) || b.QuietFor(h.clk.Now()) < before {
		t.Error("n1's full state, which n2 knows already, woke n2")
	}
}
