package fairmesh

import (
	"math"
	"slices"
)

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
		n.forgetReports(id)
	}
	now := n.meshNow()
	n.setHolders(now)
	n.alloc.dirty = true
	n.maintain(now)
}

// setHolders recomputes who holds slices: this node, alive members, and
// suspect ones under the Conservative policy.
//
// Under the Quorum policy it also decides whether this node is fenced: it
// reaches (is, or hears as alive) no strict majority of the members it
// knows, dead ones included.
func (n *Node) setHolders(now int64) {
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
	if !slices.Equal(h, n.holders) {
		n.holdersChangedAt = now
	}
	n.holders = h
	n.selfIdx = slices.Index(h, n.cfg.NodeID)
	n.fenced = n.cfg.Partition == Quorum && 2*reachable <= known
	n.silentSince = math.MaxInt64
	for _, id := range h {
		if n.mem[id] == MemberSuspect {
			n.silentSince = min(n.silentSince, n.lastHeard[id])
		}
	}
	n.recordView(now)
}
