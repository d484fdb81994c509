package fairmesh

import (
	"slices"
	"time"

	"github.com/fairmesh/fairmesh/crdt"
)

// observe adopts a remote stamp as mesh time when it is ahead of ours but
// within MaxClockOffset: a lagging node's windows then start with the
// mesh's. A stamp further ahead is counted and logged, never adopted: one
// fast clock must not drag the whole mesh. The guard is measured from this
// node's mesh time, so a node can follow the mesh in steps.
//
// One exception: when most peers are ahead of this node by more than the
// guard, it is this node's clock that is wrong, and it adopts the median of
// its peers' clocks. A single fast clock is never the median of three or
// more, so it still cannot drag anyone.
func (n *Node) observe(from string, s crdt.Timestamp) {
	// The exact clock, not the fast path's coarse one: a reading that lags
	// by up to a millisecond would make every peer look ahead, and nodes
	// adopting each other's lead would drive mesh time forward for ever.
	local := n.cfg.Clock.Now().UnixNano()
	if n.peerAhead == nil {
		n.peerAhead = map[string]int64{}
	}
	if len(n.peerAhead) < maxTrackedPeers || n.peerAhead[from] != 0 {
		n.peerAhead[from] = s.WallTime - local
	}
	ahead := s.WallTime - (local + n.offset.Load())
	switch {
	case ahead <= adoptBand:
		// Within the band: scheduling and network noise, not a clock
		// that is behind. Adopting it would feed back, since peers adopt
		// this node's mesh time in turn.
	case ahead <= int64(n.cfg.MaxClockOffset):
		n.offset.Add(ahead - adoptBand)
	default:
		if med := n.medianPeerAhead() - adoptBand; med > n.offset.Load() {
			n.offset.Store(med)
		} else {
			n.counters.ClockOffsetRejects++
			n.log.Warn("fairmesh: remote clock too far ahead, not adopted", "from", from, "ahead", time.Duration(ahead))
			return
		}
	}
	n.observeStamp(s)
}

// adoptBand is how far ahead a peer's clock must be before this node
// adopts it, and what it leaves out when it does: mesh time then cannot
// creep forward on noise (each node adopting the others' lead, which
// includes its own), and windows still agree to within it.
const adoptBand = int64(2 * time.Millisecond)

// maxTrackedPeers bounds the per-peer clock table.
const maxTrackedPeers = 1024

// medianPeerAhead is the median of how far each live peer's clock was
// ahead of this node's local clock when last heard from; it counts only
// when there are at least two peers, so that a majority exists.
func (n *Node) medianPeerAhead() int64 {
	var xs []int64
	for id, a := range n.peerAhead {
		if st, ok := n.mem[id]; ok && (st == MemberAlive || st == MemberSuspect) {
			xs = append(xs, a)
		}
	}
	if len(xs) < 2 {
		return 0
	}
	slices.Sort(xs)
	return xs[(len(xs)-1)/2]
}

func (n *Node) observeStamp(s crdt.Timestamp) {
	if _, err := n.hlc.Update(s); err != nil {
		// Counted in observe for message stamps; config stamps that are too
		// far ahead still merge (LWW needs them to converge) but do not
		// move this node's clock.
		return
	}
}
