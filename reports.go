package fairmesh

import (
	"math"

	"github.com/fairmesh/fairmesh/bucket"
)

// rolloverEntry accounts a client's windows that finished since the last
// sweep (at most the last two: older slots are overwritten), updates its
// smoothed demand and queues a report when the change is worth telling.
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
		n.auditCount(fw, p.Period, adm)
		n.counters.Admitted += adm
		n.counters.Denied += att - adm
		d := att * demandScale
		switch {
		case exact || !c.DemandSet || fw == floorDivInt(n.holdersChangedAt, p.Period)+1:
			// The first whole window after the holders changed is a
			// shift whatever its size: the load balancers in front of
			// the mesh moved traffic with the members.
			c.Demand, c.Samples = d, 1
		case absDiff(d, c.Demand) > shiftThreshold(c.Demand) || d == 0 && c.Demand > 4*demandScale:
			// A real shift (traffic moved here, or away): follow it at
			// once, so that slices follow demand within a window. A
			// window without a single request where more than four were
			// the rule is one: a client that stopped, not chance, and
			// what was reserved for it would go unused.
			c.Demand, c.Samples = d, 1
		default:
			// Noise: average it, so that a client that sends 1 and 2
			// requests to a node in turn, or one request every few
			// windows, reads as the steady rate it is. The first windows
			// after a shift are a plain running mean (a first count of 1
			// from a client seen every fifth window must not read as one a
			// window for long); then an average with weight 1/4, or 1/8
			// for a few requests a window, where each count is mostly
			// noise and a steadier estimate is re-reported less often.
			k := uint64(4)
			if d < 4*demandScale && c.Demand < 4*demandScale {
				k = 8
			}
			k = min(uint64(c.Samples)+1, k)
			c.Samples = uint8(k)
			c.Demand = (c.Demand*(k-1) + d) / k
			if d == 0 {
				// A window without a request halves what is left of a
				// small demand, and below half a request it is none: a
				// client that stopped must not keep a sliver of demand
				// on every node, which, over many clients, reserves
				// capacity nobody uses.
				c.Demand = min(c.Demand, c.Demand/2+demandScale/4)
				if c.Demand < demandScale/2 {
					c.Demand = 0
				}
			}
		}
		c.DemandSet = true
		if !n.worthReporting(c.Demand, c.Samples, c.Reported, exact) {
			continue
		}
		c.PrevReported = c.Reported
		c.Reported = bucket.Report{Window: fw, Demand: c.Demand, Admitted: adm}
		if e != n.overflow && !exact {
			n.pendingReports[e.Hash()] = &pending{e: e, left: resends, delta: absDiff(c.Reported.Demand, c.PrevReported.Demand)}
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
func (n *Node) worthReporting(d uint64, samples uint8, last bucket.Report, exact bool) bool {
	if last.Window < 0 {
		// A few requests a window are mostly noise until averaged over a
		// few windows; a first report from one window would stand, since
		// later moves stay under a request.
		return d > 0 && (exact || d >= 4*demandScale || samples >= 2)
	}
	if d == last.Demand {
		return false
	}
	if exact {
		return true
	}
	if d == 0 && n.alloc.binding {
		// While shares are reserved, none at all is news however
		// little there was: slivers of demand left on every node would
		// reserve capacity nobody uses.
		return true
	}
	diff := math.Abs(float64(d) - float64(last.Demand))
	return diff > max(demandScale, n.cfg.ReportThreshold*float64(max(d, last.Demand)))
}

// shiftThreshold is how far one window's count (scaled by demandScale)
// must be from the smoothed demand d to read as traffic that moved rather
// than noise: an eighth of d, at least 4 requests, and at least three
// standard deviations of a Poisson count of mean d. A few requests a
// window to one node swing by more than a quarter from window to window,
// and following each swing would split a client's share by noise; but a
// mesh of five that loses a member sends each of the others a quarter
// more, and averaging that in over several windows would under-count the
// client's demand, and so its share, meanwhile.
func shiftThreshold(d uint64) uint64 {
	sigma3 := uint64(3 * math.Sqrt(float64(d)/demandScale) * demandScale)
	return max(4*demandScale, d/8, sigma3)
}
