package fairmesh

import (
	"fmt"
	"testing"
	"time"

	"github.com/fairmesh/fairmesh/clock"
)

// A window boundary walks every tracked client; that walk must not allocate
// per client, or a node with many clients feeds the collector megabytes a
// window.
func TestWindowRolloverDoesNotAllocatePerClient(t *testing.T) {
	const clients = 10_000
	clk := clock.NewManualClock(time.Unix(1000, 0))
	n, err := NewNode(Config{Clock: clk, DefaultRate: 1000, DefaultPeriod: time.Second, MaxClients: 2 * clients})
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, clients)
	for i := range ids {
		ids[i] = fmt.Sprintf("client-%d", i)
	}
	window := func() {
		clk.Advance(time.Second)
		for _, id := range ids {
			n.Allow(id)
		}
	}
	for range 5 { // settle: smoothed demand stops moving, reports stop
		window()
	}
	allocs := testing.AllocsPerRun(5, window)
	t.Logf("%.0f allocations per window with %d clients", allocs, clients)
	if allocs > clients/100 {
		t.Fatalf("%.0f allocations per window with %d clients: the rollover allocates per client", allocs, clients)
	}
}
