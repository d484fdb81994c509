package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fairmesh/fairmesh/httpapi"
)

// serveLoopback runs `fairmesh serve` with args on loopback until the test
// ends and returns its URL.
func serveLoopback(t *testing.T, args ...string) string {
	t.Helper()
	t.Setenv("FAIRMESH_ADMIN_TOKEN", "")
	t.Setenv("FAIRMESH_TOKEN", "")
	t.Setenv("FAIRMESH_GOSSIP_KEY", "")
	dataDir := t.TempDir() // here: its cleanup must run after serve's
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--http", "127.0.0.1:0", "--bind", "127.0.0.1:0", "--data-dir", dataDir}, args...), &stdout, &stderr)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("serve did not stop")
		}
	})
	urlRE := regexp.MustCompile(`url=(http://\S+)`)
	var url string
	require.Eventually(t, func() bool {
		if m := urlRE.FindStringSubmatch(stderr.String()); m != nil {
			url = m[1]
		}
		return url != ""
	}, 5*time.Second, 10*time.Millisecond, "serve never logged its URL: %s", stderr.String())
	return url
}

// batch decides one request of each client in one POST /v1/allow and
// returns how many were admitted.
func batch(t *testing.T, url string, clients []string) int {
	t.Helper()
	var reqs []string
	for _, c := range clients {
		reqs = append(reqs, fmt.Sprintf(`{"client":%q}`, c))
	}
	resp, err := http.Post(url+"/v1/allow", "application/json", strings.NewReader(`{"requests":[`+strings.Join(reqs, ",")+`]}`))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var out httpapi.BatchResponse
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	got := 0
	for _, r := range out.Results {
		if r.Allowed {
			got++
		}
	}
	return got
}

// Against a real `fairmesh serve` (wall clock) with capacity 2000/s and a
// default limit of 200/s: a client that bursts 50 requests after idle
// windows gets every burst, and 1000 clients never seen before, one
// request each in one window, are all admitted. The deterministic forms of
// these, with gaps of 2, 4 and 30 s, run on a fake clock in the root
// package and in httpapi.
func TestServeDoesNotWithholdIdleCapacity(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for idle windows in real time")
	}
	url := serveLoopback(t, "--node-id", "wc", "--capacity", "2000", "--default-rate", "200")
	burst := make([]string, 50)
	for i := range burst {
		burst[i] = "bursty"
	}
	for k := range 3 {
		require.Equal(t, 50, batch(t, url, burst), "burst %d", k)
		time.Sleep(2100 * time.Millisecond)
	}
	var fresh []string
	for i := range 1000 {
		fresh = append(fresh, fmt.Sprintf("newcomer-%d", i))
	}
	require.Equal(t, 1000, batch(t, url, fresh))
}
