package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fairmesh/fairmesh"
	"github.com/fairmesh/fairmesh/httpapi"
)

func TestAllowWaitRejectsBadDurations(t *testing.T) {
	f := newFixture(t, fairmesh.Config{}, httpapi.Options{})
	for _, q := range []string{"wait=abc", "wait=0", "wait=-1s", "wait=31s", "wait=5", "wait=1s&wait=2s"} {
		rec := f.do(t, http.MethodGet, "/v1/allow/c?"+q, "")
		assert.Equal(t, http.StatusBadRequest, rec.Code, q)
		assert.Contains(t, rec.Body.String(), "wait", q)
	}
	assert.Empty(t, f.node.Clients(10), "a refused request tracked the client")
}

// A request over the limit waits for the next window and is admitted in
// it; one whose wait runs out is 429; one past a full queue is 429 at once
// and says why.
func TestAllowWaitAdmitsInTheNextWindow(t *testing.T) {
	f := newFixture(t, fairmesh.Config{MaxWaitingPerClient: 1}, httpapi.Options{})
	require.NoError(t, f.node.UpdateClientRateLimit("c", 1, time.Second))
	require.Equal(t, http.StatusOK, f.do(t, http.MethodGet, "/v1/allow/c", "").Code)

	rec := f.do(t, http.MethodGet, "/v1/allow/c?wait=50ms", "")
	assert.Equal(t, http.StatusTooManyRequests, rec.Code, "the window did not move: the wait ran out")
	assert.NotEmpty(t, rec.Header().Get("Retry-After"))

	done := make(chan *http.Response, 1)
	go func() {
		r := f.do(t, http.MethodGet, "/v1/allow/c?wait=10s", "")
		done <- r.Result()
	}()
	deadline := time.Now().Add(5 * time.Second)
	for f.node.Waiting() != 1 {
		require.True(t, time.Now().Before(deadline), "the request never waited")
		time.Sleep(time.Millisecond)
	}
	full := f.do(t, http.MethodGet, "/v1/allow/c?wait=10s", "")
	assert.Equal(t, http.StatusTooManyRequests, full.Code)
	assert.Contains(t, decode[httpapi.AllowResult](t, full).Error, "too many requests waiting")

	f.clock.Advance(time.Second)
	select {
	case r := <-done:
		assert.Equal(t, http.StatusOK, r.StatusCode)
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting request was not admitted in the next window")
	}
	st, err := f.node.Client("c")
	require.NoError(t, err)
	assert.EqualValues(t, 1, st.Admitted, "one admitted in the new window")
}
