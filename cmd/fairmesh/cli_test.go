package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fairmesh/fairmesh"
	"github.com/fairmesh/fairmesh/clock"
	"github.com/fairmesh/fairmesh/httpapi"
)

// newNode starts an httptest server with the API of a real Node on a
// manual clock, and clears the environment the CLI reads.
func newNode(t *testing.T, cfg fairmesh.Config, opts httpapi.Options) (*fairmesh.Node, string) {
	t.Helper()
	t.Setenv("FAIRMESH_NODE", "")
	t.Setenv("FAIRMESH_TOKEN", "")
	cfg.Clock = clock.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 250_000_000, time.UTC))
	if cfg.NodeID == "" {
		cfg.NodeID = "cli-node"
	}
	n, err := fairmesh.NewNode(cfg)
	require.NoError(t, err)
	srv := httptest.NewServer(httpapi.New(n, opts))
	t.Cleanup(srv.Close)
	return n, srv.URL
}

type result struct {
	code           int
	stdout, stderr string
}

func cli(t *testing.T, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return result{code, out.String(), errb.String()}
}

func parse[T any](t *testing.T, r result) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&v), "stdout: %s\nstderr: %s", r.stdout, r.stderr)
	return v
}

// row returns the fields of the first line of a table that starts with key.
func row(t *testing.T, table, key string) []string {
	t.Helper()
	for line := range strings.Lines(table) {
		if f := strings.Fields(line); len(f) > 0 && f[0] == key {
			return f
		}
	}
	t.Fatalf("no row %q in:\n%s", key, table)
	return nil
}

func TestWeightSet(t *testing.T) {
	node, url := newNode(t, fairmesh.Config{}, httpapi.Options{})

	r := cli(t, "weight", "set", "checkout", "3", "--node", url)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "CLIENT")
	assert.Equal(t, "3", row(t, r.stdout, "checkout")[1])
	cs, err := node.Client("checkout")
	require.NoError(t, err)
	assert.Equal(t, 3, cs.Config.Weight)

	r = cli(t, "weight", "set", "checkout", "0", "--node", url, "--json")
	require.Equal(t, 0, r.code, r.stderr)
	got := parse[httpapi.Client](t, r)
	assert.Equal(t, "checkout", got.ID)
	assert.Equal(t, 0, got.Config.Weight)
}

func TestLimitSetAndAllow(t *testing.T) {
	node, url := newNode(t, fairmesh.Config{}, httpapi.Options{})

	r := cli(t, "limit", "set", "api-key-1", "2", "1s", "--node", url)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "2/1s", row(t, r.stdout, "api-key-1")[2])
	cs, err := node.Client("api-key-1")
	require.NoError(t, err)
	assert.Equal(t, 2, cs.Config.Rate)
	assert.Equal(t, time.Second, cs.Config.Period)

	r = cli(t, "allow", "api-key-1", "--node", url)
	require.Equal(t, 0, r.code, "admitted exits 0: %s", r.stderr)
	assert.Equal(t, []string{"api-key-1", "allowed", "2", "1", "750ms"}, row(t, r.stdout, "api-key-1"))

	r = cli(t, "allow", "api-key-1", "--node", url, "--json")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, httpapi.AllowResult{Allowed: true, Limit: 2, Remaining: 0, ResetMS: 750,
		WindowStartMS: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()}, parse[httpapi.AllowResult](t, r))

	r = cli(t, "allow", "api-key-1", "--node", url)
	assert.Equal(t, 1, r.code, "denied exits 1")
	assert.Equal(t, "denied", row(t, r.stdout, "api-key-1")[1])
	assert.Empty(t, r.stderr, "a denial is an answer, not an error")

	r = cli(t, "allow", "api-key-1", "--node", url, "--json")
	assert.Equal(t, 1, r.code)
	assert.False(t, parse[httpapi.AllowResult](t, r).Allowed)
}

func TestAllowN(t *testing.T) {
	node, url := newNode(t, fairmesh.Config{}, httpapi.Options{})
	require.NoError(t, node.UpdateClientRateLimit("a", 5, time.Second))
	assert.Equal(t, 0, cli(t, "allow", "a", "--n", "4", "--node", url).code)
	assert.Equal(t, 1, cli(t, "allow", "a", "-n", "2", "--node", url).code)
	cs, err := node.Client("a")
	require.NoError(t, err)
	assert.Equal(t, int64(4), cs.Admitted)
}

