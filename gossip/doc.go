// Package gossip runs a fairmesh.Node on a real network: hashicorp/memberlist
// provides membership, failure detection, transport and encryption; this
// package owns the goroutines that drive the Node and holds no limiter logic.
//
// A Mesh owns, besides memberlist's own goroutines:
//
//	ticker    every GossipInterval: node.Tick(now), then send what it returns
//	          (best-effort UDP when the envelope fits MaxPacketBytes, reliable
//	          TCP through a small bounded pool of senders otherwise)
//	receiver  drains the bounded inbound queue into node.Receive
//	members   maps memberlist's view (alive, suspect, dead, left) to
//	          node.SetMember, woken by memberlist's join/leave events
//	joiner    joins Config.Join with backoff, then re-joins seeds that drop
//	          out of the member list (a partition longer than memberlist's
//	          memory of dead nodes would otherwise never heal)
//
// memberlist's callbacks (NotifyMsg, MergeRemoteState, the event delegate)
// never merge inline and never block: they decode the envelope, copy, and
// hand over to the queues above, dropping and counting when a queue is full.
//
// Every payload travels in an envelope that names its sender, since
// memberlist does not say who sent a message (see envelope.go). memberlist
// has no per-node identity: any holder of the gossip key can claim any node
// ID, so the key is the mesh's only credential.
//
//	m, err := gossip.New(ctx, cfg)
//	defer m.Close()
//	if m.Allow("client-42") { … }
package gossip
