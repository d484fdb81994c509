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
	h = n.admit(h, now)
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

// admit returns h without the members whose current process this node
// does not count yet, and notes when it will.
//
// A member's new process (a join, a restart, a new incarnation after a
// heal) is counted from one instant that every node derives alike: its
// incarnation plus admitDelay, by which every member has most likely heard
// of it. Until then this node's view keeps naming it as before (its
// previous incarnation, or not at all), and nothing here (demand, plans,
// gifts) treats it as a holder. Were each node to count it from the moment
// it heard of it, a window whose lead instant fell between those moments
// would be claimed under views that disagree about it: it would claim
// nothing of that window, and the others would leave its part for it,
// unused by anyone. Counted from a common instant, the views agree on
// both sides of it. A member new to this node's view is left out only
// while its own newest view counts this node (countedBy): it then claims
// nothing under this node's view. Two members that each left the other
// out would each claim as if the other were not there (a mesh forming,
// each hearing the other's views before the membership layer reports it,
// admitted three times a limit in one window so).
//
// The entry that counts it is dated that instant even when it is recorded
// later (recordView), if this node had heard of the member before that
// instant: a claim of a window whose lead instant is at or past it waits
// until it is recorded (claimed), so nothing was claimed meanwhile under
// the entry before. A member heard of only later is counted from the
// moment it is.
func (n *Node) admit(h []string, now int64) []string {
	last := n.views.latest()
	noted := n.admitting
	n.admitting, n.admitDue = nil, nil
	n.admitAt = math.MaxInt64
	return slices.DeleteFunc(h, func(id string) bool {
		if id == n.cfg.NodeID {
			return false
		}
		inc := n.incOf(id)
		prev, admits := last.admits(id, inc)
		if !admits {
			return false
		}
		eff := inc + admitDelay
		if now < eff && prev == nil && !n.countedBy(id, inc) {
			// It may not count this node yet: were both to leave the
			// other out, each would claim as if the other were not
			// there. Counted now, it claims nothing until this node's
			// view names it anyway.
			return false
		}
		if now < eff {
			if n.admitting == nil {
				n.admitting = map[string]int64{}
			}
			n.admitting[id] = inc
			n.admitAt = min(n.admitAt, eff)
			n.noteClaim(eff)
			return prev == nil
		}
		if w, ok := noted[id]; ok && w == inc {
			if n.admitDue == nil {
				n.admitDue = map[string]int64{}
			}
			n.admitDue[id] = inc
		}
		return false
	})
}

// countedBy reports whether member id's process inc counts this node: the
// newest view of it that this node holds names this process. Leaving such
// a member out of this node's view for a while is safe: it consults this
// view before it claims, and claims nothing under a view that leaves it
// out.
func (n *Node) countedBy(id string, inc int64) bool {
	pv := n.peerViews[id]
	if pv == nil || pv.inc != inc {
		return false
	}
	v := pv.latest()
	if v == nil {
		return false
	}
	if _, ok := v.index(n.cfg.NodeID, n.startedAt); ok {
		return true
	}
	_, ok := v.index(n.cfg.NodeID, n.prevInc)
	return ok && n.prevInc != 0
}
