package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fairmesh/fairmesh"
	"github.com/fairmesh/fairmesh/httpapi"
)

func TestApplyNeedsTheTokenAndRefusesBadBodiesWhole(t *testing.T) {
	f := newFixture(t, fairmesh.Config{}, httpapi.Options{AdminToken: "tok"})
	require.NoError(t, f.node.UpdateClientWeight("x", 4))
	before := f.node.ConfigRegisters()
	auth := []string{"Authorization", "Bearer tok"}

	requireError(t, f.do(t, "POST", "/v1/apply?dry_run=true", `{"clients":[]}`), http.StatusUnauthorized, "Authorization")
	for _, tc := range []struct{ path, body, field, says string }{
		{"/v1/apply?dry_run=maybe", `{"clients":[]}`, "dry_run", "true or false"},
		{"/v1/apply", `{}`, "clients", "clients is required"},
		{"/v1/apply", `{"clients":[{"id":"a","rate":5}]}`, "clients[0].period", "a rate needs a period"},
		{"/v1/apply", `{"clients":[{"id":"a","period":"1s"}]}`, "clients[0].rate", "a period needs a rate"},
		{"/v1/apply", `{"clients":[{"id":"a","rate":5,"period":"soon"}]}`, "clients[0].period", "not a Go duration"},
		{"/v1/apply", `{"clients":[{"id":"a","weight":1},{"id":"b","weight":-2}],"prune":true}`, "clients", "weight -2"},
		{"/v1/apply", `{"clients":[{"id":"a","weight":1,"weight":2}]}`, "clients[0].weight", "given twice"},
	} {
		e := requireError(t, f.do(t, "POST", tc.path, tc.body, auth...), http.StatusBadRequest, tc.field)
		assert.Contains(t, e.Error, tc.says, tc.body)
		assert.Equal(t, before, f.node.ConfigRegisters(), "%s: nothing changed", tc.body)
	}

	rec := f.do(t, "POST", "/v1/apply", `{"clients":[{"id":"a","weight":2,"rate":10,"period":"1s"}],"prune":true}`, auth...)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	resp := decode[httpapi.ApplyResponse](t, rec)
	assert.True(t, resp.Applied)
	require.Len(t, resp.Changes, 2)
	assert.Equal(t, "a", resp.Changes[0].ID)
	assert.Equal(t, "1s", resp.Changes[0].After.Period)
	assert.Equal(t, "x", resp.Changes[1].ID)
	assert.Equal(t, 4, *resp.Changes[1].Before.Weight)
	assert.Nil(t, resp.Changes[1].After.Weight, "pruned")
}
