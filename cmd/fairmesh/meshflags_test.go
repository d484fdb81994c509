package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fairmesh/fairmesh"
)

func defaultMeshFlags() meshFlags {
	return meshFlags{
		bind:             defaultBind,
		gossipInterval:   100 * time.Millisecond,
		pushPullInterval: 15 * time.Second,
		partition:        "lease",
		lease:            10 * time.Second,
	}
}

func TestMeshConfigDefaults(t *testing.T) {
	t.Setenv(gossipKeyEnv, "")
	cfg, guessed, err := meshConfig(context.Background(), defaultMeshFlags(), fairmesh.Config{NodeID: "n1"})
	require.NoError(t, err)
	assert.True(t, guessed, "0.0.0.0 without --advertise leaves the address to memberlist's guess")
	assert.Equal(t, "n1", cfg.NodeID)
	assert.Equal(t, "0.0.0.0", cfg.BindAddr)
	assert.Equal(t, 7946, cfg.BindPort)
	assert.Empty(t, cfg.AdvertiseAddr)
	assert.Empty(t, cfg.Join)
	assert.Nil(t, cfg.SecretKey)
	assert.Equal(t, 100*time.Millisecond, cfg.GossipInterval)
	assert.Equal(t, fairmesh.Lease, cfg.Node.Partition)
	assert.Equal(t, 0, cfg.Node.Seeds, "no --join: a node alone")
}

func TestMeshConfigFlags(t *testing.T) {
	t.Setenv(gossipKeyEnv, "")
	key := bytes.Repeat([]byte{7}, 32)
	f := defaultMeshFlags()
	f.bind = "127.0.0.1:0"
	f.advertise = "localhost:7000"
	f.join = []string{"127.0.0.1:7001", " 10.0.0.2:7946 ", "", "peer.example"}
	f.gossipKey = base64.StdEncoding.EncodeToString(key)
	f.gossipInterval = 20 * time.Millisecond
	f.pushPullInterval = 2 * time.Second
	f.partition = "available"
	f.lease = 4 * time.Second
	cfg, guessed, err := meshConfig(context.Background(), f, fairmesh.Config{NodeID: "n1", Capacity: 300})
	require.NoError(t, err)
	assert.False(t, guessed)
	assert.Equal(t, "127.0.0.1", cfg.BindAddr)
	assert.Equal(t, 0, cfg.BindPort)
	assert.Contains(t, []string{"127.0.0.1", "::1"}, cfg.AdvertiseAddr, "the host name is resolved")
	assert.Equal(t, 7000, cfg.AdvertisePort)
	assert.Equal(t, []string{"127.0.0.1:7001", "10.0.0.2:7946", "peer.example"}, cfg.Join)
	assert.Equal(t, key, cfg.SecretKey)
	assert.Equal(t, 20*time.Millisecond, cfg.GossipInterval)
	assert.Equal(t, 2*time.Second, cfg.PushPullInterval)
	assert.Equal(t, fairmesh.Available, cfg.Node.Partition)
	assert.Equal(t, 4*time.Second, cfg.Node.Lease)
	assert.Equal(t, 3, cfg.Node.Seeds, "a node told to join three addresses")
	assert.Equal(t, 300, cfg.Node.Capacity)

	f = defaultMeshFlags()
	f.bind = ":7950"
	f.advertise = "192.168.1.9"
	cfg, guessed, err = meshConfig(context.Background(), f, fairmesh.Config{NodeID: "n1"})
	require.NoError(t, err)
	assert.False(t, guessed)
	assert.Equal(t, "0.0.0.0", cfg.BindAddr)
	assert.Equal(t, 7950, cfg.BindPort)
	assert.Equal(t, "192.168.1.9", cfg.AdvertiseAddr)
	assert.Equal(t, 0, cfg.AdvertisePort, "no port: the bind port")
}

