package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fairmesh/fairmesh"
	"github.com/fairmesh/fairmesh/httpapi"
)

// Requests that say two things, or that the router would silently turn
// into another, are refused with a message that says why, and decide or
// change nothing.
func TestAmbiguousRequestsAreRefusedAndChangeNothing(t *testing.T) {
	for _, tc := range []struct {
		name, method, path, body string
		field, says              string
	}{
		{"repeated n", "GET", "/v1/allow/a?n=1&n=5", "", "n", `"n" is given 2 times`},
		{"repeated limit", "GET", "/v1/clients?limit=1&limit=2", "", "limit", `"limit" is given 2 times`},
		{"empty segment in allow", "GET", "/v1/allow//x", "", "path", "empty segment"},
		{"duplicate key in a batch item", "POST", "/v1/allow", `{"requests":[{"client":"a","n":1,"n":500}]}`, "requests[0].n", "given twice"},
		{"duplicate top key in a batch", "POST", "/v1/allow", `{"requests":[{"client":"a"}],"requests":[]}`, "requests", "given twice"},
		{"control byte in a batch item", "POST", "/v1/allow", `{"requests":[{"client":"a\u0007"}]}`, "requests[0].client", "control character"},
		{"newline in allow", "GET", "/v1/allow/a%0A", "", "client", "control character"},
		{"invalid UTF-8 in allow", "GET", "/v1/allow/%FF%FE", "", "client", "UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, fairmesh.Config{}, httpapi.Options{})
			require.NoError(t, f.node.UpdateClientRateLimit("a", 3, time.Second))
			e := requireError(t, f.do(t, tc.method, tc.path, tc.body), http.StatusBadRequest, tc.field)
			assert.Contains(t, e.Error, tc.says)
			assert.Zero(t, f.client(t, "a").Admitted, "nothing decided")
			assert.Len(t, f.node.Clients(10), 1, "no client tracked but the configured one")
		})
	}
}

// A limit whose window holds less than one request of the capacity would
// grant nothing in any window: refused, naming the shortest period that
// works; rate 0 (block the client) stays accepted.
func TestLimitThatGrantsNothingIsRefused(t *testing.T) {
	f := newFixture(t, fairmesh.Config{Capacity: 100}, httpapi.Options{})
	e := requireError(t, f.do(t, "PUT", "/v1/clients/a/limit", `{"rate":5,"period":"1ms"}`), http.StatusBadRequest, "period")
	assert.Contains(t, e.Error, "would grant nothing")
	assert.Contains(t, e.Error, "at least 10ms")
	assert.False(t, f.client(t, "a").Config.Configured)
	assert.Equal(t, http.StatusOK, f.do(t, "PUT", "/v1/clients/a/limit", `{"rate":5,"period":"10ms"}`).Code)
	assert.Equal(t, http.StatusOK, f.do(t, "PUT", "/v1/clients/b/limit", `{"rate":0,"period":"1ms"}`).Code)
}

func TestGetClientTellsConfiguredTrackedAndUnknown(t *testing.T) {
	f := newFixture(t, fairmesh.Config{}, httpapi.Options{})
	require.NoError(t, f.node.UpdateClientWeight("conf", 3))
	f.node.Allow("seen")

	e := requireError(t, f.do(t, "GET", "/v1/clients/nosuch", ""), http.StatusNotFound, "client")
	assert.Contains(t, e.Error, "unknown")
	for id, want := range map[string]string{"conf": "configured", "seen": "tracked"} {
		rec := f.do(t, "GET", "/v1/clients/"+id, "")
		require.Equal(t, http.StatusOK, rec.Code, id)
		assert.Equal(t, want, decode[httpapi.Client](t, rec).State, id)
	}
	for _, c := range f.node.Clients(10) {
		assert.NotEqual(t, "nosuch", c.ID, "a GET tracks nothing")
	}
}

func TestDeleteClientGoesBackToTheDefaults(t *testing.T) {
	f := newFixture(t, fairmesh.Config{}, httpapi.Options{AdminToken: "s3cret"})
	require.NoError(t, f.node.UpdateClientWeight("a", 3))
	require.NoError(t, f.node.UpdateClientRateLimit("a", 10, time.Second))
	auth := []string{"Authorization", "Bearer s3cret"}

	requireError(t, f.do(t, "DELETE", "/v1/clients/a", ""), http.StatusUnauthorized, "Authorization")
	assert.True(t, f.client(t, "a").Config.Configured, "no token, nothing deleted")

	rec := f.do(t, "DELETE", "/v1/clients/a", "", auth...)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	c := decode[httpapi.Client](t, rec)
	assert.Equal(t, "unknown", c.State)
	assert.Equal(t, httpapi.ClientConfig{Weight: 1}, c.Config)
	assert.False(t, f.client(t, "a").Config.Limited)

	e := requireError(t, f.do(t, "DELETE", "/v1/clients/a", "", auth...), http.StatusNotFound, "client")
	assert.Contains(t, e.Error, "no config of its own")
	requireError(t, f.do(t, "DELETE", "/v1/clients/%1B", "", auth...), http.StatusBadRequest, "client")
}

func TestListConfiguredClientsIncludesUntracked(t *testing.T) {
	f := newFixture(t, fairmesh.Config{}, httpapi.Options{})
	for _, id := range []string{"c", "a", "b"} {
		require.NoError(t, f.node.UpdateClientWeight(id, 2))
	}
	require.NoError(t, f.node.DeleteClient("b"))
	f.node.Allow("traffic-only")

	rec := f.do(t, "GET", "/v1/clients?configured=true", "")
	require.Equal(t, http.StatusOK, rec.Code)
	var ids []string
	for _, c := range decode[httpapi.ClientList](t, rec).Clients {
		ids = append(ids, c.ID+":"+c.State)
	}
	assert.Equal(t, "a:configured c:configured", strings.Join(ids, " "))
	requireError(t, f.do(t, "GET", "/v1/clients?configured=maybe", ""), http.StatusBadRequest, "configured")
}
