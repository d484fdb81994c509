//go:build e2e

package e2e

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// loadClient is one client the generator drives on every node.
type loadClient struct {
	id     string
	weight int
	limit  int // own limit per period; 0: none
	rate   int // requests per second offered to each node
	// onOff makes the client bursty: rate for on, nothing for off,
	// repeating; periods that are not whole seconds, so the bursts drift
	// across window boundaries.
	on, off time.Duration
}

// The load: weights 3/1/2/0, one client limited to 100/s, one bursty.
// Offered per node: 150+100+120 (240 half of the time)+60+40 = 470/s,
// 2350/s over five nodes (on 2 cores 1300–2300/s got an answer),
// about twice the capacity, so the capacity is always contended.
var loadClients = []loadClient{
	{id: "gold", weight: 3, rate: 150},
	{id: "bronze", weight: 1, rate: 100},
	{id: "silver", weight: 2, rate: 240, on: 1300 * time.Millisecond, off: 1300 * time.Millisecond},
	{id: "scav", weight: 0, rate: 60},
	{id: "lim", weight: 1, limit: 100, rate: 40},
}

// limitedClient is the client with its own limit.
const limitedClient = "lim"

// workersPerClient is the goroutines per client and node: each issues its
// requests one after the other, so a slow answer delays only its own.
const workersPerClient = 3

// requestTimeout is short: a paused or cut node must not hold the
// generator's goroutines for long.
const requestTimeout = 500 * time.Millisecond

// loadGen drives GET /v1/allow/{client} on a set of nodes and records every
// reply into a Tally, by the window the reply names.
type loadGen struct {
	mu      sync.Mutex
	tally   *Tally
	targets map[string]chan struct{} // node ID → closed to stop its workers
	wg      sync.WaitGroup

	sent, failed atomic.Int64 // requests issued; without a usable reply
}

func newLoadGen() *loadGen {
	return &loadGen{tally: NewTally(), targets: map[string]chan struct{}{}}
}

// add starts driving n.
func (g *loadGen) add(n *node) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.targets[n.id]; ok {
		return
	}
	stop := make(chan struct{})
	g.targets[n.id] = stop
	// One keep-alive transport per node, enough idle connections for its
	// workers; short dial and response timeouts.
	hc := &http.Client{
		Timeout: requestTimeout,
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: requestTimeout}).DialContext,
			MaxIdleConnsPerHost: len(loadClients) * workersPerClient,
			IdleConnTimeout:     30 * time.Second,
		},
	}
	for _, lc := range loadClients {
		for range workersPerClient {
			g.wg.Go(func() { g.work(hc, n, lc, stop) })
		}
	}
}

// remove stops driving the node with ID id.
func (g *loadGen) remove(id string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if stop, ok := g.targets[id]; ok {
		close(stop)
		delete(g.targets, id)
	}
}

// stop stops every worker and waits for them.
func (g *loadGen) stop() {
	g.mu.Lock()
	for id, stop := range g.targets {
		close(stop)
		delete(g.targets, id)
	}
	g.mu.Unlock()
	g.wg.Wait()
}

// snapshot returns a copy of the tally so far.
func (g *loadGen) snapshot() *Tally {
	g.mu.Lock()
	defer g.mu.Unlock()
	t := NewTally()
	t.Merge(g.tally)
	return t
}

// work paces one worker at lc.rate/workersPerClient requests per second.
// It never catches up on more than a few missed requests: after a stall
// (a paused node) it resumes at the pace, it does not burst.
func (g *loadGen) work(hc *http.Client, n *node, lc loadClient, stop <-chan struct{}) {
	interval := time.Second * workersPerClient / time.Duration(lc.rate)
	url := n.base + "/v1/allow/" + lc.id
	// Each node's bursts start at a phase of their own: bursty per node,
	// not one mesh-wide square wave.
	start := time.Now()
	if cycle := lc.on + lc.off; cycle > 0 {
		start = start.Add(-cycle * time.Duration(n.idx) / nodes)
	}
	next := start
	for {
		select {
		case <-stop:
			return
		default:
		}
		now := time.Now()
		if lc.on > 0 {
			cycle := lc.on + lc.off
			if in := now.Sub(start) % cycle; in >= lc.on {
				next = now.Add(cycle - in)
				if !sleep(stop, cycle-in) {
					return
				}
				continue
			}
		}
		if d := next.Sub(now); d > 0 {
			if !sleep(stop, d) {
				return
			}
		} else if d < -4*interval {
			next = now // behind: drop the backlog
		}
		next = next.Add(interval)
		g.sent.Add(1)
		r, ok := allowOnce(hc, url)
		if !ok {
			g.failed.Add(1)
			continue
		}
		g.mu.Lock()
		g.tally.Add(Event{Node: n.id, Client: lc.id, Allowed: r.Allowed, WindowMS: r.WindowStartMS})
		g.mu.Unlock()
	}
}

// sleep waits d or until stop; false when stopped.
func sleep(stop <-chan struct{}, d time.Duration) bool {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-stop:
		return false
	case <-tm.C:
		return true
	}
}

type allowReply struct {
	Allowed       bool  `json:"allowed"`
	WindowStartMS int64 `json:"window_start_ms"`
}

// allowOnce asks once; ok is false when no decision came back (an error,
// a timeout, or a reply that names no window).
func allowOnce(hc *http.Client, url string) (allowReply, bool) {
	resp, err := hc.Get(url)
	if err != nil {
		return allowReply{}, false
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if err != nil || (resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusTooManyRequests) {
		return allowReply{}, false
	}
	var r allowReply
	if json.Unmarshal(body, &r) != nil || r.WindowStartMS == 0 {
		return allowReply{}, false
	}
	return r, true
}
