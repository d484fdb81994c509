package gossip

import (
	"time"

	"github.com/fairmesh/fairmesh"
	"github.com/fairmesh/fairmesh/clock"
)

// The quiet pace: an idle node's cost is its wakeups. At GossipInterval a
// member of a 3-node mesh wakes about fifty times a second (its ticker, its
// members poller, the beacons it receives) for nothing; at QuietInterval,
// five. A node is quiet while nothing but keepalives has moved for
// quietAfter and no decision is being made; everything that is not a
// keepalive makes it fast again at once (see Config.QuietInterval).

// quietAfter is how long a node stays at its normal pace after the last
// thing that was not a keepalive: long against the gaps of bursty, on/off
// traffic, so that a client pausing for a second does not flip the pace.
const quietAfter = 3 * time.Second

// calm reports whether this node may go (or stay) quiet as of now. Only a
// clock.CoarseClock tells whether decisions are being made (the Node
// reports its demand only once a window is over): with any other clock the
// node is never quiet.
func (m *Mesh) calm(now time.Time) bool {
	c, ok := m.clock.(*clock.CoarseClock)
	if m.cfg.QuietInterval <= 0 || !ok || !c.Asleep() {
		return false
	}
	return m.node.QuietFor(now) >= quietAfter
}

// choosePace sets the pace after a tick at now. Going quiet, it first drains the wakeups that came while it was
// fast, then looks again: a wakeup that comes after the look stays queued
// and wakes the quiet ticker at once.
func (m *Mesh) choosePace(now time.Time) {
	quiet := m.calm(now)
	was := m.quiet.Load()
	if quiet && !was {
		drain(m.node.Changed())
		drain(m.woke)
		quiet = m.calm(now)
	}
	m.quiet.Store(quiet)
	if quiet != was {
		m.log.Debug("gossip: pace", "quiet", quiet)
		select {
		case m.paced <- struct{}{}: // the poller follows the pace
		default:
		}
	}
}

// Quiet reports whether the node is at its quiet pace.
func (m *Mesh) Quiet() bool { return m.quiet.Load() }

func drain(ch <-chan struct{}) {
	select {
	case <-ch:
	default:
	}
}

// clockWakes is the channel the Node's clock signals when decisions start
// again, or nil when the clock cannot tell.
func clockWakes(c fairmesh.Clock) <-chan struct{} {
	if cc, ok := c.(*clock.CoarseClock); ok {
		return cc.Woke()
	}
	return nil
}
