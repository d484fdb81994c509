package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fairmesh/fairmesh"
	"github.com/fairmesh/fairmesh/httpapi"
)

func TestWithoutTokenMutationsAreOpen(t *testing.T) {
	f := newFixture(t, fairmesh.Config{}, httpapi.Options{})
	require.Equal(t, http.StatusOK, f.do(t, "PUT", "/v1/clients/a/weight", `{"weight":4}`).Code)
	assert.Equal(t, 4, f.client(t, "a").Config.Weight)
}

func TestAdminTokenGuardsMutations(t *testing.T) {
	const token = "s3cret-token"
	f := newFixture(t, fairmesh.Config{}, httpapi.Options{AdminToken: token})

	for _, tc := range []struct {
		name   string
		header []string
	}{
		{"no header", nil},
		{"wrong token", []string{"Authorization", "Bearer s3cret-tokeN"}},
		{"token prefix", []string{"Authorization", "Bearer s3cret"}},
		{"empty bearer", []string{"Authorization", "Bearer "}},
		{"basic scheme", []string{"Authorization", "Basic " + token}},
		{"bare token", []string{"Authorization", token}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := f.do(t, "PUT", "/v1/clients/a/weight", `{"weight":5}`, tc.header...)
			requireError(t, rec, http.StatusUnauthorized, "Authorization")
			assert.Contains(t, rec.Header().Get("WWW-Authenticate"), "Bearer")
			rec = f.do(t, "PUT", "/v1/clients/a/limit", `{"rate":1,"period":"1s"}`, tc.header...)
			requireError(t, rec, http.StatusUnauthorized, "Authorization")
			cfg := f.client(t, "a").Config
			assert.False(t, cfg.Configured, "a refused request changes nothing")
			assert.Equal(t, 1, cfg.Weight)
		})
	}

	rec := f.do(t, "PUT", "/v1/clients/a/weight", `{"weight":5}`, "Authorization", "Bearer "+token)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	rec = f.do(t, "PUT", "/v1/clients/a/limit", `{"rate":7,"period":"2s"}`, "Authorization", "bearer "+token)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	cfg := f.client(t, "a").Config
	assert.Equal(t, 5, cfg.Weight)
	assert.Equal(t, 7, cfg.Rate)

	// Deciding and reading need no token.
	assert.Equal(t, http.StatusOK, f.do(t, "GET", "/v1/allow/a", "").Code)
	assert.Equal(t, http.StatusOK, f.do(t, "POST", "/v1/allow", `{"requests":[{"client":"a"}]}`).Code)
	assert.Equal(t, http.StatusOK, f.do(t, "GET", "/v1/clients/a", "").Code)
	assert.Equal(t, http.StatusOK, f.do(t, "GET", "/v1/clients", "").Code)
	assert.Equal(t, http.StatusOK, f.do(t, "GET", "/v1/status", "").Code)
}

func TestAuthIsCheckedBeforeTheBody(t *testing.T) {
	f := newFixture(t, fairmesh.Config{}, httpapi.Options{AdminToken: "t"})
	// An unauthenticated caller learns nothing about input validation.
	requireError(t, f.do(t, "PUT", "/v1/clients/a/weight", `{"weight":-1}`), http.StatusUnauthorized, "Authorization")
}
