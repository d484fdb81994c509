package main

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fairmesh/fairmesh"
	"github.com/fairmesh/fairmesh/httpapi"
)

func TestWeightAndLimitGet(t *testing.T) {
	node, url := newNode(t, fairmesh.Config{DefaultRate: 50}, httpapi.Options{})
	require.NoError(t, node.UpdateClientWeight("gold", 3))
	require.NoError(t, node.UpdateClientRateLimit("api", 7, time.Minute))

	r := cli(t, "weight", "get", "gold", "--node", url)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, []string{"gold", "3", "(its", "own)"}, strings.Fields(r.stdout))
	r = cli(t, "weight", "get", "api", "--node", url)
	assert.Equal(t, []string{"api", "1", "(the", "default)"}, strings.Fields(r.stdout))
	r = cli(t, "limit", "get", "api", "--node", url)
	assert.Equal(t, []string{"api", "7/1m0s", "(its", "own)"}, strings.Fields(r.stdout))
	r = cli(t, "limit", "get", "gold", "--node", url)
	assert.Equal(t, []string{"gold", "50/1s", "(the", "default)"}, strings.Fields(r.stdout))

	r = cli(t, "weight", "get", "nosuch", "--node", url)
	assert.Equal(t, 1, r.code, "an unknown client is an error, not the defaults")
	assert.Contains(t, r.stderr, "unknown")
	assert.Empty(t, r.stdout)
}

func TestClientDeleteAndConfiguredList(t *testing.T) {
	node, url := newNode(t, fairmesh.Config{}, httpapi.Options{AdminToken: "tok"})
	for _, id := range []string{"a", "b"} {
		require.NoError(t, node.UpdateClientWeight(id, 2))
	}
	r := cli(t, "clients", "--configured", "--node", url)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "configured", row(t, r.stdout, "a")[3])
	assert.Equal(t, "configured", row(t, r.stdout, "b")[3])

	r = cli(t, "client", "delete", "a", "--node", url)
	assert.Equal(t, 1, r.code, "no token")
	r = cli(t, "client", "delete", "a", "--node", url, "--token", "tok")
	require.Equal(t, 0, r.code, r.stderr)
	cs, err := node.Client("a")
	require.NoError(t, err)
	assert.False(t, cs.Config.Configured)

	r = cli(t, "clients", "--configured", "--node", url, "--json")
	require.Equal(t, 0, r.code, r.stderr)
	list := parse[httpapi.ClientList](t, r)
	require.Len(t, list.Clients, 1)
	assert.Equal(t, "b", list.Clients[0].ID)

	r = cli(t, "client", "delete", "a", "--node", url, "--token", "tok")
	assert.Equal(t, 1, r.code, "nothing left to delete")
	assert.Contains(t, r.stderr, "no config of its own")
}

// Errors carry one "fairmesh:" prefix and name what the user typed.
func TestCLIErrorsNameWhatWasTyped(t *testing.T) {
	_, url := newNode(t, fairmesh.Config{}, httpapi.Options{})
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"weight", "set", "", "3", "--node", url}, "fairmesh: client ID is empty\n"},
		{[]string{"weight", "set", "x", "-5", "--node", url}, "fairmesh: -5: negative numbers are never valid here"},
		{[]string{"limit", "set", "x", "-1", "1s", "--node", url}, "fairmesh: -1: negative numbers are never valid here"},
		{[]string{"serve", "--capacity", "-5"}, "fairmesh: --capacity must be in [0, 4000000] (0: no shared capacity), not -5"},
		{[]string{"serve", "--min-rate", "0"}, "fairmesh: --min-rate must be in [1, 4000000], not 0"},
		{[]string{"weight", "set", "a\x1bb", "3", "--node", url}, "fairmesh: client ID has a control character (U+001B) at byte 1"},
	} {
		r := cli(t, tc.args...)
		assert.Equal(t, 1, r.code, "%q", tc.args)
		assert.Contains(t, r.stderr, tc.want, "%q", tc.args)
		assert.Equal(t, 1, strings.Count(r.stderr, "fairmesh:"), "one prefix: %q", r.stderr)
	}
}

func TestVersion(t *testing.T) {
	r := cli(t, "--version")
	require.Equal(t, 0, r.code)
	assert.Regexp(t, `^fairmesh \S+ .*go1\.\d+`, r.stdout)
}

// A table never prints a byte that moves the cursor: an ID a node holds
// with one (an older node accepted them) is printed quoted.
func TestTablesEscapeUnprintableIDs(t *testing.T) {
	var b strings.Builder
	require.NoError(t, printClients(&b, []httpapi.Client{{ID: "evil\x1b[2J\nrow"}, {ID: "fine-ü"}}))
	out := b.String()
	assert.NotContains(t, out, "\x1b")
	assert.Equal(t, 3, strings.Count(out, "\n"), "one line per client and the header")
	assert.Contains(t, out, `"evil\x1b[2J\nrow"`)
	assert.Contains(t, out, "fine-ü ")
}

// sim --html writes the page; piped (as here), sim prints no progress.
func TestSimHTMLAndQuietWhenPiped(t *testing.T) {
	out := t.TempDir() + "/report.html"
	r := cli(t, "sim", "--scenario", "steady", "--html", out)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Empty(t, r.stderr, "no progress on a pipe")
	page, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Contains(t, string(page), `<section data-scenario="steady">`)
	assert.Contains(t, string(page), `class="admitted"`)
	assert.Contains(t, r.stdout, "scenario steady")
}
