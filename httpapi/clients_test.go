package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fairmesh/fairmesh"
	"github.com/fairmesh/fairmesh/httpapi"
	"github.com/fairmesh/fairmesh/internal/testids"
)

func intp(v int) *int { return &v }

func TestPutWeightAppliesAndAnswersTheClient(t *testing.T) {
	f := newFixture(t, fairmesh.Config{}, httpapi.Options{})
	rec := f.do(t, "PUT", "/v1/clients/a/weight", `{"weight":3}`)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	got := decode[httpapi.Client](t, rec)
	assert.Equal(t, "a", got.ID)
	assert.Equal(t, 3, got.Config.Weight)
	assert.True(t, got.Config.Configured)

	assert.Equal(t, 3, f.client(t, "a").Config.Weight)
	assert.Equal(t, 3, decode[httpapi.Client](t, f.do(t, "GET", "/v1/clients/a", "")).Config.Weight)

	// Zero is a valid weight (a scavenger).
	require.Equal(t, http.StatusOK, f.do(t, "PUT", "/v1/clients/a/weight", `{"weight":0}`).Code)
	assert.Equal(t, 0, f.client(t, "a").Config.Weight)
}

func TestPutLimitAppliesAndAnswersTheClient(t *testing.T) {
	f := newFixture(t, fairmesh.Config{}, httpapi.Options{})
	rec := f.do(t, "PUT", "/v1/clients/a/limit", `{"rate":100,"period":"1m30s"}`)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	got := decode[httpapi.Client](t, rec)
	assert.Equal(t, httpapi.ClientConfig{Weight: 1, Limited: true, Rate: intp(100), Period: "1m30s", Configured: true, OwnLimit: true}, got.Config)

	cs := f.client(t, "a")
	assert.Equal(t, 100, cs.Config.Rate)
	assert.Equal(t, 90*time.Second, cs.Config.Period)

	// Rate 0 blocks, and is shown as a limit of 0, not as unlimited.
	rec = f.do(t, "PUT", "/v1/clients/a/limit", `{"rate":0,"period":"1s"}`)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, intp(0), decode[httpapi.Client](t, rec).Config.Rate)
	assert.Equal(t, http.StatusTooManyRequests, f.do(t, "GET", "/v1/allow/a", "").Code)
}

func TestPutRefusalsNameTheFieldAndChangeNothing(t *testing.T) {
	long := strings.Repeat("x", fairmesh.MaxClientIDLen+1)
	for _, tc := range []struct {
		name, path, body string
		status           int
		field            string
	}{
		{"negative weight", "/v1/clients/a/weight", `{"weight":-1}`, 400, "weight"},
		{"weight too large", "/v1/clients/a/weight", `{"weight":1000001}`, 400, "weight"},
		{"missing weight", "/v1/clients/a/weight", `{}`, 400, "weight"},
		{"weight a string", "/v1/clients/a/weight", `{"weight":"3"}`, 400, "weight"},
		{"weight a fraction", "/v1/clients/a/weight", `{"weight":2.5}`, 400, "weight"},
		{"unknown weight field", "/v1/clients/a/weight", `{"weight":3,"rate":5}`, 400, "rate"},
		{"weight trailing data", "/v1/clients/a/weight", `{"weight":3}{"weight":4}`, 400, "body"},
		{"weight empty body", "/v1/clients/a/weight", ``, 400, "body"},
		{"weight malformed", "/v1/clients/a/weight", `{"weight":`, 400, "body"},
		{"weight oversized", "/v1/clients/a/weight", `{"weight":3` + strings.Repeat(" ", 200) + `}`, 413, "body"},
		{"weight long client", "/v1/clients/" + long + "/weight", `{"weight":3}`, 400, "client"},
		{"bad period", "/v1/clients/a/limit", `{"rate":5,"period":"fast"}`, 400, "period"},
		{"period without unit", "/v1/clients/a/limit", `{"rate":5,"period":"10"}`, 400, "period"},
		{"period too short", "/v1/clients/a/limit", `{"rate":5,"period":"500us"}`, 400, "period"},
		{"period too long", "/v1/clients/a/limit", `{"rate":5,"period":"25h"}`, 400, "period"},
		{"negative period", "/v1/clients/a/limit", `{"rate":5,"period":"-1s"}`, 400, "period"},
		{"missing period", "/v1/clients/a/limit", `{"rate":5}`, 400, "period"},
		{"period a number", "/v1/clients/a/limit", `{"rate":5,"period":1000}`, 400, "period"},
		{"negative rate", "/v1/clients/a/limit", `{"rate":-5,"period":"1s"}`, 400, "rate"},
		{"rate too large", "/v1/clients/a/limit", `{"rate":4000001,"period":"1s"}`, 400, "rate"},
		{"missing rate", "/v1/clients/a/limit", `{"period":"1s"}`, 400, "rate"},
		{"unknown limit field", "/v1/clients/a/limit", `{"rate":5,"period":"1s","burst":2}`, 400, "burst"},
		{"limit oversized", "/v1/clients/a/limit", `{"rate":5,"period":"` + strings.Repeat("1", 300) + `s"}`, 413, "body"},
		{"limit long client", "/v1/clients/" + long + "/limit", `{"rate":5,"period":"1s"}`, 400, "client"},
		{"duplicate weight key", "/v1/clients/a/weight", `{"weight":2,"weight":7}`, 400, "weight"},
		{"duplicate rate key", "/v1/clients/a/limit", `{"rate":5,"period":"1s","rate":50}`, 400, "rate"},
		{"empty client segment", "/v1/clients//weight", `{"weight":3}`, 400, "path"},
		{"control byte in client", "/v1/clients/a%00b/weight", `{"weight":3}`, 400, "client"},
		{"newline in client", "/v1/clients/a%0Ab/weight", `{"weight":3}`, 400, "client"},
		{"escape sequence in client", "/v1/clients/%1B%5B2J/limit", `{"rate":5,"period":"1s"}`, 400, "client"},
		{"invalid UTF-8 client", "/v1/clients/%FF%FE/weight", `{"weight":3}`, 400, "client"},
		{"C1 control in client", "/v1/clients/a%C2%85/weight", `{"weight":3}`, 400, "client"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, fairmesh.Config{}, httpapi.Options{MaxBodyBytes: 128})
			require.NoError(t, f.node.UpdateClientWeight("a", 2))
			require.NoError(t, f.node.UpdateClientRateLimit("a", 10, time.Second))

			requireError(t, f.do(t, "PUT", tc.path, tc.body), tc.status, tc.field)

			cfg := f.client(t, "a").Config
			assert.Equal(t, 2, cfg.Weight)
			assert.Equal(t, 10, cfg.Rate)
			assert.Equal(t, time.Second, cfg.Period)
			assert.True(t, cfg.Limited)
			// The refused long ID must not have been created either.
			assert.Len(t, f.node.Clients(10), 1)
		})
	}
}

