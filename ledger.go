package fairmesh

import (
	"slices"
	"strconv"

	"github.com/fairmesh/fairmesh/bucket"
	"github.com/fairmesh/fairmesh/crdt"
)

// Borrowing. The rights of a window are claimed once (views.go) and then
// move only as transfers recorded in the window's ledger (crdt.Ledger), one
// per client and window, keyed by replica (node name and incarnation, so
// that a restarted process never inherits what its predecessor received).
//
// A node that refuses a limited client for want of rights tells the others
// how many it refused (a want), unless the mesh's measured demand for the
// client already exceeds its limit by half: then every node is likely to
// use its own part and nothing is worth moving. A node that holds unused
// rights of that client in that window gives the wanting node up to half
// of them: it lowers its own policy first, checks what it admitted
// meanwhile, and records the transfer only for what was still free, so
// rights are never both used and given. The transfer is sent to the
// borrower with its cumulative amount, again each tick until the borrower
// acknowledges it or the window ends; the borrower merges it (a maximum:
// repeats and reordering are harmless) and may admit that much more in the
// window.

type ledgerKey struct {
	h uint64
	x int64 // window index in the client's own window length
}

// ledgerCell is the ledger of one client window, with this node's
// bookkeeping of it.
type ledgerCell struct {
	l      crdt.Ledger
	period int64
	// wantSent is the refused count this node last announced.
	wantSent uint64
	// acked is, per borrower replica, the cumulative transfer it
	// acknowledged.
	acked map[string]uint64
	// wanted is, per replica, the refused count it last announced.
	wanted map[string]uint64
	// sent is, per borrower replica, the cumulative transfer this node
	// last sent it and when.
	sent map[string]sentTransfer
}

type sentTransfer struct {
	amount uint64
	at     int64
}

const (
	// maxLedgerCells bounds the client windows with a ledger.
	maxLedgerCells = 1 << 16
	// wantSpare: a holder that measured less than this part of an even
	// split of the limit may have rights to spare.
	wantSpare = 0.8
	// maxWantsPerTick bounds the wants one tick announces.
	maxWantsPerTick = 512
)

// replica names this process in ledgers.
func (n *Node) replica() string { return replicaOf(n.cfg.NodeID, n.startedAt) }

// replicaOf names a member's incarnation: its name and its start time, in
// base 36 (13 characters rather than 19: the name rides every ledger
// entry, twice).
func replicaOf(name string, inc int64) string { return name + "#" + strconv.FormatInt(inc, 36) }

// peerReplica names member id's current process, or "" while its
// incarnation is unknown.
func (n *Node) peerReplica(id string) string {
	pv := n.peerViews[id]
	if pv == nil || pv.inc == 0 {
		return ""
	}
	return replicaOf(id, pv.inc)
}

func (n *Node) cell(h uint64, x, period int64, create bool) *ledgerCell {
	k := ledgerKey{h, x}
	c := n.ledgers[k]
	if c == nil && create && len(n.ledgers) < maxLedgerCells {
		c = &ledgerCell{period: period}
		n.ledgers[k] = c
	}
	return c
}

// ownReplica reports whether r names this process: its current incarnation
// or one it took while holding its lease (reincarnate).
func (n *Node) ownReplica(r string) bool {
	return r == n.replica() || slices.Contains(n.priorReplicas, r)
}

// transferred returns what this node received and gave of client h's rights
// in window x, under each of its replicas.
func (n *Node) transferred(h uint64, x int64) (in, out uint64) {
	c := n.ledgers[ledgerKey{h, x}]
	if c == nil {
		return 0, 0
	}
	me := n.replica()
	in, out = c.l.In(me), c.l.Out(me)
	for _, r := range n.priorReplicas {
		in += c.l.In(r)
		out += c.l.Out(r)
	}
	return in, out
}

// adjust applies window x's transfers to this node's rights of client h.
func (n *Node) adjust(h uint64, x int64, r rights) rights {
	in, out := n.transferred(h, x)
	if in == 0 && out == 0 || r.unlimited {
		return r
	}
	total := r.slice + r.extra + in
	total -= min(total, out)
	r.slice = min(r.reserve, total)
	if n.cfg.Capacity == 0 {
		r.slice = total // no capacity: the limit's part is all slice
	}
	r.extra = total - r.slice
	return r
}

