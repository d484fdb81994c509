package fairmesh

import (
	"math"
	"slices"
)

// SetMember records a member's state as the membership layer reports it.
// Under the Lease policy every member that has not left holds its shares
// until a majority reclaims them (lease.go); under Available only alive
// members do. What a dead or left member reported is forgotten. A member
// that becomes alive is sent this node's full state by the next Tick.
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
	case MemberLeft:
		delete(n.heard, id)
		delete(n.echoed, id)
		delete(n.expiries, id)
		fallthrough
	case MemberDead:
		delete(n.pendingFull, id)
		delete(n.peerAhead, id)
		delete(n.aliveSince, id)
		delete(n.lastHeard, id)
		n.forgetReports(id)
	}
	now := n.meshNow()
	n.setHolders(now)
	n.checkLease(now)
	n.alloc.dirty = true
	n.maintain(now)
}

// setHolders recomputes who holds shares: this node and, under the Lease
// policy, every member it knows (unreachable ones too: they keep their
// shares until a majority reclaims them, see lease.go); under Available,
// the members alive.
func (n *Node) setHolders(now int64) {
	h := []string{n.cfg.NodeID}
	for id, st := range n.mem {
		switch {
		case st == MemberLeft || n.isRemoved(id):
		case n.cfg.Partition == Available:
			if st == MemberAlive {
				h = append(h, id)
			}
		case !n.reclaimedNow(id):
			h = append(h, id)
		}
	}
	slices.Sort(h)
	if !slices.Equal(h, n.holders) {
		n.holdersChangedAt = now
	}
	n.holders = h
	n.selfIdx = slices.Index(h, n.cfg.NodeID)
	n.silentSince = math.MaxInt64
	for _, id := range h {
		if n.mem[id] == MemberSuspect || n.mem[id] == MemberDead {
			n.silentSince = min(n.silentSince, n.lastHeard[id])
		}
	}
	n.recordView(now)
}