func TestGetClientReportsCounters(t *testing.T) {
	f := newFixture(t, fairmesh.Config{}, httpapi.Options{})
	require.NoError(t, f.node.UpdateClientRateLimit("a", 2, time.Second))
	for range 5 {
		f.do(t, "GET", "/v1/allow/a", "")
	}
	got := decode[httpapi.Client](t, f.do(t, "GET", "/v1/clients/a", ""))
	assert.Equal(t, int64(2), got.Admitted)
	assert.Equal(t, int64(3), got.Denied)
	assert.Equal(t, int64(2), got.Allowance)
	assert.Equal(t, int64(2), got.Slice)

	f.clock.Advance(time.Second)
	f.do(t, "GET", "/v1/allow/a", "")
	got = decode[httpapi.Client](t, f.do(t, "GET", "/v1/clients/a", ""))
	assert.Equal(t, int64(1), got.Admitted)
	assert.Equal(t, int64(0), got.Denied)
	assert.Equal(t, int64(2), got.PrevAdmitted)
	assert.Equal(t, int64(3), got.PrevDenied)

	requireError(t, f.do(t, "GET", "/v1/clients/"+strings.Repeat("x", 257), ""), 400, "client")
}

func TestListClientsIsSortedAndBounded(t *testing.T) {
	f := newFixture(t, fairmesh.Config{DefaultRate: 10}, httpapi.Options{})
	for _, id := range []string{"carol", "alice", "bob"} {
		require.Equal(t, http.StatusOK, f.do(t, "GET", "/v1/allow/"+id, "").Code)
	}
	got := decode[httpapi.ClientList](t, f.do(t, "GET", "/v1/clients", ""))
	require.Len(t, got.Clients, 3)
	assert.False(t, got.Truncated)
	ids := []string{got.Clients[0].ID, got.Clients[1].ID, got.Clients[2].ID}
	assert.Equal(t, []string{"alice", "bob", "carol"}, ids)
	assert.Equal(t, int64(1), got.Clients[0].Admitted)
	assert.Equal(t, httpapi.ClientConfig{Weight: 1, Limited: true, Rate: intp(10), Period: "1s"}, got.Clients[0].Config)

	got = decode[httpapi.ClientList](t, f.do(t, "GET", "/v1/clients?limit=2", ""))
	assert.Len(t, got.Clients, 2)
	assert.True(t, got.Truncated)

	got = decode[httpapi.ClientList](t, f.do(t, "GET", "/v1/clients?limit=3", ""))
	assert.Len(t, got.Clients, 3)
	assert.False(t, got.Truncated)

	for _, q := range []string{"0", "-1", "many", "", "100001"} {
		requireError(t, f.do(t, "GET", "/v1/clients?limit="+q, ""), http.StatusBadRequest, "limit")
	}
}

func TestListClientsEmptyIsAnEmptyArray(t *testing.T) {
	f := newFixture(t, fairmesh.Config{}, httpapi.Options{})
	rec := f.do(t, "GET", "/v1/clients", "")
	require.Equal(t, http.StatusOK, rec.Code)
	assert.JSONEq(t, `{"clients":[],"truncated":false}`, rec.Body.String())
}

// An update for an ID whose hash is a configured client's answers 409,
// names the client, and changes nothing.
func TestPutForACollidingIDIsAConflict(t *testing.T) {
	f := newFixture(t, fairmesh.Config{}, httpapi.Options{})
	require.Equal(t, http.StatusOK, f.do(t, "PUT", "/v1/clients/gold/weight", `{"weight":5}`).Code)
	evil := url.PathEscape(testids.Colliding("gold", "evil"))

	e := requireError(t, f.do(t, "PUT", "/v1/clients/"+evil+"/weight", `{"weight":1}`), http.StatusConflict, "client")
	assert.Contains(t, e.Error, "same 64-bit hash")
	requireError(t, f.do(t, "PUT", "/v1/clients/"+evil+"/limit", `{"rate":1,"period":"1s"}`), http.StatusConflict, "client")
	requireError(t, f.do(t, "GET", "/v1/clients/"+evil, ""), http.StatusConflict, "client")
	assert.Equal(t, 5, f.client(t, "gold").Config.Weight)
}
