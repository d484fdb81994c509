package fairmesh

import (
	"math"
	"slices"
	"time"

	"github.com/fairmesh/fairmesh/bucket"
	"github.com/fairmesh/fairmesh/wfq"
)

const (
	// resends is how many consecutive ticks carry each report and config
	// change: a single lost packet must not leave a peer with a stale
	// value until the next anti-entropy exchange.
	resends = 2
	// smoothing gives every slice holder a small part of a client's
	// allowance even where it saw no demand, so that traffic moving to a
	// node is not refused outright while its demand report propagates.
	smoothing = 0.02
)

// allocState is the node's fair-share bookkeeping (guarded by Node.mu).
type allocState struct {
	dirty      bool    // inputs changed: re-derive every client's policy
	advanced   bool    // some client entered a new window
	capWindow  int64   // capacity window of the last fair-share run
	unassigned float64 // capacity (req/s) not yet given to anyone this window
	epoch      uint64
	claims     []wfq.Claim
	shares     []float64
	refs       []clientRef
}

type clientRef struct {
	h  uint64
	e  *bucket.Entry
	rc *remoteClient
}

// scratch holds per-call buffers reused across allocations.
type scratch struct {
	att    []uint64
	frac   []float64
	slices []int64
	order  []int
}

func (a *allocState) init(n *Node) {
	a.capWindow = -1
	a.dirty = true
}

// maintain accounts finished windows, evicts idle clients, and re-derives
// allowances and slices when anything they depend on changed.
func (n *Node) maintain(now int64) {
	defer n.schedule(now)
	if now >= n.sweepAt {
		n.rollover(now)
	}
	if n.cfg.Capacity > 0 {
		if w := now / int64(n.cfg.CapacityPeriod); w != n.alloc.capWindow {
			n.alloc.capWindow = w
			n.fairShares(now)
			n.alloc.dirty = true
		}
	}
	if n.alloc.dirty || n.alloc.advanced {
		n.refreshAll(now)
		n.alloc.dirty, n.alloc.advanced = false, false
	}
}

// rollover turns every client's finished windows into demand reports and
// evicts clients idle for longer than their idle timeout.
func (n *Node) rollover(now int64) {
	exact := len(n.holders) == 1
	n.sweepAt = math.MaxInt64
	n.table.Range(func(e *bucket.Entry) bool {
		n.rolloverEntry(e, now, exact)
		p := e.Policy()
		n.noteBoundary(p.Period, now)
		if now-e.LastSeen() > n.idleTimeout(p.Period) && n.table.Delete(e) {
			n.counters.Evicted++
		}
		return true
	})
	n.rolloverEntry(n.overflow, now, exact)
	n.noteBoundary(n.overflow.Policy().Period, now)
}

// noteBoundary makes sure the next sweep runs no later than the end of the
// current window of a client with the given window length: sweeping only at
// boundaries keeps maintenance from walking every client every interval.
func (n *Node) noteBoundary(period, now int64) {
	n.sweepAt = min(n.sweepAt, (now/period+1)*period)
	if n.sweepAt < n.nextMaintain.Load() {
		n.nextMaintain.Store(n.sweepAt)
	}
}

func (n *Node) idleTimeout(period int64) int64 {
	idle := max(int64(n.cfg.IdleTimeout), 2*period)
	return min(idle, bucket.MaxIdleWindows/2*period)
}

func (n *Node) rolloverEntry(e *bucket.Entry, now int64, exact bool) {
	p := e.Policy()
	w := now / p.Period
	c := e.Cold
	if c.Processed >= w-1 {
		return
	}
	if skipped := w - 3 - c.Processed; skipped > 0 && c.DemandSet {
		// Windows nobody counted in are windows without demand.
		c.Demand >>= min(skipped, 63)
	}
	for fw := max(c.Processed+1, w-2); fw <= w-1; fw++ {
		att, adm := e.Counts(fw)
		n.counters.Admitted += adm
		n.counters.Denied += att - adm
		d := att * demandScale
		switch {
		case exact || !c.DemandSet:
			c.Demand = d
		case absDiff(d, c.Demand) > max(4*demandScale, c.Demand/4):
			// A real shift (traffic moved here, or away): follow it at
			// once, so that slices follow demand within a window.
			c.Demand = d
		default:
			// Noise: smooth it with weight 1/4, so that a client that sends
			// 1 and 2 requests to a node in turn, or one request every few
			// windows, reads as the steady rate it is.
			c.Demand = (3*c.Demand + d) / 4
		}
		c.DemandSet = true
		if !n.worthReporting(c.Demand, c.Reported, exact) {
			continue
		}
		c.PrevReported = c.Reported
		c.Reported = bucket.Report{Window: fw, Demand: c.Demand, Admitted: adm}
		if e != n.overflow && !exact {
			n.pendingReports[e.Hash()] = &pending{e: e, left: resends}
		}
	}
	c.Processed = w - 1
	n.alloc.advanced = true
}

