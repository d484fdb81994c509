package fairmesh

import (
	"errors"
	"fmt"
	"math"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/fairmesh/fairmesh/crdt"
)

// The mesh audits itself: after each capacity window every node tells the
// others how many requests it admitted in it, and each node adds up what
// every member that held shares said. That is the mesh's measured
// admissions per capacity window, against the capacity: the over-admission
// no single node can see. A window for which some holder's count never
// arrived (it crashed, it is cut off, the counts were lost sixteen times)
// is counted as incomplete, never as fine.
//
// Counted are the requests of the clients whose window divides the
// capacity's (the clients the capacity is shared among window by window);
// a quota client (a window longer than the capacity's) is counted in its
// own windows, and its requests are left out of the audit.

const (
	// auditHistory is how many finished capacity windows each audit
	// message repeats: that many losses in a row lose nothing.
	auditHistory = 16
	// auditEvery is how many windows apart a node sends its counts.
	auditEvery = 2
	// auditDelay is how many capacity windows after a window ends the
	// node audits it: time for every member's count to arrive.
	auditDelay = auditEvery + 2
	// msgAudit carries one sender's counts: first (the first capacity
	// window its process counted) and base (the window of the first
	// count), then one count per window from base on, consecutive: ~3
	// bytes a window.
	msgAudit    = 7
	auditFields = 1
)

// auditState is the node's side of the audit, under its lock.
type auditState struct {
	first   int64            // the first capacity window this process counted
	counts  map[int64]uint64 // capacity window → admitted here, windows final
	final   int64            // the newest final window (-1: none yet)
	sent    int64            // the newest window an audit message carried
	done    int64            // the newest window audited
	peers   map[string]*auditPeer
	partial map[int64]uint64 // counts of windows not final yet
}

type auditPeer struct {
	first    int64
	counts   map[int64]uint64
	lastSeen int64 // mesh time of its last audit message
}

// AuditStatus is what the mesh's audit of itself found, since this node
// started (see Status.Audit).
type AuditStatus struct {
	// Windows counts the capacity windows audited: every holder's count
	// arrived. Incomplete counts those where one never did.
	Windows, Incomplete uint64
	// OverWindows counts the audited windows whose admissions summed over
	// the mesh exceeded the capacity; OverRequests sums the excess.
	OverWindows, OverRequests uint64
	// LastWindow is the start of the last audited window (Unix ns of mesh
	// time; 0 before the first) and LastAdmitted what the mesh admitted in it.
	LastWindow   int64
	LastAdmitted uint64
}

func newAuditState(now, capPeriod int64) auditState {
	return auditState{first: now / capPeriod, final: -1, sent: -1, done: -1,
		counts: map[int64]uint64{}, partial: map[int64]uint64{}, peers: map[string]*auditPeer{}}
}

// auditCount adds a client window's admissions to the capacity window it
// falls in, at rollover. period is the client's window length.
func (n *Node) auditCount(fw, period int64, admitted uint64) {
	cp := int64(n.cfg.CapacityPeriod)
	if n.cfg.Capacity <= 0 || admitted == 0 || period > cp || cp%period != 0 {
		return
	}
	w := floorDivInt(fw*period, cp)
	if w < n.audit.first || w <= n.audit.final {
		return
	}
	n.audit.partial[w] += admitted
}

// auditFinish marks every capacity window before now's as final, once a
// sweep has rolled over every client's windows in them.
func (n *Node) auditFinish(now int64) {
	if n.cfg.Capacity <= 0 {
		return
	}
	a := &n.audit
	cur := now / int64(n.cfg.CapacityPeriod)
	for w := max(a.final+1, a.first, cur-auditHistory); w < cur; w++ {
		a.counts[w] = a.partial[w]
		delete(a.partial, w)
		a.final = w
	}
	for w := range a.counts {
		if w <= a.final-auditHistory {
			delete(a.counts, w)
		}
	}
	for w := range a.partial {
		if w < cur-auditHistory {
			delete(a.partial, w)
		}
	}
}

// auditPayload is this node's counts of the last auditHistory final
// windows, every auditEvery windows: each count goes out auditHistory /
// auditEvery times, so that many losses in a row lose nothing, at about
// 70 bytes per member every other window.
func (n *Node) auditPayload(stamp crdt.Timestamp) []byte {
	a := &n.audit
	if n.cfg.Capacity <= 0 || a.final < a.sent+auditEvery || n.alone() {
		return nil
	}
	a.sent = a.final
	base := max(a.first, a.final-auditHistory+1)
	counts := make([]uint64, 0, a.final-base+1)
	for x := base; x <= a.final; x++ {
		counts = append(counts, a.counts[x])
	}
	return encodeAudit(n.cfg.MaxMessageBytes, stamp, a.first, base, counts)
}

