package fairmesh

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/fairmesh/fairmesh/bucket"
)

// Errors of RemoveMember.
var (
	// ErrUnknownMember: no such member (or it left).
	ErrUnknownMember = errors.New("fairmesh: unknown member")
	// ErrMemberAlive: the member is alive (or is this node): removing it
	// would let two processes hold the same shares.
	ErrMemberAlive = errors.New("fairmesh: member is alive")
)

// Leases: what keeps a partition, a crash or a pause from admitting twice.
//
// Every node sends, every leaseBeat, a lease message: its incarnation, the
// mesh time it sent the message at, and for each member it knows what it
// last heard from that member (incarnation and send time) and whether it
// has given up on it. A member gives up on another ("expires" it) once it
// has heard nothing from it for Lease; it then never again reports having
// heard that incarnation. So:
//
//   - a node holds a lease while members that, with itself, make at least
//     half of the members it knows reported hearing a message it sent
//     within the last Lease (its own clock on both ends: no skew); past
//     that it fences: it admits nothing. Once members that gave up on it
//     are needed or heard again, it takes a new incarnation, as a
//     restarted process would, so that it claims nothing again until every
//     member has counted it anew (views.go);
//   - a node reclaims an unreachable member's shares only when members
//     that make a strict majority of the members it knows, not counting
//     that member, have each expired it, and Lease + MaxClockOffset have
//     passed since the latest send time any of them heard from it.
//
// Any strict majority and any half of the same members share a member. So
// when a majority has expired X, every set X could hold its lease from
// contains one of them, which heard X last at a send time no later than
// the latest reported: X fenced Lease after it by its own clock, at most
// MaxClockOffset later by the reclaimer's. Nobody reclaims from a side
// that sees exactly half, and such a side keeps its own shares for as long
// as it likes. The argument needs the members known to agree; a member
// that joins one side during a partition can make them disagree
// (docs/design.md says what that costs).

// leaseRec is what this node heard from one member's incarnation.
type leaseRec struct {
	inc  int64 // the member's incarnation
	sent int64 // the latest send time (its mesh time) heard from it
	at   int64 // when that arrived (this node's mesh time)
	// expired: nothing came from this incarnation for Lease; this node
	// never reports hearing it again.
	expired bool
}

// leaseNote is a member's report that it expired another's incarnation inc,
// whose last message it heard was sent at sent.
type leaseNote struct{ inc, sent int64 }

// leaseEntry is one line of a lease message: what the sender heard of
// member name.
type leaseEntry struct {
	name      string
	inc, sent int64
	flags     uint64
}

const (
	leaseExpired = 1 // the sender expired this incarnation
	leaseRemoved = 2 // an operator removed the member: sent is when
)

// leaseBeat is how often a node holding its lease sends a lease message;
// one without a lease sends one every tick.
func (n *Node) leaseBeat() int64 {
	return max(int64(n.cfg.Lease)/8, n.tickInterval())
}

// knownMembers counts the members this node knows, itself included: every
// member the membership layer reported that has not left and that no
// operator removed (the dead included: a member that crashed may be alive
// on the other side of a partition). Before it has heard of any member, a
// node told to join Seeds of them counts those.
func (n *Node) knownMembers() int {
	k := 1
	for id, st := range n.mem {
		if st != MemberLeft && !n.isRemoved(id) {
			k++
		}
	}
	if k == 1 && len(n.mem) == 0 {
		k += n.cfg.Seeds
	}
	return k
}

// incOf is the incarnation of member id this node knows, 0 if none.
func (n *Node) incOf(id string) int64 {
	inc := int64(0)
	if pv := n.peerViews[id]; pv != nil {
		inc = pv.inc
	}
	if r := n.heard[id]; r != nil {
		inc = max(inc, r.inc)
	}
	return inc
}

// isRemoved reports whether an operator removed member id's incarnation
// (one that started before the removal).
func (n *Node) isRemoved(id string) bool {
	at, ok := n.removed[id]
	return ok && n.incOf(id) < at
}

