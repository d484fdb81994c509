package fairmesh

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/fairmesh/fairmesh/bucket"
	"github.com/fairmesh/fairmesh/crdt"
)

// nodeReports is what one other node last reported of a client: its two
// newest window reports. Merging keeps the two newest windows and the
// maximum counts per window, so loss, duplication and reordering do no harm.
type nodeReports struct {
	node         string
	newest, prev bucket.Report
}

func (r *nodeReports) merge(x bucket.Report) {
	switch {
	case x.Window > r.newest.Window:
		r.prev, r.newest = r.newest, x
	case x.Window == r.newest.Window:
		r.newest.Demand = max(r.newest.Demand, x.Demand)
		r.newest.Admitted = max(r.newest.Admitted, x.Admitted)
	case x.Window > r.prev.Window:
		r.prev = x
	case x.Window == r.prev.Window:
		r.prev.Demand = max(r.prev.Demand, x.Demand)
		r.prev.Admitted = max(r.prev.Admitted, x.Admitted)
	}
}

// remoteClient is the demand other nodes reported for one client.
type remoteClient struct {
	nodes []nodeReports // sorted by node
	share float64       // fair share when not tracked locally (req/s)
	epoch uint64
}

func (rc *remoteClient) of(node string) *nodeReports {
	i, ok := slices.BinarySearchFunc(rc.nodes, node, func(r nodeReports, id string) int {
		switch {
		case r.node < id:
			return -1
		case r.node > id:
			return 1
		}
		return 0
	})
	if !ok {
		return nil
	}
	return &rc.nodes[i]
}

func (rc *remoteClient) upsert(node string) *nodeReports {
	if r := rc.of(node); r != nil {
		return r
	}
	i, _ := slices.BinarySearchFunc(rc.nodes, node, func(r nodeReports, id string) int {
		switch {
		case r.node < id:
			return -1
		case r.node > id:
			return 1
		}
		return 0
	})
	none := bucket.Report{Window: -1}
	rc.nodes = slices.Insert(rc.nodes, i, nodeReports{node: node, newest: none, prev: none})
	return &rc.nodes[i]
}

