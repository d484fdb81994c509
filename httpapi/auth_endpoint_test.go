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

func TestAuthAdmitsThenRefuses(t *testing.T) {
	f := newFixture(t, fairmesh.Config{}, httpapi.Options{})
	require.NoError(t, f.node.UpdateClientRateLimit("acme", 2, time.Second))
	rec := f.do(t, http.MethodGet, "/v1/auth", "", httpapi.ClientHeader, "acme")
	assert.Equal(t, http.StatusNoContent, rec.Code)
	assert.Equal(t, "2", rec.Header().Get("RateLimit-Limit"))
	assert.Equal(t, "1", rec.Header().Get("RateLimit-Remaining"))
	rec = f.do(t, http.MethodGet, "/v1/auth", "", httpapi.ClientHeader, "acme", httpapi.CostHeader, "2")
	assert.Equal(t, http.StatusForbidden, rec.Code, "2 more is over the limit: all or nothing")
	assert.Equal(t, "1", rec.Header().Get("Retry-After"))
	assert.Empty(t, rec.Header().Get(httpapi.ErrorHeader), "a refusal is not an error")
	assert.Equal(t, http.StatusNoContent, f.do(t, http.MethodGet, "/v1/auth", "", httpapi.ClientHeader, "acme").Code)
	st, err := f.node.Client("acme")
	require.NoError(t, err)
	assert.EqualValues(t, 2, st.Admitted)
}

// A proxy that sends no client, a bad one or a bad cost gets a 403 that
// says why, and nothing is decided.
func TestAuthRefusesBadHeadersAndDecidesNothing(t *testing.T) {
	f := newFixture(t, fairmesh.Config{DefaultRate: 10}, httpapi.Options{})
	for _, hdr := range [][]string{
		{},
		{httpapi.ClientHeader, ""},
		{httpapi.ClientHeader, "bad\x1bid"},
		{httpapi.ClientHeader, "acme", httpapi.CostHeader, "0"},
		{httpapi.ClientHeader, "acme", httpapi.CostHeader, "many"},
	} {
		rec := f.do(t, http.MethodGet, "/v1/auth", "", hdr...)
		assert.Equal(t, http.StatusForbidden, rec.Code, "%q", hdr)
		assert.NotEmpty(t, rec.Header().Get(httpapi.ErrorHeader), "%q", hdr)
	}
	assert.Empty(t, f.node.Clients(10), "nothing may be decided")
}
