// Package fairmesh is a distributed rate limiter with weighted fair sharing.
//
// Each client (a string ID) has a weight and its own limit (N requests per
// window of length T, windows aligned on mesh time). The protected API has
// a capacity shared among active clients by weighted max-min fairness;
// zero-weight clients keep a small floor and never starve. Nodes form a
// mesh with no central store: each admits from its local slice of every
// client's allowance, and they gossip demand and config.
//
// A Node is the deterministic core: it never starts a goroutine, never
// sleeps, and reads time only through its Clock. Used alone it needs no
// driver:
//
//	n, _ := fairmesh.NewNode(fairmesh.Config{Capacity: 1000})
//	_ = n.UpdateClientWeight("gold", 3)
//	if n.Allow("gold") { … }
//
// In a mesh, a runtime (package gossip, or the simulator in package sim)
// drives it:
//
//	n.SetMember("n2", fairmesh.MemberAlive)  // from membership events
//	for now := range ticker.C {               // every gossip interval
//		for _, m := range n.Tick(now) {
//			send(m.To, m.Payload)             // "" = every member
//		}
//	}
//	n.Receive(from, payload)                  // for every payload received
//	push(n.FullState())                       // periodic anti-entropy
//
// How the mesh shares an allowance: every node reports, per client, the
// demand (attempts) it saw in each finished window, but only when it moved
// by more than ReportThreshold. Window w of a client is split among the
// slice holders (this node, alive members, and suspect ones under the
// Conservative policy) in proportion to the demand each reported for
// window w−2 — numbers every node has had a whole window to receive — so
// every node computes the same split and the slices sum to the allowance.
// The allowance is the client's own limit, bounded by its weighted fair
// share of the capacity, computed at each capacity window from the same
// reported demand.
package fairmesh
