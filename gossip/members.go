package gossip

import (
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/fairmesh/fairmesh"
)

// watchMembers is the members poller goroutine: it keeps the Node's member
// states equal to memberlist's view until stop is closed. memberlist fires
// no event for suspicion, so it polls Members() (which lists alive and
// suspect members with their State) every GossipInterval, and wakes early on
// join/leave events, which it applies first and in order, so that a member
// that died and came back between two polls is seen dead, then alive (the
// Node then sends it its full state).
func (m *Mesh) watchMembers(stop <-chan struct{}) {
	t := time.NewTicker(m.cfg.GossipInterval)
	defer t.Stop()
	view := map[string]fairmesh.MemberState{} // alive and suspect members
	gone := map[string]fairmesh.MemberState{} // dead/left since the last poll
	set := func(id string, s fairmesh.MemberState) {
		if id == m.cfg.NodeID || s == wake {
			return
		}
		old, known := view[id]
		switch {
		case s == fairmesh.MemberDead || s == fairmesh.MemberLeft:
			gone[id] = s
			if !known {
				return
			}
			delete(view, id)
		case known && old == s:
			return
		default:
			view[id] = s
		}
		m.node.SetMember(id, s)
		m.st.memberChanges.Add(1)
	}
	for {
		select {
		case <-stop:
			return
		case ev := <-m.ev.ch:
			set(ev.id, ev.state)
			// Drain what else is queued before polling.
			for drained := false; !drained; {
				select {
				case ev := <-m.ev.ch:
					set(ev.id, ev.state)
				default:
					drained = true
				}
			}
		case <-t.C:
		}
		present := map[string]bool{}
		for _, n := range m.ml.Members() {
			if n.Name == m.cfg.NodeID {
				continue
			}
			present[n.Name] = true
			s := fairmesh.MemberAlive
			if n.State == memberlist.StateSuspect {
				s = fairmesh.MemberSuspect
			}
			set(n.Name, s)
		}
		for id := range view {
			if !present[id] {
				s, ok := gone[id]
				if !ok {
					s = fairmesh.MemberDead // its event was dropped
				}
				set(id, s)
			}
		}
		clear(gone)
	}
}
