package main

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fairmesh/fairmesh"
	"github.com/fairmesh/fairmesh/crdt"
)

func TestDefaultDataDir(t *testing.T) {
	env := func(kv map[string]string) func(string) string {
		return func(k string) string { return kv[k] }
	}
	for _, tc := range []struct {
		euid int
		env  map[string]string
		want string
	}{
		{0, map[string]string{"XDG_STATE_HOME": "/x", "HOME": "/root"}, "/var/lib/fairmesh"},
		{1000, map[string]string{"XDG_STATE_HOME": "/x/state", "HOME": "/home/u"}, "/x/state/fairmesh"},
		{1000, map[string]string{"HOME": "/home/u"}, "/home/u/.local/state/fairmesh"},
		// The XDG spec ignores a relative path.
		{1000, map[string]string{"XDG_STATE_HOME": "rel", "HOME": "/home/u"}, "/home/u/.local/state/fairmesh"},
		{1000, map[string]string{}, ""},
	} {
		assert.Equal(t, tc.want, defaultDataDir(tc.euid, env(tc.env)), "euid %d, env %v", tc.euid, tc.env)
	}
}

func sampleRegisters(w int) []fairmesh.ConfigRegister {
	return []fairmesh.ConfigRegister{
		{ClientID: "gold", Kind: fairmesh.ConfigWeight, Weight: w, Stamp: crdt.Timestamp{WallTime: 1_800_000_000_000_000_000, Logical: 3}, Node: "a"},
		{ClientID: "gold", Kind: fairmesh.ConfigLimit, Rate: 9, Period: time.Minute, Stamp: crdt.Timestamp{WallTime: 1_800_000_000_000_000_001}, Node: "b"},
	}
}

func TestDataDirSavesAndLoads(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "fairmesh")
	d, err := openDataDir(dir)
	require.NoError(t, err)
	defer d.Close()
	st, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), st.Mode().Perm(), "created private")

	rs, err := d.load()
	require.NoError(t, err)
	assert.Empty(t, rs, "no file yet: nothing to load, no error")

	require.NoError(t, d.save(sampleRegisters(2)))
	require.NoError(t, d.save(sampleRegisters(3)))
	rs, err = d.load()
	require.NoError(t, err)
	assert.Equal(t, sampleRegisters(3), rs)
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range ents {
		assert.Contains(t, []string{configFileName, lockFileName}, e.Name(), "no temp file left")
	}
}

// A second serve on the same directory is refused until the first is done.
func TestDataDirIsLocked(t *testing.T) {
	dir := t.TempDir()
	d, err := openDataDir(dir)
	require.NoError(t, err)
	if d.lock == nil {
		t.Skip("no directory locks on this platform")
	}
	_, err = openDataDir(dir)
	require.ErrorContains(t, err, "in use")
	require.NoError(t, d.Close())
	d, err = openDataDir(dir)
	require.NoError(t, err)
	require.NoError(t, d.Close())
}

// A save that fails between writing the temp file and the rename, as a
// crash would, leaves the old file whole; the temp file a real crash
// leaves is removed at the next start.
func TestDataDirSaveIsAtomic(t *testing.T) {
	dir := t.TempDir()
	d, err := openDataDir(dir)
	require.NoError(t, err)
	require.NoError(t, d.save(sampleRegisters(2)))

	crash := errors.New("crash")
	d.beforeRename = func() error { return crash }
	err = d.save(sampleRegisters(5))
	require.ErrorIs(t, err, crash)
	assert.Contains(t, err.Error(), d.path)
	rs, err := d.load()
	require.NoError(t, err)
	assert.Equal(t, sampleRegisters(2), rs, "the old file is intact")

	// What a crash leaves: a partial temp file next to the old one.
	require.NoError(t, d.Close())
	leftover := filepath.Join(dir, tempPrefix+"123")
	require.NoError(t, os.WriteFile(leftover, []byte(`{"version":1,"regis`), 0o600))
	d, err = openDataDir(dir)
	require.NoError(t, err)
	defer d.Close()
	assert.NoFileExists(t, leftover)
	rs, err = d.load()
	require.NoError(t, err)
	assert.Equal(t, sampleRegisters(2), rs)
}

func TestDataDirRefusesACorruptFile(t *testing.T) {
	good, err := fairmesh.EncodeConfigFile(sampleRegisters(2))
	require.NoError(t, err)
	for name, data := range map[string][]byte{
		"truncated":        good[:len(good)/2],
		"bad JSON":         []byte("{version: 1}"),
		"wrong version":    []byte(`{"version":7,"registers":[]}`),
		"invalid entry":    []byte(`{"version":1,"registers":[{"client":"a","kind":"weight","weight":-1,"stamp_wall_ns":1,"stamp_logical":0,"node":"n"}]}`),
		"trailing garbage": append(append([]byte{}, good...), "garbage"...),
		"empty":            {},
	} {
		dir := t.TempDir()
		d, err := openDataDir(dir)
		require.NoError(t, err)
		require.NoError(t, d.Close())
		require.NoError(t, os.WriteFile(d.path, data, 0o600))
		rs, err := d.load()
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), d.path, name)
		assert.Nil(t, rs, name)
	}
}

// The saver writes a change within its interval, writes nothing when
// nothing changed, and saves what is left when stopped.
func TestKeepSavesChangesAndOnStop(t *testing.T) {
	d, err := openDataDir(t.TempDir())
	require.NoError(t, err)
	defer d.Close()
	n, err := fairmesh.NewNode(fairmesh.Config{NodeID: "k"})
	require.NoError(t, err)
	stop, done := make(chan struct{}), make(chan error, 1)
	go func() { done <- d.keep(stop, n, 0, 10*time.Millisecond, slog.New(slog.DiscardHandler)) }()

	time.Sleep(50 * time.Millisecond)
	assert.NoFileExists(t, d.path, "nothing changed: nothing written")
	require.NoError(t, n.UpdateClientWeight("a", 4))
	require.Eventually(t, func() bool {
		rs, err := d.load()
		return err == nil && len(rs) == 1 && rs[0].Weight == 4
	}, 5*time.Second, 5*time.Millisecond)

	close(stop)
	require.NoError(t, <-done)

	// With no tick before the stop, the final write alone saves a change.
	stop = make(chan struct{})
	v := n.ConfigVersion()
	go func() { done <- d.keep(stop, n, v, time.Hour, slog.New(slog.DiscardHandler)) }()
	require.NoError(t, n.UpdateClientRateLimit("b", 1, time.Second))
	close(stop)
	require.NoError(t, <-done)
	rs, err := d.load()
	require.NoError(t, err)
	assert.Equal(t, n.ConfigRegisters(), rs)
}
