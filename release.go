package fairmesh

import (
	"github.com/fairmesh/fairmesh/bucket"
)

// Releasing idle reservations. A client's reserved share of the capacity
// protects it from others while it uses it; a client that stops for a
// while within the window uses none of what is left of it, and holding it
// would refuse others while capacity sits unused. So, in a mesh, the
// reserved part of a client that made no request for idleRelease is moved
// to the node's pool (the same capacity, now open to everyone under their
// limit), and the client keeps its limit's rights: if it comes back it
// draws from the pool like the rest. The move stays on this node, so the
// capacity the mesh holds does not change.

// idleRelease is how long a client must have been silent, in its current
// window, for its reservation to be released: a few ticks.
func (n *Node) idleRelease() int64 { return 2 * n.settle() }

// idleFor is how long client e must have been silent for its reservation
// to be released: idleRelease, or less for a client whose last window here
// brought requests every few milliseconds (eight of its mean gaps, at
// least settle): silence that long from such a client is a stop, not
// chance, and every millisecond its share idles is lost to the others.
func (n *Node) idleFor(e *bucket.Entry, period int64) int64 {
	idle := n.idleRelease()
	if d := e.Cold.Reported.Demand / demandScale; d > 0 {
		idle = min(idle, max(n.settle(), 8*period/int64(d)))
	}
	return idle
}

// releaseIdle moves idle clients' unused reservations to the pool.
func (n *Node) releaseIdle(now int64) {
	if n.pool == nil || n.alone() {
		return
	}
	pp := n.pool.Policy()
	v := now / pp.Period
	poolPin := &n.pool.Cold.Pins[v&1]
	if poolPin.Window1 != v+1 || n.portionSum(v) > n.capacityHeld(v, now) {
		// Unclaimed yet, or portions cut to fit: a portion's unused part
		// is not what its client holds.
		return
	}
	var released uint64
	n.table.Range(func(e *bucket.Entry) bool {
		seen := e.LastSeen()
		p := e.Policy()
		if now-seen < n.idleFor(e, p.Period) {
			return true
		}
		if p.Pool == nil || p.Period != pp.Period {
			return true
		}
		x := now / p.Period
		if seen < (x-1)*p.Period {
			// Silent here since before the last window: what it holds
			// here is the sliver every holder keeps for traffic that
			// moves to it, not a reservation a burst left behind.
			return true
		}
		pin := &e.Cold.Pins[x&1]
		if pin.Window1 != x+1 {
			return true
		}
		_, adm := e.Counts(x)
		if uint64(pin.Slice) <= adm {
			return true
		}
		free := uint64(pin.Slice) - adm
		// Lower the reservation first, then see what was admitted
		// meanwhile under the old one: only what is still free moves.
		pin.Slice -= uint32(free)
		n.refreshEntry(e, n.peer[e.Hash()], now)
		if _, adm2 := e.Counts(x); adm2 > adm {
			back := min(free, adm2-adm)
			pin.Slice += uint32(back)
			free -= back
			n.refreshEntry(e, n.peer[e.Hash()], now)
		}
		poolPin.Slice += uint32(free)
		n.counters.ReservationsReleased += free
		released += free
		return true
	})
	n.refreshPool(now)
	if released > 0 && n.alloc.binding && n.alloc.openWindow != v {
		// Demand fell short of what was reserved here: open the pool to
		// every client for the rest of the window (mayScavenge).
		n.alloc.openWindow = v
		n.refreshAll(now)
	}
}
