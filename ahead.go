package fairmesh

import (
	"math"
	"slices"

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
// Two things move, once per window: a limited client's limit rights, and
// the capacity, toward the holders where each client's fair share is
// demanded.

const (
	// aheadMargin and aheadSlack: what a node keeps of a window beyond its
	// predicted demand, for demand that grows.
	aheadMargin = 0.25
	aheadSlack  = 2
	// poolHash is the hash the capacity's ledger is kept under.
	poolHash = 0
)

// giveAhead moves this node's unneeded rights of the windows about to open
// to the holders that need them.
func (n *Node) giveAhead(now int64) {
	if n.alone() || n.fenced || len(n.holders) < 2 {
		return
	}
	n.table.Range(func(e *bucket.Entry) bool {
		n.aheadEntry(e.Hash(), e, n.peer[e.Hash()], now)
		return true
	})
	for h, rc := range n.peer {
		if n.table.LookupHash(h) == nil {
			n.aheadEntry(h, nil, rc, now)
		}
	}
	if n.pool != nil {
		n.givePoolAhead(now)
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

// aheadEntry gives a limited client's unneeded limit rights of its next
// window, once.
func (n *Node) aheadEntry(h uint64, e *bucket.Entry, rc *remoteClient, now int64) {
	if e != nil {
		// Cheap checks first: this runs for every client on every tick
		// of a lead.
		p := e.Policy()
		if x, ok := nextWindow(p.Period, now); !ok || e.Cold.Ahead == uint32(x+1) {
			return
		}
	}
	c := n.effective(h)
	if !c.limited || rc == nil {
		// Nothing to give (no limit rights), or nobody else reported it
		// (nobody lacks them): not again this window.
		if x, ok := nextWindow(c.period, now); ok {
			if e != nil {
				e.Cold.Ahead = uint32(x + 1)
			} else if rc != nil {
				rc.ahead = x + 1
			}
		}
		return
	}
	x, ok := nextWindow(c.period, now)
	if !ok {
		// Past the lead instant (a late tick): the current window of a
		// client this node does not track, if it has not given it yet.
		// It admits nothing of it (a first request would track it);
		// a tracked one may be admitting while its rights are given.
		x = now / c.period
		if e != nil || rc.ahead == x+1 {
			return
		}
	}
	var part uint64
	share := rc.share
	if e != nil {
		pin := &e.Cold.Pins[x&1]
		if pin.Window1 != x+1 || rc.ahead == x+1 {
			// Unclaimed yet, or given already (before the client was
			// tracked here, perhaps).
			return
		}
		e.Cold.Ahead = uint32(x + 1)
		if _, adm := e.Counts(x); adm > 0 {
			return // already deciding in that window (a late tick)
		}
		part, share = uint64(pin.Limit), e.Cold.Share
	} else {
		if rc.ahead == x+1 {
			return
		}
		// What this node holds of the limit: its claim, whatever a
		// request here could draw of it (a zero-weight client draws on
		// the pool only late in a window, mayScavenge, which is no reason
		// to keep its limit rights from the nodes where its traffic is).
		_, held := n.claimed(h, nil, x, c.period, now, 0, int64(c.rate))
		if held == 0 {
			return // not claimed yet, or nothing held
		}
		rc.ahead = x + 1
		part = held
	}
	// What each holder wants of the limit: while the capacity binds and
	// the client has a reservation, the reservation each holder makes
	// for it (portionOf), which every node computes alike; otherwise its
	// demand, with a margin.
	want := func(i int, id string) uint64 {
		if id == n.cfg.NodeID {
			if e == nil || !e.Cold.DemandSet {
				return 0
			}
			return keepFor(e.Cold.Demand)
		}
		if r := rc.of(id); r != nil && r.newest.Window >= 0 {
			return keepFor(r.newest.Demand)
		}
		return aheadSlack
	}
	if R := n.reserved(c, share); R <= 0 {
		// When the holders' wants sum past the limit (its demand
		// exceeds it), each wants its part of the limit in proportion,
		// as the capacity is divided: a node that keeps a margin over
		// its own demand would hold rights its capacity there cannot
		// serve while the node with the traffic runs dry.
		var sum uint64
		for i, id := range n.holders {
			sum += want(i, id)
		}
		if L := uint64(c.rate); sum > L {
			byDemand := want
			want = func(i int, id string) uint64 {
				return byDemand(i, id) * L / sum
			}
		}
	} else {
		att, total, _ := n.demandVector(e, rc, x-n.lag(), c.period)
		// Its own buffer: giveTo reuses scratch.fracs after it has asked.
		fracs := demandFracs(n.scratch.wants[:0], att, total)
		n.scratch.wants = fracs
		rot := int((h + uint64(x)) % uint64(len(att)))
		want = func(i int, _ string) uint64 {
			return uint64(apportion(R, fracs, rot, i, &n.scratch))
		}
	}
	// Less what it gave already (by borrowing within the window).
	_, out := n.transferred(h, x)
	part -= min(part, out)
	keep := want(n.selfIdx, n.cfg.NodeID)
	if part <= keep {
		return
	}
	L := int64(c.rate)
	given := n.giveTo(h, x, c.period, part-keep, func(id string) int64 {
		i, _ := slices.BinarySearch(n.holders, id)
		return int64(evenPart(h, L, i, len(n.holders), x)) - int64(want(i, id))
	})
	if given > 0 && e != nil {
		n.refreshEntry(e, rc, now)
	}
}

// givePoolAhead gives what this node will not use of the next capacity
// window to the holders that lack capacity: whose demand, each client's at
// its fair share, exceeds an even part of the capacity.
//
// While the capacity binds, demand exceeds it everywhere and a node keeps
// exactly its share-weighted demand: capacity kept beyond it would go, first
// come first served, to whichever client here asks most.
func (n *Node) givePoolAhead(now int64) {
	period := int64(n.cfg.CapacityPeriod)
	x, ok := nextWindow(period, now)
	if !ok || n.pool.Cold.Ahead == uint32(x+1) || n.pool.Cold.Pins[x&1].Window1 != x+1 {
		return
	}
	n.pool.Cold.Ahead = uint32(x + 1)
	secs := float64(period) / 1e9
	margin, slack := aheadMargin, int64(aheadSlack)
	if n.alloc.binding {
		margin, slack = 0, 0
	}
	capIn := n.capacityIn(period)
	// Near the capacity, the margins would sum past it: the nodes that
	// keep theirs would hold capacity their traffic does not need while
	// another runs dry. Then every need is scaled down alike, so that the
	// needs sum to the capacity and each still covers its demand.
	scale := 1.0
	if !n.alloc.binding {
		want := 0.0
		for _, id := range n.holders {
			want += n.alloc.poolBy[id]*secs*(1+margin) + float64(slack)
		}
		if want > float64(capIn) {
			scale = float64(capIn) / want
		}
	}
	unreserved := func(i int) int64 {
		if i < len(n.alloc.unreservedBy) {
			return int64(math.Ceil(n.alloc.unreservedBy[i] * secs))
		}
		return 0
	}
	needOf := func(id string) int64 {
		if n.alloc.binding {
			// What the holder reserves, as every node computes it, and
			// the shares of the clients there that reserve none.
			if i, ok := slices.BinarySearch(n.holders, id); ok && i < len(n.alloc.portionsBy) {
				return int64(n.alloc.portionsBy[i]) + unreserved(i)
			}
		}
		return int64(math.Ceil((n.alloc.poolBy[id]*secs*(1+margin) + float64(slack)) * scale))
	}
	held, use := int64(n.capacityHeld(x, now)), needOf(n.cfg.NodeID)
	if n.alloc.binding {
		// Exactly what this node reserved, its portions, and the shares
		// of its clients that reserve none.
		use = int64(n.portionSum(x)) + unreserved(n.selfIdx)
	}
	if held <= use {
		return
	}
	if n.giveTo(poolHash, x, period, uint64(held-use), func(id string) int64 {
		// What the holder claimed, as its claim was computed.
		i, _ := slices.BinarySearch(n.holders, id)
		return int64(evenPart(poolHash, capIn, i, len(n.holders), x)) - needOf(id)
	}) > 0 {
		n.refreshPool(now)
	}
}

// giveTo gives this node's surplus of client h (poolHash: the capacity) in
// window x to the other holders that lack, as transfers recorded in the
// window's ledger; it returns what it gave. balance estimates each other
// holder's surplus (positive) or lack (negative) the way this node's was
// computed.
//
// Every giver computes the same plan from the same estimates: the lacks
// are met as far as the surpluses together cover them; what each giver
// gives in all is divided by largest remainders in proportion to its
// surplus; and givers are matched to receivers in holder order, each
// filling the next receiver's need before moving on. So the givers
// together give each holder exactly what the plan meets of its lack, no
// giver gives more than it has, and most give to one or two holders.
func (n *Node) giveTo(h uint64, x, period int64, surplus uint64, balance func(id string) int64) uint64 {
	if surplus == 0 {
		return 0
	}
	lacks := n.scratch.lacks[:0]
	spares := n.scratch.spares[:0]
	var lack, spare uint64
	for i, id := range n.holders {
		var l, sp uint64
		switch b := int64(surplus); {
		case i == n.selfIdx:
			sp = uint64(b)
		default:
			switch b = balance(id); {
			case b > 0:
				sp = uint64(b)
			case b < 0 && n.mem[id] == MemberAlive && n.peerReplica(id) != "":
				// Not to a suspect member: the gift would likely be
				// resent every tick, unheard, and kept from those here.
				l = uint64(-b)
			}
		}
		lacks, spares = append(lacks, l), append(spares, float64(sp))
		lack, spare = lack+l, spare+sp
	}
	n.scratch.lacks, n.scratch.spares = lacks, spares
	if lack == 0 {
		return 0
	}
	rot := int((h + uint64(x)) % uint64(len(n.holders)))
	total := int64(min(spare, lack))
	if total < int64(lack) {
		// What the surpluses cover, divided over the lacks by largest
		// remainders: all of it is given.
		fracs := n.scratch.fracs[:0]
		for _, l := range lacks {
			fracs = append(fracs, float64(l)/float64(lack))
		}
		n.scratch.fracs = fracs
		for j := range lacks {
			lacks[j] = uint64(apportion(total, fracs, rot, j, &n.scratch))
		}
	}
	for i := range spares {
		spares[i] /= float64(spare)
	}
	// Each giver's total, then the matching up to this node's turn.
	var before, mine int64
	for k := range n.holders {
		g := apportion(total, spares, rot, k, &n.scratch)
		if k < n.selfIdx {
			before += g
		} else if k == n.selfIdx {
			mine = min(g, int64(surplus))
		}
	}
	me := n.replica()
	var cl *ledgerCell
	var given uint64
	var at int64 // where the receivers' needs stand, in the matching
	for j, id := range n.holders {
		need := int64(lacks[j])
		lo, hi := max(at, before), min(at+need, before+mine)
		at += need
		if hi <= lo {
			continue
		}
		if cl == nil {
			if cl = n.cell(h, x, period, true); cl == nil {
				break
			}
		}
		cl.l.Transfer(me, n.peerReplica(id), uint64(hi-lo))
		given += uint64(hi - lo)
	}
	n.counters.RightsLent += given
	return given
}
