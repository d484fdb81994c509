package client_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fairmesh/fairmesh"
	"github.com/fairmesh/fairmesh/client"
	"github.com/fairmesh/fairmesh/httpapi"
)

// node serves a real Node's API; calls counts requests by method and path
// pattern ("GET /v1/allow", "POST /v1/allow", ...).
type node struct {
	n     *fairmesh.Node
	srv   *httptest.Server
	mu    sync.Mutex
	calls map[string]int
}

func newNode(t *testing.T, cfg fairmesh.Config, opts httpapi.Options) *node {
	t.Helper()
	cfg.NodeID = "n1"
	n, err := fairmesh.NewNode(cfg)
	require.NoError(t, err)
	api := httpapi.New(n, opts)
	nd := &node{n: n, calls: map[string]int{}}
	nd.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Method + " " + r.URL.Path
		if len(r.URL.Path) > len("/v1/allow/") && r.URL.Path[:len("/v1/allow/")] == "/v1/allow/" {
			key = r.Method + " /v1/allow/{client}"
		}
		nd.mu.Lock()
		nd.calls[key]++
		nd.mu.Unlock()
		api.ServeHTTP(w, r)
	}))
	t.Cleanup(nd.srv.Close)
	return nd
}

func (nd *node) count(key string) int {
	nd.mu.Lock()
	defer nd.mu.Unlock()
	return nd.calls[key]
}

func TestClientDecidesAndConfigures(t *testing.T) {
	nd := newNode(t, fairmesh.Config{}, httpapi.Options{AdminToken: "tok"})
	c, err := client.New(nd.srv.URL, client.Options{Token: "tok"})
	require.NoError(t, err)
	defer c.Close()
	ctx := context.Background()

	require.NoError(t, c.UpdateClientRateLimit(ctx, "acme", 3, time.Hour))
	require.NoError(t, c.UpdateClientWeight(ctx, "acme", 2))
	st, err := nd.n.Client("acme")
	require.NoError(t, err)
	assert.Equal(t, 3, st.Config.Rate)
	assert.Equal(t, 2, st.Config.Weight)

	d, err := c.AllowN(ctx, "acme", 2)
	require.NoError(t, err)
	assert.True(t, d.Allowed)
	assert.EqualValues(t, 3, d.Limit)
	assert.EqualValues(t, 1, d.Remaining)
	ok, err := c.Allow(ctx, "acme")
	require.NoError(t, err)
	assert.True(t, ok)
	ok, err = c.Allow(ctx, "acme")
	require.NoError(t, err)
	assert.False(t, ok, "over the limit: a denial, not an error")

	require.NoError(t, c.Return(ctx, "acme", 1))
	ok, err = c.Allow(ctx, "acme")
	require.NoError(t, err)
	assert.True(t, ok, "the returned request is available again")

	// Wait: a request that cannot be admitted before the deadline.
	wctx, cancel := context.WithTimeout(ctx, 150*time.Millisecond)
	defer cancel()
	start := time.Now()
	assert.ErrorIs(t, c.Wait(wctx, "acme", 1), context.DeadlineExceeded)
	assert.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond, "the node waited")
	assert.ErrorIs(t, c.Wait(ctx, "acme", 4), client.ErrNotAdmitted, "more than the limit: never")
	require.NoError(t, c.Wait(ctx, "fresh", 1), "room: admitted at once")

	// Bad input never leaves the process; a wrong token is the node's 401.
	_, err = c.Allow(ctx, "bad\nid")
	assert.Error(t, err)
	bad, err := client.New(nd.srv.URL, client.Options{Token: "nope"})
	require.NoError(t, err)
	defer bad.Close()
	var apiErr *client.APIError
	require.ErrorAs(t, bad.UpdateClientWeight(ctx, "acme", 5), &apiErr)
	assert.Equal(t, http.StatusUnauthorized, apiErr.Status)
	_, err = client.New("ftp://x", client.Options{})
	assert.Error(t, err)
}

// Config writes are retried past a 5xx; decisions never are.
func TestClientRetriesOnlyIdempotentCalls(t *testing.T) {
	var puts, gets atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPut:
			if puts.Add(1) < 3 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"id":"a"}`))
		default:
			gets.Add(1)
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	c, err := client.New(srv.URL, client.Options{Retries: 2})
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.UpdateClientWeight(context.Background(), "a", 1))
	assert.EqualValues(t, 3, puts.Load(), "two failures, then success")
	_, err = c.Allow(context.Background(), "a")
	var apiErr *client.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusServiceUnavailable, apiErr.Status)
	assert.EqualValues(t, 1, gets.Load(), "a decision is never retried")
	_, status, err := c.Do(context.Background(), http.MethodGet, "/v1/clients/a", nil)
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusServiceUnavailable, status)
	assert.EqualValues(t, 4, gets.Load(), "a read is retried twice")
}

// Concurrent Allows go out in a few batches, each answered in its own
// place; Close stops the batcher.
func TestClientBatchesConcurrentAllows(t *testing.T) {
	before := runtime.NumGoroutine()
	nd := newNode(t, fairmesh.Config{}, httpapi.Options{})
	require.NoError(t, nd.n.UpdateClientRateLimit("acme", 10, time.Hour))
	c, err := client.New(nd.srv.URL, client.Options{Batch: 20 * time.Millisecond})
	require.NoError(t, err)
	var wg sync.WaitGroup
	var allowed, denied, other atomic.Int64
	for range 100 {
		wg.Go(func() {
			ok, err := c.Allow(context.Background(), "acme")
			switch {
			case err != nil:
				other.Add(1)
			case ok:
				allowed.Add(1)
			default:
				denied.Add(1)
			}
		})
	}
	wg.Wait()
	assert.EqualValues(t, 10, allowed.Load())
	assert.EqualValues(t, 90, denied.Load())
	assert.Zero(t, other.Load())
	assert.Zero(t, nd.count("GET /v1/allow/{client}"), "no decision went alone")
	assert.LessOrEqual(t, nd.count("POST /v1/allow"), 10, "100 concurrent decisions in at most 10 batches")
	require.NoError(t, c.Close())
	_, err = c.Allow(context.Background(), "acme")
	assert.Error(t, err, "a closed client decides nothing")
	nd.srv.Close()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	assert.LessOrEqual(t, runtime.NumGoroutine(), before, "goroutines left after Close")
}
