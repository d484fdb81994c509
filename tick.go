package fairmesh

import (
	"cmp"
	"slices"
	"time"

	"github.com/fairmesh/fairmesh/bucket"
	"github.com/fairmesh/fairmesh/crdt"
)

// Tick advances the node to local time now (the same clock as Config.Clock)
// and returns the messages to send: changed demand reports and config
// registers for every member (each sent in two consecutive ticks), the
// full state for members that just became alive, and, when there is
// nothing else, a beacon of a few bytes carrying the node's clock. It
// never blocks.
func (n *Node) Tick(now time.Time) []Message {
	n.mu.Lock()
	defer n.mu.Unlock()
	mesh := now.UnixNano() + n.offset.Load()
	if gap := mesh - n.lastTick; n.lastTick > 0 && gap > 0 {
		// The largest recent interval, decaying: a late tick counts.
		n.tickGap = max(gap, n.tickGap-n.tickGap/8)
	}
	n.lastTick = mesh
	n.checkLease(mesh)
	n.maintain(mesh)
	n.releaseIdle(mesh)
	n.giveAhead(mesh)
	peers := false
	for _, st := range n.mem {
		if st == MemberAlive || st == MemberSuspect {
			peers = true
			break
		}
	}
	if !peers {
		clear(n.pendingReports)
		clear(n.pendingConf)
		clear(n.acks)
		clear(n.repairs)
		return nil
	}
	stamp := n.hlc.Now()
	var out []Message
	for _, p := range n.encodePendingReports(stamp) {
		out = append(out, Message{Payload: p})
	}
	for _, p := range n.encodePendingConf(stamp) {
		out = append(out, Message{Payload: p})
	}
	out = append(out, n.ledgerMessages(now.UnixNano()+n.offset.Load(), stamp)...)
	out = append(out, n.reliabilityMessages(stamp)...)
	busy := len(out) > 0
	for _, p := range n.leasePayloads(mesh) {
		out = append(out, Message{Payload: p})
	}
	if p := n.auditPayload(stamp); p != nil {
		out = append(out, Message{Payload: p})
	}
	n.auditWindows()
	if n.pendingView > 0 {
		n.pendingView--
		for _, p := range n.encodeViews(stamp) {
			out = append(out, Message{Payload: p})
			busy = true
		}
	}
	for _, id := range sortedKeys(n.pendingFull) {
		for _, p := range n.fullState(stamp) {
			out = append(out, Message{To: id, Payload: p})
			busy = true
		}
	}
	clear(n.pendingFull)
	if busy {
		n.act.busyAt = max(n.act.busyAt, mesh)
	}
	if len(out) == 0 {
		// Even with nothing to report, every tick carries this node's
		// stamp: window boundaries stay aligned as clocks drift, and a
		// node that joins learns mesh time within one tick.
		out = append(out, Message{Payload: encodeBeacon(stamp, n.repSeq)})
	}
	for _, m := range out {
		n.counters.MessagesSent++
		n.counters.BytesSent += uint64(len(m.Payload))
	}
	return out
}

