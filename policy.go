package fairmesh

import (
	"math"
	"slices"
	"time"

	"github.com/fairmesh/fairmesh/bucket"
)

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
	// A fresh copy, not &p: taking p's address would move p to the heap on
	// every call, hits included, and every client is refreshed each window.
	q := new(bucket.Policy)
	*q = p
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
