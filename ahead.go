package fairmesh

import (
	"math"

	"github.com/fairmesh/fairmesh/bucket"
)

// Giving ahead. A window's rights are claimed as even parts (policy.go),
// because only an even split of an agreed view is computed alike by every
// node; demand is rarely even. So once a window's rights are claimed, at
// its lead instant, and before it opens, each node keeps what its own
// smoothed demand predicts it will use (with a margin) and gives the rest
// to the holders whose reported demand exceeds their part, in proportion
// to what they lack, as transfers recorded in the window's ledger
// (ledger.go). A node gives only what it holds, so however the nodes'
// pictures of demand differ, the rights held never sum past what was
// claimed. A prediction that turns out short is made up by borrowing
// within the window.
//
// Three things move, in this order, once per window:
//   - a client's reserved share this node will not use goes to this node's
//     pool (the capacity stays on this node);
//   - a limited client's limit rights go to the holders that lack them;
//   - pool capacity goes to the holders whose demand, at its fair share,
//     exceeds an even part of the capacity.

const (
	// aheadMargin and aheadSlack: what a node keeps of a window beyond its
	// predicted demand, for demand that grows.
	aheadMargin = 0.25
	aheadSlack  = 2
	// aheadMin is the smallest gift worth a ledger entry.
	aheadMin = 2
	// pool is the hash the capacity pool's ledger is kept under.
	poolHash = 0
)

// giveAhead moves this node's unneeded rights of the windows about to open
// to the holders that need them.
func (n *Node) giveAhead(now int64) {
	if n.alone() || n.fenced || len(n.holders) < 2 {
		return
	}
	var capP int64
	if n.pool != nil {
		capP = int64(n.cfg.CapacityPeriod)
	}
	var slicesNext uint64
	n.table.Range(func(e *bucket.Entry) bool {
		slicesNext += n.aheadEntry(e.Hash(), e, n.peer[e.Hash()], capP, now)
		return true
	})
	for h, rc := range n.peer {
		if n.table.LookupHash(h) == nil {
			n.aheadEntry(h, nil, rc, capP, now)
		}
	}
	if n.pool != nil {
		n.givePoolAhead(slicesNext, now)
		n.refreshPool(now)
	}
}

// nextWindow returns the window about to open for a window length and
// whether now is within its lead (its rights are claimed, it is not open).
func nextWindow(period, now int64) (int64, bool) {
	x := now/period + 1
	return x, now >= x*period-leadOf(period)
}

// keepFor is what a node keeps of a window for a predicted demand d (in
// demandScale units per window).
func keepFor(d uint64) uint64 {
	return uint64(math.Ceil(float64(d)/demandScale*(1+aheadMargin))) + aheadSlack
}

// aheadEntry releases and gives client h's unneeded rights of its next
// window, once; it returns the reserved slice this node keeps of that
// window when it is a capacity window.
func (n *Node) aheadEntry(h uint64, e *bucket.Entry, rc *remoteClient, capP, now int64) uint64 {
	c := n.effective(h)
	x, ok := nextWindow(c.period, now)
	if !ok {
		return 0
	}
	var part, slice uint64
	var keep uint64 = aheadSlack
	if e != nil {
		pin := &e.Cold.Pins[x&1]
		if pin.Window1 != x+1 {
			return 0
		}
		if e.Cold.Ahead == x+1 {
			if c.period == capP {
				return uint64(pin.Slice)
			}
			return 0
		}
		if e.Cold.DemandSet {
			keep = keepFor(e.Cold.Demand)
		}
		if _, adm := e.Counts(x); adm > 0 {
			// Already deciding in that window (a late tick): too late.
			e.Cold.Ahead = x + 1
			return uint64(pin.Slice)
		}
		if c.period == capP && uint64(pin.Slice) > keep {
			// The reserved share beyond what this node will use goes to
			// its pool: the same capacity, open to every client here.
			if poolPin := &n.pool.Cold.Pins[x&1]; poolPin.Window1 == x+1 {
				free := uint64(pin.Slice) - keep
				pin.Slice -= uint32(free)
				poolPin.Slice += uint32(free)
				n.counters.ReservationsReleased += free
				defer n.refreshEntry(e, rc, now)
			}
		}
		e.Cold.Ahead = x + 1
		part, slice = uint64(pin.Limit), uint64(pin.Slice)
	} else {
		if rc.ahead == x+1 {
			return 0
		}
		r := n.rightsFor(h, c, rc.share, nil, rc, x, now)
		if r.slice+r.extra == 0 {
			return 0 // not claimed yet
		}
		rc.ahead = x + 1
		part = r.slice + r.extra
		keep = 0
	}
	if c.limited {
		n.giveClient(h, e, rc, c.period, x, part, keep, now)
	}
	if c.period == capP {
		return slice
	}
	return 0
}