// --wait waits on the node: admitted at once while there is room, denied
// (exit 1) when the wait runs out, and refused (exit 2) past the bound.
func TestAllowWait(t *testing.T) {
	node, url := newNode(t, fairmesh.Config{}, httpapi.Options{})
	require.NoError(t, node.UpdateClientRateLimit("a", 1, time.Second))
	assert.Equal(t, 0, cli(t, "allow", "a", "--wait", "2s", "--node", url).code)
	start := time.Now()
	r := cli(t, "allow", "a", "--wait", "100ms", "--node", url)
	assert.Equal(t, 1, r.code, "the window never moves (manual clock): the wait runs out, %s", r.stderr)
	assert.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond, "denied before the wait was over")
	for _, bad := range []string{"31s", "-1s", "soon"} {
		r := cli(t, "allow", "a", "--wait", bad, "--node", url)
		assert.Equal(t, 2, r.code, "--wait %s", bad)
		assert.Contains(t, r.stderr, "wait", "--wait %s", bad)
	}
	cs, err := node.Client("a")
	require.NoError(t, err)
	assert.Equal(t, int64(1), cs.Admitted)
}

func TestAllowErrorsExit2(t *testing.T) {
	_, url := newNode(t, fairmesh.Config{}, httpapi.Options{})
	for _, args := range [][]string{
		{"allow", "--node", url},                           // no client
		{"allow", "a", "b", "--node", url},                 // two clients
		{"allow", "a", "--n", "0", "--node", url},          // n < 1
		{"allow", "a", "--n", "many", "--node", url},       // not a number
		{"allow", "a", "--bogus", "--node", url},           // unknown flag
		{"allow", strings.Repeat("x", 257), "--node", url}, // ID too long
		{"allow", "a", "--node", "127.0.0.1:1"},            // not a URL
		{"allow", "a", "--node", "http://127.0.0.1:1"},     // nobody there
	} {
		r := cli(t, args...)
		assert.Equal(t, 2, r.code, "%v: %s", args, r.stderr)
		assert.NotEmpty(t, r.stderr, "%v", args)
	}
}

func TestClients(t *testing.T) {
	node, url := newNode(t, fairmesh.Config{DefaultRate: 10}, httpapi.Options{})
	for _, id := range []string{"bob", "alice", "bob"} {
		require.True(t, node.Allow(id))
	}
	require.NoError(t, node.UpdateClientWeight("alice", 4))

	r := cli(t, "clients", "--node", url)
	require.Equal(t, 0, r.code, r.stderr)
	alice, bob := row(t, r.stdout, "alice"), row(t, r.stdout, "bob")
	assert.Equal(t, []string{"alice", "4", "10/1s", "configured"}, alice[:4])
	assert.Equal(t, "tracked", bob[3])
	assert.Equal(t, "2", bob[6], "bob's admitted count")
	assert.Less(t, strings.Index(r.stdout, "alice"), strings.Index(r.stdout, "bob"), "sorted")

	r = cli(t, "clients", "--node", url, "--json")
	require.Equal(t, 0, r.code, r.stderr)
	list := parse[httpapi.ClientList](t, r)
	require.Len(t, list.Clients, 2)
	assert.Equal(t, "alice", list.Clients[0].ID)

	r = cli(t, "clients", "--node", url, "--limit", "1")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stderr, "more than 1 clients")

	r = cli(t, "clients", "bob", "--node", url, "--json")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, int64(2), parse[httpapi.Client](t, r).Admitted)
}

func TestStatus(t *testing.T) {
	_, url := newNode(t, fairmesh.Config{NodeID: "edge-7", Capacity: 500}, httpapi.Options{})

	r := cli(t, "status", "--node", url)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, []string{"node", "edge-7"}, row(t, r.stdout, "node"))
	assert.Equal(t, []string{"capacity", "500/1s"}, row(t, r.stdout, "capacity"))

	r = cli(t, "status", "--node", url, "--json")
	require.Equal(t, 0, r.code, r.stderr)
	s := parse[httpapi.Status](t, r)
	assert.Equal(t, "edge-7", s.NodeID)
	assert.Equal(t, 500, s.Capacity)
}

func TestEnvironmentNamesTheNode(t *testing.T) {
	_, url := newNode(t, fairmesh.Config{NodeID: "from-env"}, httpapi.Options{})
	t.Setenv("FAIRMESH_NODE", url)
	r := cli(t, "status", "--json")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "from-env", parse[httpapi.Status](t, r).NodeID)
}

func TestTokenIsSentWhenGiven(t *testing.T) {
	node, url := newNode(t, fairmesh.Config{}, httpapi.Options{AdminToken: "hunter2"})
	weight := func() int {
		cs, err := node.Client("a")
		require.NoError(t, err)
		return cs.Config.Weight
	}

	r := cli(t, "weight", "set", "a", "5", "--node", url)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "401")
	assert.Contains(t, r.stderr, "field Authorization")
	assert.Equal(t, 1, weight())

	r = cli(t, "weight", "set", "a", "5", "--node", url, "--token", "wrong")
	assert.Equal(t, 1, r.code)
	assert.Equal(t, 1, weight())

	r = cli(t, "weight", "set", "a", "5", "--node", url, "--token", "hunter2")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, 5, weight())

	t.Setenv("FAIRMESH_TOKEN", "hunter2")
	r = cli(t, "limit", "set", "a", "9", "2s", "--node", url)
	require.Equal(t, 0, r.code, r.stderr)
	cs, err := node.Client("a")
	require.NoError(t, err)
	assert.Equal(t, 9, cs.Config.Rate)
}

