package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fairmesh/fairmesh"
	"github.com/fairmesh/fairmesh/httpapi"
)

func TestAllowOneAdmitsTheLimitThenAnswers429(t *testing.T) {
	f := newFixture(t, fairmesh.Config{}, httpapi.Options{})
	require.NoError(t, f.node.UpdateClientRateLimit("a", 3, time.Second))

	for i := range 3 {
		rec := f.do(t, "GET", "/v1/allow/a", "")
		require.Equal(t, http.StatusOK, rec.Code, "request %d: %s", i, rec.Body)
		assert.Equal(t, "3", rec.Header().Get("RateLimit-Limit"))
		assert.Equal(t, fmt.Sprint(2-i), rec.Header().Get("RateLimit-Remaining"))
		assert.Equal(t, "1", rec.Header().Get("RateLimit-Reset"), "750 ms left, rounded up")
		assert.Empty(t, rec.Header().Get("Retry-After"))
		got := decode[httpapi.AllowResult](t, rec)
		assert.Equal(t, httpapi.AllowResult{Allowed: true, Limit: 3, Remaining: int64(2 - i), ResetMS: 750,
			WindowStartMS: t0.Truncate(time.Second).UnixMilli()}, got)
	}

	rec := f.do(t, "GET", "/v1/allow/a", "")
	require.Equal(t, http.StatusTooManyRequests, rec.Code, rec.Body.String())
	assert.Equal(t, "1", rec.Header().Get("Retry-After"))
	assert.Equal(t, "0", rec.Header().Get("RateLimit-Remaining"))
	assert.Equal(t, httpapi.AllowResult{Allowed: false, Limit: 3, Remaining: 0, ResetMS: 750,
		WindowStartMS: t0.Truncate(time.Second).UnixMilli()}, decode[httpapi.AllowResult](t, rec))

	// The next window admits again.
	f.clock.Advance(time.Second)
	rec = f.do(t, "GET", "/v1/allow/a", "")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, "2", rec.Header().Get("RateLimit-Remaining"))
}

// The reply names the window it was counted in, so that an observer can
// count admissions per window as the node did: the start of the client's
// window in Unix ms of mesh time, moving on with the window.
func TestAllowNamesTheWindowItCountedIn(t *testing.T) {
	f := newFixture(t, fairmesh.Config{}, httpapi.Options{})
	require.NoError(t, f.node.UpdateClientRateLimit("q", 5, 10*time.Second))
	f.clock.Set(time.Date(2026, 1, 1, 0, 0, 17, 300_000_000, time.UTC))

	got := decode[httpapi.AllowResult](t, f.do(t, "GET", "/v1/allow/q", ""))
	assert.Equal(t, time.Date(2026, 1, 1, 0, 0, 10, 0, time.UTC).UnixMilli(), got.WindowStartMS)
	assert.Equal(t, int64(2700), got.ResetMS)

	f.clock.Advance(3 * time.Second) // 0:00:20.3, the next 10 s window
	got = decode[httpapi.AllowResult](t, f.do(t, "GET", "/v1/allow/q", ""))
	assert.Equal(t, time.Date(2026, 1, 1, 0, 0, 20, 0, time.UTC).UnixMilli(), got.WindowStartMS)

	rec := f.do(t, "POST", "/v1/allow", `{"requests":[{"client":"q"}]}`)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	batch := decode[httpapi.BatchResponse](t, rec)
	assert.Equal(t, got.WindowStartMS, batch.Results[0].WindowStartMS, "the batch names it too")
}

func TestAllowRetryAfterIsRoundedUpSeconds(t *testing.T) {
	f := newFixture(t, fairmesh.Config{}, httpapi.Options{})
	require.NoError(t, f.node.UpdateClientRateLimit("slow", 1, 10*time.Second))
	f.clock.Set(time.Date(2026, 1, 1, 0, 0, 0, 1_250_000_000, time.UTC)) // 8.75 s before the window ends

	require.Equal(t, http.StatusOK, f.do(t, "GET", "/v1/allow/slow", "").Code)
	rec := f.do(t, "GET", "/v1/allow/slow", "")
	require.Equal(t, http.StatusTooManyRequests, rec.Code)
	assert.Equal(t, "9", rec.Header().Get("Retry-After"))
	assert.Equal(t, "9", rec.Header().Get("RateLimit-Reset"))
	assert.Equal(t, int64(8750), decode[httpapi.AllowResult](t, rec).ResetMS)
}

func TestAllowBlockedClientStillGetsRetryAfterAtLeastOne(t *testing.T) {
	f := newFixture(t, fairmesh.Config{}, httpapi.Options{})
	require.NoError(t, f.node.UpdateClientRateLimit("blocked", 0, time.Second))
	f.clock.Set(time.Date(2026, 1, 1, 0, 0, 0, 999_900_000, time.UTC)) // 0.1 ms left

	rec := f.do(t, "GET", "/v1/allow/blocked", "")
	require.Equal(t, http.StatusTooManyRequests, rec.Code)
	assert.Equal(t, "1", rec.Header().Get("Retry-After"))
	assert.Equal(t, "0", rec.Header().Get("RateLimit-Limit"))
}