// leaseEnd is the mesh time at which this node's lease runs out:
// MaxInt64 when it needs nobody (alone, or at least half with itself).
func (n *Node) leaseEnd() int64 {
	k := n.knownMembers()
	need := (k+1)/2 - 1 // members besides this node
	if n.cfg.Partition == Available {
		need = min(need, 1)
	}
	if need <= 0 {
		return math.MaxInt64
	}
	acks := make([]int64, 0, len(n.echoed))
	for id, s := range n.echoed {
		if st, ok := n.mem[id]; ok && st != MemberLeft && !n.isRemoved(id) {
			acks = append(acks, s)
		}
	}
	if len(acks) < need {
		return math.MinInt64
	}
	slices.Sort(acks)
	return acks[len(acks)-need] + int64(n.cfg.Lease)
}

// checkLease expires members not heard from for Lease, decides whether
// this node is fenced (taking a new incarnation when members gave up on
// it and it needs them or hears them again), and reclaims what a majority
// has given up on; holders and views follow any change.
func (n *Node) checkLease(now int64) {
	end := n.leaseEnd()
	fenced := n.removedSelf() || (n.cfg.Seeds > 0 && len(n.mem) == 0) || now >= end
	if !fenced {
		// A fenced node gives up on nobody: it reclaims nothing, and the
		// members it does not hear from are most likely serving (or it
		// was the one paused).
		for _, r := range n.heard {
			if !r.expired && now-r.at >= int64(n.cfg.Lease) {
				r.expired = true
				n.leaseDirty = true
			}
		}
	}
	if len(n.expiredMe) > 0 && !n.removedSelf() && (fenced || n.hearsAny(n.expiredMe)) {
		// Members gave up on this incarnation: they will never confirm
		// it again. Once it needs them (it is fenced), or can reach them
		// again (a heal), take a new incarnation that they can confirm.
		// Fenced, what it held may have been reclaimed: it rejoins as a
		// restarted process would. Holding its lease, it keeps what it
		// holds (see reincarnate).
		n.reincarnate(now, !fenced)
		end = n.leaseEnd()
		fenced = now >= end
	}
	if !fenced {
		n.leaseUntil.Store(end)
	} else {
		// Fenced policies admit nothing: no need to look again per
		// request until a Tick or a message changes something.
		n.leaseUntil.Store(math.MaxInt64)
	}
	changed := false
	if n.cfg.Partition == Lease && !fenced {
		changed = n.reclaim(now)
	}
	if fenced != n.fenced || changed {
		switch {
		case fenced != n.fenced && fenced && n.servedOnce:
			n.log.Warn("fairmesh: fenced: too few members confirm hearing this node; it admits nothing until they do", "members", n.knownMembers())
		case fenced != n.fenced && fenced:
			// Joining: the members it just met have not confirmed it yet.
			n.log.Info("fairmesh: joining: waiting for the members to confirm hearing this node", "members", n.knownMembers())
		case fenced != n.fenced:
			n.log.Info("fairmesh: lease held: serving", "members", n.knownMembers())
		}
		n.servedOnce = n.servedOnce || !fenced
		n.fenced = fenced
		n.setHolders(now)
		n.alloc.dirty = true
	}
}

// hearsAny reports whether this node hears again from any of the members.
func (n *Node) hearsAny(ids map[string]bool) bool {
	for id := range ids {
		if r := n.heard[id]; r != nil && !r.expired {
			return true
		}
	}
	return false
}

// removedSelf reports whether an operator removed this incarnation.
func (n *Node) removedSelf() bool {
	at, ok := n.removed[n.cfg.NodeID]
	return ok && n.startedAt < at
}

