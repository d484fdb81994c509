package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fairmesh/fairmesh/httpapi"
)

// The three-process test's parameters.
const (
	procCapacity  = 300                   // requests per second, mesh-wide
	procWorkerHz  = 150                   // requests per second of one worker (a client at a node)
	procLoad      = 8 * time.Second       // how long the load runs
	procWarmup    = 2                     // seconds of load not measured
	procStopAfter = 10 * time.Second      // SIGTERM to exit, before SIGKILL
	procDeadline  = 150 * time.Second     // the whole test, build included
	procPollEvery = 50 * time.Millisecond // while waiting for the mesh
)

// proc is one `fairmesh serve` process.
type proc struct {
	id     string
	url    string
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan struct{} // closed when Wait returns
	err    error         // Wait's result, set before done closes
}

// TestThreeProcessMesh builds the binary, starts three `fairmesh serve`
// processes on loopback that join each other, sets weights through one of
// them with the CLI, drives saturating load through all three over HTTP and
// checks the admitted totals against the ideal weighted allocation.
func TestThreeProcessMesh(t *testing.T) {
	// About 10 s with a warm build cache: not skipped under -short.
	ctx, cancel := context.WithTimeout(context.Background(), procDeadline)
	defer cancel()

	bin := filepath.Join(t.TempDir(), "fairmesh")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)

	// As production runs it: encrypted gossip, and so client hashes keyed
	// from the gossip key, which all three must derive alike for the
	// weights below to hold across them.
	keyFile := filepath.Join(t.TempDir(), "gossip.key")
	key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x42}, 32))
	require.NoError(t, os.WriteFile(keyFile, []byte(key+"\n"), 0o600))

	httpPorts, gossipPorts := freePorts(t, 3), freePorts(t, 3)
	procs := make([]*proc, 3)
	for i := range procs {
		gossip := "127.0.0.1:" + strconv.Itoa(gossipPorts[i])
		procs[i] = startServe(t, ctx, bin, fmt.Sprintf("node-%d", i+1),
			"--http", "127.0.0.1:"+strconv.Itoa(httpPorts[i]),
			"--bind", gossip, "--advertise", gossip, "--join", othersOf(gossipPorts, i),
			"--capacity", strconv.Itoa(procCapacity), "--capacity-period", "1s",
			"--gossip-interval", "50ms", "--push-pull-interval", "2s",
			"--gossip-key-file", keyFile)
	}
	// Whatever happens below, every process is stopped and waited for.
	t.Cleanup(func() {
		for _, p := range procs {
			p.stop(t)
		}
	})

	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	defer hc.CloseIdleConnections()

	// Every node sees the three members alive.
	waitAllAlive(t, ctx, hc, procs)

	// Weights through one node, with the CLI.
	for _, args := range [][]string{
		{"weight", "set", "gold", "2", "--node", procs[0].url},
		{"weight", "set", "silver", "1", "--node", procs[0].url},
	} {
		c := exec.CommandContext(ctx, bin, args...)
		c.Env = cleanEnv()
		out, err := c.CombinedOutput()
		require.NoError(t, err, "fairmesh %v: %s", args, out)
	}
	for _, p := range procs {
		waitFor(t, ctx, 5*time.Second, p, func() (bool, string) {
			var g, s httpapi.Client
			if err := getJSON(ctx, hc, p.url+"/v1/clients/gold", &g); err != nil {
				return false, err.Error()
			}
			if err := getJSON(ctx, hc, p.url+"/v1/clients/silver", &s); err != nil {
				return false, err.Error()
			}
			return g.Config.Weight == 2 && s.Config.Configured && s.Config.Weight == 1,
				fmt.Sprintf("gold %+v, silver %+v", g.Config, s.Config)
		})
	}

	// Load: one paced worker per client per node, starting on a whole
	// second so that the measured seconds are the limiter's windows.
	clients := []string{"gold", "silver"}
	seconds := int(procLoad / time.Second)
	var admitted, demand [2][]atomic.Int64
	for c := range clients {
		admitted[c] = make([]atomic.Int64, seconds)
		demand[c] = make([]atomic.Int64, seconds)
	}
	var failures atomic.Int64
	var lastErr atomic.Value
	start := time.Now().Truncate(time.Second).Add(time.Second)
	end := start.Add(procLoad)
	var workers sync.WaitGroup
	for _, p := range procs {
		for c, client := range clients {
			workers.Go(func() {
				url := p.url + "/v1/allow/" + client
				next := start
				for {
					if !sleepUntil(ctx, next) {
						return
					}
					t0 := time.Now()
					if !t0.Before(end) {
						return
					}
					code, err := getStatus(ctx, hc, url)
					mid := t0.Add(time.Since(t0) / 2)
					sec := int(mid.Sub(start) / time.Second)
					switch {
					case err != nil:
						failures.Add(1)
						lastErr.Store(err.Error())
					case sec < 0 || sec >= seconds:
					case code == http.StatusOK:
						admitted[c][sec].Add(1)
						demand[c][sec].Add(1)
					case code == http.StatusTooManyRequests:
						demand[c][sec].Add(1)
					default:
						failures.Add(1)
						lastErr.Store("status " + strconv.Itoa(code))
					}
					next = next.Add(time.Second / procWorkerHz)
					if behind := time.Since(next); behind > 100*time.Millisecond {
						next = time.Now() // fell behind: do not burst to catch up
					}
				}
			})
		}
	}
	workers.Wait()
	require.NoError(t, ctx.Err(), "the test ran out of time during the load")
	// The windows are mesh time's: a mesh clock running ahead of the wall
	// clock packs more windows, hence more admissions, into the measured
	// wall-clock seconds. Logged to tell that from a slicing fault.
	for _, p := range procs {
		var st httpapi.Status
		if err := getJSON(ctx, hc, p.url+"/v1/status", &st); err == nil {
			t.Logf("%s: clock offset %s after the load", p.id, st.ClockOffset)
		}
	}
	assert.Zero(t, failures.Load(), "failed requests; last: %v", lastErr.Load())

	var got, want [2]float64
	var dem [2]int64
	for c := range clients {
		for s := procWarmup; s < seconds; s++ {
			got[c] += float64(admitted[c][s].Load())
			dem[c] += demand[c][s].Load()
		}
	}
	measured := seconds - procWarmup
	want[0], want[1] = idealShares(float64(procCapacity*measured), [2]float64{2, 1}, [2]float64{float64(dem[0]), float64(dem[1])})
	for s := range seconds {
		t.Logf("second %d: gold %d/%d silver %d/%d (admitted/asked)", s,
			admitted[0][s].Load(), demand[0][s].Load(), admitted[1][s].Load(), demand[1][s].Load())
	}
	t.Logf("over %d s: gold %.0f (ideal %.0f), silver %.0f (ideal %.0f), demand %v", measured, got[0], want[0], got[1], want[1], dem)
	require.Greater(t, float64(dem[0]+dem[1]), 1.5*float64(procCapacity*measured), "the load did not saturate the capacity")
	for c, client := range clients {
		assert.InEpsilon(t, want[c], got[c], 0.05, "%s admitted %.0f, ideal %.0f", client, got[c], want[c])
	}
	// A request in flight at each end of the measured span may be counted
	// in the neighbouring window: one per worker per end.
	slack := float64(2 * len(procs) * len(clients))
	assert.LessOrEqual(t, got[0]+got[1], float64(procCapacity*measured)*1.02+slack, "over-admission")

	for _, p := range procs {
		p.stop(t)
		assert.NoError(t, p.err, "%s did not exit cleanly:\n%s", p.id, p.stderr)
		assert.Contains(t, p.stderr.String(), "gossip: closed", p.id)
	}
}

