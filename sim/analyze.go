package sim

// The figures of a Report, from the per-window counts (metrics.go) and the
// ideal (ideal.go).
//
// Warm-up: bounds on over-admission are checked from the third complete
// window on; fairness, Jain and utilization cover only MEASURED windows:
// from the fourth complete window on, and only windows in which nothing
// happened — no scenario event, config update, membership change (any
// node's view of any other), demand change, no node suspecting another
// (suspicion is membership not yet settled), no node fenced and no dead
// member still holding its shares until its lease runs out — in the window
// itself or the 3 before it.
//
// A window's allowance for the over-admission bound is the largest allowance
// in force from one window before its start to its end, so that a lowered
// limit gets one window to reach every node. The ideal uses the config in
// force at the window's start.

import (
	"fmt"
	"math"
	"time"
)

const (
	warmupOver     = 2 // windows before over-admission is checked
	warmupMeasured = 3 // windows before fairness is measured
	stableWindows  = 3 // quiet windows required before a measured one
)

func (r *runner) analyze(rep *Report) {
	m, p := r.met, r.p
	W := p.window
	capW := -1.0
	if p.capacity > 0 {
		capW = float64(p.capacity) * float64(W) / float64(p.capPeriod)
	}
	floorW := float64(p.minRate) * float64(W) / 1e9
	nc := len(p.clients)
	claims := make([]claim, nc)
	var shares []float64
	perAdm := make([]float64, nc)
	perIdeal := make([]float64, nc)
	var sumAbs, sumIdeal, sumAdm, sumDen float64
	first := -1
	empty := &windowData{demand: make([]int32, nc), admitted: make([]int32, nc)}
	overViol, capViol, floorViol := 0, 0, 0
	for s := range m.wins {
		if !m.complete(s) {
			continue
		}
		if first < 0 {
			first = s
		}
		ord := s - first
		start := m.start(s)
		end := start + W
		d := m.wins[s]
		if d == nil {
			d = empty
		}
		// A span a scenario exempts (a fault whose cost it measures) is not
		// measured either.
		measured := ord >= warmupMeasured && !(p.exemptUntil > p.exemptFrom && start < p.exemptUntil && end > p.exemptFrom)
		for k := s - stableWindows; measured && k <= s; k++ {
			if m.eventWin[k] {
				measured = false
			}
		}
		quotaTook := 0.0
		for c := range claims {
			cfg := m.at(c, start)
			lim := -1.0
			if cfg.allowance >= 0 {
				lim = float64(cfg.allowance)
			}
			dem := float64(d.demand[c])
			if quotaOnly(cfg, W) {
				// A limit per minute or hour allows a burst in any one
				// measurement window: it is checked in its own windows
				// (quota.go), and the ideal here cannot say what is fair.
				// What it took of the capacity is not the others' to have.
				lim, dem = -1, 0
				quotaTook += float64(d.admitted[c])
			}
			claims[c] = claim{weight: cfg.weight, demand: dem, limit: lim, floor: floorW}
		}
		idealCap := capW
		if capW > 0 {
			idealCap = max(capW-quotaTook, 0)
		}
		shares = idealShares(idealCap, claims, shares)

		var tot, totDemand, totIdeal, den float64
		quotaAdm := 0.0 // admitted to quota-only clients: in the capacity, not in utilization
		totAllow, allLimited := int64(0), true
		for c := range claims {
			adm := float64(d.admitted[c])
			if quotaOnly(m.at(c, start), W) {
				tot += adm
				quotaAdm += adm
				continue
			}
			tot += adm
			totDemand += float64(d.demand[c])
			totIdeal += shares[c]
			e := claims[c].demand
			if claims[c].limit >= 0 {
				e = min(e, claims[c].limit)
				totAllow += int64(claims[c].limit)
			} else {
				allLimited = false
			}
			den += e
			if ord >= warmupOver {
				if a := m.maxAllowance(c, start-W, end); a >= 0 {
					if over := adm - 1 - float64(a); over > 0 {
						rep.OverAdmissionPct = max(rep.OverAdmissionPct, over/math.Max(float64(a), 1)*100)
					}
					if adm > float64(a)*1.01+1 && !p.exempt(start, end) {
						if overViol++; overViol <= 20 {
							r.windowViolation(start, fmt.Sprintf("window %d: client %q admitted %d, allowance %d", s+int(m.base), p.clients[c].id, int64(adm), a))
						}
					}
				}
			}
			if measured {
				perAdm[c] += adm
				perIdeal[c] += shares[c]
				sumAbs += beyondRounding(adm, shares[c])
				sumIdeal += shares[c]
				if capW > 0 && claims[c].weight == 0 {
					f := floorW
					if claims[c].limit >= 0 {
						f = min(f, claims[c].limit)
					}
					f = math.Floor(f)
					if claims[c].demand >= f && adm < f-1 {
						if floorViol++; floorViol <= 20 {
							r.windowViolation(start, fmt.Sprintf("window %d: zero-weight client %q admitted %d, below its floor %d (demand %d)",
								s+int(m.base), p.clients[c].id, int64(adm), int64(f), int64(claims[c].demand)))
						}
					}
				}
			}
		}
		if capW > 0 {
			// What quota-only clients took is not the others' to use.
			den = min(den, idealCap)
			if ord >= warmupOver {
				if over := tot - 1 - capW; over > 0 {
					rep.CapacityOverAdmissionPct = max(rep.CapacityOverAdmissionPct, over/capW*100)
				}
				if tot > capW*1.01+1 && !p.exempt(start, end) {
					if capViol++; capViol <= 20 {
						r.windowViolation(start, fmt.Sprintf("window %d: admitted %d in all, capacity %.0f", s+int(m.base), int64(tot), capW))
					}
				}
			}
		}
		if measured {
			rep.MeasuredWindows++
			sumAdm += tot - quotaAdm
			sumDen += den
		}
		widx := int64(s) + m.base
		if nc <= MaxClientRows {
			for c := range claims {
				rep.Windows = append(rep.Windows, WindowRow{Window: widx, Client: p.clients[c].id,
					Demand: int64(d.demand[c]), Allowance: int64(claims[c].limit), Admitted: int64(d.admitted[c]),
					Ideal: round4(shares[c]), Measured: measured})
			}
		} else {
			if !allLimited {
				totAllow = -1
			}
			rep.Windows = append(rep.Windows, WindowRow{Window: widx, Client: "*", Demand: int64(totDemand),
				Allowance: totAllow, Admitted: int64(tot), Ideal: round4(totIdeal), Measured: measured})
		}
	}
	for _, n := range []struct {
		count int
		what  string
	}{{overViol, "client over-admission"}, {capViol, "capacity over-admission"}, {floorViol, "zero-weight floor"}} {
		if n.count > 20 {
			r.windowViolation(p.duration, fmt.Sprintf("%d more %s violations", n.count-20, n.what))
		}
	}

	rep.FairnessErrorPct, rep.JainIndex, rep.UtilizationPct = -1, -1, -1
	if rep.MeasuredWindows > 0 {
		if sumIdeal > 0 {
			rep.FairnessErrorPct = round4(sumAbs / sumIdeal * 100)
		}
		if sumDen > 0 {
			rep.UtilizationPct = round4(sumAdm / sumDen * 100)
		}
		var sx, sxx float64
		n := 0
		for c := range perIdeal {
			if perIdeal[c] > 0 {
				x := perAdm[c] / perIdeal[c]
				sx += x
				sxx += x * x
				n++
			}
		}
		if n > 0 && sxx > 0 {
			rep.JainIndex = round4(sx * sx / (float64(n) * sxx))
		}
	}
	rep.OverAdmissionPct = round4(rep.OverAdmissionPct)
	rep.CapacityOverAdmissionPct = round4(rep.CapacityOverAdmissionPct)
}

