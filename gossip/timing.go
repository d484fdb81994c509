package gossip

import (
	"errors"
	"time"

	"github.com/hashicorp/memberlist"
)

// Timing is memberlist's failure-detection and dissemination profile. Faster
// probing detects a crash sooner (and so reclaims a dead node's slices
// sooner, see fairmesh.Conservative) at the cost of more packets and more
// false suspicions on a loaded machine. A node is declared dead about
// ProbeInterval·(members) + SuspicionMult·max(1, log10(members))·ProbeInterval
// after it stops answering; memberlist shortens the suspicion as other
// members confirm it, down from SuspicionMaxTimeoutMult times that.
type Timing struct {
	// ProbeInterval is how often this node probes one random member.
	ProbeInterval time.Duration
	// ProbeTimeout is how long a probe waits for an ack before indirect
	// probes; keep it above the 99th percentile round trip.
	ProbeTimeout time.Duration
	// SuspicionMult scales the time a suspect has to refute before it is
	// declared dead.
	SuspicionMult int
	// SuspicionMaxTimeoutMult bounds the suspicion timeout, as a multiple
	// of its minimum, while few members have confirmed it.
	SuspicionMaxTimeoutMult int
	// IndirectChecks is how many members are asked to probe a member that
	// did not answer directly.
	IndirectChecks int
	// RetransmitMult scales how often memberlist re-gossips its own
	// membership messages (not fairmesh's payloads: those are sent to every
	// member directly).
	RetransmitMult int
	// GossipNodes is how many members each membership gossip round reaches.
	GossipNodes int
	// MembershipGossipInterval is how often memberlist gossips membership
	// changes (fairmesh's own interval is Config.GossipInterval).
	MembershipGossipInterval time.Duration
	// TCPTimeout bounds every TCP dial and exchange: push/pull, reliable
	// sends, joins, TCP fallback probes. Close may wait this long for a
	// reliable send in flight.
	TCPTimeout time.Duration
	// GossipToTheDeadTime is how long membership gossip still goes to dead
	// members, so that a short partition heals by itself.
	GossipToTheDeadTime time.Duration
	// AwarenessMaxMultiplier bounds how far a node that sees itself as slow
	// (missed acks) stretches its probe interval and timeouts.
	AwarenessMaxMultiplier int
	// DeadNodeReclaimTime lets a dead node's name come back at a different
	// address after this long (0: never; a node restarted at the same
	// address needs nothing).
	DeadNodeReclaimTime time.Duration
}

// LANTiming is memberlist.DefaultLANConfig's profile: crash to dead in
// about 5–7 s. It is Config's default.
func LANTiming() Timing { return timingOf(memberlist.DefaultLANConfig()) }

// LocalTiming is memberlist.DefaultLocalConfig's profile, for nodes on one
// host or a fast, quiet LAN.
func LocalTiming() Timing { return timingOf(memberlist.DefaultLocalConfig()) }

// FastTiming is a profile for in-process tests on loopback: a crash is
// declared dead in about 1–3 s. Too eager for a real network.
func FastTiming() Timing {
	return Timing{
		ProbeInterval:            250 * time.Millisecond,
		ProbeTimeout:             150 * time.Millisecond,
		SuspicionMult:            3,
		SuspicionMaxTimeoutMult:  2,
		IndirectChecks:           2,
		RetransmitMult:           3,
		GossipNodes:              3,
		MembershipGossipInterval: 50 * time.Millisecond,
		TCPTimeout:               time.Second,
		GossipToTheDeadTime:      10 * time.Second,
		AwarenessMaxMultiplier:   4,
	}
}

func timingOf(c *memberlist.Config) Timing {
	return Timing{
		ProbeInterval:            c.ProbeInterval,
		ProbeTimeout:             c.ProbeTimeout,
		SuspicionMult:            c.SuspicionMult,
		SuspicionMaxTimeoutMult:  c.SuspicionMaxTimeoutMult,
		IndirectChecks:           c.IndirectChecks,
		RetransmitMult:           c.RetransmitMult,
		GossipNodes:              c.GossipNodes,
		MembershipGossipInterval: c.GossipInterval,
		TCPTimeout:               c.TCPTimeout,
		GossipToTheDeadTime:      c.GossipToTheDeadTime,
		AwarenessMaxMultiplier:   c.AwarenessMaxMultiplier,
		DeadNodeReclaimTime:      c.DeadNodeReclaimTime,
	}
}

func (t Timing) apply(c *memberlist.Config) {
	c.ProbeInterval = t.ProbeInterval
	c.ProbeTimeout = t.ProbeTimeout
	c.SuspicionMult = t.SuspicionMult
	c.SuspicionMaxTimeoutMult = t.SuspicionMaxTimeoutMult
	c.IndirectChecks = t.IndirectChecks
	c.RetransmitMult = t.RetransmitMult
	c.GossipNodes = t.GossipNodes
	c.GossipInterval = t.MembershipGossipInterval
	c.TCPTimeout = t.TCPTimeout
	c.GossipToTheDeadTime = t.GossipToTheDeadTime
	c.AwarenessMaxMultiplier = t.AwarenessMaxMultiplier
	c.DeadNodeReclaimTime = t.DeadNodeReclaimTime
}

func (t Timing) validate() error {
	switch {
	case t.ProbeInterval <= 0 || t.ProbeTimeout <= 0 || t.MembershipGossipInterval <= 0 ||
		t.TCPTimeout <= 0 || t.GossipToTheDeadTime <= 0:
		return errors.New("gossip: Timing intervals and timeouts must be positive")
	case t.ProbeTimeout >= t.ProbeInterval:
		return errors.New("gossip: Timing.ProbeTimeout must be shorter than ProbeInterval")
	case t.SuspicionMult < 1 || t.SuspicionMaxTimeoutMult < 1 || t.GossipNodes < 1 ||
		t.RetransmitMult < 1 || t.IndirectChecks < 0 || t.AwarenessMaxMultiplier < 1:
		return errors.New("gossip: Timing multipliers must be at least 1 (IndirectChecks at least 0)")
	case t.DeadNodeReclaimTime < 0:
		return errors.New("gossip: Timing.DeadNodeReclaimTime is negative")
	}
	return nil
}