func TestAllowNIsAllOrNothing(t *testing.T) {
	f := newFixture(t, fairmesh.Config{}, httpapi.Options{})
	require.NoError(t, f.node.UpdateClientRateLimit("a", 3, time.Second))

	rec := f.do(t, "GET", "/v1/allow/a?n=2", "")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, "1", rec.Header().Get("RateLimit-Remaining"))

	rec = f.do(t, "GET", "/v1/allow/a?n=2", "")
	require.Equal(t, http.StatusTooManyRequests, rec.Code, rec.Body.String())
	assert.Equal(t, "1", rec.Header().Get("RateLimit-Remaining"), "a denied batch consumes nothing")

	require.Equal(t, http.StatusOK, f.do(t, "GET", "/v1/allow/a?n=1", "").Code)
	cs := f.client(t, "a")
	assert.Equal(t, int64(3), cs.Admitted)
}

func TestAllowUnlimitedClientHasNoQuotaHeaders(t *testing.T) {
	f := newFixture(t, fairmesh.Config{}, httpapi.Options{}) // no capacity, no default rate
	rec := f.do(t, "GET", "/v1/allow/free", "")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	for _, h := range []string{"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "Retry-After"} {
		assert.NotContains(t, rec.Header(), h)
	}
	got := decode[httpapi.AllowResult](t, rec)
	assert.True(t, got.Allowed)
	assert.Equal(t, int64(-1), got.Limit)
}

func TestAllowOneRejectsBadInputAndDecidesNothing(t *testing.T) {
	long := strings.Repeat("x", fairmesh.MaxClientIDLen+1)
	for _, tc := range []struct {
		path  string
		field string
	}{
		{"/v1/allow/a?n=0", "n"},
		{"/v1/allow/a?n=-1", "n"},
		{"/v1/allow/a?n=two", "n"},
		{"/v1/allow/a?n=", "n"},
		{fmt.Sprintf("/v1/allow/a?n=%d", fairmesh.MaxRate+1), "n"},
		{"/v1/allow/" + long, "client"},
	} {
		t.Run(tc.path[:min(len(tc.path), 30)], func(t *testing.T) {
			f := newFixture(t, fairmesh.Config{DefaultRate: 10}, httpapi.Options{})
			requireError(t, f.do(t, "GET", tc.path, ""), http.StatusBadRequest, tc.field)
			assert.Empty(t, f.node.Clients(10), "no client may have been tracked")
			cs := f.client(t, "a")
			assert.Zero(t, cs.Admitted+cs.Denied, "nothing may be decided")
		})
	}
}

func TestAllowWrongMethodIs405(t *testing.T) {
	f := newFixture(t, fairmesh.Config{}, httpapi.Options{})
	rec := f.do(t, "DELETE", "/v1/allow/a", "")
	assert.Equal(t, http.StatusMethodNotAllowed, rec.Code)
	assert.Contains(t, rec.Header().Get("Allow"), "GET")
	rec = f.do(t, "GET", "/v1/allow", "")
	assert.Equal(t, http.StatusMethodNotAllowed, rec.Code)
}

func TestBatchAnswersInOrder(t *testing.T) {
	f := newFixture(t, fairmesh.Config{}, httpapi.Options{})
	require.NoError(t, f.node.UpdateClientRateLimit("a", 2, time.Second))
	require.NoError(t, f.node.UpdateClientRateLimit("b", 0, time.Second))
	require.NoError(t, f.node.UpdateClientRateLimit("c", 5, time.Second))

	rec := f.do(t, "POST", "/v1/allow", `{"requests":[
		{"client":"a"},{"client":"b","n":1},{"client":"a","n":1},{"client":"c","n":5},{"client":"a"},{"client":"c"}]}`)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	got := decode[httpapi.BatchResponse](t, rec)
	require.Len(t, got.Results, 6)
	want := []struct {
		allowed   bool
		limit     int64
		remaining int64
	}{{true, 2, 1}, {false, 0, 0}, {true, 2, 0}, {true, 5, 0}, {false, 2, 0}, {false, 5, 0}}
	for i, w := range want {
		r := got.Results[i]
		assert.Equal(t, w.allowed, r.Allowed, "result %d", i)
		assert.Equal(t, w.limit, r.Limit, "result %d", i)
		assert.Equal(t, w.remaining, r.Remaining, "result %d", i)
		assert.Equal(t, int64(750), r.ResetMS, "result %d", i)
	}

	rec = f.do(t, "POST", "/v1/allow", `{"requests":[]}`)
	require.Equal(t, http.StatusOK, rec.Code)
	assert.JSONEq(t, `{"results":[]}`, rec.Body.String())
}

