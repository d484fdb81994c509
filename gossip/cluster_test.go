package gossip

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/fairmesh/fairmesh"
)

// wallClock is the clock every test node shares: one time source, so mesh
// time equals time.Now() and the test can tell windows apart exactly.
type wallClock struct{}

func (wallClock) Now() time.Time  { return time.Now() }
func (wallClock) UnixNano() int64 { return time.Now().UnixNano() }

// testLogger logs memberlist's warnings and errors when FAIRMESH_TEST_LOG
// is set, nothing otherwise.
func testLogger() *slog.Logger {
	if os.Getenv("FAIRMESH_TEST_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// cluster is n real memberlist nodes on loopback, each over a
// FaultTransport of one FaultNet.
type cluster struct {
	t      testing.TB
	fn     *FaultNet
	ids    []string
	addrs  []string
	meshes []*Mesh // nil while a node is down
	base   func(i int) Config
}

// testConfig is the base Config of node i: fast timings, push/pull every
// 2 s, the shared wall clock, 1 s windows.
func testConfig(id string, node fairmesh.Config) Config {
	node.Clock = wallClock{}
	t := FastTiming()
	t.SuspicionMult = 6 // a loaded CI machine must not declare live nodes dead
	return Config{
		NodeID:           id,
		BindAddr:         "127.0.0.1",
		AdvertiseAddr:    "127.0.0.1",
		GossipInterval:   100 * time.Millisecond,
		Timing:           t,
		PushPullInterval: 2 * time.Second,
		LeaveTimeout:     500 * time.Millisecond,
		JoinTimeout:      10 * time.Second,
		RejoinInterval:   time.Second,
		Logger:           testLogger(),
		Node:             node,
	}
}

// newCluster starts n nodes whose Configs base returns (Transport, Join
// and ports are filled in), and waits until every node sees every other
// alive.
func newCluster(t testing.TB, n int, base func(i int) Config) *cluster {
	t.Helper()
	c := &cluster{t: t, fn: NewFaultNet(1), base: base, meshes: make([]*Mesh, n)}
	// A real Ethernet path: 1500 bytes less IP and UDP headers. Nothing the
	// runtime or memberlist sends by UDP may exceed it.
	c.fn.SetMTU(1472)
	trs := make([]*FaultTransport, n)
	for i := range n {
		tr, err := c.fn.Transport("127.0.0.1", 0)
		if err != nil {
			t.Fatal(err)
		}
		trs[i] = tr
		c.ids = append(c.ids, fmt.Sprintf("n%d", i+1))
		c.addrs = append(c.addrs, tr.Addr())
	}
	t.Cleanup(c.close)
	for i := range n {
		c.start(i, trs[i])
	}
	c.waitConverged(10 * time.Second)
	return c
}

// start starts node i over tr (a new transport on its old address when nil).
func (c *cluster) start(i int, tr *FaultTransport) {
	c.t.Helper()
	if tr == nil {
		var err error
		// The port was just released: retry briefly.
		port := c.addrs[i][len("127.0.0.1:"):]
		var p int
		fmt.Sscan(port, &p)
		poll(c.t, 5*time.Second, "rebinding "+c.addrs[i], func() bool {
			tr, err = c.fn.Transport("127.0.0.1", p)
			return err == nil
		})
	}
	cfg := c.base(i)
	cfg.NodeID = c.ids[i]
	cfg.Transport = tr
	cfg.Join = c.addrs
	m, err := New(context.Background(), cfg)
	if err != nil {
		c.t.Fatal(err)
	}
	if m.Addr() != tr.Addr() {
		c.t.Errorf("%s: Addr() = %q, bound %q", c.ids[i], m.Addr(), tr.Addr())
	}
	downMu.Lock()
	c.meshes[i] = m
	downMu.Unlock()
}

// close closes the running nodes one after the other, so that each leave
// reaches the others.
func (c *cluster) close() {
	if n := c.fn.Stats().Oversize; n > 0 {
		c.t.Errorf("%d UDP packets over the MTU", n)
	}
	for i, m := range c.meshes {
		if m != nil {
			if err := m.Close(); err != nil {
				c.t.Logf("close %s: %v", c.ids[i], err)
			}
		}
	}
}

// live returns the indexes of running nodes.
func (c *cluster) live() []int {
	var out []int
	for i, m := range c.meshes {
		if m != nil {
			out = append(out, i)
		}
	}
	return out
}

// converged reports whether every running node's Node sees every other
// running node alive, and nothing else alive or suspect.
func (c *cluster) converged() bool {
	live := c.live()
	for _, i := range live {
		alive := 0
		for _, mem := range c.meshes[i].Status().Members {
			switch mem.State {
			case fairmesh.MemberAlive:
				alive++
			case fairmesh.MemberSuspect:
				return false
			}
		}
		if alive != len(live)-1 {
			return false
		}
	}
	return true
}

func (c *cluster) waitConverged(within time.Duration) time.Duration {
	c.t.Helper()
	return poll(c.t, within, "membership to converge", c.converged)
}

// setLimit sets a client's limit through node via and waits until every
// running node applies it: a limit cannot bind a node it has not reached,
// so windows measured against it start after this returns.
func (c *cluster) setLimit(via int, client string, limit int, period time.Duration) {
	c.t.Helper()
	must(c.t, c.meshes[via].UpdateClientRateLimit(client, limit, period))
	poll(c.t, 5*time.Second, "the limit to reach every node", func() bool {
		for _, i := range c.live() {
			cs, err := c.meshes[i].Client(client)
			if err != nil || !cs.Config.Limited || cs.Config.Rate != limit || cs.Config.Period != period {
				return false
			}
		}
		return true
	})
}

// poll calls cond every 10 ms until it holds, failing the test after
// within; it returns how long it took.
func poll(t testing.TB, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

// demand is one client's attempts per second and how they spread over the
// nodes (weights per node index; nodes down are skipped).
type demand struct {
	client string
	rate   float64
	spread []float64
}

// recorder counts admissions and attempts per client per window, windows
// computed on mesh time from each Decision's Reset.
type recorder struct {
	period int64
	mu     sync.Mutex
	adm    map[string]map[int64]int64
	att    map[string]map[int64]int64
}

func newRecorder(period time.Duration) *recorder {
	return &recorder{period: int64(period), adm: map[string]map[int64]int64{}, att: map[string]map[int64]int64{}}
}

func (r *recorder) decide(m *Mesh, client string) {
	t0 := time.Now().UnixNano()
	d := m.Decide(client, 1)
	// The window the node counted the decision in, as it names it; a
	// decision refused before any window was chosen (Decision{}) names
	// none: then the window ending at the node's now + Reset, the node
	// having read its clock after t0 and well within half a period. (Only
	// that inference once: a goroutine stalled between t0 and the call
	// could put a decision in the window after its own.)
	w := (t0+int64(d.Reset)+r.period/2)/r.period - 1
	if !d.WindowStart.IsZero() {
		w = d.WindowStart.UnixNano() / r.period
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.att[client] == nil {
		r.att[client], r.adm[client] = map[int64]int64{}, map[int64]int64{}
	}
	r.att[client][w]++
	if d.Allowed {
		r.adm[client][w]++
	}
}

func (r *recorder) admitted(client string, w int64) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.adm[client][w]
}

func (r *recorder) attempts(client string, w int64) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.att[client][w]
}

func (r *recorder) window(t time.Time) int64 { return t.UnixNano() / r.period }

// drive runs the demands against the running nodes until ctx ends: one
// goroutine per node, paced every 5 ms. It returns a wait function.
func (c *cluster) drive(ctx context.Context, rec *recorder, ds []demand) (wait func()) {
	var wg sync.WaitGroup
	for i := range c.meshes {
		m := c.meshes[i]
		if m == nil {
			continue
		}
		wg.Go(func() {
			start := time.Now()
			done := make([]int64, len(ds))
			t := time.NewTicker(5 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				if c.down(i) {
					return
				}
				el := time.Since(start).Seconds()
				for k, d := range ds {
					if i >= len(d.spread) || d.spread[i] == 0 {
						continue
					}
					due := int64(d.rate * d.spread[i] * el)
					for ; done[k] < due; done[k]++ {
						rec.decide(m, d.client)
					}
				}
			}
		})
	}
	return wg.Wait
}

// downMu guards c.meshes against the load goroutines.
var downMu sync.Mutex

func (c *cluster) down(i int) bool {
	downMu.Lock()
	defer downMu.Unlock()
	return c.meshes[i] == nil
}

// killNode stops node i without leaving (the others see a crash),
// stopping its load first.
func (c *cluster) killNode(i int) {
	downMu.Lock()
	m := c.meshes[i]
	c.meshes[i] = nil
	downMu.Unlock()
	if err := m.shutdown(false); err != nil {
		c.t.Errorf("kill %s: %v", c.ids[i], err)
	}
}

// waterFill is the weighted max-min allocation of capacity among clients
// with weights and caps (own limit and demand, whichever is lower): an
// independent reference for the ideal.
func waterFill(capacity float64, weights, caps []float64) []float64 {
	out := make([]float64, len(weights))
	active := map[int]bool{}
	for i := range weights {
		if weights[i] > 0 {
			active[i] = true
		}
	}
	left := capacity
	for len(active) > 0 && left > 1e-9 {
		var wsum float64
		for i := range active {
			wsum += weights[i]
		}
		level := left / wsum
		capped := false
		for i := range active {
			if out[i]+level*weights[i] >= caps[i] {
				left -= caps[i] - out[i]
				out[i] = caps[i]
				delete(active, i)
				capped = true
			}
		}
		if !capped {
			for i := range active {
				out[i] += level * weights[i]
			}
			left = 0
		}
	}
	return out
}

// waitGoroutines polls until the goroutine count is at most n.
func waitGoroutines(t testing.TB, n int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, want at most %d:\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}