// collectWants lists, per member to ask, the clients this node refused for
// want of rights in their current window since it last said so.
func (n *Node) collectWants(now int64) map[string][]wireLedger {
	if len(n.holders) < 2 {
		return nil
	}
	ws := map[string][]wireLedger{}
	count := 0
	me := n.replica()
	n.table.Range(func(e *bucket.Entry) bool {
		p := e.Policy()
		if p.Unlimited || count >= maxWantsPerTick {
			return count < maxWantsPerTick
		}
		c := n.effective(e.Hash())
		if !c.limited {
			return true
		}
		x := now / p.Period
		att, adm := e.Counts(x)
		slice, extra := p.Slice, p.Extra
		if x > p.Window {
			slice, extra = p.NextSlice, p.NextExtra
		}
		if att <= adm || adm < slice+extra {
			return true // nothing refused, or refused by the pool
		}
		to := n.mayHaveSpare(e, x, p.Period, c.rate)
		if len(to) == 0 {
			return true
		}
		cl := n.cell(e.Hash(), x, p.Period, true)
		if cl == nil || att-adm <= cl.wantSent {
			return true
		}
		cl.wantSent = att - adm
		for _, peer := range to {
			ws[peer] = append(ws[peer], wireLedger{hash: e.Hash(), window: x, kind: ledgerWant, from: me, value: att - adm})
		}
		count++
		return true
	})
	return ws
}

// mayHaveSpare lists the other holders that measured less demand for the
// client than an even part of its limit (all of them while demand is
// unknown): the others are likely to use what they hold, and a want to
// them would only cost gossip.
func (n *Node) mayHaveSpare(e *bucket.Entry, x, period int64, limit int) []string {
	att, _, known := n.demandVector(e, n.peer[e.Hash()], x-n.lag(), period)
	even := float64(limit) / float64(len(n.holders)) * demandScale
	var to []string
	for i, id := range n.holders {
		if i != n.selfIdx && (!known || float64(att[i]) < wantSpare*even) {
			to = append(to, id)
		}
	}
	return to
}

// onWant answers member from's want: it gives up to half of what this node
// holds unused of the client's window.
func (n *Node) onWant(from string, w wireLedger, now int64) {
	e := n.table.LookupHash(w.hash)
	if e == nil || e == n.overflow {
		return
	}
	p := e.Policy()
	if p.Unlimited || now/p.Period != w.window {
		return
	}
	to := n.peerReplica(from)
	if to == "" || to != w.from {
		return
	}
	cl := n.cell(w.hash, w.window, p.Period, true)
	if cl == nil {
		return
	}
	if cl.wanted == nil {
		cl.wanted = map[string]uint64{}
	}
	if w.value <= cl.wanted[to] {
		return
	}
	cl.wanted[to] = w.value
	_, adm := e.Counts(w.window)
	slice, extra := p.Slice, p.Extra
	if w.window > p.Window {
		slice, extra = p.NextSlice, p.NextExtra
	}
	held := slice + extra
	if adm >= held {
		return
	}
	give := min(w.value, (held-adm)/2)
	if give == 0 {
		return
	}
	me := n.replica()
	// Give first, then see what was admitted meanwhile: only what is still
	// free is recorded (and the policy published again with it).
	cl.l.Transfer(me, to, give)
	n.refreshEntry(e, n.peer[w.hash], now)
	if _, adm2 := e.Counts(w.window); adm2 > held-give {
		short := min(give, adm2-(held-give))
		give -= short
		// Undo the part that was not free: the ledger only grows, so it
		// is rebuilt without it.
		cl.l = rebuildWithout(cl.l, me, to, short)
		n.refreshEntry(e, n.peer[w.hash], now)
	}
	if give > 0 {
		cl.l.Admitted(me, adm)
		n.counters.RightsLent += give
	}
}

// rebuildWithout returns l with the transfer from→to lowered by d: only
// for a transfer this node made and has not yet sent.
func rebuildWithout(l crdt.Ledger, from, to string, d uint64) crdt.Ledger {
	st := l.State()
	var out crdt.Ledger
	for i := range st.Transfers {
		if st.Transfers[i].Edge == (crdt.Edge{From: from, To: to}) {
			st.Transfers[i].Amount -= min(d, st.Transfers[i].Amount)
		}
	}
	out.Merge(st)
	out.TakeDelta()
	return out
}

