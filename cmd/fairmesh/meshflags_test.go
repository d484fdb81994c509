package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"net"
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
		gossipInterval:   100 * time.Millisecond,
		quietInterval:    time.Second,
		pushPullInterval: 15 * time.Second,
		partition:        "lease",
		lease:            10 * time.Second,
	}
}

// fakeInterfaces makes soleHostIP see addrs (CIDR notation) for one test.
func fakeInterfaces(t *testing.T, addrs ...string) {
	t.Helper()
	var list []net.Addr
	for _, a := range addrs {
		ip, ipn, err := net.ParseCIDR(a)
		require.NoError(t, err)
		ipn.IP = ip
		list = append(list, ipn)
	}
	orig := interfaceAddrs
	interfaceAddrs = func() ([]net.Addr, error) { return list, nil }
	t.Cleanup(func() { interfaceAddrs = orig })
}

func TestMeshConfigDefaults(t *testing.T) {
	t.Setenv(gossipKeyEnv, "")
	cfg, warnings, err := meshConfig(context.Background(), defaultMeshFlags(), fairmesh.Config{NodeID: "n1"})
	require.NoError(t, err)
	assert.Empty(t, warnings)
	assert.Equal(t, "n1", cfg.NodeID)
	assert.Equal(t, "127.0.0.1", cfg.BindAddr, "a node alone gossips on loopback: nobody can join it")
	assert.Equal(t, 7946, cfg.BindPort)
	assert.Empty(t, cfg.AdvertiseAddr, "the bind address is the one to dial")
	assert.Empty(t, cfg.Join)
	assert.Nil(t, cfg.SecretKey)
	assert.Equal(t, 100*time.Millisecond, cfg.GossipInterval)
	assert.Equal(t, time.Second, cfg.QuietInterval)
	assert.Equal(t, fairmesh.Lease, cfg.Node.Partition)
	assert.Equal(t, 0, cfg.Node.Seeds, "no --join: a node alone")
}

// With --join and no --bind, gossip listens on every interface, and then
// needs a key (or --insecure-gossip, which is reported as a warning), and
// advertises the host's only dialable IPv4 address, never a guess among
// several or an IPv6 one.
func TestMeshConfigWithJoinIsSafeByDefault(t *testing.T) {
	t.Setenv(gossipKeyEnv, "")
	fakeInterfaces(t, "127.0.0.1/8", "::1/128", "fd00::2/64", "fe80::1/64", "169.254.3.4/16", "10.1.2.3/24")
	f := defaultMeshFlags()
	f.join = []string{"10.1.2.4:7946"}

	_, _, err := meshConfig(context.Background(), f, fairmesh.Config{NodeID: "n1"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "without a gossip key")
	assert.Contains(t, err.Error(), "--insecure-gossip")

	f.insecureGossip = true
	cfg, warnings, err := meshConfig(context.Background(), f, fairmesh.Config{NodeID: "n1"})
	require.NoError(t, err)
	assert.Equal(t, "0.0.0.0", cfg.BindAddr)
	assert.Equal(t, "10.1.2.3", cfg.AdvertiseAddr, "the one dialable IPv4 address")
	assert.Equal(t, 7946, cfg.AdvertisePort)
	require.Len(t, warnings, 1)
	assert.Contains(t, warnings[0], "not encrypted")

	f.insecureGossip = false
	f.gossipKey = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{3}, 32))
	_, warnings, err = meshConfig(context.Background(), f, fairmesh.Config{NodeID: "n1"})
	require.NoError(t, err)
	assert.Empty(t, warnings, "encrypted: nothing to warn about")

	fakeInterfaces(t, "127.0.0.1/8", "10.1.2.3/24", "192.168.7.7/24")
	_, _, err = meshConfig(context.Background(), f, fairmesh.Config{NodeID: "n1"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "10.1.2.3, 192.168.7.7")
	assert.Contains(t, err.Error(), "--advertise")

	fakeInterfaces(t, "127.0.0.1/8", "fd00::2/64")
	_, _, err = meshConfig(context.Background(), f, fairmesh.Config{NodeID: "n1"})
	require.Error(t, err, "an IPv6 ULA is no address to guess")
	assert.Contains(t, err.Error(), "--advertise")

	f.advertise = "192.168.7.7:7000"
	cfg, _, err = meshConfig(context.Background(), f, fairmesh.Config{NodeID: "n1"})
	require.NoError(t, err, "--advertise settles it")
	assert.Equal(t, "192.168.7.7", cfg.AdvertiseAddr)
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
	cfg, warnings, err := meshConfig(context.Background(), f, fairmesh.Config{NodeID: "n1", Capacity: 300})
	require.NoError(t, err)
	assert.Empty(t, warnings)
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
	assert.Equal(t, time.Second, cfg.QuietInterval, "a quarter of the lease: 1 s stands")
	assert.Equal(t, 3, cfg.Node.Seeds, "a node told to join three addresses")
	assert.Equal(t, 300, cfg.Node.Capacity)

	f = defaultMeshFlags()
	f.bind = ":7950"
	f.advertise = "192.168.1.9"
	f.insecureGossip = true
	cfg, _, err = meshConfig(context.Background(), f, fairmesh.Config{NodeID: "n1"})
	require.NoError(t, err)
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
		{func(f *meshFlags) { f.bind = "10.0.0.1:7946" }, "without a gossip key"},
		{func(f *meshFlags) { f.advertise = "0.0.0.0:7946" }, "unspecified"},
		{func(f *meshFlags) { f.advertise = ":7946" }, "--advertise"},
		{func(f *meshFlags) { f.advertise = "no-such-host.invalid:7946" }, "--advertise"},
		{func(f *meshFlags) { f.join = []string{"10.0.0.1:x"} }, "--join"},
		{func(f *meshFlags) { f.gossipInterval = 0 }, "--gossip-interval"},
		{func(f *meshFlags) { f.pushPullInterval = -time.Second }, "--push-pull-interval"},
		{func(f *meshFlags) { f.partition = "optimistic" }, "--partition-policy"},
		{func(f *meshFlags) { f.quietInterval = -time.Second }, "--quiet-interval must not be negative"},
		{func(f *meshFlags) { f.quietInterval = time.Minute + 6*time.Second }, "--quiet-interval must be at most 1m5.535s"},
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

// The quiet pace is at most a quarter of the lease (its keepalives renew
// it), off at 0, and off when a quarter of the lease is under the gossip
// interval.
func TestMeshConfigQuietInterval(t *testing.T) {
	t.Setenv(gossipKeyEnv, "")
	for _, tc := range []struct {
		quiet, lease, want time.Duration
	}{
		{time.Second, 10 * time.Second, time.Second},
		{5 * time.Second, 10 * time.Second, 2500 * time.Millisecond},
		{0, 10 * time.Second, -1},
		{time.Second, 300 * time.Millisecond, -1},
	} {
		f := defaultMeshFlags()
		f.quietInterval, f.lease = tc.quiet, tc.lease
		cfg, _, err := meshConfig(context.Background(), f, fairmesh.Config{NodeID: "n1"})
		require.NoError(t, err)
		assert.Equal(t, tc.want, cfg.QuietInterval, "--quiet-interval %v --lease %v", tc.quiet, tc.lease)
	}
}
