package fairmesh

import (
	"math"
	"time"

	"github.com/fairmesh/fairmesh/bucket"
)

// How a node's rights for one client in one window are laid out
// (bucket.Policy):
//
//   - Slice: requests this node may admit with no further check. With a
//     capacity that demand exceeds (binding), it is this node's part of the
//     client's reserved fair share; with a capacity that demand does not
//     exceed, it is 0; without a capacity, it is this node's part of the
//     client's own limit.
//   - Extra: further requests up to this node's part of the client's own
//     limit (unbounded for a client without one), each of which must also
//     take one unit of the node's capacity pool. So capacity nobody
//     reserved is not withheld from anyone under their limit.
//   - the pool: this node's part of the capacity left once every client's
//     reserved share is taken out, per capacity window.
//
// Summed over the nodes, reserved slices plus pools are the capacity, and
// slices plus extras are the client's limit: no client and no window can
// be admitted past either, whatever the order of arrivals.

// rights is what this node holds of one client in one window.
type rights struct {
	slice, extra uint64
	// limit is the client's mesh-wide allowance reported to callers:
	// its reserved share under a binding capacity, its own limit
	// otherwise; -1 when neither bounds it.
	limit     int64
	unlimited bool
	pooled    bool // extra draws from the node's pool
	// reserve is this node's reservation for the client: its slice, as
	// far as its part of the limit (with what it borrowed) allows.
	reserve uint64
}

// rightsFor computes this node's rights for client h (config c, fair share
// share in requests per second) in window x, at mesh time now. In a mesh,
// its part of the limit is claimed from the holder views in force at the
// window's lead instant (see views.go) and pinned in e, when e is given:
// before that instant, or while a view it depends on is unknown, it is
// zero. Its slice is this node's own reservation for the client (see
// portionOf): a division of the capacity this node holds, not a claim.
func (n *Node) rightsFor(h uint64, c effConf, share float64, e *bucket.Entry, rc *remoteClient, x, now int64) rights {
	if n.fenced {
		// Still pooled: what others gave this node for the client (added
		// by adjust) is limit, not capacity, and must take its unit of
		// the pool like any other extra.
		return rights{pooled: n.cfg.Capacity > 0}
	}
	L := int64(-1)
	if c.limited {
		L = int64(c.rate)
	}
	if n.cfg.Capacity == 0 && L < 0 {
		if !n.alone() && n.freshAt > x*c.period-leadOf(c.period) {
			// This process joined the mesh after the window's lead
			// instant: it holds nothing of it, and what it takes for
			// an unlimited client may be a limited one whose limit it
			// has not yet learnt from the mesh.
			return rights{limit: -1}
		}
		return rights{unlimited: true, limit: -1}
	}
	r := rights{pooled: n.cfg.Capacity > 0, limit: L}
	switch {
	case n.cfg.Capacity == 0:
	case n.alloc.binding:
		r.limit = n.reserved(c, share)
	case L < 0:
		r.limit = n.capacityIn(c.period)
	}
	sR, sL := n.claimed(h, e, x, c.period, now, n.portionOf(e, c, x), L)
	if n.cfg.Capacity == 0 {
		// No capacity: the limit's part is all slice.
		return rights{slice: sL, limit: L}
	}
	r.reserve = n.scaled(h, sR, n.capacityWindow(x, c.period), now)
	r.slice = min(r.reserve, sL)
	r.extra = sL - r.slice
	if !n.mayScavenge(c.weight, r.reserve, max(now, x*c.period)) {
		r.extra = 0
	}
	return r
}

// When, as fractions of a capacity window the capacity binds in, clients
// that reserve a share on this node, and zero-weight clients, may draw on
// the pool (see mayScavenge).
const (
	scavengeFrom     = 0.75
	scavengeZeroFrom = 0.9
)

// mayScavenge reports whether a client of the given weight, with the given
// reservation on this node, may draw on the pool at mesh time t.
//
// While the capacity binds, the pool holds the fair shares of weighted
// clients that reserve none here (those whose window is longer than the
// capacity's, new ones, ones whose traffic just moved here) and what
// reserved shares leave unused. A client that has its share reserved here,
// or a zero-weight one, owed only its floor, would take those first simply
// by asking more often. So such a client gets its reservation alone until
// late in the window, and from then on a part of whatever is left: what
// the others left unused. Weighted clients come first (from scavengeFrom),
// zero-weight ones, which are owed nothing beyond the floor, last (from
// scavengeZeroFrom). Without contention the pool is open to everyone from
// the start. What a client that fell silent leaves of its reservation goes
// at once to the weighted clients here that are expected to want more
// than they reserved (release.go).
func (n *Node) mayScavenge(weight int, reserve uint64, t int64) bool {
	if !n.alloc.binding {
		return true
	}
	P := int64(n.cfg.CapacityPeriod)
	switch {
	case weight == 0:
		return t%P >= int64(scavengeZeroFrom*float64(P))
	case reserve > 0:
		return t%P >= int64(scavengeFrom*float64(P))
	}
	return true
}