// sortedKeys returns m's keys in order: nothing that leaves a node may
// depend on map iteration order.
func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K {
	ks := make([]K, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func appendReports(rs []wireReport, h uint64, e *bucket.Entry) []wireReport {
	for _, r := range []bucket.Report{e.Cold.PrevReported, e.Cold.Reported} {
		if r.Window >= 0 {
			rs = append(rs, wireReport{hash: h, window: r.Window, demand: r.Demand, admitted: r.Admitted})
		}
	}
	return rs
}

// encodePendingReports packs the queued demand reports, at most
// MaxReportsPerTick clients a tick: first sends before resends, the
// biggest changes first, the rest wait for the next ticks. So the gossip a node sends stays bounded however
// many clients appear at once (a flood of new IDs, a restart).
func (n *Node) encodePendingReports(stamp crdt.Timestamp) [][]byte {
	if len(n.pendingReports) == 0 {
		return nil
	}
	hs := sortedKeys(n.pendingReports)
	if len(hs) > n.cfg.MaxReportsPerTick {
		// Reports never sent before go first (a resend only guards
		// against loss), then the biggest changes.
		slices.SortStableFunc(hs, func(a, b uint64) int {
			pa, pb := n.pendingReports[a], n.pendingReports[b]
			switch {
			case pa.left != pb.left:
				return pb.left - pa.left
			case pa.delta > pb.delta:
				return -1
			case pa.delta < pb.delta:
				return 1
			}
			return 0
		})
		hs = hs[:n.cfg.MaxReportsPerTick]
	}
	var rs []wireReport
	for _, h := range hs {
		p := n.pendingReports[h]
		rs = appendReports(rs, h, p.e)
		if p.left--; p.left <= 0 {
			delete(n.pendingReports, h)
		}
	}
	first := n.repSeq + 1
	ps, payloadOf := encodeReports(n.cfg.MaxMessageBytes, stamp, first, rs)
	n.repSeq += uint64(len(ps))
	sent := make([]uint64, len(rs))
	for i, r := range rs {
		sent[i] = r.hash
	}
	n.logSent(first, false, sent, payloadOf)
	return ps
}

func (n *Node) appendConf(cs []wireConfig, cc *clientConf) []wireConfig {
	if !cc.weight.Stamp.IsZero() {
		cs = append(cs, wireConfig{id: cc.id, kind: kindWeight, v1: int64(cc.weight.Value), stamp: cc.weight.Stamp, node: cc.weight.Node})
	}
	if !cc.limit.Stamp.IsZero() {
		cs = append(cs, wireConfig{id: cc.id, kind: kindLimit, v1: int64(cc.limit.Value.Rate), v2: int64(cc.limit.Value.Period), stamp: cc.limit.Stamp, node: cc.limit.Node})
	}
	return cs
}

func (n *Node) encodePendingConf(stamp crdt.Timestamp) [][]byte {
	if len(n.pendingConf) == 0 {
		return nil
	}
	var cs []wireConfig
	for _, h := range sortedKeys(n.pendingConf) {
		if cc := n.conf[h]; cc != nil {
			cs = n.appendConf(cs, cc)
		}
		if n.pendingConf[h]--; n.pendingConf[h] <= 0 {
			delete(n.pendingConf, h)
		}
	}
	first := n.repSeq + 1
	ps, payloadOf := encodeConfigs(n.cfg.MaxMessageBytes, stamp, first, cs)
	n.repSeq += uint64(len(ps))
	hs := make([]uint64, len(cs))
	for i, c := range cs {
		hs[i] = n.hashID(c.id)
	}
	n.logSent(first, true, hs, payloadOf)
	return ps
}

// FullState returns this node's whole state — its demand reports and every
// config register it knows — as payloads of at most MaxMessageBytes, for
// anti-entropy (memberlist's push/pull). Receive merges them like any
// other message.
func (n *Node) FullState() [][]byte {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.fullState(n.hlc.Now())
}

func (n *Node) fullState(stamp crdt.Timestamp) [][]byte {
	var rs []wireReport
	var hs []uint64
	byHash := map[uint64]*bucket.Entry{}
	n.table.Range(func(e *bucket.Entry) bool {
		if e.Cold.Reported.Window >= 0 {
			hs = append(hs, e.Hash())
			byHash[e.Hash()] = e
		}
		return true
	})
	slices.Sort(hs)
	for _, h := range hs {
		rs = appendReports(rs, h, byHash[h])
	}
	var cs []wireConfig
	for _, h := range sortedKeys(n.conf) {
		cs = n.appendConf(cs, n.conf[h])
	}
	out := n.encodeViews(stamp)
	reps, _ := encodeReports(n.cfg.MaxMessageBytes, stamp, 0, rs)
	out = append(out, reps...)
	confs, _ := encodeConfigs(n.cfg.MaxMessageBytes, stamp, 0, cs)
	return append(out, confs...)
}

// encodeViews returns this node's two newest view entries: the one in
// force and the one before it, which peers may need for a window whose
// lead instant came before the change.
func (n *Node) encodeViews(stamp crdt.Timestamp) [][]byte {
	var out [][]byte
	es := n.views.entries
	for _, v := range es[max(0, len(es)-2):] {
		if p := encodeView(n.cfg.MaxMessageBytes, stamp, n.startedAt, v); p != nil {
			out = append(out, p)
		}
	}
	return out
}