// encodeAudit encodes the counts of the consecutive windows from base on,
// of a process whose first counted window is first (at most auditHistory
// counts: one payload of about 40 bytes and 3 per count).
func encodeAudit(maxBytes int, stamp crdt.Timestamp, first, base int64, counts []uint64) []byte {
	w := newMsgWriter(maxBytes, msgAudit, stamp)
	w.extra = func(enc *msgpack.Encoder) int {
		_ = enc.EncodeInt(first)
		_ = enc.EncodeInt(base)
		return 2
	}
	for _, c := range counts[:min(len(counts), auditHistory)] {
		w.add(auditFields, func(enc *msgpack.Encoder) { _ = enc.EncodeUint(c) })
	}
	out := w.done()
	if len(out) == 0 {
		return nil
	}
	return out[0]
}

// wireAudit is a decoded audit message.
type wireAudit struct {
	first  int64
	counts [][2]int64 // window, admitted
}

func decodeAudit(r *wireReader, n int) (*wireAudit, error) {
	if n < 2 {
		return nil, errors.New("fairmesh: audit message without its windows")
	}
	if n-2 > auditHistory {
		return nil, fmt.Errorf("fairmesh: audit message of more than %d windows", auditHistory)
	}
	a := &wireAudit{}
	var err error
	if a.first, err = r.int(); err != nil {
		return nil, err
	}
	base, err := r.int()
	if err != nil {
		return nil, err
	}
	if base < a.first || base > math.MaxInt64-auditHistory {
		return nil, errors.New("fairmesh: audit window out of range")
	}
	for i := range n - 2 {
		c, err := r.uint()
		if err != nil {
			return nil, err
		}
		if c > maxWireCount {
			return nil, errors.New("fairmesh: audit count out of range")
		}
		a.counts = append(a.counts, [2]int64{base + int64(i), int64(c)})
	}
	return a, nil
}

// onAudit stores a member's counts.
func (n *Node) onAudit(from string, m *wireAudit) {
	a := &n.audit
	p := a.peers[from]
	if p == nil {
		if len(a.peers) >= maxTrackedPeers {
			n.counters.DroppedMessages++
			return
		}
		p = &auditPeer{counts: map[int64]uint64{}}
		a.peers[from] = p
	}
	p.lastSeen = n.meshNow()
	if m.first != p.first {
		// A new process: its predecessor's counts are not its own.
		p.first = m.first
		clear(p.counts)
	}
	for _, c := range m.counts {
		if c[0] > a.final-2*auditHistory {
			p.counts[c[0]] = uint64(c[1])
		}
	}
	for w := range p.counts {
		if w <= a.final-2*auditHistory {
			delete(p.counts, w)
		}
	}
}

// auditWindows audits, in order, the final windows whose counts are all
// in, or can no longer come (older than the history a message repeats):
// those are incomplete. See auditTotal for whose count a window needs.
func (n *Node) auditWindows() {
	a := &n.audit
	if n.cfg.Capacity <= 0 {
		return
	}
	capW := uint64(n.cfg.Capacity)
	for w := max(a.done+1, a.first); w <= a.final-auditDelay; w++ {
		total, missing := n.auditTotal(w)
		if missing && w > a.final-auditHistory {
			break // it may still arrive: a heal brings the history
		}
		a.done = w
		st := &n.counters.Audit
		if missing {
			st.Incomplete++
			continue
		}
		st.Windows++
		st.LastWindow, st.LastAdmitted = w*int64(n.cfg.CapacityPeriod), total
		if total > capW {
			st.OverWindows++
			st.OverRequests += total - capW
			n.log.Warn("fairmesh: the mesh admitted more than the capacity in a window", "window_start", st.LastWindow, "admitted", total, "capacity", capW)
		}
	}
}

// auditTotal sums the counts of window w: this node's, and those of every
// member that may have admitted in it: the holders and every member that
// sent counts before, unless its process started after w, it left before
// w, or (under the lease policy) its lease had certainly run out before w
// began: it was fenced, and admitted nothing. missing reports a count that
// is needed and not (yet) here.
func (n *Node) auditTotal(w int64) (total uint64, missing bool) {
	a := &n.audit
	period := int64(n.cfg.CapacityPeriod)
	start := w * period
	total = a.counts[w]
	seen := map[string]bool{n.cfg.NodeID: true}
	check := func(id string) {
		if seen[id] {
			return
		}
		seen[id] = true
		p := a.peers[id]
		if p == nil {
			missing = true // a holder that never sent its counts
			return
		}
		if p.first > w {
			return
		}
		if c, ok := p.counts[w]; ok {
			total += c
			return
		}
		last := max(p.lastSeen, n.lastHeard[id])
		switch {
		case n.mem[id] == MemberLeft && last < start:
		case n.cfg.Partition == Lease && last+int64(n.cfg.Lease+n.cfg.MaxClockOffset) < start:
		default:
			missing = true
		}
	}
	for _, id := range n.holders {
		check(id)
	}
	for _, id := range sortedKeys(a.peers) {
		check(id)
	}
	return total, missing
}