// onTransfer merges a transfer to this node and acknowledges it. A transfer
// from an earlier incarnation of the sender is taken too: the sender gave
// it from what it held then (an incarnation taken while holding its lease
// still resends its own, see reincarnate).
func (n *Node) onTransfer(from string, w wireLedger, now int64) {
	if !n.ownReplica(w.to) || nameOf(w.from) != from || n.peerReplica(from) == "" {
		return
	}
	var e *bucket.Entry
	var period int64
	switch {
	case w.hash == poolHash:
		if n.pool == nil {
			return
		}
		period = int64(n.cfg.CapacityPeriod)
	default:
		if e = n.table.LookupHash(w.hash); e != nil {
			period = e.Policy().Period
		} else {
			period = n.effective(w.hash).period
		}
	}
	if x := now / period; w.window < x || w.window > x+1 {
		return // an ended window: nothing to admit with
	}
	cl := n.cell(w.hash, w.window, period, true)
	if cl == nil {
		return
	}
	before := cl.l.In(w.to)
	cl.l.Merge(crdt.LedgerDelta{Transfers: []crdt.Transfer{{Edge: crdt.Edge{From: w.from, To: w.to}, Amount: w.value}}})
	if got := cl.l.In(w.to); got > before {
		n.counters.RightsBorrowed += got - before
		switch {
		case w.hash == poolHash && n.portionSum(w.window) > n.capacityHeld(w.window, now)-(got-before):
			// Portions were cut to fit: they all grow, at the next
			// maintenance (once for all the gifts of a tick).
			n.alloc.dirty = true
			n.noteClaim(now)
		case w.hash == poolHash:
			n.refreshPool(now)
		case e != nil:
			n.refreshEntry(e, n.peer[w.hash], now)
		}
	}
	n.acks[from] = append(n.acks[from], wireLedger{hash: w.hash, window: w.window, kind: ledgerAck, from: w.from, to: w.to, value: cl.l.Sent(w.from, w.to)})
}

// onAck records that a borrower merged a transfer up to value.
func (n *Node) onAck(w wireLedger) {
	if !n.ownReplica(w.from) {
		return
	}
	cl := n.ledgers[ledgerKey{w.hash, w.window}]
	if cl == nil {
		return
	}
	if cl.acked == nil {
		cl.acked = map[string]uint64{}
	}
	cl.acked[w.to] = max(cl.acked[w.to], w.value)
}

// ledgerMessages returns this tick's ledger traffic: wants for every
// member, unacknowledged transfers and acknowledgements for their peers.
// It also forgets the ledgers of ended windows.
func (n *Node) ledgerMessages(now int64, stamp crdt.Timestamp) []Message {
	var out []Message
	ws := n.collectWants(now)
	for _, peer := range sortedKeys(ws) {
		for _, p := range encodeLedger(n.cfg.MaxMessageBytes, stamp, ws[peer]) {
			out = append(out, Message{To: peer, Payload: p})
		}
	}
	byPeer := map[string][]wireLedger{}
	for _, k := range sortedLedgerKeys(n.ledgers) {
		cl := n.ledgers[k]
		if now/cl.period > k.x {
			delete(n.ledgers, k)
			continue
		}
		for _, t := range cl.l.State().Transfers {
			if !n.ownReplica(t.From) || t.Amount <= cl.acked[t.To] {
				continue
			}
			if cl.sent == nil {
				cl.sent = map[string]sentTransfer{}
			}
			// Sent again only if it was not acknowledged within two
			// ticks: the acknowledgement of one sent a tick ago may be
			// on its way.
			if st := cl.sent[t.To]; st.amount == t.Amount && now-st.at < 2*n.tickInterval() {
				continue
			}
			cl.sent[t.To] = sentTransfer{amount: t.Amount, at: now}
			peer := nameOf(t.To)
			byPeer[peer] = append(byPeer[peer], wireLedger{hash: k.h, window: k.x, kind: ledgerTransfer, from: t.From, to: t.To, value: t.Amount})
		}
	}
	for _, peer := range sortedKeys(byPeer) {
		for _, p := range encodeLedger(n.cfg.MaxMessageBytes, stamp, byPeer[peer]) {
			out = append(out, Message{To: peer, Payload: p})
		}
	}
	for _, peer := range sortedKeys(n.acks) {
		for _, p := range encodeLedger(n.cfg.MaxMessageBytes, stamp, n.acks[peer]) {
			out = append(out, Message{To: peer, Payload: p})
		}
	}
	clear(n.acks)
	return out
}

func sortedLedgerKeys(m map[ledgerKey]*ledgerCell) []ledgerKey {
	ks := make([]ledgerKey, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.SortFunc(ks, func(a, b ledgerKey) int {
		switch {
		case a.h != b.h:
			if a.h < b.h {
				return -1
			}
			return 1
		case a.x < b.x:
			return -1
		case a.x > b.x:
			return 1
		}
		return 0
	})
	return ks
}

// nameOf is the member name of a replica.
func nameOf(replica string) string {
	for i := len(replica) - 1; i >= 0; i-- {
		if replica[i] == '#' {
			return replica[:i]
		}
	}
	return replica
}