// idealShares is the weighted max-min allocation of total between two
// clients with weights w and demands d: each gets its weighted share, and
// what one does not use goes to the other.
func idealShares(total float64, w, d [2]float64) (float64, float64) {
	total = min(total, d[0]+d[1])
	a := total * w[0] / (w[0] + w[1])
	switch {
	case d[0] < a:
		return d[0], total - d[0]
	case d[1] < total-a:
		return total - d[1], d[1]
	}
	return a, total - a
}

func startServe(t *testing.T, ctx context.Context, bin, id string, args ...string) *proc {
	t.Helper()
	p := &proc{id: id, stderr: &syncBuffer{}, done: make(chan struct{})}
	for i, a := range args {
		if a == "--http" {
			p.url = "http://" + args[i+1]
		}
	}
	p.cmd = exec.CommandContext(ctx, bin, append([]string{"serve", "--node-id", id, "--data-dir", t.TempDir()}, args...)...)
	p.cmd.Env = cleanEnv()
	p.cmd.Stdout = io.Discard
	p.cmd.Stderr = p.stderr
	// If the test's context ends first: SIGTERM, then SIGKILL.
	p.cmd.Cancel = func() error { return p.cmd.Process.Signal(syscall.SIGTERM) }
	p.cmd.WaitDelay = procStopAfter
	require.NoError(t, p.cmd.Start())
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	return p
}

