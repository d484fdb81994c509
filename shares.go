package fairmesh

import (
	"math"
	"slices"
	"time"

	"github.com/fairmesh/fairmesh/bucket"
	"github.com/fairmesh/fairmesh/wfq"
)

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
//
// Alone, it runs at each capacity window's start from the window just
// finished. In a mesh it runs at the lead instant of the next capacity
// window (when that window's rights are claimed) from the demand of the
// window before the current one, which has had half a window to arrive.
func (n *Node) fairShares(now int64) {
	if !n.alone() {
		now += leadOf(int64(n.cfg.CapacityPeriod))
	}
	refs := n.collect()
	capRate := float64(n.cfg.Capacity) / n.cfg.CapacityPeriod.Seconds()
	claims := n.alloc.claims[:0]
	pd := n.alloc.poolDemand[:0]
	for range n.holders {
		pd = append(pd, 0)
	}
	for _, r := range refs {
		c := n.effective(r.h)
		secs := time.Duration(c.period).Seconds()
		_, total, known := n.demandVector(r.e, r.rc, now/c.period-n.lag(), c.period)
		demand := float64(total) / demandScale / secs
		if !known {
			// Nobody has measured this client yet: it reserves nothing and
			// draws from the pool until it is measured.
			demand = 0
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
	// The capacity binds when the measured demand, each client's bounded
	// by its own limit, exceeds it: only then are fair shares reserved.
	// Otherwise nothing is reserved and every client draws from the pool,
	// so capacity is never withheld from a client under its limit.
	wanted := 0.0
	for _, cl := range claims {
		d := max(cl.Demand, 0)
		if cl.Cap > 0 {
			d = min(d, cl.Cap)
		}
		wanted += d
	}
	n.alloc.binding = wanted > capRate*(1+1e-9)
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
	// Each client's portion (portion.go): its reserved share, divided
	// over the holders by the demand each reported, this node's part of
	// it. And where the capacity will be drawn on: each client's share
	// (its demand, while the capacity does not bind) divided the same
	// way, in requests per second; pools move toward it (ahead.go).
	var sum uint64
	capX := now / int64(n.cfg.CapacityPeriod)
	n.alloc.portionsBy = slices.Grow(n.alloc.portionsBy[:0], len(n.holders))[:len(n.holders)]
	clear(n.alloc.portionsBy)
	n.alloc.unreservedBy = slices.Grow(n.alloc.unreservedBy[:0], len(n.holders))[:len(n.holders)]
	clear(n.alloc.unreservedBy)
	for i, r := range refs {
		c := n.effective(r.h)
		secs := time.Duration(c.period).Seconds()
		att, total, _ := n.demandVector(r.e, r.rc, now/c.period-n.lag(), c.period)
		var p int64
		R := n.reserved(c, whole[i]/secs)
		if R > 0 {
			// Divided by largest remainders, as every node divides it:
			// from the same reports, the portions of a client sum to its
			// share exactly.
			frac := demandFracs(n.scratch.frac[:0], att, total)
			n.scratch.frac = frac
			// Ties rotate by the capacity window, the same on every node
			// whichever tick runs this.
			p = apportion(R, frac, int((r.h+uint64(capX))%uint64(len(att))), n.selfIdx, &n.scratch)
			k := n.perCapacity(c.period)
			for j, part := range n.scratch.slices {
				n.alloc.portionsBy[j] += uint64(part) * k
			}
		}
		if r.e != nil {
			p = min(p, bucket.MaxCount)
			prev := uint32(0)
			if n.alloc.portionFor == capX-1 {
				prev = r.e.Cold.Portion
			}
			r.e.Cold.Portion, r.e.Cold.PrevPortion = uint32(p), prev
			sum += uint64(p) * n.perCapacity(c.period)
		}
		if total == 0 {
			continue
		}
		use := min(whole[i]/secs, float64(total)/demandScale/secs)
		for j, d := range att {
			part := use * float64(d) / float64(total)
			pd[j] += part
			if R == 0 {
				n.alloc.unreservedBy[j] += part
			}
		}
	}
	sum += n.overflowPortion() * n.perCapacity(ov.Period)
	n.alloc.portionFor = capX
	n.alloc.portions[capX&1] = portionsOf{window1: capX + 1, sum: sum}
	n.alloc.poolDemand = pd
	clear(n.alloc.poolBy)
	for i, id := range n.holders {
		n.alloc.poolBy[id] = pd[i]
	}
}

// demandFracs appends to dst each holder's part of the demand att (of sum
// total): even when nobody reported any.
func demandFracs(dst []float64, att []uint64, total uint64) []float64 {
	for _, d := range att {
		if total == 0 {
			dst = append(dst, 1/float64(len(att)))
		} else {
			dst = append(dst, float64(d)/float64(total))
		}
	}
	return dst
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
