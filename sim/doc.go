// Package sim is a deterministic simulator for a fairmesh mesh. It drives
// real fairmesh.Nodes with a virtual clock (per-node skew and drift), a
// simulated network (latency, jitter, loss, duplication, reordering,
// partitions), memberlist-like failure detection, node crashes, restarts,
// pauses (the process stopped, its clock running on), joins and leaves,
// client traffic and config updates, and measures what the mesh admits
// against an ideal computed independently (ideal.go).
//
// One seed is one run, bit for bit: a run uses no goroutines, never reads
// the wall clock, draws every random number from a math/rand/v2 PCG stream
// derived from the scenario's seed (one stream per node, per client and per
// fault source), and never lets map iteration order reach a result. The
// Report's Digest is a SHA-256 of the whole event trace, so two runs of the
// same scenario can be compared with one string.
//
// The run is a discrete-event loop over a heap ordered by (time, sequence
// number). Every node ticks every gossip interval:
//
//	update membership views (suspect / dead timeouts)  -> node.SetMember
//	msgs := node.Tick(node's clock)                    -> network
//	heartbeats to every member it sees                 -> network
//	node.CheckInvariants()                             -> violations
//
// and the network delivers payloads to node.Receive. Scenarios are JSON
// (see README.md); Builtin returns the embedded ones.
package sim
