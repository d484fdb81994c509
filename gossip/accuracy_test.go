package gossip

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/fairmesh/fairmesh"
)

// TestAccuracyUnevenLoad drives three clients through five real nodes with
// traffic spread unevenly for 10+ s of wall time: the limited client never
// goes over its limit by more than 2 % (+1) in any window, the capacity is
// never exceeded by more than 2 % (+1), and the weighted split is within
// 5 % of the ideal (Σ|admitted − ideal| / Σ ideal).
func TestAccuracyUnevenLoad(t *testing.T) {
	const capacity, apiLimit = 600, 100
	c := newCluster(t, 5, func(i int) Config {
		return testConfig("", fairmesh.Config{Capacity: capacity})
	})
	m := c.meshes[0]
	must(t, m.UpdateClientRateLimit("api", apiLimit, time.Second))
	must(t, m.UpdateClientWeight("gold", 2))
	must(t, m.UpdateClientWeight("silver", 1))
	ds := []demand{
		{"api", 250, []float64{0, 0.5, 0, 0.3, 0.2}},
		{"gold", 500, []float64{0.7, 0, 0.3, 0, 0}},
		{"silver", 500, []float64{0.1, 0.1, 0.2, 0.2, 0.4}},
	}
	ideal := waterFill(capacity, []float64{1, 2, 1}, []float64{apiLimit, 500, 500})

	rec := newRecorder(time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	wait := c.drive(ctx, rec, ds)
	start := rec.window(time.Now())
	// Demand is stable from the first full window; allow 3 windows for the
	// reports to flow (the Node splits window w by the demand of w−2).
	first, last := start+4, start+4+10
	for rec.window(time.Now()) <= last {
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	wait()

	var errSum, idealSum float64
	for w := first; w <= last; w++ {
		var total int64
		for k, d := range ds {
			a := rec.admitted(d.client, w)
			total += a
			errSum += math.Abs(float64(a) - ideal[k])
			idealSum += ideal[k]
			t.Logf("window %d %-6s attempts %4d admitted %4d ideal %5.1f", w-start, d.client, rec.attempts(d.client, w), a, ideal[k])
		}
		if a := rec.admitted("api", w); float64(a) > apiLimit*1.02+1 {
			t.Errorf("window %d: api admitted %d, limit %d", w-start, a, apiLimit)
		}
		if float64(total) > capacity*1.02+1 {
			t.Errorf("window %d: admitted %d in all, capacity %d", w-start, total, capacity)
		}
	}
	fe := 100 * errSum / idealSum
	t.Logf("fairness error %.2f %% over %d windows; stats n1 %+v", fe, last-first+1, m.Stats())
	if fe > 5 {
		t.Errorf("fairness error %.2f %%, want ≤ 5 %%", fe)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