func absDiff(a, b uint64) uint64 {
	if a > b {
		return a - b
	}
	return b - a
}

// demandScale is the fixed-point scale of reported demand.
const demandScale = 16

// worthReporting decides whether a client's smoothed demand differs enough
// from the last report to be told to the mesh. Demand that moves by less
// than a request, or by less than ReportThreshold, changes no slice by much
// and would cost one gossip entry per client per window: with 10k clients
// that is most of the traffic. A node alone records every change: it tells
// nobody.
func (n *Node) worthReporting(d uint64, last bucket.Report, exact bool) bool {
	if last.Window < 0 {
		return d > 0
	}
	if d == last.Demand {
		return false
	}
	if exact {
		return true
	}
	diff := math.Abs(float64(d) - float64(last.Demand))
	return diff > max(demandScale, n.cfg.ReportThreshold*float64(max(d, last.Demand)))
}

// lag is how many windows old the demand that splits a window is. With
// peers it is two: reports of window w−2 have had a whole window to reach
// every node, so all nodes split window w from the same numbers.
func (n *Node) lag() int64 {
	if len(n.holders) == 1 {
		return 1
	}
	return 2
}

// inForce returns the demand a node's two newest reports put in force for
// window w: the newest report of a window at or before w. ok is false when
// there is none.
func inForce(newest, prev bucket.Report, w int64) (demand uint64, ok bool) {
	switch {
	case newest.Window >= 0 && newest.Window <= w:
		return newest.Demand, true
	case prev.Window >= 0 && prev.Window <= w:
		return prev.Demand, true
	}
	return 0, false
}

// demandVector returns the demand in force for window w of a client at each
// slice holder, their total, and whether any holder has a report in force.
// A holder with no report in force is taken to have no demand, unless it
// became alive within the last three windows (a member that came back or
// just joined, or this node after a restart): its reports may simply not
// have arrived, so it is taken to have the average demand of the others,
// the same way on every node, itself included.
func (n *Node) demandVector(e *bucket.Entry, rc *remoteClient, w, period int64) (att []uint64, total uint64, known bool) {
	att = n.scratch.att[:0]
	unknown := 0
	recentAfter := (w+n.lag())*period - 3*period
	for i, id := range n.holders {
		var a uint64
		var k bool
		if i == n.selfIdx {
			if e != nil {
				a, k = n.ownDemand(e, w, period)
			}
		} else if rc != nil {
			if r := rc.of(id); r != nil {
				a, k = inForce(r.newest, r.prev, w)
			}
		}
		if !k && n.aliveAt(id) > recentAfter {
			a = unknownDemand
			unknown++
		}
		att = append(att, a)
		total += a
		known = known || k
	}
	if unknown > 0 && unknown < len(att) {
		known := total - uint64(unknown)*unknownDemand
		avg := known / uint64(len(att)-unknown)
		total = known
		for i := range att {
			if att[i] == unknownDemand {
				att[i] = avg
				total += avg
			}
		}
	} else if unknown == len(att) {
		for i := range att {
			att[i] = 0
		}
		total = 0
	}
	if unknown > 0 {
		known = known || unknown < len(att)
	}
	n.scratch.att = att
	return att, total, known
}