// noteScavenge schedules the policies' refresh at the next instant, in the
// capacity window of now, from which more clients may draw on the pool.
func (n *Node) noteScavenge(now int64) {
	if !n.alloc.binding {
		return
	}
	P := int64(n.cfg.CapacityPeriod)
	for _, f := range []float64{scavengeFrom, scavengeZeroFrom} {
		if t := now/P*P + int64(f*float64(P)); now < t {
			n.noteClaim(t)
			return
		}
	}
}

// claimed returns what this node holds of client h in window x: its own
// reservation for the client, portion (kept as given: it is this node's
// division of its own capacity, see portionOf), and its part of the limit
// L (L < 0: none, an unbounded part), claimed from the views in force at
// the window's lead instant; both pinned in e.
func (n *Node) claimed(h uint64, e *bucket.Entry, x, period, now int64, portion uint64, L int64) (sR, sL uint64) {
	unbounded := func(l int64) uint64 {
		if l < 0 {
			return bucket.MaxCount
		}
		return uint64(l)
	}
	if n.alone() {
		return portion, unbounded(L)
	}
	var pin *bucket.Pin
	if e != nil {
		pin = &e.Cold.Pins[x&1]
		switch pin.Window1 {
		case x + 1:
			return uint64(pin.Slice), uint64(pin.Limit)
		case -(x + 1):
			// Claimed before the client's limit changed: claim its part of
			// the new limit, and keep the reservation made then (the
			// capacity was divided with the shares of that time).
			portion = uint64(pin.Slice)
		}
	}
	t := x*period - leadOf(period)
	if now < t {
		n.noteClaim(t)
		return 0, 0
	}
	if t >= n.admitAt {
		// A member is counted from t or before, and this node's view does
		// not say so yet: claim once maintenance has recorded it.
		n.noteClaim(now)
		return 0, 0
	}
	views, ok := n.claimViews(t)
	if !ok {
		if own := n.views.at(t); own != nil && own.fenced && pin != nil {
			// This node was fenced at t: it holds nothing of the window,
			// now or later.
			*pin = bucket.Pin{Window1: x + 1}
		}
		return 0, 0
	}
	sR, sL = portion, unbounded(L)
	if L >= 0 {
		for _, v := range views {
			sL = min(sL, n.viewPart(h, L, v, x, t))
		}
	}
	if pin != nil {
		*pin = bucket.Pin{Window1: x + 1, Slice: uint32(min(sR, bucket.MaxCount)), Limit: uint32(min(sL, bucket.MaxCount))}
	}
	return sR, sL
}

// viewPart is this node's part of a (of client h in window x, whose lead
// instant is t) when a is split evenly over the members of v (largest
// remainders, rotated by client and window so that no member always gets
// the odd request); zero when v does not hold this node's current
// incarnation (or, before prevUntil, its previous one).
//
// The split is even, not by demand, because every node must compute the
// same split from what it knows: the view in force is agreed (views.go),
// demand reports are not (one lost or late report and two nodes split by
// different numbers, and their parts sum past the allowance). Demand then
// moves rights explicitly, as transfers (ahead.go, ledger.go): a node can
// only give what it holds, so no disagreement can create rights.
func (n *Node) viewPart(h uint64, a int64, v *viewEntry, x, t int64) uint64 {
	if a <= 0 {
		return 0
	}
	idx, ok := v.index(n.cfg.NodeID, n.startedAt)
	if !ok && n.prevInc != 0 && t < n.prevUntil {
		// A view that still names the incarnation this process had before
		// it took a new one holding its lease: that one was not reclaimed
		// before prevUntil (reincarnate), so the view counted this process.
		idx, ok = v.index(n.cfg.NodeID, n.prevInc)
	}
	if !ok {
		return 0
	}
	return evenPart(h, a, idx, len(v.members), x)
}

// evenPart is member idx's part of a (of client h in window x) split evenly
// over m members: the a mod m leftover requests go to members rot, rot+1, …
// for a rotation by client and window.
func evenPart(h uint64, a int64, idx, m int, x int64) uint64 {
	mm := int64(m)
	rot := int64((h + uint64(x)) % uint64(mm))
	part := a / mm
	if (int64(idx)-rot+mm)%mm < a%mm {
		part++
	}
	return uint64(part)
}

