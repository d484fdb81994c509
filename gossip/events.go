package gossip

import (
	"github.com/hashicorp/memberlist"

	"github.com/fairmesh/fairmesh"
)

// memberEvent is one membership change as memberlist announced it.
type memberEvent struct {
	id    string
	state fairmesh.MemberState
}

// events is the Mesh's memberlist.EventDelegate. memberlist calls it while
// holding its node lock: it must not block and must not call back into
// memberlist (Members() would deadlock). It only pushes to a bounded
// channel; when that is full the event is dropped and counted, and the
// members poller catches up from its next Members() snapshot.
type events struct {
	ch chan memberEvent
	st *stats
}

var _ memberlist.EventDelegate = (*events)(nil)

func (e *events) push(id string, s fairmesh.MemberState) {
	select {
	case e.ch <- memberEvent{id, s}:
	default:
		e.st.eventDrops.Add(1)
	}
}

// NotifyJoin: a member became alive.
func (e *events) NotifyJoin(n *memberlist.Node) { e.push(n.Name, fairmesh.MemberAlive) }

// NotifyLeave: a member is gone; n.State tells a crash (dead) from a
// graceful leave (left).
func (e *events) NotifyLeave(n *memberlist.Node) {
	s := fairmesh.MemberDead
	if n.State == memberlist.StateLeft {
		s = fairmesh.MemberLeft
	}
	e.push(n.Name, s)
}

// NotifyUpdate: a member's metadata or address changed; fairmesh has no
// metadata, so it only wakes the poller.
func (e *events) NotifyUpdate(n *memberlist.Node) { e.push(n.Name, wake) }

// wake is an event that changes nothing but makes the poller poll now.
const wake = fairmesh.MemberState(-1)