// reclaim drops from the holders every member a strict majority of the
// known members has expired, once its lease has certainly run out.
func (n *Node) reclaim(now int64) bool {
	k := n.knownMembers()
	changed := false
	for _, id := range sortedKeys(n.mem) {
		st := n.mem[id]
		inc := n.incOf(id)
		if st == MemberLeft || n.isRemoved(id) || inc == 0 {
			continue
		}
		if at, ok := n.reclaimed[id]; ok && at == inc {
			continue
		}
		g, last := 0, int64(math.MinInt64)
		if r := n.heard[id]; r != nil && r.inc == inc && r.expired {
			g, last = 1, r.sent
		}
		for m, note := range n.expiries[id] {
			if note.inc == inc && m != id {
				if st, ok := n.mem[m]; ok && st != MemberLeft && !n.isRemoved(m) {
					g++
					last = max(last, note.sent)
				}
			}
		}
		if 2*g <= k || now < last+int64(n.cfg.Lease)+int64(n.cfg.MaxClockOffset) {
			if 2*g > k {
				n.noteClaim(last + int64(n.cfg.Lease) + int64(n.cfg.MaxClockOffset))
			}
			continue
		}
		n.reclaimed[id] = inc
		n.forgetReports(id)
		n.log.Warn("fairmesh: reclaimed an unreachable member's shares", "member", id, "expired by", g, "of", k)
		changed = true
	}
	return changed
}

// reclaimedNow reports whether member id's current incarnation was
// reclaimed.
func (n *Node) reclaimedNow(id string) bool {
	at, ok := n.reclaimed[id]
	return ok && at == n.incOf(id)
}

// maxPriorReplicas bounds the incarnations one process takes while
// holding its lease before it takes one afresh.
const maxPriorReplicas = 4

// reincarnate makes this process a new incarnation, which the members
// that gave up on the current one can confirm again. Its view log is kept:
// the views it held before still bound what others claimed then; so do
// its report numbers, which peers could otherwise take for old ones.
//
// Taken afresh (kept false: it was fenced, as after a pause or on the
// minority side of a split), it is as if it had restarted: it drops every
// claim it pinned and every confirmation of its lease, and its ledger
// replica starts anew, so that it claims nothing until every member has
// counted it again.
//
// Taken while it holds its lease (kept: a side that turned out to be the
// minority gave up on it just before that side fenced), it keeps its
// pinned claims, the confirmations of its lease and its earlier ledger
// replicas. Nothing it holds was reclaimed, nor will be before its lease
// as it stands runs out: a strict majority that gives up on the
// incarnation it leaves and the members whose confirmations make that
// lease share a member, whose last confirmation is no later than the last
// message it heard from it; reclaiming waits Lease + MaxClockOffset past
// that message, the lease runs Lease past the confirmation. So until then
// (prevUntil) a view that still names the incarnation it leaves counts
// this process, for windows it claims from then on too: the others count
// the new one only from a common instant (admit), and meanwhile name the
// old one.
func (n *Node) reincarnate(now int64, kept bool) {
	if kept && len(n.priorReplicas) >= maxPriorReplicas {
		kept = false
	}
	n.log.Warn("fairmesh: rejoining as a new incarnation", "incarnation", now, "keeps its claims", kept)
	if kept {
		n.priorReplicas = append(n.priorReplicas, n.replica())
		n.prevInc, n.prevUntil = n.startedAt, n.leaseEnd()
	} else {
		n.prevInc, n.prevUntil = 0, 0
		n.priorReplicas = nil
		n.freshAt = now
		n.table.Range(func(e *bucket.Entry) bool {
			e.Cold.Pins = [2]bucket.Pin{}
			return true
		})
		if n.pool != nil {
			n.pool.Cold.Pins = [2]bucket.Pin{}
		}
		n.overflow.Cold.Pins = [2]bucket.Pin{}
		clear(n.echoed)
	}
	n.startedAt = now
	n.views.inc = now
	n.alloc.dirty = true
	clear(n.expiredMe)
	for id, st := range n.mem {
		if st == MemberAlive || st == MemberSuspect {
			n.pendingFull[id] = true
		}
	}
	n.recordView(now)
	n.lastLeaseSent = math.MinInt64
}

