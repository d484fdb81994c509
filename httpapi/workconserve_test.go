package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fairmesh/fairmesh"
	"github.com/fairmesh/fairmesh/httpapi"
)

// admittedIn sends one POST /v1/allow deciding n requests of each client
// (one item per request) and counts the admitted ones per client.
func admittedIn(t *testing.T, f *fixture, n map[string]int) map[string]int {
	t.Helper()
	var items []string
	for id, k := range n {
		for range k {
			items = append(items, fmt.Sprintf(`{"client":%q}`, id))
		}
	}
	got := map[string]int{}
	for len(items) > 0 {
		part := items[:min(len(items), httpapi.DefaultMaxBatch)]
		items = items[len(part):]
		rec := f.do(t, "POST", "/v1/allow", `{"requests":[`+strings.Join(part, ",")+`]}`)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		out := decode[httpapi.BatchResponse](t, rec)
		for i, r := range out.Results {
			if r.Allowed {
				var id string
				_, err := fmt.Sscanf(part[i], `{"client":%q}`, &id)
				require.NoError(t, err)
				got[id]++
			}
		}
	}
	return got
}

// The three work-conservation cases, through the HTTP API on a fake clock:
// capacity 2000/s, default limit 200/s.
func TestHTTPWorkConservation(t *testing.T) {
	t.Run("bursts after idle windows", func(t *testing.T) {
		for _, gap := range []time.Duration{2 * time.Second, 4 * time.Second, 30 * time.Second} {
			f := newFixture(t, fairmesh.Config{Capacity: 2000, DefaultRate: 200}, httpapi.Options{})
			for k := range 4 {
				require.Equal(t, 50, admittedIn(t, f, map[string]int{"bursty": 50})["bursty"], "gap %v, burst %d", gap, k)
				f.clock.Advance(gap + 37*time.Millisecond)
			}
		}
	})
	t.Run("1000 newcomers in one window", func(t *testing.T) {
		f := newFixture(t, fairmesh.Config{Capacity: 2000, DefaultRate: 200}, httpapi.Options{})
		want := map[string]int{}
		for i := range 1000 {
			want[fmt.Sprintf("new-%d", i)] = 1
		}
		require.Equal(t, want, admittedIn(t, f, want))
	})
	t.Run("weight 3 returns beside two saturating clients", func(t *testing.T) {
		f := newFixture(t, fairmesh.Config{Capacity: 2000, DefaultRate: 200}, httpapi.Options{})
		for id, w := range map[string]string{"gold": "3", "a": "1", "b": "1"} {
			require.Equal(t, http.StatusOK, f.do(t, "PUT", "/v1/clients/"+id+"/weight", `{"weight":`+w+`}`).Code)
			require.Equal(t, http.StatusOK, f.do(t, "PUT", "/v1/clients/"+id+"/limit", `{"rate":5000,"period":"1s"}`).Code)
		}
		// Each window in 10 slices of 100 ms: the saturating clients ask
		// 300 each per slice, gold 300 once it is back.
		window := func(gold bool) map[string]int {
			total := map[string]int{}
			for range 10 {
				ask := map[string]int{"a": 300, "b": 300}
				if gold {
					ask["gold"] = 300
				}
				for id, k := range admittedIn(t, f, ask) {
					total[id] += k
				}
				f.clock.Advance(100 * time.Millisecond)
			}
			return total
		}
		window(true)
		for range 10 {
			window(false) // gold idles for 10 s
		}
		for k := range 5 {
			got := window(true)
			if k >= 2 {
				require.InDelta(t, 1200, got["gold"], 60, "window %d after the return: %v", k, got)
			}
		}
	})
}
