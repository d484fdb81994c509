package sim

// Client traffic. A client's demand is requests per second, spread over
// nodes: by its spread fractions, or evenly over the live nodes. A node that
// is down (crashed, left, not yet joined) gets none: its share goes evenly to
// the live nodes, as a load balancer would do. "uniform" arrivals are evenly
// spaced with a seeded random phase and pick nodes by smooth weighted round
// robin; "poisson" arrivals have exponential gaps and pick nodes at random
// by weight.

import (
	"math"
	"math/rand/v2"
)

type clientRun struct {
	demand float64
	gen    uint32 // bumped when demand changes: stale arrivals are ignored
	start  int64
	phase  float64 // ns
	k      int64   // arrivals so far in this generation (uniform)
	next   float64 // ns, poisson
	rng    *rand.Rand
	cur    []float64 // smooth weighted round robin state per node
	off    bool      // in an off period of an on/off pattern
	eff    []float64 // effective weights per node (spread clients)
	effVer uint64
}

// startArrivals begins a new generation of arrivals for client c from now.
func (r *runner) startArrivals(c int) {
	cr := &r.crun[c]
	cr.gen++
	cr.start, cr.k = r.now, 0
	if cr.demand <= 0 {
		return
	}
	gap := 1e9 / cr.demand
	if r.p.clients[c].poisson {
		cr.next = float64(r.now) + cr.rng.ExpFloat64()*gap
		r.scheduleArrival(c, int64(cr.next))
		return
	}
	cr.phase = cr.rng.Float64() * gap
	r.scheduleArrival(c, r.now+int64(cr.phase))
}

func (r *runner) scheduleArrival(c int, at int64) {
	if at > r.p.duration {
		return
	}
	r.q.push(event{at: at, kind: evArrival, idx: int32(c), gen: r.crun[c].gen})
}

// arrival decides one request of client c and schedules the next.
func (r *runner) arrival(e event) {
	c := int(e.idx)
	cr := &r.crun[c]
	if e.gen != cr.gen {
		return
	}
	gap := 1e9 / cr.demand
	if r.p.clients[c].poisson {
		cr.next += cr.rng.ExpFloat64() * gap
		r.scheduleArrival(c, max(int64(cr.next), r.now))
	} else {
		cr.k++
		r.scheduleArrival(c, cr.start+int64(math.Round(cr.phase+float64(cr.k)*gap)))
	}

	if spec := &r.p.clients[c]; spec.off > 0 {
		off := (r.now+spec.phase)%(spec.on+spec.off) >= spec.on
		if off != cr.off {
			// Demand changed: like a set_demand event, the windows around
			// it are not measured (see analyze.go).
			cr.off = off
			r.markEvent(r.now)
		}
		if off {
			return // an off period: the client sends nothing
		}
	}
	n := r.pickNode(c)
	if n < 0 {
		// No node up: the request fails at the load balancer.
		if w := r.met.window(r.now); w < len(r.met.wins) {
			r.met.arrive(w, c)
		}
		return
	}
	if r.nodes[n].paused {
		r.holdRequest(n, c)
		return
	}
	r.decide(n, c)
}

// decide has node n decide one request of client c now, and counts it in
// the window the node's mesh time names.
func (r *runner) decide(n, c int) {
	node := r.nodes[n].node
	mesh := node.Now().UnixNano()
	w := r.met.meshWindow(mesh)
	ok := node.AllowN(r.p.clients[c].id, 1)
	if w >= 0 && w < len(r.met.wins) {
		r.met.arrive(w, c)
		if ok {
			r.met.admit(w, c)
		}
	}
	if ok {
		r.countQuota(c, mesh)
	}
	r.tr.begin(trDecision, r.now)
	r.tr.int(int64(n))
	r.tr.int(int64(c))
	if ok {
		r.tr.int(1)
	} else {
		r.tr.int(0)
	}
	r.tr.end()
}

// effWeights returns the per-node traffic weights of client c now.
func (r *runner) effWeights(c int) []float64 {
	spread := r.p.clients[c].spread
	if spread == nil {
		if r.evenVer != r.upVer {
			r.evenVer = r.upVer
			up := 0
			for _, n := range r.nodes {
				if n.state == stateUp {
					up++
				}
			}
			for i, n := range r.nodes {
				r.even[i] = 0
				if n.state == stateUp {
					r.even[i] = 1 / float64(up)
				}
			}
		}
		return r.even
	}
	cr := &r.crun[c]
	if cr.eff == nil || cr.effVer != r.upVer {
		cr.eff = make([]float64, len(r.nodes))
		cr.effVer = r.upVer
		up, down := 0, 0.0
		for i, n := range r.nodes {
			if n.state == stateUp {
				up++
			} else {
				down += spread[i]
			}
		}
		for i, n := range r.nodes {
			if n.state == stateUp {
				cr.eff[i] = spread[i] + down/float64(up)
			}
		}
	}
	return cr.eff
}

// pickNode chooses the node that gets client c's next request; -1 if none
// is up.
func (r *runner) pickNode(c int) int {
	if r.upCount == 0 {
		return -1
	}
	eff := r.effWeights(c)
	cr := &r.crun[c]
	if r.p.clients[c].poisson {
		x := cr.rng.Float64()
		last := -1
		for i, w := range eff {
			if w <= 0 {
				continue
			}
			last = i
			if x < w {
				return i
			}
			x -= w
		}
		return last
	}
	if cr.cur == nil {
		cr.cur = make([]float64, len(r.nodes))
		for i := range cr.cur {
			cr.cur[i] = cr.rng.Float64() * 0.999
		}
	}
	best := -1
	for i, w := range eff {
		if w <= 0 {
			continue
		}
		cr.cur[i] += w
		if best < 0 || cr.cur[i] > cr.cur[best] {
			best = i
		}
	}
	cr.cur[best]--
	return best
}
