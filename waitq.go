package fairmesh

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Errors of Wait.
var (
	// ErrQueueFull: Config.MaxWaiting requests wait already, or
	// Config.MaxWaitingPerClient of this client.
	ErrQueueFull = errors.New("fairmesh: too many requests waiting")
	// ErrNeverAdmitted: the request is larger than the client's whole
	// allowance of a window, or invalid (k < 1, a bad client ID): no wait
	// would admit it.
	ErrNeverAdmitted = errors.New("fairmesh: the request can never be admitted")
)

// Waiting: requests that block until they are admitted.
//
// A request that Decide admits at once returns at once (and takes no lock
// while nobody waits). The others join their client's line, in arrival
// order, and one dispatcher goroutine, running only while somebody waits,
// offers the lines' heads to Decide in start-time fair queuing order: each
// request is stamped with a virtual start time, the later of the virtual
// time and the finish time of its client's previous request, and finishes
// k/weight later (a zero-weight client counts as weight 1/16, so it comes
// after the others' when they contend, and its floor, which Decide keeps
// for it, still reaches it). A line whose head is refused is passed over
// until the next pass, so a client at its own limit never holds up the
// others. A pass runs when a window begins for a waiting client, and every
// waitPoll in between, so that rights that move within a window (the
// ledger) reach the waiting. What is admitted is what Decide admits: each
// client within its own limit and share, the mesh within the capacity.

// waitPoll bounds the time between two passes while requests wait.
const waitPoll = 10 * time.Millisecond

// zeroWeightTag is the weight a zero-weight client's tags advance by.
const zeroWeightTag = 1.0 / 16

// waitQueue is the Node's queue of waiting requests.
type waitQueue struct {
	total   atomic.Int64 // requests waiting: 0 lets Wait skip the lock
	mu      sync.Mutex
	lines   map[string]*waitLine
	vtime   float64 // the start tag of the last request released
	running bool    // the dispatcher goroutine runs
}

// waitLine is one client's waiting requests, oldest first.
type waitLine struct {
	id      string
	weight  float64
	finish  float64 // the finish tag of its newest request
	waiters []*waiter
}

type waiter struct {
	k      int
	start  float64
	done   chan Decision // buffered 1: the dispatcher never blocks
	queued bool          // still in its line (under waitQueue.mu)
}

// Wait blocks until k requests of clientID are admitted (all or none, as
// AllowN) or ctx ends, and returns nil or ctx's error. It fails at once
// with ErrNeverAdmitted for a request no window can admit, and with
// ErrQueueFull when too many wait. A request whose ctx ends leaves the
// queue at once and is not counted. See WaitDecide.
func (n *Node) Wait(ctx context.Context, clientID string, k int) error {
	_, err := n.WaitDecide(ctx, clientID, k)
	return err
}

// WaitDecide is Wait with the Decision that admitted the requests (the
// refusal that made it wait when it returns an error).
func (n *Node) WaitDecide(ctx context.Context, clientID string, k int) (Decision, error) {
	// Behind others of its client a request is demand like any (the shares
	// follow what is offered, not what got through), but must not pass
	// them: it is counted, not admitted.
	how := admitNew
	if n.wait.total.Load() > 0 && n.wait.hasLine(clientID) {
		how = countOnly
	}
	d := n.decide(clientID, k, how)
	if d.Allowed {
		return d, nil
	}
	if err := n.neverAdmitted(d, clientID, k); err != nil {
		return d, err
	}
	if err := ctx.Err(); err != nil {
		return d, err
	}
	w, err := n.enqueue(clientID, k)
	if err != nil {
		return d, err
	}
	select {
	case admitted := <-w.done:
		return admitted, nil
	case <-ctx.Done():
		q := &n.wait
		q.mu.Lock()
		if w.queued {
			q.remove(clientID, w)
			q.mu.Unlock()
			return d, ctx.Err()
		}
		q.mu.Unlock()
		return <-w.done, nil // released as ctx ended: admitted
	}
}

// neverAdmitted is the error for a request no window could admit, given
// its refusal d: invalid, or more than the client's limit or the capacity.
func (n *Node) neverAdmitted(d Decision, clientID string, k int) error {
	if d.WindowStart.IsZero() {
		if k < 1 || k > MaxRate {
			return fmt.Errorf("%w: %d requests (want 1 to %d)", ErrNeverAdmitted, k, MaxRate)
		}
		if err := ValidateClientID(clientID); err != nil {
			return fmt.Errorf("%w: %w", ErrNeverAdmitted, err)
		}
		return nil // a node that cannot decide yet (its clock jumped past its policies): wait
	}
	if int64(k) > n.mostEver(clientID) {
		return fmt.Errorf("%w: %d requests of %q at once, more than its limit or the capacity of a whole window", ErrNeverAdmitted, k, clientID)
	}
	return nil
}