// ownDemand is this node's own demand in force for window w. While a slice
// holder is suspect, the peers on the other side of the silence cannot have
// this node's reports sent since it last heard from them: using those would
// make this node's split differ from theirs, and the slices sum past the
// allowance. So it uses the newest report those peers must have had, and
// failing that the smaller of its two reports.
func (n *Node) ownDemand(e *bucket.Entry, w, period int64) (uint64, bool) {
	c := e.Cold
	if n.silentSince == math.MaxInt64 {
		return inForce(c.Reported, c.PrevReported, w)
	}
	seen := (n.silentSince-2*int64(n.cfg.MaintainInterval))/period - 1
	if d, ok := inForce(c.Reported, c.PrevReported, min(w, seen)); ok {
		return d, true
	}
	if c.Reported.Window < 0 {
		return 0, false
	}
	if c.PrevReported.Window < 0 {
		return 0, true
	}
	return min(c.Reported.Demand, c.PrevReported.Demand), true
}

// aliveAt is the mesh time at which a holder last became alive (this node:
// when it started).
func (n *Node) aliveAt(id string) int64 {
	if id == n.cfg.NodeID {
		return n.startedAt
	}
	return n.aliveSince[id]
}

// unknownDemand marks a holder without a report while a vector is built.
const unknownDemand = math.MaxUint64 / 1024

// collect lists every client the allocation covers: those tracked here and
// those only other nodes report.
func (n *Node) collect() []clientRef {
	n.alloc.epoch++
	ep := n.alloc.epoch
	refs := n.alloc.refs[:0]
	n.table.Range(func(e *bucket.Entry) bool {
		rc := n.peer[e.Hash()]
		if rc != nil {
			rc.epoch = ep
		}
		refs = append(refs, clientRef{h: e.Hash(), e: e, rc: rc})
		return true
	})
	for h, rc := range n.peer {
		if rc.epoch != ep {
			refs = append(refs, clientRef{h: h, rc: rc})
		}
	}
	// Sorted, so that rounding and tie-breaks are the same on every node.
	slices.SortFunc(refs, func(a, b clientRef) int {
		switch {
		case a.h < b.h:
			return -1
		case a.h > b.h:
			return 1
		}
		return 0
	})
	n.alloc.refs = refs
	return refs
}

// fairShares divides the capacity among all clients by weighted max-min
// fairness over their measured demand, and stores each client's share as a
// whole number of requests per window (in requests per second).
func (n *Node) fairShares(now int64) {
	refs := n.collect()
	capRate := float64(n.cfg.Capacity) / n.cfg.CapacityPeriod.Seconds()
	claims := n.alloc.claims[:0]
	for _, r := range refs {
		c := n.effective(r.h)
		secs := time.Duration(c.period).Seconds()
		_, total, known := n.demandVector(r.e, r.rc, now/c.period-n.lag(), c.period)
		demand := float64(total) / demandScale / secs
		if !known {
			// Nobody has measured this client yet: assume it wants all it
			// may have, so that a new client starts from its fair share.
			demand = math.Inf(1)
		}
		cl := wfq.Claim{Weight: int64(c.weight), Demand: demand}
		if c.limited {
			cl.Cap = float64(c.rate) / secs
			if c.rate == 0 {
				cl.Demand = 0
			}
		}
		if c.weight == 0 {
			cl.Floor = float64(n.cfg.MinRate)
		}
		claims = append(claims, cl)
	}
	// The overflow bucket competes as one zero-weight client: the clients
	// it serves are unknown by definition (a flood of random IDs, say), so
	// they keep the floor and what known clients leave, and never take a
	// known client's share.
	ov := n.overflow.Policy()
	ovAtt, _ := inForce(n.overflow.Cold.Reported, n.overflow.Cold.PrevReported, now/ov.Period-1)
	claims = append(claims, wfq.Claim{Weight: 0, Floor: float64(n.cfg.MinRate), Demand: float64(ovAtt) / demandScale / time.Duration(ov.Period).Seconds()})
	shares := wfq.Allocate(capRate, claims, n.alloc.shares)
	n.alloc.claims, n.alloc.shares = claims, shares

	// Round shares to whole requests per window: floor, then hand the
	// capacity lost to rounding to the largest remainders (clients whose
	// window is the capacity period), so small shares do not all vanish.
	capWin := int64(n.cfg.CapacityPeriod)
	total := 0.0
	order := n.scratch.order[:0]
	whole := make([]float64, len(shares))
	for i := range shares {
		var period int64
		if i < len(refs) {
			period = n.effective(refs[i].h).period
		} else {
			period = ov.Period
		}
		raw := shares[i] * time.Duration(period).Seconds()
		whole[i] = math.Floor(raw + 1e-9)
		total += whole[i] / time.Duration(period).Seconds()
		if period == capWin && raw-whole[i] > 1e-9 {
			order = append(order, i)
		}
	}
	left := int(math.Floor(capRate*n.cfg.CapacityPeriod.Seconds()+1e-9)) - int(math.Round(total*n.cfg.CapacityPeriod.Seconds()))
	slices.SortStableFunc(order, func(a, b int) int {
		ra := shares[a]*n.cfg.CapacityPeriod.Seconds() - whole[a]
		rb := shares[b]*n.cfg.CapacityPeriod.Seconds() - whole[b]
		switch {
		case ra > rb:
			return -1
		case ra < rb:
			return 1
		}
		return 0
	})
	for _, i := range order {
		if left <= 0 {
			break
		}
		whole[i]++
		total += 1 / n.cfg.CapacityPeriod.Seconds()
		left--
	}
	n.scratch.order = order
	for i, r := range refs {
		secs := time.Duration(n.effective(r.h).period).Seconds()
		s := whole[i] / secs
		if r.e != nil {
			r.e.Cold.Share = s
		}
		if r.rc != nil {
			r.rc.share = s
		}
	}
	n.overflow.Cold.Share = whole[len(whole)-1] / time.Duration(ov.Period).Seconds()
	n.alloc.unassigned = max(0, capRate-total)
}