func TestBatchWithAnInvalidElementDecidesNothing(t *testing.T) {
	long := strings.Repeat("x", fairmesh.MaxClientIDLen+1)
	for _, tc := range []struct {
		name, body string
		status     int
		field      string
	}{
		{"negative n", `{"requests":[{"client":"a"},{"client":"a"},{"client":"a","n":-2}]}`, 400, "requests[2].n"},
		{"zero n", `{"requests":[{"client":"a","n":0}]}`, 400, "requests[0].n"},
		{"n not a number", `{"requests":[{"client":"a"},{"client":"a","n":"two"}]}`, 400, "requests[1].n"},
		{"empty client", `{"requests":[{"client":"a"},{"client":""}]}`, 400, "requests[1].client"},
		{"missing client", `{"requests":[{"client":"a"},{"n":1}]}`, 400, "requests[1].client"},
		{"long client", `{"requests":[{"client":"a"},{"client":"` + long + `"}]}`, 400, "requests[1].client"},
		{"unknown element field", `{"requests":[{"client":"a","weight":2}]}`, 400, "requests[0].weight"},
		{"element not an object", `{"requests":[{"client":"a"},7]}`, 400, "requests[1]"},
		{"null element", `{"requests":[{"client":"a"},null]}`, 400, "requests[1]"},
		{"unknown top field", `{"requests":[{"client":"a"}],"dry_run":true}`, 400, "dry_run"},
		{"no requests", `{}`, 400, "requests"},
		{"requests not an array", `{"requests":{"client":"a"}}`, 400, "requests"},
		{"too many", `{"requests":[{"client":"a"},{"client":"a"},{"client":"a"},{"client":"a"}]}`, 400, "requests"},
		{"malformed", `{"requests":[{"client":"a"}`, 400, "body"},
		{"empty body", ``, 400, "body"},
		{"trailing data", `{"requests":[{"client":"a"}]} {}`, 400, "body"},
		{"oversized", `{"requests":[` + strings.Repeat(`{"client":"a"},`, 100) + `{"client":"a"}]}`, 413, "body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, fairmesh.Config{}, httpapi.Options{MaxBatch: 3, MaxBodyBytes: 1024})
			require.NoError(t, f.node.UpdateClientRateLimit("a", 10, time.Second))
			requireError(t, f.do(t, "POST", "/v1/allow", tc.body), tc.status, tc.field)
			cs := f.client(t, "a")
			assert.Zero(t, cs.Admitted+cs.Denied, "nothing may be decided")
			for _, other := range f.node.Clients(10) {
				assert.Equal(t, "a", other.ID, "no other client may have been tracked")
			}
		})
	}
}

func TestBatchLimitsDefault(t *testing.T) {
	f := newFixture(t, fairmesh.Config{}, httpapi.Options{})
	items := strings.Repeat(`{"client":"a"},`, httpapi.DefaultMaxBatch)
	body := `{"requests":[` + strings.TrimSuffix(items, ",") + `]}`
	require.Equal(t, http.StatusOK, f.do(t, "POST", "/v1/allow", body).Code)

	body = `{"requests":[` + items + `{"client":"a"}]}`
	requireError(t, f.do(t, "POST", "/v1/allow", body), http.StatusBadRequest, "requests")

	huge := `{"requests":[{"client":"` + strings.Repeat("y", httpapi.DefaultMaxBodyBytes) + `"}]}`
	requireError(t, f.do(t, "POST", "/v1/allow", huge), http.StatusRequestEntityTooLarge, "body")
}

func TestReturnEndpointGivesBackWithinTheWindow(t *testing.T) {
	f := newFixture(t, fairmesh.Config{}, httpapi.Options{})
	require.NoError(t, f.node.UpdateClientRateLimit("a", 2, time.Second))
	for range 2 {
		require.Equal(t, http.StatusOK, f.do(t, "GET", "/v1/allow/a", "").Code)
	}
	require.Equal(t, http.StatusTooManyRequests, f.do(t, "GET", "/v1/allow/a", "").Code)
	rec := f.do(t, "POST", "/v1/return/a?n=1", "")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, httpapi.ReturnResult{Client: "a", Requested: 1}, decode[httpapi.ReturnResult](t, rec))
	st := decode[httpapi.Status](t, f.do(t, "GET", "/v1/status", ""))
	assert.Equal(t, uint64(1), st.Counters.Returned, "the status counts what was given back")
	require.Equal(t, http.StatusOK, f.do(t, "GET", "/v1/allow/a", "").Code, "the returned request is admitted again")
	require.Equal(t, http.StatusTooManyRequests, f.do(t, "GET", "/v1/allow/a", "").Code)

	for path, want := range map[string]int{
		"/v1/return/a?n=0":         http.StatusBadRequest,
		"/v1/return/a?n=x":         http.StatusBadRequest,
		"/v1/return/a?n=-1":        http.StatusBadRequest,
		"/v1/return/unknown":       http.StatusNotFound,
		"/v1/return/a?n=999999999": http.StatusBadRequest,
	} {
		assert.Equal(t, want, f.do(t, "POST", path, "").Code, path)
	}
	assert.Equal(t, http.StatusMethodNotAllowed, f.do(t, "GET", "/v1/return/a", "").Code)
}
