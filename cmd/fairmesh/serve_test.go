package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fairmesh/fairmesh/httpapi"
)

// syncBuffer is a bytes.Buffer safe to write from serve's goroutine while
// the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestServeAnswersAndShutsDownCleanly(t *testing.T) {
	t.Setenv("FAIRMESH_ADMIN_TOKEN", "tok")
	t.Setenv("FAIRMESH_TOKEN", "")
	t.Setenv("FAIRMESH_GOSSIP_KEY", "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dataDir := t.TempDir()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--http", "127.0.0.1:0", "--bind", "127.0.0.1:0", "--node-id", "s1",
			"--data-dir", dataDir, "--capacity", "100", "--default-rate", "2"}, &stdout, &stderr)
	}()

	url := servedURL(t, &stderr)

	r := cli(t, "status", "--node", url, "--json")
	require.Equal(t, 0, r.code, r.stderr)
	s := parse[httpapi.Status](t, r)
	assert.Equal(t, "s1", s.NodeID)
	assert.Equal(t, 100, s.Capacity)
	assert.Equal(t, 2, s.DefaultRate)

	// The admin token came from the environment.
	assert.Equal(t, 1, cli(t, "weight", "set", "a", "2", "--node", url).code)
	assert.Equal(t, 0, cli(t, "weight", "set", "a", "2", "--node", url, "--token", "tok").code)

	assert.Equal(t, 0, cli(t, "allow", "a", "--node", url).code)

	// A mesh of one: the node lists itself, at the gossip address it bound.
	r = cli(t, "members", "--node", url, "--json")
	require.Equal(t, 0, r.code, r.stderr)
	ms := parse[httpapi.MemberList](t, r)
	require.Len(t, ms.Members, 1)
	assert.Equal(t, "s1", ms.Members[0].ID)
	assert.Equal(t, "alive", ms.Members[0].State)
	assert.True(t, ms.Members[0].Self)
	assert.Regexp(t, `^127\.0\.0\.1:[1-9][0-9]*$`, ms.Members[0].Addr)

	cancel()
	select {
	case code := <-done:
		assert.Equal(t, 0, code, stderr.String())
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop after its context was cancelled")
	}
	assert.Contains(t, stderr.String(), "stopped")
	assert.Contains(t, stderr.String(), "gossip: closed", "the mesh was left")
	assert.Equal(t, 2, cli(t, "allow", "a", "--node", url).code, "nothing answers after shutdown")
}

func TestServeRefusesBadConfig(t *testing.T) {
	t.Setenv("FAIRMESH_GOSSIP_KEY", "")
	for _, args := range [][]string{
		{"serve", "--http", "127.0.0.1:0", "--capacity", "-1"},
		{"serve", "--http", "127.0.0.1:0", "--default-period", "0s"},
		{"serve", "--http", "127.0.0.1:0", "--capacity-period", "0s"},
		{"serve", "--http", "127.0.0.1:0", "--capacity-period", "25h"},
		{"serve", "--http", "127.0.0.1:0", "--default-weight", "0"},
		{"serve", "--http", "127.0.0.1:0", "--min-rate", "0"},
		{"serve", "--http", "127.0.0.1:0", "--max-clients", "0"},
		{"serve", "--http", "not-an-address"},
		{"serve", "--http", "127.0.0.1:0", "--bind", "nowhere"},
		{"serve", "--http", "127.0.0.1:0", "--bind", "[::]:0"},
		{"serve", "--http", "127.0.0.1:0", "--bind", "127.0.0.1:0", "--partition-policy", "maybe"},
		{"serve", "--http", "127.0.0.1:0", "--bind", "127.0.0.1:0", "--gossip-interval", "0s"},
		{"serve", "--http", "127.0.0.1:0", "--bind", "127.0.0.1:0", "--gossip-key", "c2hvcnQ="},
		{"serve", "--http", "127.0.0.1:0", "--bind", "127.0.0.1:0", "--join", "10.0.0.1:port"},
		{"serve", "extra-arg"},
	} {
		// A config wrongly accepted would serve until the deadline.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		var out, errb bytes.Buffer
		code := run(ctx, append(args, "--data-dir", t.TempDir()), &out, &errb)
		cancel()
		assert.Equal(t, 1, code, "%v", args)
		assert.Contains(t, errb.String(), "fairmesh:", "%v", args)
	}
}