// tickInterval is the interval between Ticks as observed (100 ms before
// any).
func (n *Node) tickInterval() int64 {
	if n.tickGap <= 0 {
		return int64(100 * time.Millisecond)
	}
	return min(n.tickGap, int64(5*time.Second))
}

// settle is how long a report takes to reach every member: a few tick
// intervals (resends included).
func (n *Node) settle() int64 { return 3 * n.tickInterval() }

// noteClaim makes sure maintenance runs again at mesh time t, when a
// window's rights can be claimed.
func (n *Node) noteClaim(t int64) {
	n.alloc.claimAt = min(n.alloc.claimAt, t)
	if t < n.nextMaintain.Load() {
		n.nextMaintain.Store(t)
	}
}

// reserved is a client's reserved share of the capacity in one of its
// windows: its fair share (at most its own limit) while demand exceeds the
// capacity, nothing otherwise (everyone then draws from the pool).
//
// A client whose window is shorter than the capacity's and divides it
// reserves its share in each of its windows, if that comes to a few
// requests per node (minShortPortion). A client whose window is
// longer reserves nothing: a share reserved per minute or per hour could
// be spent within one capacity window. Such a client draws every request
// from the pool, which its fair share is left in.
func (n *Node) reserved(c effConf, share float64) int64 {
	if !n.alloc.binding || !n.reserves(c.period) {
		return 0
	}
	R := int64(math.Floor(share*time.Duration(c.period).Seconds() + 1e-6))
	if c.limited {
		R = min(R, int64(c.rate))
	}
	if c.period < int64(n.cfg.CapacityPeriod) && R < minShortPortion*int64(len(n.holders)) {
		// A few requests per short window per node are mostly chance:
		// reserved at one node, they would go unused while the client's
		// requests arrive at another. Its share stays in the pool.
		return 0
	}
	return max(R, 0)
}

// minShortPortion is the least a client whose window is shorter than the
// capacity's must have reserved per node and per window, on average, for
// its share to be reserved at all.
const minShortPortion = 4

// reserves reports whether a client whose window is period long can
// reserve its share: its window is the capacity's, or divides it, so that
// each of its windows lies in one capacity window.
func (n *Node) reserves(period int64) bool {
	P := int64(n.cfg.CapacityPeriod)
	return period > 0 && period <= P && P%period == 0
}

// perCapacity is how many windows period long one capacity window holds
// (1 for a window that does not divide it).
func (n *Node) perCapacity(period int64) uint64 {
	if !n.reserves(period) {
		return 1
	}
	return uint64(int64(n.cfg.CapacityPeriod) / period)
}

// capacityWindow is the capacity window that window x of length period
// lies in (starts in).
func (n *Node) capacityWindow(x, period int64) int64 {
	return floorDivInt(x*period, int64(n.cfg.CapacityPeriod))
}

// capacityIn is the capacity over a window of the given length.
func (n *Node) capacityIn(period int64) int64 {
	return int64(math.Floor(float64(n.cfg.Capacity) * float64(period) / float64(n.cfg.CapacityPeriod)))
}

// refreshAll re-derives the policy of every tracked client and the pool.
func (n *Node) refreshAll(now int64) {
	if n.pool != nil {
		v := now / int64(n.cfg.CapacityPeriod)
		n.sumCut(v, now)
		n.sumCut(v+1, now)
	}
	n.refreshPool(now)
	n.table.Range(func(e *bucket.Entry) bool {
		n.refreshEntry(e, n.peer[e.Hash()], now)
		return true
	})
	n.refreshOverflow(now)
}

// refreshClient re-derives one client's policy, if it is tracked.
func (n *Node) refreshClient(h uint64) {
	cc := n.conf[h]
	if cc == nil {
		return
	}
	if e := n.table.Lookup(h, cc.id); e != nil {
		n.refreshEntry(e, n.peer[h], n.meshNow())
	}
}

func (n *Node) refreshEntry(e *bucket.Entry, rc *remoteClient, now int64) {
	p := n.policyFor(e.Hash(), e, rc, now)
	if old := e.Policy(); *old != p {
		e.SetPolicy(n.intern(p))
		n.noteBoundary(p.Period, now)
	}
}

