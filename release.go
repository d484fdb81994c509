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
	if released > 0 && n.alloc.binding {
		n.lendReleased(v, poolPin, now)
	}
}

// lendReleased moves what idle clients left to the pool in capacity
// window v on to the reservations of the weighted clients here that are
// expected to ask, in the rest of the window, for more than they have left
// of theirs, when what is spare covers all of them: the capacity no longer
// binds among the weighted clients here. Left in the pool, it would
// wait for the window's last quarter (mayScavenge) and mostly idle: an
// on/off client going off idled a quarter of the capacity in such windows.
// Nothing is lent while weighted clients that reserve nothing here draw on
// the pool: it is theirs first (mayScavenge).
func (n *Node) lendReleased(v int64, poolPin *bucket.Pin, now int64) {
	P := int64(n.cfg.CapacityPeriod)
	_, used := n.pool.Counts(v)
	held := n.pool.Policy().Slice
	if held <= used {
		return
	}
	if n.selfIdx < len(n.alloc.unreservedBy) && n.alloc.unreservedBy[n.selfIdx] > 0 {
		// Weighted clients that reserve nothing here (quotas, clients
		// with a few requests per node and window) draw on the pool as
		// they come, by chance more than by rate: no estimate of what
		// they will want is safe to lend past.
		return
	}
	rest := float64((v+1)*P-now) / float64(P)
	spare := float64(held-used) - minShortPortion
	if spare < 1 {
		return
	}
	weighted, total := n.lendWants(P, rest, now, true)
	if total > spare {
		// The weighted clients here still want more than is spare: the
		// capacity still binds among them, and lending would hand the
		// spare to whoever asks fastest rather than by weight.
		return
	}
	n.lend(weighted, total, total, poolPin, now)
	// What the weighted clients are not expected to want is what they
	// leave: the zero-weight clients' to share, now rather than in the
	// window's last tenth.
	scavengers, want := n.lendWants(P, rest, now, false)
	n.lend(scavengers, want, min(want, spare-total), poolPin, now)
	n.refreshPool(now)
}

// lendWant is a client that is expected to ask, in the rest of the window,
// for more than it has left of its reservation.
type lendWant struct {
	e    *bucket.Entry
	more float64
}

// lendWants lists the clients of the capacity's window length, weighted
// ones or zero-weight ones, that are expected to ask for more than they
// have left of their reservation in the rest (a fraction) of the window,
// by their demand in their last window here, and the sum of that.
// Weighted clients that reserve nothing here draw from the pool already.
func (n *Node) lendWants(P int64, rest float64, now int64, weighted bool) ([]lendWant, float64) {
	var wants []lendWant
	total := 0.0
	n.table.Range(func(e *bucket.Entry) bool {
		p := e.Policy()
		x := now / p.Period
		pin := &e.Cold.Pins[x&1]
		if p.Pool == nil || p.Period != P || pin.Window1 != x+1 || (n.effective(e.Hash()).weight > 0) != weighted || (weighted && pin.Slice == 0) {
			return true
		}
		_, adm := e.Counts(x)
		left := float64(0)
		if uint64(pin.Slice) > adm {
			left = float64(uint64(pin.Slice) - adm)
		}
		asked := float64(e.Cold.Reported.Demand) / demandScale * rest
		// Never past its part of its own limit: a reservation it could not
		// admit under would hold capacity nobody can use.
		room := float64(pin.Limit) - float64(pin.Slice)
		more := min(asked-left, room)
		if more <= 0 {
			return true
		}
		// Every expected request counts against what is spare, a client
		// with less than one more expected too: many such clients (a few
		// requests per node and window, arriving by chance) are what a
		// released reservation mostly comes back to.
		total += more
		if more >= 1 {
			wants = append(wants, lendWant{e, more})
		}
		return true
	})
	return wants, total
}

// lend moves give units of the pool's pin to the reservations of wants,
// in proportion to what each wants more (of total, which may count more
// clients than wants lists).
func (n *Node) lend(wants []lendWant, total, give float64, poolPin *bucket.Pin, now int64) {
	if total <= 0 || give < 1 {
		return
	}
	for _, w := range wants {
		g := uint32(give * w.more / total)
		if g == 0 || g > poolPin.Slice {
			continue
		}
		x := now / w.e.Policy().Period
		w.e.Cold.Pins[x&1].Slice += g
		poolPin.Slice -= g
		n.refreshEntry(w.e, n.peer[w.e.Hash()], now)
	}
}
