package fairmesh

import (
	"math"
	"time"

	"github.com/fairmesh/fairmesh/bucket"
)

// lag is how many windows old the demand that guides a window's
// reservations and gifts is. With peers it is two: reports of window w−2
// have had a whole window to reach every node, so nodes plan window w from
// the same numbers.
func (n *Node) lag() int64 {
	if len(n.holders) == 1 {
		return 1
	}
	return 2
}

// inForce returns the demand a node's two newest reports put in force for
// window w: the newest report of a window at or before w. ok is false when
// there is none.
func inForce(newest, prev bucket.Report, w int64) (demand uint64, ok bool) {
	switch {
	case newest.Window >= 0 && newest.Window <= w:
		return newest.Demand, true
	case prev.Window >= 0 && prev.Window <= w:
		return prev.Demand, true
	}
	return 0, false
}

// demandVector returns the demand in force for window w of a client at each
// slice holder, their total, and whether any holder has a report in force.
// A holder with no report in force is taken to have no demand, unless it
// became alive within the last three windows (a member that came back or
// just joined, or this node after a restart) and none of its reports has
// arrived yet: they may simply be on their way, so it is taken to have the
// average demand of the others, the same way on every node, itself
// included.
func (n *Node) demandVector(e *bucket.Entry, rc *remoteClient, w, period int64) (att []uint64, total uint64, known bool) {
	return n.demandOver(n.holders, e, rc, w, period)
}

// demandOver is demandVector over the holders named in ids (sorted).
//
// While some holder has been silent for a few ticks (a partition starting,
// a crash), the reports sent since cannot have crossed the silence: every
// node then plans by the reports of windows that ended, and settled,
// before it began, which both sides of it hold alike.
func (n *Node) demandOver(ids []string, e *bucket.Entry, rc *remoteClient, w, period int64) (att []uint64, total uint64, known bool) {
	att = n.scratch.att[:0]
	unknown := 0
	recentAfter := (w+n.lag())*period - 3*period
	if s := n.silence(); s != math.MaxInt64 {
		w = min(w, floorDivInt(s-n.settle(), period)-1)
	}
	for _, id := range ids {
		var a uint64
		var k bool
		if id == n.cfg.NodeID {
			if e != nil {
				a, k = n.ownDemand(e, w, period)
			}
		} else if rc != nil {
			if r := rc.of(id); r != nil {
				a, k = inForce(r.newest, r.prev, w)
			}
		}
		if !k && n.aliveAt(id) > recentAfter && !n.reportedBy[id] {
			a = unknownDemand
			unknown++
		}
		att = append(att, a)
		total += a
		known = known || k
	}
	if unknown > 0 && unknown < len(att) {
		known := total - uint64(unknown)*unknownDemand
		avg := known / uint64(len(att)-unknown)
		total = known
		for i := range att {
			if att[i] == unknownDemand {
				att[i] = avg
				total += avg
			}
		}
	} else if unknown == len(att) {
		for i := range att {
			att[i] = 0
		}
		total = 0
	}
	if unknown > 0 {
		known = known || unknown < len(att)
	}
	n.scratch.att = att
	return att, total, known
}

// ownDemand is this node's own demand in force for window w: by the same
// rule as every other holder's (demandOver moves w before a silence), so
// that nodes on both sides of one plan by the same numbers.
func (n *Node) ownDemand(e *bucket.Entry, w, period int64) (uint64, bool) {
	return inForce(e.Cold.Reported, e.Cold.PrevReported, w)
}

// aliveAt is the mesh time at which a holder last became alive (this node:
// when it started).
func (n *Node) aliveAt(id string) int64 {
	if id == n.cfg.NodeID {
		return n.startedAt
	}
	return n.aliveSince[id]
}

// unknownDemand marks a holder without a report while a vector is built.
const unknownDemand = math.MaxUint64 / 1024

// silence is the earliest instant since which some holder has not been
// heard from, counting only holders suspect or silent for silentTicks
// ticks; math.MaxInt64 when there is none.
//
// A member that became alive in the last silentSettled is not counted: a
// mesh that is forming (members joining one after another, their first
// words still in flight) is not a mesh being cut.
func (n *Node) silence() int64 {
	s := n.silentSince
	now := n.meshNow()
	quiet := now - max(silentTicks*n.tickInterval(), int64(silentMin))
	for _, id := range n.holders {
		at, ok := n.lastHeard[id]
		if !ok || at >= quiet || now-n.aliveSince[id] < int64(silentSettled) {
			continue
		}
		s = min(s, at)
	}
	return s
}

const (
	// silentTicks is how many ticks without a word make a holder silent:
	// a few lost packets in a row do not, a partition does within about
	// half a second; never less than silentMin.
	silentTicks = 4
	silentMin   = 300 * time.Millisecond
	// silentSettled is how long a member must have been alive before its
	// silence counts.
	silentSettled = 2 * time.Second
)

func floorDivInt(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