// allowance is a client's mesh-wide allowance per window: its own limit,
// further bounded by its fair share when the mesh has a capacity.
// unlimited reports that neither applies.
func (n *Node) allowance(c effConf, share float64) (a int64, unlimited bool) {
	a = math.MaxInt64
	if c.limited {
		a = int64(c.rate)
	}
	if n.cfg.Capacity > 0 {
		a = min(a, int64(math.Floor(share*time.Duration(c.period).Seconds()+1e-6)))
	}
	return a, a == math.MaxInt64
}

// refreshAll re-derives the policy of every tracked client.
func (n *Node) refreshAll(now int64) {
	n.table.Range(func(e *bucket.Entry) bool {
		n.refreshEntry(e, n.peer[e.Hash()], now)
		return true
	})
	n.refreshOverflow()
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
	c := n.effective(e.Hash())
	a, unlimited := n.allowance(c, e.Cold.Share)
	w := now / c.period
	p := bucket.Policy{Period: c.period, Window: w, Unlimited: unlimited, Limit: a}
	switch {
	case n.fenced:
		p.Unlimited = false
	case !unlimited:
		p.Slice = uint64(min(n.slice(e.Hash(), a, e, rc, w), bucket.MaxCount))
		p.NextSlice = uint64(min(n.slice(e.Hash(), a, e, rc, w+1), bucket.MaxCount))
	}
	if old := e.Policy(); *old != p {
		e.SetPolicy(n.intern(p))
		n.noteBoundary(p.Period, now)
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
	q := &p
	n.policies[p] = q
	return q
}

// refreshOverflow: the overflow bucket is not coordinated across nodes
// (its clients are unknown by definition); each node gives it an even slice
// of the default limit.
func (n *Node) refreshOverflow() {
	p := n.defaultPolicy()
	if n.cfg.Capacity > 0 && !p.Unlimited {
		p.Limit = min(p.Limit, int64(n.overflow.Cold.Share*time.Duration(p.Period).Seconds()))
	} else if n.cfg.Capacity > 0 {
		p.Unlimited, p.Limit = false, int64(n.overflow.Cold.Share*time.Duration(p.Period).Seconds())
	}
	if !p.Unlimited {
		p.Slice = uint64(p.Limit) / uint64(len(n.holders))
		p.NextSlice = p.Slice
	}
	if n.fenced {
		p.Unlimited, p.Slice, p.NextSlice = false, 0, 0
	}
	if old := n.overflow.Policy(); *old != *p {
		n.overflow.SetPolicy(n.intern(*p))
	}
}

func (n *Node) defaultPolicy() *bucket.Policy {
	if n.cfg.DefaultRate > 0 {
		return &bucket.Policy{Period: int64(n.cfg.DefaultPeriod), Slice: uint64(n.cfg.DefaultRate), NextSlice: uint64(n.cfg.DefaultRate), Limit: int64(n.cfg.DefaultRate)}
	}
	period := n.cfg.DefaultPeriod
	if n.cfg.Capacity > 0 {
		period = n.cfg.CapacityPeriod
	}
	return &bucket.Policy{Period: int64(period), Unlimited: true, Limit: -1}
}

// newClientPolicy is the policy of a client this node sees for the first
// time. Its share, when the mesh has a capacity, comes from what the last
// fair-share run left unassigned (capacity others already hold is not taken
// back mid-window); the next run gives it its fair share.
func (n *Node) newClientPolicy(h uint64, now int64) (p *bucket.Policy, share float64) {
	c := n.effective(h)
	rc := n.peer[h]
	if n.cfg.Capacity > 0 {
		if rc != nil && rc.share > 0 {
			share = rc.share
		} else {
			// Half of what is left, so that the next newcomer in the same
			// window is not shut out by the first; a zero-weight client
			// takes no more than its floor.
			share = n.alloc.unassigned / 2
			if c.weight == 0 {
				share = min(share, float64(n.cfg.MinRate))
			}
			if c.limited {
				share = min(share, float64(c.rate)/time.Duration(c.period).Seconds())
			}
			n.alloc.unassigned -= share
		}
	}
	a, unlimited := n.allowance(c, share)
	w := now / c.period
	q := bucket.Policy{Period: c.period, Window: w, Unlimited: unlimited && !n.fenced, Limit: a}
	if !unlimited && !n.fenced {
		q.Slice = uint64(min(n.slice(h, a, nil, rc, w), bucket.MaxCount))
		q.NextSlice = uint64(min(n.slice(h, a, nil, rc, w+1), bucket.MaxCount))
	}
	return n.intern(q), share
}

// slice is this node's part of a client's allowance a in window w: split
// over the slice holders in proportion to the demand each reported (the
// same numbers on every node, see lag), with a little smoothing, rounded by
// largest remainder so that the parts sum exactly to a.
func (n *Node) slice(h uint64, a int64, e *bucket.Entry, rc *remoteClient, w int64) int64 {
	m := len(n.holders)
	if m == 1 {
		return a
	}
	att, total, _ := n.demandVector(e, rc, w-n.lag(), n.effective(h).period)
	frac := n.scratch.frac[:0]
	for _, x := range att {
		if total == 0 {
			frac = append(frac, 1/float64(m))
			continue
		}
		frac = append(frac, (float64(x)+smoothing*float64(total)/float64(m))/((1+smoothing)*float64(total)))
	}
	n.scratch.frac = frac
	return apportion(a, frac, int((h+uint64(w))%uint64(m)), n.selfIdx, &n.scratch)
}

// apportion splits a into integer parts proportional to frac (summing to
// 1) by largest remainder, ties going first to index rot, rot+1, …; it
// returns part idx.
func apportion(a int64, frac []float64, rot, idx int, s *scratch) int64 {
	m := len(frac)
	parts := s.slices[:0]
	var used int64
	for _, f := range frac {
		p := int64(math.Floor(float64(a)*f + 1e-9))
		parts = append(parts, p)
		used += p
	}
	order := s.order[:0]
	for i := range m {
		order = append(order, (rot+i)%m)
	}
	slices.SortStableFunc(order, func(x, y int) int {
		rx := float64(a)*frac[x] - float64(parts[x])
		ry := float64(a)*frac[y] - float64(parts[y])
		switch {
		case rx > ry+1e-12:
			return -1
		case rx < ry-1e-12:
			return 1
		}
		return 0
	})
	for i := 0; used < a && i < len(order); i++ {
		parts[order[i]]++
		used++
	}
	s.slices, s.order = parts, order
	return parts[idx]
}