// policyFor builds the policy of client h for the window of now and the
// ones after it.
func (n *Node) policyFor(h uint64, e *bucket.Entry, rc *remoteClient, now int64) bucket.Policy {
	c := n.effective(h)
	share := 0.0
	switch {
	case e != nil:
		share = e.Cold.Share
	case rc != nil:
		share = rc.share
	}
	w := now / c.period
	cur := n.adjust(h, w, n.rightsFor(h, c, share, e, rc, w, now))
	next := n.adjust(h, w+1, n.rightsFor(h, c, share, e, rc, w+1, now))
	p := bucket.Policy{Period: c.period, Window: w, Unlimited: cur.unlimited, Limit: cur.limit,
		Slice: min(cur.slice, bucket.MaxCount), Extra: min(cur.extra, bucket.MaxCount),
		NextSlice: min(next.slice, bucket.MaxCount), NextExtra: min(next.extra, bucket.MaxCount)}
	if cur.pooled {
		p.Pool = n.pool
	}
	return p
}

// refreshPool publishes this node's pool for the capacity window of now
// and the one after it: what it holds of the capacity, less what it
// reserved for its clients.
func (n *Node) refreshPool(now int64) {
	if n.pool == nil {
		return
	}
	period := int64(n.cfg.CapacityPeriod)
	v := now / period
	p := bucket.Policy{Period: period, Window: v, Limit: -1}
	if !n.fenced {
		p.Slice = n.poolLeft(v, now)
		p.NextSlice = n.poolLeft(v+1, now)
	}
	if old := n.pool.Policy(); *old != p {
		n.pool.SetPolicy(n.intern(p))
	}
}

// maxInterned bounds the policy intern table; past it the table starts
// over (policies already handed out stay valid).
const maxInterned = 4096

// intern returns a shared copy of p. Most clients have one of a few
// policies; sharing them keeps the fast path's policy load in cache and
// costs no memory per client.
func (n *Node) intern(p bucket.Policy) *bucket.Policy {
	if q := n.policies[p]; q != nil {
		return q
	}
	if len(n.policies) >= maxInterned {
		clear(n.policies)
	}
	// A fresh copy, not &p: taking p's address would move p to the heap on
	// every call, hits included, and every client is refreshed each window.
	q := new(bucket.Policy)
	*q = p
	n.policies[p] = q
	return q
}

// refreshOverflow: the overflow bucket is not coordinated across nodes
// (its clients are unknown by definition); each node takes an even part of
// its reserved share and of the default limit.
func (n *Node) refreshOverflow(now int64) {
	c := n.overflowConf()
	w := now / c.period
	p := bucket.Policy{Period: c.period, Window: w, Limit: -1}
	m := int64(len(n.holders))
	switch {
	case n.fenced:
	case n.cfg.Capacity == 0 && !c.limited:
		p.Unlimited = true
	case n.cfg.Capacity == 0:
		p.Limit = int64(c.rate)
		p.Slice = uint64(int64(c.rate) / m)
	default:
		p.Slice = n.scaled(0, n.overflowPortion(), n.capacityWindow(w, c.period), now)
		p.Extra = bucket.MaxCount
		if c.limited {
			p.Slice = min(p.Slice, uint64(int64(c.rate)/m))
			p.Extra = uint64(int64(c.rate)/m) - p.Slice
			p.Limit = int64(c.rate)
		}
		p.Pool = n.pool
	}
	p.NextSlice, p.NextExtra = p.Slice, p.Extra
	if p.Pool != nil {
		// Its clients have weight 0: see mayScavenge.
		if !n.mayScavenge(0, 0, now) {
			p.Extra = 0
		}
		if !n.mayScavenge(0, 0, (w+1)*c.period) {
			p.NextExtra = 0
		}
	}
	if old := n.overflow.Policy(); *old != p {
		n.overflow.SetPolicy(n.intern(p))
	}
}

// overflowConf is the config the overflow bucket's clients share.
func (n *Node) overflowConf() effConf {
	c := effConf{weight: 0}
	switch {
	case n.cfg.DefaultRate > 0:
		c.rate, c.period, c.limited = n.cfg.DefaultRate, int64(n.cfg.DefaultPeriod), true
	case n.cfg.Capacity > 0:
		c.period = int64(n.cfg.CapacityPeriod)
	default:
		c.period = int64(n.cfg.DefaultPeriod)
	}
	return c
}

// overflowPortion is this node's reservation for the overflow bucket: an
// even part of its reserved share (its clients are unknown, so demand
// cannot divide it).
func (n *Node) overflowPortion() uint64 {
	return uint64(n.reserved(n.overflowConf(), n.overflow.Cold.Share)) / uint64(len(n.holders))
}

// newClientPolicy is the policy of a client this node sees for the first
// time: a client with no measured demand has no reserved share yet, so it
// draws on its limit and the pool until the next fair-share run measures
// it. It changes no state.
func (n *Node) newClientPolicy(h uint64, now int64) *bucket.Policy {
	p := n.policyFor(h, nil, n.peer[h], now)
	return n.intern(p)
}
