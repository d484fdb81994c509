package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fairmesh/fairmesh"
	"github.com/fairmesh/fairmesh/httpapi"
)

func TestMembersAloneListsItself(t *testing.T) {
	f := newFixture(t, fairmesh.Config{NodeID: "solo"}, httpapi.Options{})
	rec := f.do(t, "GET", "/v1/members", "")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	got := decode[httpapi.MemberList](t, rec)
	assert.Equal(t, httpapi.MemberList{NodeID: "solo", Members: []httpapi.Member{
		{ID: "solo", State: "alive", Self: true},
	}}, got)
}

func TestMembersFromTheNodeWithoutHook(t *testing.T) {
	f := newFixture(t, fairmesh.Config{NodeID: "b"}, httpapi.Options{})
	f.node.SetMember("c", fairmesh.MemberSuspect)
	f.node.SetMember("a", fairmesh.MemberAlive)
	f.node.SetMember("d", fairmesh.MemberDead)
	got := decode[httpapi.MemberList](t, f.do(t, "GET", "/v1/members", ""))
	assert.Equal(t, []httpapi.Member{
		{ID: "a", State: "alive"},
		{ID: "b", State: "alive", Self: true},
		{ID: "c", State: "suspect"},
		{ID: "d", State: "dead"},
	}, got.Members)
}

func TestMembersFromTheHook(t *testing.T) {
	calls := 0
	hook := func() []httpapi.Member {
		calls++
		// Unsorted, with a stray Self: the handler sorts and marks.
		return []httpapi.Member{
			{ID: "z", Addr: "10.0.0.3:7946", State: "suspect", Self: true},
			{ID: "me", Addr: "10.0.0.1:7946", State: "alive"},
			{ID: "a", State: "left"},
		}
	}
	f := newFixture(t, fairmesh.Config{NodeID: "me"}, httpapi.Options{Members: hook})
	// The Node's own view is not used when a hook is given.
	f.node.SetMember("other", fairmesh.MemberAlive)
	rec := f.do(t, "GET", "/v1/members", "")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	got := decode[httpapi.MemberList](t, rec)
	assert.Equal(t, httpapi.MemberList{NodeID: "me", Members: []httpapi.Member{
		{ID: "a", State: "left"},
		{ID: "me", Addr: "10.0.0.1:7946", State: "alive", Self: true},
		{ID: "z", Addr: "10.0.0.3:7946", State: "suspect"},
	}}, got)
	assert.Equal(t, 1, calls)
	assert.NotContains(t, rec.Body.String(), `"addr":""`, "an unknown address is omitted")

	// A hook that forgets this node still gets it listed.
	f = newFixture(t, fairmesh.Config{NodeID: "me"}, httpapi.Options{Members: func() []httpapi.Member { return nil }})
	got = decode[httpapi.MemberList](t, f.do(t, "GET", "/v1/members", ""))
	assert.Equal(t, []httpapi.Member{{ID: "me", State: "alive", Self: true}}, got.Members)
}

func TestMembersIsReadOnlyAndOpen(t *testing.T) {
	f := newFixture(t, fairmesh.Config{}, httpapi.Options{AdminToken: "secret"})
	assert.Equal(t, http.StatusOK, f.do(t, "GET", "/v1/members", "").Code, "no token needed to read")
	assert.Equal(t, http.StatusMethodNotAllowed, f.do(t, "POST", "/v1/members", "{}").Code)
}

// Removing a member: only with the admin token, only a member that is not
// alive, and then it no longer counts among the members the node knows.
func TestRemoveMember(t *testing.T) {
	f := newFixture(t, fairmesh.Config{NodeID: "me"}, httpapi.Options{AdminToken: "s3cret"})
	f.node.SetMember("up", fairmesh.MemberAlive)
	f.node.SetMember("gone", fairmesh.MemberDead)
	rec := f.do(t, "DELETE", "/v1/members/gone", "")
	require.Equal(t, http.StatusUnauthorized, rec.Code, "without the token")
	for _, tc := range []struct {
		id   string
		code int
	}{{"up", http.StatusConflict}, {"me", http.StatusConflict}, {"nosuch", http.StatusNotFound}, {"gone", http.StatusNoContent}} {
		rec := f.do(t, "DELETE", "/v1/members/"+tc.id, "", "Authorization", "Bearer s3cret")
		require.Equal(t, tc.code, rec.Code, "%s: %s", tc.id, rec.Body.String())
	}
	rec = f.do(t, "DELETE", "/v1/members/gone", "", "Authorization", "Bearer s3cret")
	require.Equal(t, http.StatusNoContent, rec.Code, "removing again changes nothing and is no error")
}