// stop sends SIGTERM and waits for the exit, then SIGKILL if it is stuck.
// Safe to call twice.
func (p *proc) stop(t *testing.T) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return
	case <-time.After(procStopAfter):
	}
	t.Errorf("%s ignored SIGTERM for %v; killing it", p.id, procStopAfter)
	_ = p.cmd.Process.Kill()
	<-p.done
}

// othersOf is the --join list of process i: every other one's gossip
// address on loopback.
func othersOf(gossipPorts []int, i int) string {
	var join []string
	for j, p := range gossipPorts {
		if j != i {
			join = append(join, "127.0.0.1:"+strconv.Itoa(p))
		}
	}
	return strings.Join(join, ",")
}

// waitAllAlive waits until every process lists every one alive.
func waitAllAlive(t *testing.T, ctx context.Context, hc *http.Client, procs []*proc) {
	t.Helper()
	for _, p := range procs {
		waitFor(t, ctx, 20*time.Second, p, func() (bool, string) {
			var l httpapi.MemberList
			if err := getJSON(ctx, hc, p.url+"/v1/members", &l); err != nil {
				return false, err.Error()
			}
			alive := 0
			for _, m := range l.Members {
				if m.State == "alive" {
					alive++
				}
			}
			return alive == len(procs), fmt.Sprintf("%+v", l.Members)
		})
	}
}

// waitFor polls cond until it holds, failing with its last description and
// p's log after timeout.
func waitFor(t *testing.T, ctx context.Context, timeout time.Duration, p *proc, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, last := cond()
		if ok {
			return
		}
		select {
		case <-p.done:
			t.Fatalf("%s exited (%v):\n%s", p.id, p.err, p.stderr)
		default:
		}
		if time.Now().After(deadline) || !sleepUntil(ctx, time.Now().Add(procPollEvery)) {
			t.Fatalf("%s: condition not met within %v; last: %s\nlog:\n%s", p.id, timeout, last, p.stderr)
		}
	}
}

// sleepUntil waits until at, or returns false when ctx ends first.
func sleepUntil(ctx context.Context, at time.Time) bool {
	d := time.Until(at)
	if d <= 0 {
		return ctx.Err() == nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func getStatus(ctx context.Context, hc *http.Client, url string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, nil
}

func getJSON(ctx context.Context, hc *http.Client, url string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errors.New(resp.Status)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(out)
}

// cleanEnv is the test's environment without the FAIRMESH_ variables, so
// that a developer's settings do not leak into the processes.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "FAIRMESH_") {
			env = append(env, kv)
		}
	}
	return env
}

// freePorts returns n distinct loopback ports free for both TCP and UDP
// (memberlist listens on both). The sockets are closed before returning, so
// another process could take a port meanwhile: unlikely on a test machine.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var closers []io.Closer
	defer func() {
		for _, c := range closers {
			c.Close()
		}
	}()
	for tries := 0; len(ports) < n; tries++ {
		require.Less(t, tries, 100, "no free ports")
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		closers = append(closers, ln)
		port := ln.Addr().(*net.TCPAddr).Port
		pc, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			continue
		}
		closers = append(closers, pc)
		ports = append(ports, port)
	}
	return ports
}
