package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fairmesh/fairmesh/httpapi"
)

// serveOnce runs serve on loopback with dataDir until stop is called, which
// returns serve's exit status and its log.
func serveOnce(t *testing.T, dataDir string) (url string, stop func() (int, string)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--http", "127.0.0.1:0", "--bind", "127.0.0.1:0", "--node-id", "p1",
			"--data-dir", dataDir}, &stdout, &stderr)
	}()
	url = servedURL(t, &stderr)
	return url, func() (int, string) {
		cancel()
		select {
		case code := <-done:
			return code, stderr.String()
		case <-time.After(15 * time.Second):
			t.Fatal("serve did not stop after its context was cancelled")
			return -1, ""
		}
	}
}

// A node alone stops and starts again on the same data directory: the
// weight and the limit set through the API before are back.
func TestServeKeepsConfigAcrossRestarts(t *testing.T) {
	t.Setenv("FAIRMESH_ADMIN_TOKEN", "")
	t.Setenv("FAIRMESH_TOKEN", "")
	t.Setenv("FAIRMESH_GOSSIP_KEY", "")
	dir := filepath.Join(t.TempDir(), "data") // created by serve

	url, stop := serveOnce(t, dir)
	require.Equal(t, 0, cli(t, "weight", "set", "gold", "7", "--node", url).code)
	require.Equal(t, 0, cli(t, "limit", "set", "gold", "40", "1m", "--node", url).code)
	code, log := stop()
	require.Equal(t, 0, code, log)
	assert.FileExists(t, filepath.Join(dir, configFileName))

	url, stop = serveOnce(t, dir)
	// A second node on the same directory would load this one's config.
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	assert.Equal(t, 1, run(ctx, []string{"serve", "--http", "127.0.0.1:0", "--bind", "127.0.0.1:0", "--data-dir", dir}, &out, &errb))
	assert.Contains(t, errb.String(), "in use")

	r := cli(t, "clients", "gold", "--node", url, "--json")
	require.Equal(t, 0, r.code, r.stderr)
	c := parse[httpapi.Client](t, r)
	code, log = stop()
	require.Equal(t, 0, code, log)
	assert.Contains(t, log, "registers=2")

	assert.True(t, c.Config.Configured)
	assert.Equal(t, 7, c.Config.Weight)
	require.True(t, c.Config.Limited)
	require.NotNil(t, c.Config.Rate)
	assert.Equal(t, 40, *c.Config.Rate)
	assert.Equal(t, "1m0s", c.Config.Period)
}

// A deletion is kept like any write: after a restart on the same data
// directory the deleted client is still back on the defaults (the file's
// tombstones, not an empty file, say so), and the other client's config
// is there.
func TestServeKeepsADeletionAcrossRestarts(t *testing.T) {
	t.Setenv("FAIRMESH_ADMIN_TOKEN", "")
	t.Setenv("FAIRMESH_TOKEN", "")
	t.Setenv("FAIRMESH_GOSSIP_KEY", "")
	dir := filepath.Join(t.TempDir(), "data")

	url, stop := serveOnce(t, dir)
	require.Equal(t, 0, cli(t, "limit", "set", "gone", "5", "1s", "--node", url).code)
	require.Equal(t, 0, cli(t, "weight", "set", "kept", "3", "--node", url).code)
	r := cli(t, "client", "delete", "gone", "--node", url)
	require.Equal(t, 0, r.code, r.stderr)
	code, log := stop()
	require.Equal(t, 0, code, log)
	saved, err := os.ReadFile(filepath.Join(dir, configFileName))
	require.NoError(t, err)
	assert.Contains(t, string(saved), `"client":"gone","kind":"limit","deleted":true`)

	url, stop = serveOnce(t, dir)
	gone := cli(t, "limit", "get", "gone", "--node", url)
	kept := cli(t, "weight", "get", "kept", "--node", url)
	code, log = stop()
	require.Equal(t, 0, code, log)
	assert.Equal(t, 1, gone.code, "deleted and never seen since: unknown")
	assert.Contains(t, gone.stderr, "unknown")
	assert.Equal(t, []string{"kept", "3", "(its", "own)"}, strings.Fields(kept.stdout))
}

// A config file that cannot be read stops serve before it serves, with an
// error naming the file; the file is left as it was for the operator.
func TestServeRefusesACorruptConfigFile(t *testing.T) {
	t.Setenv("FAIRMESH_GOSSIP_KEY", "")
	for name, data := range map[string]string{
		"truncated":     `{"version":1,"registers":[{"client":"a","kind":"wei`,
		"wrong version": `{"version":2,"registers":[]}`,
		"invalid entry": `{"version":1,"registers":[{"client":"a","kind":"weight","weight":-3,"stamp_wall_ns":1,"stamp_logical":0,"node":"n"}]}`,
		// Decodes, but the node refuses it: it would win every update.
		"stamped in the future": `{"version":1,"registers":[{"client":"a","kind":"weight","weight":3,"stamp_wall_ns":9000000000000000000,"stamp_logical":0,"node":"n"}]}`,
	} {
		dir := t.TempDir()
		path := filepath.Join(dir, configFileName)
		require.NoError(t, os.WriteFile(path, []byte(data), 0o600))
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var out, errb bytes.Buffer
		code := run(ctx, []string{"serve", "--http", "127.0.0.1:0", "--bind", "127.0.0.1:0", "--data-dir", dir}, &out, &errb)
		cancel()
		assert.Equal(t, 1, code, name)
		assert.Contains(t, errb.String(), path, name)
		assert.NotContains(t, errb.String(), "fairmesh serving", name)
		got, err := os.ReadFile(path)
		require.NoError(t, err)
		assert.Equal(t, data, string(got), "%s: the file is not reset", name)
	}
}

// --data-dir "" keeps nothing: no directory is made, nothing loaded.
func TestServeWithoutDataDirKeepsNothing(t *testing.T) {
	t.Setenv("FAIRMESH_ADMIN_TOKEN", "")
	t.Setenv("FAIRMESH_TOKEN", "")
	t.Setenv("FAIRMESH_GOSSIP_KEY", "")
	url, stop := serveOnce(t, "")
	require.Equal(t, 0, cli(t, "weight", "set", "gold", "7", "--node", url).code)
	code, log := stop()
	require.Equal(t, 0, code, log)
	assert.NotContains(t, log, "config loaded")
}