// Waiting returns how many requests wait in Wait now.
func (n *Node) Waiting() int { return int(n.wait.total.Load()) }

// mostEver is the most requests of the client one window could ever admit
// (its own limit, and the capacity), as this node knows them now.
func (n *Node) mostEver(clientID string) int64 {
	most := int64(MaxRate)
	if n.cfg.Capacity > 0 {
		most = int64(n.cfg.Capacity)
	}
	if st, err := n.Client(clientID); err == nil && st.Config.Limited {
		most = min(most, int64(st.Config.Rate))
	}
	return most
}

func (q *waitQueue) hasLine(id string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	_, ok := q.lines[id]
	return ok
}

// enqueue stamps and queues a request, starting the dispatcher if needed.
func (n *Node) enqueue(id string, k int) (*waiter, error) {
	weight := float64(n.weightOf(id))
	if weight <= 0 {
		weight = zeroWeightTag
	}
	q := &n.wait
	q.mu.Lock()
	defer q.mu.Unlock()
	l := q.lines[id]
	if q.total.Load() >= int64(n.cfg.MaxWaiting) || l != nil && len(l.waiters) >= n.cfg.MaxWaitingPerClient {
		return nil, fmt.Errorf("%w (%d in all, at most %d; at most %d per client)", ErrQueueFull, q.total.Load(), n.cfg.MaxWaiting, n.cfg.MaxWaitingPerClient)
	}
	if l == nil {
		if q.lines == nil {
			q.lines = map[string]*waitLine{}
		}
		l = &waitLine{id: id}
		q.lines[id] = l
	}
	l.weight = weight
	w := &waiter{k: k, start: max(q.vtime, l.finish), done: make(chan Decision, 1), queued: true}
	l.finish = w.start + float64(k)/weight
	l.waiters = append(l.waiters, w)
	q.total.Add(1)
	if !q.running {
		q.running = true
		go n.dispatch()
	}
	return w, nil
}

// weightOf is the client's weight as Decide applies it.
func (n *Node) weightOf(id string) int {
	st, err := n.Client(id)
	if err != nil {
		return n.cfg.DefaultWeight
	}
	return st.Config.Weight
}

// remove takes w out of id's line. q.mu held.
func (q *waitQueue) remove(id string, w *waiter) {
	l := q.lines[id]
	for i, x := range l.waiters {
		if x == w {
			l.waiters = append(l.waiters[:i], l.waiters[i+1:]...)
			break
		}
	}
	w.queued = false
	q.total.Add(-1)
	if len(l.waiters) == 0 {
		delete(q.lines, id)
	}
}

// dispatch is the dispatcher goroutine: passes until nobody waits. Its
// owner is the queue: it exits when the last request leaves (admitted or
// cancelled), and a new one starts it again.
func (n *Node) dispatch() {
	q := &n.wait
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		<-t.C
		q.mu.Lock()
		if len(q.lines) == 0 {
			q.running = false
			q.mu.Unlock()
			return
		}
		next := n.pass()
		q.mu.Unlock()
		t.Reset(next)
	}
}

// pass offers each line's head to Decide in start-tag order, releasing
// what is admitted, and returns how long to wait before the next pass.
// q.mu held.
func (n *Node) pass() time.Duration {
	q := &n.wait
	h := make(lineHeap, 0, len(q.lines))
	for _, l := range q.lines {
		h = append(h, l)
	}
	heap.Init(&h)
	next := waitPoll
	for h.Len() > 0 {
		l := h[0]
		w := l.waiters[0]
		d := n.decide(l.id, w.k, admitRetry)
		if !d.Allowed {
			if d.Reset > 0 {
				next = min(next, d.Reset)
			}
			heap.Pop(&h)
			continue
		}
		q.vtime = max(q.vtime, w.start)
		q.remove(l.id, w)
		w.done <- d
		if len(l.waiters) == 0 {
			heap.Pop(&h)
		} else {
			heap.Fix(&h, 0)
		}
	}
	return next
}

// lineHeap orders lines by their head's start tag (then ID: passes are
// deterministic).
type lineHeap []*waitLine

func (h lineHeap) Len() int { return len(h) }
func (h lineHeap) Less(i, j int) bool {
	a, b := h[i].waiters[0].start, h[j].waiters[0].start
	if a != b {
		return a < b
	}
	return h[i].id < h[j].id
}
func (h lineHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *lineHeap) Push(x any)   { *h = append(*h, x.(*waitLine)) }
func (h *lineHeap) Pop() any {
	old := *h
	l := old[len(old)-1]
	*h = old[:len(old)-1]
	return l
}