// onLease merges a lease message from member from.
func (n *Node) onLease(from string, m *wireLease, now int64) {
	if _, known := n.mem[from]; !known {
		return
	}
	r := n.heard[from]
	switch {
	case r == nil || m.inc > r.inc:
		if r == nil && len(n.heard) >= maxTrackedPeers {
			return
		}
		n.heard[from] = &leaseRec{inc: m.inc, sent: m.sent, at: now}
		// A member new to this node, or a new incarnation: confirm it at
		// the next tick, so that it holds a lease within a round trip.
		n.leaseDirty = true
	case m.inc == r.inc && !r.expired:
		r.sent = max(r.sent, m.sent)
		r.at = max(r.at, now)
	}
	for _, e := range m.entries {
		if e.flags&leaseRemoved != 0 {
			if e.sent > n.removed[e.name] {
				n.removed[e.name] = e.sent
				n.leaseDirty = true
			}
			continue
		}
		if e.name == n.cfg.NodeID {
			// This process sent nothing of its own before it started
			// afresh: a time since then is an ack of it, not of a
			// predecessor (an incarnation it took holding its lease is
			// itself, see reincarnate).
			switch {
			case e.flags&leaseExpired != 0 && e.inc == n.startedAt:
				delete(n.echoed, from)
				n.expiredMe[from] = true
			case e.flags == 0 && e.sent >= n.freshAt && e.sent > n.echoed[from] && !n.expiredMe[from]:
				n.echoed[from] = e.sent
			}
			continue
		}
		if _, known := n.mem[e.name]; !known {
			continue
		}
		if e.flags&leaseExpired == 0 {
			continue
		}
		notes := n.expiries[e.name]
		if old, had := notes[from]; !had || e.inc >= old.inc {
			if notes == nil {
				notes = map[string]leaseNote{}
				n.expiries[e.name] = notes
			}
			notes[from] = leaseNote{inc: e.inc, sent: e.sent}
		}
	}
	n.checkLease(now)
}

// leaseEntries is what this node reports in its lease message.
func (n *Node) leaseEntries() []leaseEntry {
	out := make([]leaseEntry, 0, len(n.heard)+len(n.removed))
	for _, id := range sortedKeys(n.heard) {
		r := n.heard[id]
		e := leaseEntry{name: id, inc: r.inc, sent: r.sent}
		if r.expired {
			e.flags = leaseExpired
		}
		out = append(out, e)
	}
	for _, id := range sortedKeys(n.removed) {
		out = append(out, leaseEntry{name: id, sent: n.removed[id], flags: leaseRemoved})
	}
	return out
}

// leasePayloads returns this node's lease message when one is due.
func (n *Node) leasePayloads(now int64) [][]byte {
	if n.alone() {
		return nil
	}
	due := n.lastLeaseSent + n.leaseBeat()
	switch {
	case n.leaseDirty:
		due = n.lastLeaseSent
	case n.fenced:
		// Looking for a lease: more often, not every tick.
		due = n.lastLeaseSent + n.leaseBeat()/4
	}
	if now < due && n.lastLeaseSent != math.MinInt64 {
		return nil
	}
	n.lastLeaseSent = now
	n.leaseDirty = false
	return encodeLease(n.cfg.MaxMessageBytes, n.hlc.Now(), n.startedAt, now, n.leaseEntries())
}

// RemoveMember declares member id gone for good, mesh-wide: every node
// stops counting it among the members it knows, and the others reclaim
// its shares at once. Use it for a member that will not come back (its
// host is lost): a process of that name started after the removal joins
// as a new member. It is an error to remove this node itself.
func (n *Node) RemoveMember(id string) error {
	if id == "" || len(id) > MaxClientIDLen {
		return fmt.Errorf("%w: %q", ErrUnknownMember, id)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if id == n.cfg.NodeID {
		return fmt.Errorf("%w: %q is this node", ErrMemberAlive, id)
	}
	switch st, ok := n.mem[id]; {
	case !ok || st == MemberLeft:
		return fmt.Errorf("%w: %q", ErrUnknownMember, id)
	case st == MemberAlive:
		return fmt.Errorf("%w: %q is alive; stop it first", ErrMemberAlive, id)
	}
	now := n.meshNow()
	n.removed[id] = now
	n.leaseDirty = true
	n.forgetReports(id)
	n.checkLease(now)
	n.setHolders(now)
	n.alloc.dirty = true
	n.maintain(now)
	return nil
}