func TestServerRefusalIsPrintedAndExits1(t *testing.T) {
	node, url := newNode(t, fairmesh.Config{}, httpapi.Options{})
	r := cli(t, "limit", "set", "a", "5", "fast", "--node", url)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "400")
	assert.Contains(t, r.stderr, "field period")
	r = cli(t, "weight", "set", "--node", url, "a", "--", "-2")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "field weight")
	cs, err := node.Client("a")
	require.NoError(t, err)
	assert.False(t, cs.Config.Configured)
}

func TestBadArgumentsAreErrors(t *testing.T) {
	_, url := newNode(t, fairmesh.Config{}, httpapi.Options{})
	for _, args := range [][]string{
		{"weight", "set", "a", "--node", url},
		{"weight", "set", "a", "heavy", "--node", url},
		{"weight", "set", "", "3", "--node", url},
		{"limit", "set", "a", "5", "--node", url},
		{"limit", "set", "a", "lots", "1s", "--node", url},
		{"status", "extra", "--node", url},
		{"status", "--node", "ftp://example.com"},
		{"clients", "a", "b", "--node", url},
		{"no-such-command"},
	} {
		r := cli(t, args...)
		assert.Equal(t, 1, r.code, "%v", args)
		assert.NotEmpty(t, r.stderr, "%v", args)
	}
}

func TestClientIDsAreEscapedInPaths(t *testing.T) {
	node, url := newNode(t, fairmesh.Config{}, httpapi.Options{})
	const id = "tenant/a b?c#d%"
	r := cli(t, "limit", "set", id, "1", "1s", "--node", url)
	require.Equal(t, 0, r.code, r.stderr)
	cs, err := node.Client(id)
	require.NoError(t, err)
	assert.Equal(t, 1, cs.Config.Rate)

	assert.Equal(t, 0, cli(t, "allow", id, "--node", url).code)
	assert.Equal(t, 1, cli(t, "allow", id, "--node", url).code)
	r = cli(t, "clients", id, "--node", url, "--json")
	require.Equal(t, 0, r.code, r.stderr)
	got := parse[httpapi.Client](t, r)
	assert.Equal(t, id, got.ID)
	assert.Equal(t, int64(1), got.Admitted)
	assert.Equal(t, int64(1), got.Denied)
}

func TestReturn(t *testing.T) {
	node, url := newNode(t, fairmesh.Config{}, httpapi.Options{})
	require.NoError(t, node.UpdateClientRateLimit("a", 2, time.Second))
	require.Equal(t, 0, cli(t, "allow", "a", "--n", "2", "--node", url).code)
	require.Equal(t, 1, cli(t, "allow", "a", "--node", url).code)
	r := cli(t, "return", "a", "--node", url)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "a: gave back up to 1")
	require.Equal(t, 0, cli(t, "allow", "a", "--node", url).code, "admitted again after the return")
	r = cli(t, "return", "a", "--n", "0", "--node", url)
	assert.NotEqual(t, 0, r.code)
	r = cli(t, "return", "ghost", "--node", url, "--json")
	assert.NotEqual(t, 0, r.code)
	assert.Contains(t, r.stderr, "not tracked")
}

func TestSimFuzz(t *testing.T) {
	dir := t.TempDir()
	r := cli(t, "sim", "--fuzz", "2", "--seed", "1", "--out", dir, "--json", "--shrink", "0")
	require.Contains(t, []int{0, 3}, r.code, r.stderr)
	var cases []struct {
		Index    int             `json:"index"`
		Scenario json.RawMessage `json:"scenario"`
		Failures []string        `json:"failures"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &cases), r.stdout)
	require.Len(t, cases, 2)
	failed := 0
	for i, c := range cases {
		assert.Equal(t, i, c.Index)
		if len(c.Failures) > 0 {
			failed++
		}
	}
	assert.Equal(t, failed > 0, r.code == 3, "exit 3 exactly when a scenario failed")
	// The same seed draws the same scenarios.
	again := cli(t, "sim", "--fuzz", "2", "--seed", "1", "--out", dir, "--json", "--shrink", "0")
	assert.Equal(t, r.stdout, again.stdout)

	for _, args := range [][]string{
		{"sim", "--fuzz", "2", "nofile.json"},
		{"sim", "--fuzz", "2", "--scenario", "steady"},
		{"sim", "--fuzz", "-1"},
		{"sim", "--fuzz", "1", "--shrink", "-2"},
	} {
		assert.Equal(t, 1, cli(t, args...).code, "%v", args)
	}
}
