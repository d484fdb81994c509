package gossip

import (
	"slices"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/fairmesh/fairmesh"
)

// reliableSenders is how many reliable (TCP) sends may be in flight; each
// opens a connection and may wait up to Timing.TCPTimeout.
const reliableSenders = 4

type reliableSend struct {
	to  memberlist.Node
	env []byte
}

// loneInterval is how often a node alone (no other member, nobody to
// join) ticks and polls its members: it has nobody to gossip with, its
// decisions run its maintenance themselves, and a member that joins wakes
// the poller at once. An idle node alone then wakes a few times a second
// rather than twenty.
const loneInterval = time.Second

// interval is how often the ticker and the members poller run now:
// GossipInterval, QuietInterval while the node is quiet (quiet.go), or
// loneInterval while it is alone, whichever is longest.
func (m *Mesh) interval() time.Duration {
	every := m.cfg.GossipInterval
	if m.quiet.Load() {
		every = max(every, m.cfg.QuietInterval)
	}
	if len(m.cfg.Join) == 0 && len(m.ev.nodes()) <= 1 {
		every = max(every, loneInterval)
	}
	return every
}

// tick is the ticker goroutine: every GossipInterval (see interval) it runs
// the Node's Tick on the Node's clock and sends what it returns, until stop
// is closed. The poller kicks it when the members change, so that a node
// that was alone starts gossiping with one that joined at once; at the
// quiet pace, the Node's Changed and the clock's Woke do too.
func (m *Mesh) tick(stop <-chan struct{}) {
	every := m.interval()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		var changed, woke <-chan struct{}
		if m.quiet.Load() {
			changed, woke = m.node.Changed(), m.woke
		}
		select {
		case <-stop:
			return
		case <-t.C:
		case <-m.kick:
		case <-changed:
		case <-woke:
		}
		now := m.clock.Now()
		msgs := m.node.Tick(now)
		m.choosePace(now)
		if len(msgs) > 0 {
			m.send(msgs)
		}
		if now := m.interval(); now != every {
			every = now
			t.Reset(every)
		}
	}
}

// send delivers the Node's messages: To "" to every alive and suspect
// member (the address book, see events.go), To id to that member. It runs
// on the ticker goroutine and never blocks: UDP sends return at once,
// reliable ones are queued for the sender pool.
func (m *Mesh) send(msgs []fairmesh.Message) {
	peers := slices.DeleteFunc(m.ev.nodes(), func(n memberlist.Node) bool { return n.Name == m.cfg.NodeID })
	quiet := m.quiet.Load()
	for _, msg := range msgs {
		var env []byte
		if quiet {
			env = encodeQuiet(m.cfg.NodeID, m.cfg.QuietInterval, msg.Payload)
		} else {
			env = encodeMessage(m.cfg.NodeID, msg.Payload)
		}
		if msg.To == "" {
			for i := range peers {
				m.sendTo(&peers[i], env)
			}
			continue
		}
		found := false
		for i := range peers {
			if peers[i].Name == msg.To {
				m.sendTo(&peers[i], env)
				found = true
				break
			}
		}
		if !found {
			m.st.noRoute.Add(1)
		}
	}
}

// sendTo sends one envelope to one member: by UDP when it fits
// MaxPacketBytes (memberlist does not check), else through the reliable
// pool. env is shared between members and never modified.
func (m *Mesh) sendTo(to *memberlist.Node, env []byte) {
	if len(env) <= m.cfg.MaxPacketBytes {
		if err := m.ml.SendBestEffort(to, env); err != nil {
			m.st.sendErrors.Add(1)
			return
		}
		m.st.packetsSent.Add(1)
		return
	}
	select {
	case m.reliable <- reliableSend{to: *to, env: env}:
	default:
		m.st.sendQueueDrops.Add(1)
	}
}

// sendReliable is one of the reliable sender goroutines: it sends queued
// envelopes over TCP until stop is closed. Each send may block up to
// Timing.TCPTimeout.
func (m *Mesh) sendReliable(stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case r := <-m.reliable:
			if err := m.ml.SendReliable(&r.to, r.env); err != nil {
				m.st.sendErrors.Add(1)
				continue
			}
			m.st.reliableSent.Add(1)
		}
	}
}
