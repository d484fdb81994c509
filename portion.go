package fairmesh

import (
	"github.com/fairmesh/fairmesh/bucket"
)

// Reservations. While demand exceeds the capacity, each client's fair share
// is reserved for it, so that a greedy client cannot take a light one's
// share first. A reservation is not claimed from the mesh: each node
// reserves, out of the capacity it holds (its claimed part, moved by
// transfers, ahead.go), each client's fair share in proportion to the
// demand the client reported here — its portion. What the portions leave
// of the capacity held is the node's pool. The capacity the mesh holds is
// therefore only what the nodes claimed and moved, however their pictures
// of the shares differ; a node whose portions exceed what it holds scales
// them all down to fit.

// portionsOf is the sum of a node's portions in one capacity window; and,
// when they sum past the capacity it holds, the sum of them cut to fit, and
// what it held then (the cut sum is stale once that changes).
type portionsOf struct {
	window1 int64 // the window plus one; 0: none
	sum     uint64
	cutSum  uint64
	cutFor  uint64
	// cutHash names the client whose portion alone absorbs the cut (the
	// largest, when it can): 0 when all are cut in proportion.
	cutHash uint64
}

// portionOf is this node's reservation for client e (config c) in window
// x of its own length: zero unless the capacity binds, the client's window
// is the capacity's or divides it (reserves), and its portion was computed
// for the capacity window x lies in.
func (n *Node) portionOf(e *bucket.Entry, c effConf, x int64) uint64 {
	if e == nil || n.cfg.Capacity == 0 || !n.reserves(c.period) {
		return 0
	}
	if n.alone() {
		return uint64(e.Cold.Portion)
	}
	switch v := n.capacityWindow(x, c.period); {
	case v == n.alloc.portionFor:
		return uint64(e.Cold.Portion)
	case v == n.alloc.portionFor-1 && c.period < int64(n.cfg.CapacityPeriod):
		// The next capacity window's portions are computed at its lead
		// instant, while this one's last short windows are still to be
		// claimed.
		return uint64(e.Cold.PrevPortion)
	}
	return 0
}

// portionSum is the sum of this node's portions in capacity window v.
func (n *Node) portionSum(v int64) uint64 {
	ps := n.alloc.portions[v&1]
	if n.alone() {
		ps = n.alloc.portions[n.alloc.portionFor&1]
	} else if ps.window1 != v+1 {
		return 0
	}
	return ps.sum
}

// capacityHeld is what this node holds of capacity window v: its claimed
// part, what it released into it, and what it received less what it gave.
func (n *Node) capacityHeld(v, now int64) uint64 {
	period := int64(n.cfg.CapacityPeriod)
	released, part := n.claimed(poolHash, n.pool, v, period, now, 0, n.capacityIn(period))
	held := released + part
	in, out := n.transferred(poolHash, v)
	held += in
	return held - min(held, out)
}

// scaled fits the portion of client h (0: the overflow bucket) in
// capacity window v into what this node holds. When the portions sum past
// it by d, the largest portion gives up d, if refreshAll found one that
// can; otherwise each is cut in proportion (rounded down, so a cut of a
// few requests can cost many small portions one each).
func (n *Node) scaled(h uint64, portion uint64, v, now int64) uint64 {
	if portion == 0 {
		return 0
	}
	sum := n.portionSum(v)
	held := n.capacityHeld(v, now)
	if sum <= held {
		return portion
	}
	if ps := n.alloc.portions[v&1]; ps.window1 == v+1 && ps.cutFor == held && ps.cutHash != 0 {
		if h == ps.cutHash {
			return portion - min(portion, sum-held)
		}
		return portion
	}
	return portion * held / sum
}

// poolLeft is this node's pool in capacity window v: what it holds less its
// portions, or less the portions cut to fit (as refreshAll last summed
// them; none while that sum is stale).
func (n *Node) poolLeft(v, now int64) uint64 {
	held := n.capacityHeld(v, now)
	sum := n.portionSum(v)
	if sum <= held {
		return held - sum
	}
	if ps := n.alloc.portions[v&1]; ps.window1 == v+1 && ps.cutFor == held {
		return held - min(held, ps.cutSum)
	}
	return 0
}

// sumCut records, for capacity window v, the sum of this node's portions
// cut to fit what it holds, when they do not fit.
func (n *Node) sumCut(v, now int64) {
	ps := &n.alloc.portions[v&1]
	if n.alone() {
		ps = &n.alloc.portions[n.alloc.portionFor&1]
	}
	held := n.capacityHeld(v, now)
	if ps.window1 != v+1 && !n.alone() || ps.sum <= held {
		return
	}
	capP := int64(n.cfg.CapacityPeriod)
	// The largest portion absorbs the whole cut, when it can.
	var top, topHash uint64
	n.table.Range(func(e *bucket.Entry) bool {
		if c := n.effective(e.Hash()); c.period == capP {
			if p := n.portionIn(e, c, v, now); p > top {
				top, topHash = p, e.Hash()
			}
		}
		return true
	})
	ps.cutHash = 0
	if top >= ps.sum-held {
		ps.cutHash, ps.cutSum, ps.cutFor = topHash, held, held
		return
	}
	ps.cutFor = 0 // cut in proportion while summing
	cut := n.perCapacity(n.overflowConf().period) * n.scaled(0, n.overflowPortion(), v, now)
	n.table.Range(func(e *bucket.Entry) bool {
		c := n.effective(e.Hash())
		switch {
		case c.period == capP:
			cut += n.scaled(e.Hash(), n.portionIn(e, c, v, now), v, now)
		case n.reserves(c.period):
			// A shorter window reserves its portion in each of its
			// windows within v.
			k := n.perCapacity(c.period)
			cut += k * n.scaled(e.Hash(), n.portionOf(e, c, v*int64(k)), v, now)
		}
		return true
	})
	ps.cutSum, ps.cutFor = cut, held
}

// portionIn is the portion client e (config c) reserves in window x, as
// claimed (or as it would be claimed now).
func (n *Node) portionIn(e *bucket.Entry, c effConf, x, now int64) uint64 {
	if n.alone() {
		return n.portionOf(e, c, x)
	}
	switch pin := e.Cold.Pins[x&1]; pin.Window1 {
	case x + 1, -(x + 1):
		return uint64(pin.Slice)
	}
	if now < x*c.period-leadOf(c.period) {
		return 0
	}
	return n.portionOf(e, c, x)
}