// giveClient gives what this node will not use of a limited client's part
// of its limit in window x (part, of which it keeps keep) to the holders
// whose reported demand exceeds such a part.
func (n *Node) giveClient(h uint64, e *bucket.Entry, rc *remoteClient, period, x int64, part, keep uint64, now int64) {
	if part <= keep || rc == nil {
		return
	}
	given := n.giveTo(h, x, period, part-keep, func(id string) uint64 {
		r := rc.of(id)
		if r == nil || r.newest.Window < 0 {
			return 0
		}
		want := keepFor(r.newest.Demand)
		if want <= part {
			return 0
		}
		return want - part
	})
	if given > 0 && e != nil {
		n.refreshEntry(e, rc, now)
	}
}

// givePoolAhead gives what this node will not use of its pool in the next
// capacity window (it keeps reserved slices slicesNext there) to the
// holders that lack capacity: whose demand at its fair share exceeds an
// even part of the capacity.
func (n *Node) givePoolAhead(slicesNext uint64, now int64) {
	period := int64(n.cfg.CapacityPeriod)
	x, ok := nextWindow(period, now)
	if !ok || n.pool.Cold.Ahead == x+1 {
		return
	}
	pin := n.pool.Cold.Pins[x&1]
	if pin.Window1 != x+1 {
		return
	}
	n.pool.Cold.Ahead = x + 1
	secs := float64(period) / 1e9
	needOf := func(id string) uint64 {
		return uint64(math.Ceil(n.alloc.poolBy[id]*secs*(1+aheadMargin))) + aheadSlack
	}
	in, out := n.transferred(poolHash, x)
	held := uint64(pin.Slice) + in
	held -= min(held, out)
	use := needOf(n.cfg.NodeID)
	use -= min(use, slicesNext)
	if held <= use {
		return
	}
	even := uint64(n.capacityIn(period)) / uint64(len(n.holders))
	n.giveTo(poolHash, x, period, held-use, func(id string) uint64 {
		if need := needOf(id); need > even {
			return need - even
		}
		return 0
	})
}

// giveTo splits surplus among the other holders in proportion to what each
// lacks, at most that, and records the transfers in the ledger of client h
// (poolHash: the pool) in window x. It returns what it gave.
func (n *Node) giveTo(h uint64, x, period int64, surplus uint64, lack func(id string) uint64) uint64 {
	if surplus < aheadMin {
		return 0
	}
	lacks := n.scratch.lacks[:0]
	var total uint64
	for _, id := range n.holders {
		var l uint64
		if id != n.cfg.NodeID && n.peerReplica(id) != "" {
			l = lack(id)
		}
		lacks = append(lacks, l)
		total += l
	}
	n.scratch.lacks = lacks
	if total == 0 {
		return 0
	}
	me := n.replica()
	var cl *ledgerCell
	var given uint64
	for i, id := range n.holders {
		if lacks[i] == 0 {
			continue
		}
		g := min(lacks[i], uint64(float64(surplus)*float64(lacks[i])/float64(total)))
		if g < aheadMin {
			continue
		}
		if cl == nil {
			if cl = n.cell(h, x, period, true); cl == nil {
				break
			}
		}
		cl.l.Transfer(me, n.peerReplica(id), g)
		given += g
	}
	n.counters.RightsLent += given
	return given
}