// SetMember records a member's state as the membership layer reports it.
// Alive and (under the Conservative policy) suspect members hold slices;
// dead and left members do not, and what they reported is forgotten, so
// their slices go to the others at once. A member that becomes alive is
// sent this node's full state by the next Tick.
func (n *Node) SetMember(id string, state MemberState) {
	if id == "" || id == n.cfg.NodeID || len(id) > MaxClientIDLen {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	old, known := n.mem[id]
	if known && old == state {
		return
	}
	n.mem[id] = state
	switch state {
	case MemberAlive:
		if !known || old != MemberAlive {
			n.pendingFull[id] = true
		}
		if !known || old == MemberDead || old == MemberLeft {
			n.aliveSince[id] = n.meshNow()
		}
	case MemberDead, MemberLeft:
		delete(n.pendingFull, id)
		delete(n.peerAhead, id)
		delete(n.aliveSince, id)
		delete(n.lastHeard, id)
		for h, rc := range n.peer {
			rc.nodes = slices.DeleteFunc(rc.nodes, func(r nodeReports) bool { return r.node == id })
			if len(rc.nodes) == 0 {
				delete(n.peer, h)
			}
		}
	}
	n.setHolders()
	n.alloc.dirty = true
	now := n.meshNow()
	n.maintain(now)
}

// setHolders recomputes who holds slices: this node, alive members, and
// suspect ones under the Conservative policy.
//
// Under the Quorum policy it also decides whether this node is fenced: it
// reaches (is, or hears as alive) no strict majority of the members it
// knows, dead ones included.
func (n *Node) setHolders() {
	h := []string{n.cfg.NodeID}
	known, reachable := 1, 1
	for id, st := range n.mem {
		if st != MemberLeft {
			known++
		}
		if st == MemberAlive {
			reachable++
		}
		if st == MemberAlive || (st == MemberSuspect && n.cfg.Partition != Available) {
			h = append(h, id)
		}
	}
	slices.Sort(h)
	n.holders = h
	n.selfIdx = slices.Index(h, n.cfg.NodeID)
	n.fenced = n.cfg.Partition == Quorum && 2*reachable <= known
	n.silentSince = math.MaxInt64
	for _, id := range h {
		if n.mem[id] == MemberSuspect {
			n.silentSince = min(n.silentSince, n.lastHeard[id])
		}
	}
}

// Tick advances the node to local time now (the same clock as Config.Clock)
// and returns the messages to send: changed demand reports and config
// registers for every member (each sent in two consecutive ticks), the
// full state for members that just became alive, and, when there is
// nothing else, a beacon of a few bytes carrying the node's clock. It
// never blocks.
func (n *Node) Tick(now time.Time) []Message {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.maintain(now.UnixNano() + n.offset.Load())
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
	for _, id := range sortedKeys(n.pendingFull) {
		for _, p := range n.fullState(stamp) {
			out = append(out, Message{To: id, Payload: p})
		}
	}
	clear(n.pendingFull)
	if len(out) == 0 {
		// Even with nothing to report, every tick carries this node's
		// stamp: window boundaries stay aligned as clocks drift, and a
		// node that joins learns mesh time within one tick.
		out = append(out, Message{Payload: encodeBeacon(stamp)})
	}
	for _, m := range out {
		n.counters.MessagesSent++
		n.counters.BytesSent += uint64(len(m.Payload))
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func sortedHashes[V any](m map[uint64]V) []uint64 {
	ks := make([]uint64, 0, len(m))
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

func (n *Node) encodePendingReports(stamp crdt.Timestamp) [][]byte {
	if len(n.pendingReports) == 0 {
		return nil
	}
	var rs []wireReport
	for _, h := range sortedHashes(n.pendingReports) {
		p := n.pendingReports[h]
		rs = appendReports(rs, h, p.e)
		if p.left--; p.left <= 0 {
			delete(n.pendingReports, h)
		}
	}
	return encodeReports(n.cfg.MaxMessageBytes, stamp, rs)
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
	for _, h := range sortedHashes(n.pendingConf) {
		if cc := n.conf[h]; cc != nil {
			cs = n.appendConf(cs, cc)
		}
		if n.pendingConf[h]--; n.pendingConf[h] <= 0 {
			delete(n.pendingConf, h)
		}
	}
	return encodeConfigs(n.cfg.MaxMessageBytes, stamp, cs)
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
	for _, h := range sortedHashes(n.conf) {
		cs = n.appendConf(cs, n.conf[h])
	}
	out := encodeReports(n.cfg.MaxMessageBytes, stamp, rs)
	return append(out, encodeConfigs(n.cfg.MaxMessageBytes, stamp, cs)...)
}

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
	n.lastHeard[from] = n.meshNow()
	n.observe(from, m.stamp)
	switch m.typ {
	case msgReports:
		n.mergeReports(from, m.reports)
	case msgConfig:
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
			n.mergeConfig(c)
		}
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

// observe adopts a remote stamp as mesh time when it is ahead of ours but
// within MaxClockOffset: a lagging node's windows then start with the
// mesh's. A stamp further ahead is counted and logged, never adopted: one
// fast clock must not drag the whole mesh. The guard is measured from this
// node's mesh time, so a node can follow the mesh in steps.
//
// One exception: when most peers are ahead of this node by more than the
// guard, it is this node's clock that is wrong, and it adopts the median of
// its peers' clocks. A single fast clock is never the median of three or
// more, so it still cannot drag anyone.
func (n *Node) observe(from string, s crdt.Timestamp) {
	// The exact clock, not the fast path's coarse one: a reading that lags
	// by up to a millisecond would make every peer look ahead, and nodes
	// adopting each other's lead would drive mesh time forward for ever.
	local := n.cfg.Clock.Now().UnixNano()
	if n.peerAhead == nil {
		n.peerAhead = map[string]int64{}
	}
	if len(n.peerAhead) < maxTrackedPeers || n.peerAhead[from] != 0 {
		n.peerAhead[from] = s.WallTime - local
	}
	ahead := s.WallTime - (local + n.offset.Load())
	switch {
	case ahead <= adoptBand:
		// Within the band: scheduling and network noise, not a clock
		// that is behind. Adopting it would feed back, since peers adopt
		// this node's mesh time in turn.
	case ahead <= int64(n.cfg.MaxClockOffset):
		n.offset.Add(ahead - adoptBand)
	default:
		if med := n.medianPeerAhead() - adoptBand; med > n.offset.Load() {
			n.offset.Store(med)
		} else {
			n.counters.ClockOffsetRejects++
			n.log.Warn("fairmesh: remote clock too far ahead, not adopted", "from", from, "ahead", time.Duration(ahead))
			return
		}
	}
	n.observeStamp(s)
}

// adoptBand is how far ahead a peer's clock must be before this node
// adopts it, and what it leaves out when it does: mesh time then cannot
// creep forward on noise (each node adopting the others' lead, which
// includes its own), and windows still agree to within it.
const adoptBand = int64(2 * time.Millisecond)

// maxTrackedPeers bounds the per-peer clock table.
const maxTrackedPeers = 1024

// medianPeerAhead is the median of how far each live peer's clock was
// ahead of this node's local clock when last heard from; it counts only
// when there are at least two peers, so that a majority exists.
func (n *Node) medianPeerAhead() int64 {
	var xs []int64
	for id, a := range n.peerAhead {
		if st, ok := n.mem[id]; ok && (st == MemberAlive || st == MemberSuspect) {
			xs = append(xs, a)
		}
	}
	if len(xs) < 2 {
		return 0
	}
	slices.Sort(xs)
	return xs[(len(xs)-1)/2]
}

func (n *Node) observeStamp(s crdt.Timestamp) {
	if _, err := n.hlc.Update(s); err != nil {
		// Counted in observe for message stamps; config stamps that are too
		// far ahead still merge (LWW needs them to converge) but do not
		// move this node's clock.
		return
	}
}

func (n *Node) mergeReports(from string, rs []wireReport) {
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
		rc.upsert(from).merge(bucket.Report{Window: x.window, Demand: x.demand, Admitted: x.admitted})
	}
	if len(rs) > 0 {
		n.alloc.dirty = true
	}
}

func (n *Node) mergeConfig(c wireConfig) {
	h := xxhash.Sum64String(c.id)
	cc := n.confFor(h, c.id)
	if cc == nil {
		n.counters.DroppedReports++
		return
	}
	changed := false
	switch c.kind {
	case kindWeight:
		changed = cc.weight.Merge(crdt.LWW[int]{Value: int(c.v1), Stamp: c.stamp, Node: c.node})
	case kindLimit:
		changed = cc.limit.Merge(crdt.LWW[limitValue]{Value: limitValue{Rate: int(c.v1), Period: time.Duration(c.v2)}, Stamp: c.stamp, Node: c.node})
	}
	if changed {
		n.alloc.dirty = true
		n.refreshClient(h)
	}
}
