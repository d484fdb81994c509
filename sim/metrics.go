package sim

// Measurement. Arrivals and admissions are counted per measurement window
// and client, in the window of the node that decided them: its mesh time
// divided by the window, which is the window its reply names and the one
// it enforces. That is how a user can check a limiter (by the reply's
// window): no two machines' clocks agree exactly, and a window of true time
// would blur each boundary by the nodes' disagreement (in the simulator,
// about one network latency plus the 2ms adoption band once every node has
// heard the fastest clock), whatever the limiter did.
//
// Mesh time is the fastest node's clock (the HLC adopts the largest time it
// hears of), capped at the 500ms MaxClockOffset, so window w is taken to
// cover true times [w·window − maxSkew, (w+1)·window − maxSkew), where
// maxSkew = min(max skew, 500ms) (clocks without a skew count as 0; drift
// is ignored here): that is where events, config and membership changes
// are placed, and a request no node could decide is counted by it. Only
// windows that lie wholly inside the run are reported.

import (
	"math"
)

// cfgPoint is a client's config as issued from at on.
type cfgPoint struct {
	at        int64
	weight    int
	allowance int64 // per window; -1: unlimited
	// rate per period is the client's own limit (rate -1: none).
	rate, period int64
}

type windowData struct {
	demand, admitted []int32
}

type metrics struct {
	p        *plan
	base     int64 // window index of true time 0
	wins     []*windowData
	eventWin []bool
	hist     [][]cfgPoint // per client
	quota    map[quotaKey]int32
}

func newMetrics(p *plan) *metrics {
	m := &metrics{p: p, base: floorDiv(p.maxSkew, p.window)}
	n := int(m.index(p.duration)-m.base) + 1
	m.wins = make([]*windowData, n)
	m.eventWin = make([]bool, n)
	m.hist = make([][]cfgPoint, len(p.clients))
	return m
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// index is the window of true time t.
func (m *metrics) index(t int64) int64 { return floorDiv(t+m.p.maxSkew, m.p.window) }

// meshWindow is the slot of a decision taken at mesh time mesh (Unix
// nanoseconds); it may lie outside wins at the run's edges.
func (m *metrics) meshWindow(mesh int64) int {
	return int(floorDiv(mesh-epoch.UnixNano(), m.p.window) - m.base)
}

// window is the slot (index − base) of true time t.
func (m *metrics) window(t int64) int { return int(m.index(t) - m.base) }

// start is the true time at which slot s begins.
func (m *metrics) start(s int) int64 { return (int64(s)+m.base)*m.p.window - m.p.maxSkew }

func (m *metrics) data(s int) *windowData {
	if m.wins[s] == nil {
		m.wins[s] = &windowData{demand: make([]int32, len(m.p.clients)), admitted: make([]int32, len(m.p.clients))}
	}
	return m.wins[s]
}

func (m *metrics) arrive(s, c int) { m.data(s).demand[c]++ }
func (m *metrics) admit(s, c int)  { m.data(s).admitted[c]++ }

// complete reports whether slot s lies wholly inside the run.
func (m *metrics) complete(s int) bool {
	return m.start(s) >= 0 && m.start(s)+m.p.window <= m.p.duration
}

// markEvent notes that something changed at true time t.
func (r *runner) markEvent(t int64) {
	if s := r.met.window(t); s >= 0 && s < len(r.met.eventWin) {
		r.met.eventWin[s] = true
	}
}

// perWindow converts a rate per period into a count per measurement window.
func (p *plan) perWindow(rate int, period int64) int64 {
	return int64(math.Floor(float64(rate)*float64(p.window)/float64(period) + 1e-9))
}

// recordConfig appends client c's config as now issued to its history.
func (r *runner) recordConfig(c int) {
	spec := r.p.clients[c]
	pt := cfgPoint{at: r.now, weight: spec.weight, allowance: -1, rate: -1}
	rate, period, limited := spec.rate, spec.period, spec.limitSet
	if t := r.truth[spec.id]; t != nil {
		if t.weightSet {
			pt.weight = t.weight
		}
		if t.limitSet {
			rate, period, limited = t.rate, t.period, true
		}
	}
	switch {
	case limited:
		pt.allowance = r.p.perWindow(rate, period)
		pt.rate, pt.period = int64(rate), period
	case r.p.defaultRate > 0:
		pt.allowance = r.p.perWindow(r.p.defaultRate, r.p.defaultPeriod)
		pt.rate, pt.period = int64(r.p.defaultRate), r.p.defaultPeriod
	}
	h := r.met.hist[c]
	if n := len(h); n > 0 && h[n-1].at == r.now {
		h[n-1] = pt
	} else {
		h = append(h, pt)
	}
	r.met.hist[c] = h
}

// at returns client c's config in force at true time t.
func (m *metrics) at(c int, t int64) cfgPoint {
	h := m.hist[c]
	best := h[0]
	for _, pt := range h[1:] {
		if pt.at > t {
			break
		}
		best = pt
	}
	return best
}

// maxAllowance is the largest allowance of client c in force at any time in
// [from, to]; -1 if it was unlimited at any of them.
func (m *metrics) maxAllowance(c int, from, to int64) int64 {
	best := m.at(c, from).allowance
	for _, pt := range m.hist[c] {
		if pt.at <= from || pt.at > to {
			continue
		}
		if pt.allowance < 0 || best < 0 {
			best = -1
			continue
		}
		best = max(best, pt.allowance)
	}
	return best
}
