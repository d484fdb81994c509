package sim

// Membership emulation, after memberlist. Each node has its own view of
// every other node. A member not heard from (any packet, heartbeats
// included) for suspect_after becomes suspect, and dead after dead_after
// more; hearing from it again makes it alive. Views change only when the
// viewer ticks or receives, and every change is reported to the viewer with
// SetMember. Heartbeats stand in for memberlist's probes: each node sends one
// every gossip interval to every member it sees alive or suspect, and one a
// second to dead members (serf's reconnect), so a partition longer than the
// dead timeout heals. A graceful leave is seen at once by every node up at
// the time (MemberLeft); a join at once by every node up.

import (
	"time"

	"github.com/fairmesh/fairmesh"
)

type view struct {
	known     bool
	state     fairmesh.MemberState
	lastHeard int64
	lastProbe int64
}

// setView changes viewer's view of subject and tells the viewer's Node.
func (r *runner) setView(viewer, subject int, st fairmesh.MemberState) {
	v := &r.views[viewer][subject]
	v.known = true
	if v.state == st {
		return
	}
	v.state = st
	r.nodes[viewer].node.SetMember(r.nodes[subject].id, st)
	r.tr.begin(trMember, r.now)
	r.tr.int(int64(viewer))
	r.tr.int(int64(subject))
	r.tr.int(int64(st))
	r.tr.end()
	r.markEvent(r.now)
}

// introduce makes viewer see subject as alive, heard from now.
func (r *runner) introduce(viewer, subject int) {
	v := &r.views[viewer][subject]
	v.lastHeard = r.now
	if !v.known {
		v.known, v.state = true, fairmesh.MemberAlive
		r.nodes[viewer].node.SetMember(r.nodes[subject].id, fairmesh.MemberAlive)
		r.tr.begin(trMember, r.now)
		r.tr.int(int64(viewer))
		r.tr.int(int64(subject))
		r.tr.int(int64(fairmesh.MemberAlive))
		r.tr.end()
		return
	}
	r.setView(viewer, subject, fairmesh.MemberAlive)
}

// heard records that viewer received a packet from subject.
func (r *runner) heard(viewer, subject int) {
	v := &r.views[viewer][subject]
	if v.known && v.state == fairmesh.MemberLeft {
		return
	}
	if !v.known || v.state != fairmesh.MemberAlive {
		r.introduce(viewer, subject)
		return
	}
	v.lastHeard = r.now
}

// ageViews applies the suspect and dead timeouts to viewer's views. While
// the viewer suspects anyone, membership is unsettled: the window counts as
// one in which something happened (see analyze.go).
func (r *runner) ageViews(viewer int) {
	defer func() {
		for j := range r.views[viewer] {
			if v := &r.views[viewer][j]; v.known && v.state == fairmesh.MemberSuspect {
				r.markEvent(r.now)
				return
			}
		}
	}()
	for j := range r.views[viewer] {
		v := &r.views[viewer][j]
		if j == viewer || !v.known {
			continue
		}
		silent := r.now - v.lastHeard
		switch {
		case v.state == fairmesh.MemberAlive && silent > r.p.suspect:
			r.setView(viewer, j, fairmesh.MemberSuspect)
			if silent > r.p.suspect+r.p.dead {
				r.setView(viewer, j, fairmesh.MemberDead)
			}
		case v.state == fairmesh.MemberSuspect && silent > r.p.suspect+r.p.dead:
			r.setView(viewer, j, fairmesh.MemberDead)
		}
	}
}

// heartbeats sends viewer's probes.
func (r *runner) heartbeats(viewer int) {
	for j := range r.views[viewer] {
		v := &r.views[viewer][j]
		if j == viewer || !v.known {
			continue
		}
		switch v.state {
		case fairmesh.MemberAlive, fairmesh.MemberSuspect:
		case fairmesh.MemberDead:
			if r.now-v.lastProbe < int64(time.Second) {
				continue
			}
		default:
			continue
		}
		v.lastProbe = r.now
		r.send(viewer, j, pktHeartbeat, nil)
	}
}

// sees lists the members viewer sends a broadcast to: alive and suspect.
func (r *runner) sees(viewer int, into []int) []int {
	into = into[:0]
	for j := range r.views[viewer] {
		v := &r.views[viewer][j]
		if j != viewer && v.known && (v.state == fairmesh.MemberAlive || v.state == fairmesh.MemberSuspect) {
			into = append(into, j)
		}
	}
	return into
}

// aliveSeen lists the members viewer sees alive (push/pull partners).
func (r *runner) aliveSeen(viewer int, into []int) []int {
	into = into[:0]
	for j := range r.views[viewer] {
		v := &r.views[viewer][j]
		if j != viewer && v.known && v.state == fairmesh.MemberAlive {
			into = append(into, j)
		}
	}
	return into
}
