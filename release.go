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
	idle := n.idleRelease()
	n.table.Range(func(e *bucket.Entry) bool {
		seen := e.LastSeen()
		if now-seen < idle {
			return true
		}
		p := e.Policy()
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
		return true
	})
	n.refreshPool(now)
}
