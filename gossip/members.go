package gossip

import (
	"log/slog"
	"time"

	"github.com/fairmesh/fairmesh"
)

// memberView is what the poller last told the Node about one member.
type memberView struct {
	state  fairmesh.MemberState
	since  time.Time // when it (last) became alive in this view
	goneAt time.Time // when it became dead or left
	// deathLogged: its death was logged (deathLogDelay after it went,
	// unless a leave notice came first).
	deathLogged bool
}

// deathLogDelay is how long a departed member may take to be known as left
// before its death is logged: a member that stops cleanly sends a leave
// notice, which can arrive after memberlist reports it gone, and a clean
// stop must not read as a death in its peers' logs.
const deathLogDelay = 2 * time.Second

func gone(s fairmesh.MemberState) bool { return s == fairmesh.MemberDead || s == fairmesh.MemberLeft }

// leaveGrace is how long a departed member stays in the poller's view, so
// that a leave notice overtaken by memberlist's own departure message (they
// travel by different paths) still turns "dead" into "left".
const leaveGrace = 10 * time.Second

// watchMembers is the members poller goroutine: it keeps the Node's member
// states in line with memberlist until stop is closed. Every GossipInterval,
// and at once when memberlist announces a join or a departure, it:
//
//   - applies the queued events in order (a member that died and came back
//     between two polls is seen dead, then alive, so the Node sends it its
//     full state again);
//   - lists memberlist's members (alive and suspect ones, from the address
//     book kept by the event delegate, see events.go): each is alive,
//     or suspect when nothing came from it for SuspectAfter (see
//     liveness.go for why memberlist's own suspicion cannot be used);
//   - reports as dead any member of its view that memberlist no longer
//     lists and no event explained (its event was dropped);
//   - reports a departed member "left" rather than "dead" when it sent a
//     leave notice since it last became alive, even if the notice came
//     after the departure.
func (m *Mesh) watchMembers(stop <-chan struct{}) {
	every := m.interval()
	t := time.NewTicker(every)
	defer t.Stop()
	view := map[string]*memberView{}
	tell := func(id string, was fairmesh.MemberState, known bool, s fairmesh.MemberState) {
		m.node.SetMember(id, s)
		m.st.memberChanges.Add(1)
		if v := view[id]; s != fairmesh.MemberDead { // a death is logged later, see deathLogDelay
			logMemberChange(m.log, id, was, known, s, v != nil && v.deathLogged)
		}
		select {
		case m.kick <- struct{}{}: // the ticker adapts its pace at once
		default:
		}
	}
	set := func(id string, s fairmesh.MemberState, now time.Time) {
		if id == m.cfg.NodeID || s == wake {
			return
		}
		v, known := view[id]
		was := fairmesh.MemberState(-1)
		if known {
			was = v.state
		}
		switch {
		case gone(s):
			if !known {
				return
			}
			if v.state == fairmesh.MemberDead && m.live.left(id, v.since) {
				s = fairmesh.MemberLeft
			}
			if v.state == s || v.state == fairmesh.MemberLeft {
				return
			}
			if !gone(v.state) {
				v.goneAt = now
			}
			v.state = s
		case !known || gone(v.state):
			view[id] = &memberView{state: s, since: now}
		case v.state == s:
			return
		default:
			v.state = s
		}
		tell(id, was, known && !gone(was), s)
	}
	for {
		select {
		case <-stop:
			return
		case ev := <-m.ev.ch:
			now := time.Now()
			set(ev.id, ev.state, now)
			for drained := false; !drained; {
				select {
				case ev := <-m.ev.ch:
					set(ev.id, ev.state, now)
				default:
					drained = true
				}
			}
		case <-t.C:
		case <-m.paced:
		}
		now := time.Now()
		present := map[string]bool{}
		for _, n := range m.ev.nodes() {
			if n.Name == m.cfg.NodeID {
				continue
			}
			present[n.Name] = true
			s := fairmesh.MemberAlive
			if v := view[n.Name]; v != nil && !gone(v.state) {
				last := v.since
				h, pace := m.live.lastHeard(n.Name)
				if h.After(last) {
					last = h
				}
				// A member at its quiet pace sends every pace: it may be
				// silent that long, and one lost packet more, before the
				// usual allowance starts.
				if now.Sub(last) > m.cfg.SuspectAfter+2*pace {
					s = fairmesh.MemberSuspect
				}
			}
			set(n.Name, s, now)
		}
		for id, v := range view {
			switch {
			case !gone(v.state) && !present[id]:
				set(id, fairmesh.MemberDead, now)
			case gone(v.state):
				set(id, v.state, now) // a late leave notice turns dead into left
				if v.state == fairmesh.MemberDead && !v.deathLogged && now.Sub(v.goneAt) >= deathLogDelay {
					v.deathLogged = true
					logMemberChange(m.log, id, fairmesh.MemberAlive, true, fairmesh.MemberDead, false)
				}
				if now.Sub(v.goneAt) > leaveGrace {
					delete(view, id)
				}
			}
		}
		m.live.prune(func(id string) bool { return view[id] != nil })
		if now := m.interval(); now != every {
			every = now
			t.Reset(every)
		}
	}
}

// logMemberChange logs a member joining, leaving and dying, once each: the
// poller tells the Node only of changes, and a member that flaps between
// alive and suspect is logged at debug level only (suspicion is routine on
// a lossy network; the node acts on it by itself). deathLogged says a
// member now known to have left was logged as dead before.
func logMemberChange(log *slog.Logger, id string, was fairmesh.MemberState, present bool, s fairmesh.MemberState, deathLogged bool) {
	switch {
	case s == fairmesh.MemberAlive && !present:
		log.Info("member joined", "member", id)
	case s == fairmesh.MemberLeft && was == fairmesh.MemberDead && deathLogged:
		log.Info("member left (its leave notice came after it was taken for dead)", "member", id)
	case s == fairmesh.MemberLeft:
		log.Info("member left", "member", id)
	case s == fairmesh.MemberDead:
		log.Warn("member died: unreachable", "member", id)
	default:
		log.Debug("member state", "member", id, "state", s.String())
	}
}
