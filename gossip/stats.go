package gossip

import "sync/atomic"

// Stats are a Mesh's cumulative runtime counts, for monitoring. The Node's
// own counts (messages merged, dropped as undecodable, …) are in
// Node().Status().Counters.
type Stats struct {
	PacketsSent     uint64 // envelopes sent by best-effort UDP (one per member)
	ReliableSent    uint64 // envelopes sent by reliable TCP
	SendErrors      uint64 // sends memberlist refused or that failed
	SendQueueDrops  uint64 // reliable sends dropped: send queue full
	NoRoute         uint64 // messages for a member memberlist does not list
	Received        uint64 // envelopes received and queued for the Node
	Garbage         uint64 // envelopes that failed to decode, dropped
	QueueDrops      uint64 // envelopes dropped: inbound queue full
	StatesSent      uint64 // full states handed to memberlist's push/pull
	StateTruncated  uint64 // payloads left out of a full state (MaxStateBytes)
	MemberChanges   uint64 // membership changes passed to the Node
	EventDrops      uint64 // membership events dropped (the poll catches up)
	JoinAttempts    uint64 // join and re-join attempts
	FailedJoins     uint64 // join attempts that reached nobody
	DeliveredToNode uint64 // payloads handed to Node.Receive
}

// stats are the live counters behind Stats.
type stats struct {
	packetsSent, reliableSent, sendErrors, sendQueueDrops, noRoute  atomic.Uint64
	received, garbage, queueDrops, statesSent, stateTruncated       atomic.Uint64
	memberChanges, eventDrops, joinAttempts, failedJoins, delivered atomic.Uint64
}

func (s *stats) snapshot() Stats {
	return Stats{
		PacketsSent: s.packetsSent.Load(), ReliableSent: s.reliableSent.Load(),
		SendErrors: s.sendErrors.Load(), SendQueueDrops: s.sendQueueDrops.Load(),
		NoRoute: s.noRoute.Load(), Received: s.received.Load(), Garbage: s.garbage.Load(),
		QueueDrops: s.queueDrops.Load(), StatesSent: s.statesSent.Load(),
		StateTruncated: s.stateTruncated.Load(), MemberChanges: s.memberChanges.Load(),
		EventDrops: s.eventDrops.Load(), JoinAttempts: s.joinAttempts.Load(),
		FailedJoins: s.failedJoins.Load(), DeliveredToNode: s.delivered.Load(),
	}
}