// Gossip off loopback without a key would let any host that reaches the
// port join the mesh and set weights and limits: serve refuses to start,
// saying what to do, and starts with --insecure-gossip, warning in its log
// and in /v1/status.
func TestServeRefusesUnencryptedGossipOffLoopback(t *testing.T) {
	t.Setenv("FAIRMESH_GOSSIP_KEY", "")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	code := run(ctx, []string{"serve", "--http", "127.0.0.1:0", "--bind", "0.0.0.0:0", "--advertise", "10.9.9.9", "--data-dir", ""}, &out, &errb)
	assert.Equal(t, 1, code)
	assert.Contains(t, errb.String(), "fairmesh: --bind 0.0.0.0:0 without a gossip key")
	assert.Contains(t, errb.String(), "--insecure-gossip")
	assert.NotContains(t, errb.String(), "fairmesh serving")

	errb.Reset()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	httpAddr := ln.Addr().String()
	ln.Close()
	done := make(chan int, 1)
	sctx, stop := context.WithCancel(context.Background())
	defer stop()
	logs := &syncBuffer{}
	go func() {
		done <- run(sctx, []string{"serve", "--http", httpAddr, "--bind", "0.0.0.0:0", "--advertise", "10.9.9.9",
			"--insecure-gossip", "--data-dir", ""}, io.Discard, logs)
	}()
	var st httpapi.Status
	require.Eventually(t, func() bool { return getJSON(sctx, http.DefaultClient, "http://"+httpAddr+"/v1/status", &st) == nil }, 5*time.Second, 20*time.Millisecond)
	require.Len(t, st.Warnings, 1)
	assert.Contains(t, st.Warnings[0], "not encrypted")
	stop()
	assert.Equal(t, 0, <-done)
	assert.Contains(t, logs.String(), "level=WARN msg=\"gossip on 0.0.0.0:0 is not encrypted")
}

// A node started without --join (and without --bind) gossips on loopback
// only: a mesh of one opens no port to the network, and needs no key.
func TestServeAloneGossipsOnLoopback(t *testing.T) {
	t.Setenv("FAIRMESH_GOSSIP_KEY", "")
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	logs := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--http", "127.0.0.1:0", "--data-dir", ""}, io.Discard, logs)
	}()
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "fairmesh serving") }, 5*time.Second, 10*time.Millisecond, logs.String())
	stop()
	assert.Equal(t, 0, <-done, logs.String())
	assert.Contains(t, logs.String(), "gossip=127.0.0.1:7946")
	assert.NotContains(t, logs.String(), "level=WARN")
}

// A node alone that cannot bind its gossip port does not serve HTTP either.
func TestServeFailsWhenTheGossipPortIsTaken(t *testing.T) {
	t.Setenv("FAIRMESH_GOSSIP_KEY", "")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	code := run(ctx, []string{"serve", "--http", "127.0.0.1:0", "--bind", ln.Addr().String(), "--data-dir", t.TempDir()}, &out, &errb)
	assert.Equal(t, 1, code)
	assert.Contains(t, errb.String(), "gossip: TCP listener on "+ln.Addr().String())
	assert.Contains(t, errb.String(), "address already in use")
	assert.NotContains(t, errb.String(), "fairmesh serving")
}

// servedURL waits for serve to log the URL of its HTTP API in log and
// returns it.
func servedURL(t *testing.T, log fmt.Stringer) string {
	t.Helper()
	urlRE := regexp.MustCompile(`url=(http://\S+)`)
	var url string
	require.Eventually(t, func() bool {
		m := urlRE.FindStringSubmatch(log.String())
		if m != nil {
			url = m[1]
		}
		return m != nil
	}, 5*time.Second, 10*time.Millisecond, "serve never logged its URL: %s", log.String())
	return url
}
