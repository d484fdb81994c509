package fairmesh

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/fairmesh/fairmesh/bucket"
	"github.com/fairmesh/fairmesh/crdt"
)

// ErrDropped wraps every reason Receive drops a payload.
var ErrDropped = errors.New("fairmesh: message dropped")

// Receive merges a payload from member from. A payload that is too large,
// fails to decode, has an unknown version or type, or carries an invalid
// entry is dropped whole and counted, changing nothing; the error says why.
// A sender stamp further ahead than MaxClockOffset is counted and not
// adopted as mesh time, but the payload is still merged.
func (n *Node) Receive(from string, payload []byte) error {
	if from == "" || len(from) > MaxClientIDLen {
		return n.drop(fmt.Errorf("%w: bad sender %q", ErrDropped, from))
	}
	m, err := decodeMessage(payload)
	if err != nil {
		return n.drop(fmt.Errorf("%w: %w", ErrDropped, err))
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if from == n.cfg.NodeID {
		n.counters.DroppedMessages++
		return fmt.Errorf("%w: from this node's own ID", ErrDropped)
	}
	n.counters.MessagesReceived++
	n.counters.BytesReceived += uint64(len(payload))
	n.lastHeard[from] = n.meshNow()
	n.observe(from, m.stamp)
	// news: the payload told this node something it did not know (the
	// same state again, as every push/pull repeats it, is not news).
	news := false
	switch m.typ {
	case msgLease:
		n.onLease(from, m.lease, n.meshNow())
	case msgView:
		news = n.mergeView(from, m.view)
	case msgAudit:
		n.onAudit(from, m.audit)
	case msgLedger:
		news = len(m.ledger) > 0
		now := n.meshNow()
		for _, w := range m.ledger {
			switch w.kind {
			case ledgerWant:
				n.onWant(from, w, now)
			case ledgerTransfer:
				n.onTransfer(from, w, now)
			case ledgerAck:
				n.onAck(w)
			}
		}
	case msgReports:
		n.noteReports(from, m)
		news = n.mergeReports(from, m.reports)
	case msgNack:
		news = len(m.nacks) > 0
		n.onNack(from, m.nacks)
	case msgConfig:
		n.noteReports(from, m)
		limit := n.meshNow() + int64(n.cfg.MaxClockOffset)
		for _, c := range m.configs {
			// A stamp from too far in the future would win every LWW race
			// for this client forever: refuse the entry, as CockroachDB's
			// clock does, and let a later write or anti-entropy repair it.
			if c.stamp.WallTime > limit {
				n.counters.ClockOffsetRejects++
				n.log.Warn("fairmesh: config stamped too far ahead, not merged", "client", c.id, "from", from)
				continue
			}
			n.observeStamp(c.stamp)
			if n.mergeConfig(c) {
				n.logRemoteConfig(from, c)
				news = true
			}
		}
	}
	if news {
		n.signal(n.meshNow())
	}
	return nil
}

func (n *Node) drop(err error) error {
	n.mu.Lock()
	n.counters.DroppedMessages++
	n.mu.Unlock()
	n.log.Debug("fairmesh: dropped message", "err", err)
	return err
}

// mergeReports merges a member's reports and reports whether any was new.
func (n *Node) mergeReports(from string, rs []wireReport) bool {
	if len(rs) > 0 && len(n.reportedBy) < maxTrackedPeers {
		n.reportedBy[from] = true
	}
	news := false
	for _, x := range rs {
		rc := n.peer[x.hash]
		if rc == nil {
			// Reports from peers are bounded like tracked clients: a
			// misbehaving peer must not grow this node's memory.
			if len(n.peer) >= n.cfg.MaxClients {
				n.counters.DroppedReports++
				continue
			}
			rc = &remoteClient{}
			n.peer[x.hash] = rc
		}
		if rc.upsert(from).merge(bucket.Report{Window: x.window, Demand: x.demand, Admitted: x.admitted}) {
			news = true
		}
	}
	if len(rs) > 0 {
		n.alloc.dirty = true
	}
	return news
}

// mergeConfig merges one register and reports whether it took c's value.
func (n *Node) mergeConfig(c wireConfig) bool {
	h := n.hashID(c.id)
	cc, err := n.confFor(h, c.id)
	if err != nil {
		n.counters.DroppedReports++
		return false
	}
	changed := false
	switch c.kind {
	case kindWeight:
		changed = cc.weight.Merge(crdt.LWW[int]{Value: int(c.v1), Stamp: c.stamp, Node: c.node})
	case kindLimit:
		changed = cc.limit.Merge(crdt.LWW[limitValue]{Value: limitValue{Rate: int(c.v1), Period: time.Duration(c.v2)}, Stamp: c.stamp, Node: c.node})
	}
	if changed {
		n.counters.ConfigUpdatesRemote++
		n.confVersion.Add(1)
		n.alloc.dirty = true
		if c.kind == kindLimit {
			n.unpin(h)
		}
		n.refreshClient(h)
	}
	return changed
}

// mergeView records a view entry of member from. A newer incarnation
// replaces everything known of the member (it restarted: what it reported
// before is its old process's); an older one is stale and ignored. An
// entry that does not hold its own sender is malformed and dropped. It
// reports whether the entry was new.
func (n *Node) mergeView(from string, v *wireView) bool {
	if _, ok := v.entry.index(from, v.inc); !ok {
		n.counters.DroppedMessages++
		return false
	}
	news := false
	pv := n.peerViews[from]
	switch {
	case pv == nil:
		if len(n.peerViews) >= maxTrackedPeers {
			n.counters.DroppedMessages++
			return false
		}
		pv = &viewLog{inc: v.inc}
		n.peerViews[from] = pv
	case v.inc < pv.inc:
		return false
	case v.inc > pv.inc:
		news = true
		*pv = viewLog{inc: v.inc}
		n.forgetReports(from)
		delete(n.repIn, from) // a new process numbers its reports anew
		if st, ok := n.mem[from]; ok && st != MemberDead && st != MemberLeft {
			n.aliveSince[from] = n.meshNow()
			n.pendingFull[from] = true
		}
	}
	if pv.add(v.entry) {
		n.alloc.dirty = true
		news = true
	}
	// This node's own view names members with the incarnation it knows.
	n.setHolders(n.meshNow())
	return news
}

// forgetReports drops every demand report member id made.
func (n *Node) forgetReports(id string) {
	delete(n.reportedBy, id)
	for h, rc := range n.peer {
		rc.nodes = slices.DeleteFunc(rc.nodes, func(r nodeReports) bool { return r.node == id })
		if len(rc.nodes) == 0 {
			delete(n.peer, h)
		}
	}
}
