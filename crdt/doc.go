// Package crdt holds the replicated data types the mesh gossips: a hybrid
// logical clock, a per-node PN-counter that travels as delta-states, and a
// last-writer-wins register stamped with the clock.
//
// Everything here is a plain value driven by calls. The package does no IO,
// never reads the wall clock or a global random source, and starts no
// goroutines; none of its types is safe for concurrent use, so a caller that
// shares one across goroutines holds its own lock.
//
// # Hybrid logical clock
//
// [HLC] follows Kulkarni et al., "Logical Physical Clocks" (2014): a
// [Timestamp] pairs a physical wall time with a logical counter that breaks
// ties, so timestamps stay close to physical time yet respect causality. The
// physical clock is injected, and, after CockroachDB's hlc, a remote timestamp
// more than a configured maximum offset ahead of the local physical clock is
// refused with [ErrClockOffset] instead of being adopted. Without that bound
// one node with a fast clock would win every last-writer-wins race forever.
//
// # PN-counter and delta-state merge
//
// [PNCounter] keeps one increment total (P) and one decrement total (N) per
// node; its value is ΣP − ΣN. A node only ever raises its own entry, and merge
// takes the maximum of each entry. Because max is idempotent, commutative and
// associative, a delta may be lost, duplicated or delivered out of order
// without harm: a duplicate or stale delta raises nothing, and a later delta
// (or a full [PNCounter.State] exchange) carries the absolute values that a
// lost one would have. [PNCounter.TakeDelta] yields only the entries changed
// since the previous call, which keeps gossip messages small.
//
// A typical driving loop, one gossip interval at a time:
//
//	c := crdt.NewPNCounter()
//	c.Increment(self, 1)           // local admissions
//	send(c.TakeDelta())            // gossip what changed since last time
//	for _, d := range received() { // in any order, duplicates allowed
//		c.Merge(d)
//	}
//	if repairDue {
//		send(c.State())            // periodic full-state exchange
//	}
//
// # Last-writer-wins register
//
// [LWW] holds one value with the HLC [Timestamp] and node ID of the write
// that set it. The higher stamp wins and equal stamps are broken by the
// greater node ID, so every replica that has merged the same set of writes
// holds the same winner, whatever the order of arrival.
package crdt
