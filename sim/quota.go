package sim

// Client windows. The measurement windows above check every limit scaled to
// one measurement window, which says nothing of a per-minute or per-hour
// quota: those may be spent in one burst. So every admission of a limited
// client is also counted in the client's own window, as the deciding node
// sees it (its mesh time divided by the client's period: exactly the window
// the limiter enforces), and each such window is checked against the
// client's limit.

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// quotaKey names one window of one client's own limit.
type quotaKey struct {
	client int
	period int64
	window int64
}

// countQuota records one admission of client c decided at mesh time mesh
// under the client's config in force.
func (r *runner) countQuota(c int, mesh int64) {
	pt := r.met.at(c, r.now)
	if pt.period <= 0 {
		return
	}
	if r.met.quota == nil {
		r.met.quota = map[quotaKey]int32{}
	}
	r.met.quota[quotaKey{c, pt.period, floorDiv(mesh, pt.period)}]++
}

// maxRate is the largest rate per period of client c in force at any true
// time in [from, to]; -1 if it had no limit of that period at any of them.
func (m *metrics) maxRate(c int, period, from, to int64) int64 {
	best := int64(-1)
	consider := func(pt cfgPoint) bool {
		if pt.period != period || pt.rate < 0 {
			return false
		}
		best = max(best, pt.rate)
		return true
	}
	if !consider(m.at(c, from)) {
		return -1
	}
	for _, pt := range m.hist[c] {
		if pt.at <= from || pt.at > to {
			continue
		}
		if !consider(pt) {
			return -1
		}
	}
	return best
}

// checkQuotas reports every client window admitted past its limit by more
// than 1% + 1. The limit is the largest in force from one window before
// the window's start to its end, as for measurement windows.
func (r *runner) checkQuotas(rep *Report) {
	keys := make([]quotaKey, 0, len(r.met.quota))
	for k := range r.met.quota {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b quotaKey) int {
		switch {
		case a.client != b.client:
			return a.client - b.client
		case a.period != b.period:
			return int(a.period/1e6 - b.period/1e6)
		}
		return int(a.window - b.window)
	})
	viol := 0
	skew := r.p.maxSkew
	for _, k := range keys {
		adm := int64(r.met.quota[k])
		// The window's start in true time (mesh time runs up to maxSkew
		// ahead of it).
		start := k.window*k.period - epoch.UnixNano() - skew
		limit := r.met.maxRate(k.client, k.period, start-k.period, start+k.period)
		if limit < 0 {
			continue
		}
		if over := float64(adm - 1 - limit); over > 0 {
			rep.OverAdmissionPct = max(rep.OverAdmissionPct, over/math.Max(float64(limit), 1)*100)
		}
		if float64(adm) > float64(limit)*1.01+1 && !r.p.exempt(start, start+k.period) {
			if viol++; viol <= 20 {
				r.windowViolation(max(start, 0), fmt.Sprintf("client %q admitted %d in one of its %v windows (#%d), limit %d",
					r.p.clients[k.client].id, adm, time.Duration(k.period), k.window, limit))
			}
		}
	}
	if viol > 20 {
		r.windowViolation(r.p.duration, fmt.Sprintf("%d more client-window violations", viol-20))
	}
}
