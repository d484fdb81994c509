package gossip

import (
	"slices"
	"strings"
	"sync"

	"github.com/hashicorp/memberlist"

	"github.com/fairmesh/fairmesh"
)

// memberEvent is one membership change as memberlist announced it.
type memberEvent struct {
	id    string
	state fairmesh.MemberState
}

// events is the Mesh's memberlist.EventDelegate. memberlist calls it while
// holding its node lock: it must not block and must not call back into
// memberlist (Members() would deadlock). It pushes to a bounded channel
// (when full the event is dropped and counted, and the members poller
// catches up from its next poll) and keeps the address book.
//
// The address book exists because the *Node values memberlist's Members()
// returns are its live records, which it rewrites (address, metadata) under
// its lock whenever a member refutes a suspicion: reading them later is a
// data race. The callbacks run under that lock, so a copy taken there is
// consistent; memberlist replaces the Addr and Meta slices rather than
// writing into them, so the copy stays intact.
type events struct {
	ch chan memberEvent
	st *stats

	mu   sync.Mutex // held only for map operations and copies
	book map[string]memberlist.Node
}

var _ memberlist.EventDelegate = (*events)(nil)

func newEvents(st *stats) *events {
	return &events{ch: make(chan memberEvent, 1024), st: st, book: map[string]memberlist.Node{}}
}

func (e *events) push(id string, s fairmesh.MemberState) {
	select {
	case e.ch <- memberEvent{id, s}:
	default:
		e.st.eventDrops.Add(1)
	}
}

func (e *events) record(n *memberlist.Node) {
	e.mu.Lock()
	e.book[n.Name] = *n
	e.mu.Unlock()
}

// NotifyJoin: a member became alive (this node too, at start).
func (e *events) NotifyJoin(n *memberlist.Node) {
	e.record(n)
	e.push(n.Name, fairmesh.MemberAlive)
}

// NotifyLeave: a member is dead or left. memberlist v0.7.0 does not say
// which (n.State is never written); the poller tells them apart by the
// member's leave notice.
func (e *events) NotifyLeave(n *memberlist.Node) {
	e.mu.Lock()
	delete(e.book, n.Name)
	e.mu.Unlock()
	e.push(n.Name, fairmesh.MemberDead)
}

// NotifyUpdate: a member's metadata changed; fairmesh has none, so it only
// refreshes the book and wakes the poller.
func (e *events) NotifyUpdate(n *memberlist.Node) {
	e.record(n)
	e.push(n.Name, wake)
}

// wake is an event that changes nothing but makes the poller poll now.
const wake = fairmesh.MemberState(-1)

// nodes returns copies of the members memberlist considers alive or
// suspect, sorted by name. Called from the Mesh's goroutines and API.
func (e *events) nodes() []memberlist.Node {
	e.mu.Lock()
	out := make([]memberlist.Node, 0, len(e.book))
	for _, n := range e.book {
		out = append(out, n)
	}
	e.mu.Unlock()
	slices.SortFunc(out, func(a, b memberlist.Node) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// node returns the book's copy of member name.
func (e *events) node(name string) (memberlist.Node, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	n, ok := e.book[name]
	return n, ok
}
