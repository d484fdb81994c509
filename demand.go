package fairmesh

import (
	"math"

	"github.com/fairmesh/fairmesh/bucket"
)

// lag is how many windows old the demand that splits a window is. With
// peers it is two: reports of window w−2 have had a whole window to reach
// every node, so all nodes split window w from the same numbers.
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
// just joined, or this node after a restart): its reports may simply not
// have arrived, so it is taken to have the average demand of the others,
// the same way on every node, itself included.
func (n *Node) demandVector(e *bucket.Entry, rc *remoteClient, w, period int64) (att []uint64, total uint64, known bool) {
	return n.demandOver(n.holders, e, rc, w, period)
}

// demandOver is demandVector over the holders named in ids (sorted).
func (n *Node) demandOver(ids []string, e *bucket.Entry, rc *remoteClient, w, period int64) (att []uint64, total uint64, known bool) {
	att = n.scratch.att[:0]
	unknown := 0
	recentAfter := (w+n.lag())*period - 3*period
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
		if !k && n.aliveAt(id) > recentAfter {
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

// ownDemand is this node's own demand in force for window w. While a slice
// holder is suspect, the peers on the other side of the silence cannot have
// this node's reports sent since it last heard from them: using those would
// make this node's split differ from theirs, and the slices sum past the
// allowance. So it uses the newest report those peers must have had, and
// failing that the smaller of its two reports.
func (n *Node) ownDemand(e *bucket.Entry, w, period int64) (uint64, bool) {
	c := e.Cold
	if n.silentSince == math.MaxInt64 {
		return inForce(c.Reported, c.PrevReported, w)
	}
	seen := (n.silentSince-2*int64(n.cfg.MaintainInterval))/period - 1
	if d, ok := inForce(c.Reported, c.PrevReported, min(w, seen)); ok {
		return d, true
	}
	if c.Reported.Window < 0 {
		return 0, false
	}
	if c.PrevReported.Window < 0 {
		return 0, true
	}
	return min(c.Reported.Demand, c.PrevReported.Demand), true
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
