package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fairmesh/fairmesh"
	"github.com/fairmesh/fairmesh/httpapi"
)

func TestMembers(t *testing.T) {
	hook := func() []httpapi.Member {
		return []httpapi.Member{
			{ID: "edge-1", Addr: "10.0.0.1:7946", State: "alive"},
			{ID: "edge-2", Addr: "10.0.0.2:7946", State: "suspect"},
			{ID: "edge-3", State: "dead"},
		}
	}
	_, url := newNode(t, fairmesh.Config{NodeID: "edge-1"}, httpapi.Options{Members: hook})

	r := cli(t, "members", "--node", url)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, []string{"MEMBER", "ADDRESS", "STATE", "SELF"}, row(t, r.stdout, "MEMBER"))
	assert.Equal(t, []string{"edge-1", "10.0.0.1:7946", "alive", "*"}, row(t, r.stdout, "edge-1"))
	assert.Equal(t, []string{"edge-2", "10.0.0.2:7946", "suspect"}, row(t, r.stdout, "edge-2"))
	assert.Equal(t, []string{"edge-3", "-", "dead"}, row(t, r.stdout, "edge-3"))

	r = cli(t, "members", "--node", url, "--json")
	require.Equal(t, 0, r.code, r.stderr)
	l := parse[httpapi.MemberList](t, r)
	assert.Equal(t, "edge-1", l.NodeID)
	require.Len(t, l.Members, 3)
	assert.True(t, l.Members[0].Self)
	assert.Equal(t, "10.0.0.2:7946", l.Members[1].Addr)
}

func TestMembersOfANodeAlone(t *testing.T) {
	_, url := newNode(t, fairmesh.Config{NodeID: "solo"}, httpapi.Options{})
	r := cli(t, "members", "--node", url)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, []string{"solo", "-", "alive", "*"}, row(t, r.stdout, "solo"))
}

func TestMembersErrors(t *testing.T) {
	_, url := newNode(t, fairmesh.Config{}, httpapi.Options{})
	for _, args := range [][]string{
		{"members", "extra", "--node", url},
		{"members", "--node", "http://127.0.0.1:1"},
		{"members", "--node", "not a url"},
	} {
		r := cli(t, args...)
		assert.Equal(t, 1, r.code, "%v", args)
		assert.NotEmpty(t, r.stderr, "%v", args)
	}
}

func TestMembersRemove(t *testing.T) {
	n, url := newNode(t, fairmesh.Config{NodeID: "edge-1"}, httpapi.Options{AdminToken: "tok"})
	n.SetMember("edge-2", fairmesh.MemberAlive)
	n.SetMember("edge-3", fairmesh.MemberDead)

	require.False(t, n.Settled(), "a dead member holds its shares")
	r := cli(t, "members", "remove", "edge-3", "--node", url)
	assert.Equal(t, 1, r.code, "without the token")
	assert.Contains(t, r.stderr, "token")

	r = cli(t, "members", "remove", "edge-2", "--node", url, "--token", "tok")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "alive")

	r = cli(t, "members", "remove", "edge-3", "--node", url, "--token", "tok")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "removed edge-3\n", r.stdout)
	assert.True(t, n.Settled(), "removed: its shares are reclaimed")
}