// windowViolation records a violation found after the run, at true time at.
func (r *runner) windowViolation(at int64, what string) {
	now := r.now
	r.now = at
	r.violation(-1, what)
	r.now = now
}

// p99 returns the 99th percentile of ds in milliseconds, -1 if empty.
func p99(ds []int64) float64 {
	if len(ds) == 0 {
		return -1
	}
	s := append([]int64(nil), ds...)
	sortInt64s(s)
	i := int(math.Ceil(0.99*float64(len(s)))) - 1
	return round4(float64(s[max(i, 0)]) / float64(time.Millisecond))
}

// quotaOnly reports whether a client's own limit has a window other than
// the measurement window: it is then held to its limit in its own windows
// only (checkQuotas).
func quotaOnly(pt cfgPoint, window int64) bool { return pt.rate >= 0 && pt.period != window }

// beyondRounding is how far admitted is from ideal beyond what rounding to
// whole requests forces: from the nearest of floor(ideal) and ceil(ideal)
// when outside them, 0 within. An ideal of 5.3 requests is met by 5 or 6,
// and a hundred such clients cannot all be met closer than that.
func beyondRounding(admitted, ideal float64) float64 {
	lo, hi := math.Floor(ideal+1e-9), math.Ceil(ideal-1e-9)
	return max(lo-admitted, admitted-hi, 0)
}

// exempt reports whether over-admission in the window [start, end) of true
// time is only reported, not a violation.
func (p *plan) exempt(start, end int64) bool {
	return p.allowOverAdmission || (p.exemptUntil > p.exemptFrom && start < p.exemptUntil && end > p.exemptFrom)
}
