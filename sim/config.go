package sim

// Config truth and convergence. The simulator keeps, per client, the newest
// weight and limit it issued (in the order of simulated time) and, per
// update, the time until every live node's Client(id).Config shows it:
// checked every 10ms of simulated time for clients with updates pending.
// Only the fields that were ever issued are compared (weight; rate, period
// and Limited), so a client configured only by weight is not required to
// show any particular limit.

import (
	"fmt"
	"time"

	"github.com/fairmesh/fairmesh"
)

const convCheckEvery = int64(10 * time.Millisecond)

// truthCfg is the config the simulator last issued for one client.
type truthCfg struct {
	weight    int
	weightSet bool
	rate      int
	period    int64
	limitSet  bool
}

func (t truthCfg) matches(c fairmesh.ClientConfig) bool {
	if t.weightSet && c.Weight != t.weight {
		return false
	}
	if t.limitSet && (!c.Limited || c.Rate != t.rate || int64(c.Period) != t.period) {
		return false
	}
	return true
}

func (t truthCfg) String() string {
	s := ""
	if t.weightSet {
		s = fmt.Sprintf("weight %d", t.weight)
	}
	if t.limitSet {
		if s != "" {
			s += ", "
		}
		s += fmt.Sprintf("limit %d per %v", t.rate, time.Duration(t.period))
	}
	return s
}

// pending is a client with issued updates not yet seen on every live node.
type pending struct {
	id     string
	issued []int64 // times of the updates waiting
	mask   uint64  // nodes seen holding the newest value
	done   bool
}

// issueConfig records an update of client id issued at now through via.
func (r *runner) issueConfig(id string, via int, weight *int, rate *int, period int64) {
	t := r.truth[id]
	if t == nil {
		t = &truthCfg{}
		r.truth[id] = t
	}
	var err error
	n := r.nodes[via].node
	if weight != nil {
		t.weight, t.weightSet = *weight, true
		err = n.UpdateClientWeight(id, *weight)
	} else {
		t.rate, t.period, t.limitSet = *rate, period, true
		err = n.UpdateClientRateLimit(id, *rate, time.Duration(period))
	}
	r.tr.begin(trConfig, r.now)
	r.tr.int(int64(via))
	r.tr.str(id)
	r.tr.str(t.String())
	if err != nil {
		r.tr.str(err.Error())
		r.violation(via, fmt.Sprintf("config update of %q rejected: %v", id, err))
	}
	r.tr.end()
	if c, ok := r.p.clientIndex[id]; ok {
		r.recordConfig(c)
	}
	r.markEvent(r.now)

	pi, ok := r.pendIdx[id]
	if !ok {
		pi = len(r.pend)
		r.pend = append(r.pend, &pending{id: id})
		r.pendIdx[id] = pi
	}
	pd := r.pend[pi]
	pd.issued = append(pd.issued, r.now)
	pd.mask = 0
	if !r.convScheduled {
		r.convScheduled = true
		r.q.push(event{at: r.now + convCheckEvery, kind: evConvCheck})
	}
}

// checkConvergence completes the pending updates that every live node now
// shows.
func (r *runner) checkConvergence() {
	upMask := uint64(0)
	for i, n := range r.nodes {
		if n.state == stateUp {
			upMask |= 1 << uint(i)
		}
	}
	kept := r.pend[:0]
	for _, pd := range r.pend {
		t := *r.truth[pd.id]
		for i, n := range r.nodes {
			bit := uint64(1) << uint(i)
			if n.state != stateUp || pd.mask&bit != 0 {
				continue
			}
			if st, err := n.node.Client(pd.id); err == nil && t.matches(st.Config) {
				pd.mask |= bit
			}
		}
		if pd.mask&upMask == upMask && r.allShow(pd.id, t) {
			for _, at := range pd.issued {
				r.convergence = append(r.convergence, r.now-at)
			}
			delete(r.pendIdx, pd.id)
			continue
		}
		r.pendIdx[pd.id] = len(kept)
		kept = append(kept, pd)
	}
	clear(r.pend[len(kept):])
	r.pend = kept
	r.convScheduled = false
	if len(r.pend) > 0 {
		r.convScheduled = true
		r.q.push(event{at: r.now + convCheckEvery, kind: evConvCheck})
	}
}

// allShow re-reads every live node (a node seen holding the value earlier
// may have moved on to another write).
func (r *runner) allShow(id string, t truthCfg) bool {
	for _, n := range r.nodes {
		if n.state != stateUp {
			continue
		}
		if st, err := n.node.Client(id); err != nil || !t.matches(st.Config) {
			return false
		}
	}
	return true
}

// forgetNode clears node i from every pending mask (it restarted or joined
// with an empty memory).
func (r *runner) forgetNode(i int) {
	for _, pd := range r.pend {
		pd.mask &^= 1 << uint(i)
	}
}

// finalConfigCheck reports every configured client that some live node
// does not show as issued, and counts pending updates as lasting to the end.
func (r *runner) finalConfigCheck() {
	for _, pd := range r.pend {
		for _, at := range pd.issued {
			r.convergence = append(r.convergence, r.now-at)
		}
	}
	bad := 0
	for _, id := range sortedKeys(r.truth) {
		t := *r.truth[id]
		for i, n := range r.nodes {
			if n.state != stateUp || n.paused {
				// A node paused at the end cannot have heard the update.
				continue
			}
			st, err := n.node.Client(id)
			if err == nil && t.matches(st.Config) {
				continue
			}
			bad++
			if bad > 20 {
				continue
			}
			have := "unknown client"
			if err == nil {
				have = fmt.Sprintf("weight %d, limit %d per %v (limited %v)", st.Config.Weight, st.Config.Rate, st.Config.Period, st.Config.Limited)
			} else {
				have = err.Error()
			}
			r.violation(i, fmt.Sprintf("config of client %q not converged at the end: has %s, want %s", id, have, t))
		}
	}
	if bad > 20 {
		r.violation(-1, fmt.Sprintf("%d more client configs not converged at the end", bad-20))
	}
}