func TestGossipKeySources(t *testing.T) {
	key := bytes.Repeat([]byte{1}, 16)
	enc := base64.StdEncoding.EncodeToString(key)
	dir := t.TempDir()
	file := filepath.Join(dir, "mesh.key")
	require.NoError(t, os.WriteFile(file, []byte(enc+"\n"), 0o600))

	t.Setenv(gossipKeyEnv, "")
	got, err := gossipKey("", "")
	require.NoError(t, err)
	assert.Nil(t, got, "no key: an unencrypted mesh")

	got, err = gossipKey("", file)
	require.NoError(t, err)
	assert.Equal(t, key, got, "the file's trailing newline is ignored")

	t.Setenv(gossipKeyEnv, enc)
	got, err = gossipKey("", "")
	require.NoError(t, err)
	assert.Equal(t, key, got)

	other := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{2}, 24))
	got, err = gossipKey(other, "")
	require.NoError(t, err)
	assert.Len(t, got, 24, "the flag wins over the environment")

	_, err = gossipKey(other, file)
	assert.ErrorContains(t, err, "not both")
}

func TestGossipKeyErrorsNeverShowTheKey(t *testing.T) {
	t.Setenv(gossipKeyEnv, "")
	short := base64.StdEncoding.EncodeToString([]byte("fifteen-bytes!!"))
	dir := t.TempDir()
	big := filepath.Join(dir, "big")
	require.NoError(t, os.WriteFile(big, bytes.Repeat([]byte("A"), 10_000), 0o600))
	for _, tc := range []struct{ flag, file, env, want string }{
		{flag: short, want: "decodes to 15 bytes"},
		{flag: "s3cr3t-not-base64!", want: "not valid base64"},
		{env: "s3cr3t-not-base64!", want: "$FAIRMESH_GOSSIP_KEY is not valid base64"},
		{file: filepath.Join(dir, "missing"), want: "no such file"},
		{file: big, want: "not a key file"},
	} {
		t.Setenv(gossipKeyEnv, tc.env)
		_, err := gossipKey(tc.flag, tc.file)
		require.Error(t, err, "%+v", tc)
		assert.Contains(t, err.Error(), tc.want)
		for _, secret := range []string{tc.flag, tc.env} {
			if secret != "" {
				assert.NotContains(t, err.Error(), secret)
			}
		}
	}
}

func TestMeshConfigRefuses(t *testing.T) {
	t.Setenv(gossipKeyEnv, "")
	for _, tc := range []struct {
		edit func(*meshFlags)
		want string
	}{
		{func(f *meshFlags) { f.bind = "127.0.0.1" }, "--bind"},
		{func(f *meshFlags) { f.bind = "localhost:7946" }, "must be an IP"},
		{func(f *meshFlags) { f.bind = "127.0.0.1:99999" }, "port"},
		{func(f *meshFlags) { f.bind = "[::]:7946" }, "--advertise"},
		{func(f *meshFlags) { f.advertise = "0.0.0.0:7946" }, "unspecified"},
		{func(f *meshFlags) { f.advertise = ":7946" }, "--advertise"},
		{func(f *meshFlags) { f.advertise = "no-such-host.invalid:7946" }, "--advertise"},
		{func(f *meshFlags) { f.join = []string{"10.0.0.1:x"} }, "--join"},
		{func(f *meshFlags) { f.gossipInterval = 0 }, "--gossip-interval"},
		{func(f *meshFlags) { f.pushPullInterval = -time.Second }, "--push-pull-interval"},
		{func(f *meshFlags) { f.partition = "optimistic" }, "--partition-policy"},
	} {
		f := defaultMeshFlags()
		tc.edit(&f)
		_, _, err := meshConfig(context.Background(), f, fairmesh.Config{NodeID: "n1"})
		if assert.Error(t, err, "%+v", f) {
			assert.Contains(t, err.Error(), tc.want)
		}
	}
	_, _, err := meshConfig(context.Background(), defaultMeshFlags(), fairmesh.Config{NodeID: strings.Repeat("x", 300)})
	assert.Error(t, err, "the runtime's own validation runs too")
}

func TestAdvertiseErrorsAreRecognised(t *testing.T) {
	// memberlist's texts, as gossip.New wraps them.
	for _, msg := range []string{
		"gossip: starting memberlist: failed to get final advertise address: no private IP address found, and explicit IP not provided",
		"gossip: starting memberlist: failed to get final advertise address: failed to get interface addresses: boom",
	} {
		assert.True(t, isAdvertiseError(errors.New(msg)), msg)
	}
	assert.False(t, isAdvertiseError(errors.New("gossip: starting memberlist: Failed to start TCP listener on \"0.0.0.0\" port 7946: address already in use")))
	hint := fmt.Sprintf(advertiseHintFmt, "x")
	assert.Contains(t, hint, "--advertise")
}
