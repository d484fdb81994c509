package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fairmesh/fairmesh"
	"github.com/fairmesh/fairmesh/httpapi"
)

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
	return p
}

const clientsYAML = `# limits kept in version control
clients:
  - id: checkout
    weight: 3
    rate: 100
    period: 1s
  - id: batch-jobs
    weight: 0
`

func TestApplyDryRunThenApplyThenPrune(t *testing.T) {
	node, url := newNode(t, fairmesh.Config{}, httpapi.Options{AdminToken: "tok"})
	require.NoError(t, node.UpdateClientWeight("legacy", 9))
	file := writeFile(t, "clients.yaml", clientsYAML)
	before := node.ConfigRegisters()

	r := cli(t, "apply", "-f", file, "--dry-run", "--node", url, "--token", "tok")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "+ batch-jobs: weight default, limit default -> weight 0, limit default\n"+
		"+ checkout: weight default, limit default -> weight 3, limit 100/1s\n"+
		"would apply (dry run): 2 client(s) changed\n", r.stdout)
	assert.Equal(t, before, node.ConfigRegisters(), "a dry run changes nothing")

	r = cli(t, "apply", "-f", file, "--node", url, "--token", "tok")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "applied: 2 client(s) changed")
	cs, err := node.Client("checkout")
	require.NoError(t, err)
	assert.Equal(t, fairmesh.ClientConfig{Weight: 3, Rate: 100, Period: time.Second, Limited: true, Configured: true, OwnWeight: true, OwnLimit: true}, cs.Config)

	r = cli(t, "apply", "-f", file, "--prune", "--node", url, "--token", "tok")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "- legacy: weight 9, limit default -> weight default, limit default\napplied: 1 client(s) changed\n", r.stdout)
	r = cli(t, "apply", "-f", file, "--prune", "--node", url, "--token", "tok")
	assert.Equal(t, "no changes\n", r.stdout)
}

func TestApplyReadsJSONAndStandardInput(t *testing.T) {
	node, url := newNode(t, fairmesh.Config{}, httpapi.Options{})
	file := writeFile(t, "c.json", `{"clients":[{"id":"a","rate":5,"period":"1m"}]}`)
	r := cli(t, "apply", "-f", file, "--node", url, "--json")
	require.Equal(t, 0, r.code, r.stderr)
	resp := parse[httpapi.ApplyResponse](t, r)
	assert.True(t, resp.Applied)
	require.Len(t, resp.Changes, 1)
	assert.Equal(t, "1m0s", resp.Changes[0].After.Period)
	cs, err := node.Client("a")
	require.NoError(t, err)
	assert.Equal(t, 5, cs.Config.Rate)
}

// A file that is wrong anywhere changes nothing, and the error names the
// file and what is wrong.
func TestApplyRefusesABadFileWhole(t *testing.T) {
	node, url := newNode(t, fairmesh.Config{}, httpapi.Options{})
	require.NoError(t, node.UpdateClientWeight("x", 1))
	before := node.ConfigRegisters()
	for _, tc := range []struct{ name, body, want string }{
		{"dup.yaml", "clients:\n  - id: a\n    weight: 2\n    weight: 3\n", "already defined"},
		{"unknown.yaml", "clients:\n  - id: a\n    burst: 2\n", "field burst not found"},
		{"bad.yaml", "clients:\n  - id: a\n    weight: 2\n  - id: b\n    weight: -4\n", "weight -4"},
		{"period.yaml", "clients:\n  - id: a\n    rate: 5\n", "a rate needs a period"},
		{"ctrl.yaml", "clients:\n  - id: \"a\\x1b\"\n    weight: 1\n", "control character"},
		{"empty.yaml", "", "the file is empty"},
		{"nolist.yaml", "client: []\n", "field client not found"},
		{"dup.json", `{"clients":[{"id":"a","weight":1,"weight":2}]}`, "given twice"},
		{"two.json", `{"clients":[]} {"clients":[]}`, "more than one JSON document"},
	} {
		r := cli(t, "apply", "-f", writeFile(t, tc.name, tc.body), "--prune", "--node", url)
		assert.Equal(t, 1, r.code, tc.name)
		assert.Contains(t, r.stderr, tc.want, tc.name)
		assert.Equal(t, before, node.ConfigRegisters(), "%s: nothing changed", tc.name)
	}
	r := cli(t, "apply", "--node", url)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "-f FILE is required")
	assert.True(t, strings.HasPrefix(r.stderr, "fairmesh: "))
}
