package fairmesh

import (
	"math"

	"github.com/fairmesh/fairmesh/bucket"
	"github.com/fairmesh/fairmesh/wfq"
)

const (
	// resends is how many consecutive ticks carry each report and config
	// change: a single lost packet must not leave a peer with a stale
	// value until the next anti-entropy exchange.
	resends = 2
)

// allocState is the node's fair-share bookkeeping (guarded by Node.mu).
type allocState struct {
	dirty     bool  // inputs changed: re-derive every client's policy
	advanced  bool  // some client entered a new window
	capWindow int64 // capacity window of the last fair-share run
	// binding reports that measured demand exceeds the capacity, so fair
	// shares are reserved (portion.go). portionFor is the capacity window
	// the clients' portions were last computed for; portions holds their
	// sums for the two newest.
	binding    bool
	portionFor int64
	portions   [2]portionsOf
	// portionsBy is, per holder (in holders order), the sum of the
	// portions of the clients tracked here that the holder reserves, as
	// this node computes them: what each needs to hold while the
	// capacity binds.
	portionsBy []uint64
	// unreservedBy is, per holder, the demand (req/s), each client's at
	// its fair share, of the clients that reserve nothing: while the
	// capacity binds, their shares are in the pools, and a holder needs
	// them on top of its portions.
	unreservedBy []float64
	// poolBy is each holder's demand (req/s), each client's at its fair
	// share, at the last fair-share run, by name: capacity is given
	// toward it (ahead.go). poolDemand is the buffer the run builds it
	// in, reused.
	poolDemand []float64
	poolBy     map[string]float64
	// claimAt is the earliest mesh time at which some window's rights can
	// be claimed (math.MaxInt64: none pending).
	claimAt int64
	epoch   uint64
	claims  []wfq.Claim
	shares  []float64
	refs    []clientRef
}

type clientRef struct {
	h  uint64
	e  *bucket.Entry
	rc *remoteClient
}

// scratch holds per-call buffers reused across allocations.
type scratch struct {
	views  []*viewEntry
	ids    []string
	att    []uint64
	lacks  []uint64
	spares []float64
	fracs  []float64
	wants  []float64
	frac   []float64
	slices []int64
	order  []int
}

func (a *allocState) init(n *Node) {
	a.capWindow = -1
	a.dirty = true
	a.claimAt = math.MaxInt64
	a.poolBy = map[string]float64{}
}

// maintain accounts finished windows, evicts idle clients, and re-derives
// allowances and slices when anything they depend on changed.
func (n *Node) maintain(now int64) {
	// Maintenance runs on the exact clock from Tick and on the decision
	// path's coarse reading from maintainInline, which can lag it: time must
	// never go back for it, or a boundary would be crossed twice (window
	// shares, claims and sweeps recomputed for the window before).
	now = max(now, n.maintainedAt)
	n.maintainedAt = now
	defer n.schedule(now)
	if now >= n.sweepAt {
		n.rollover(now)
	}
	if n.cfg.Capacity > 0 {
		period := int64(n.cfg.CapacityPeriod)
		ref := now
		if !n.alone() {
			// Shares for window x are needed when its rights are claimed,
			// at its lead instant.
			ref += leadOf(period)
			n.noteClaim((now/period+1)*period - leadOf(period))
		}
		if w := ref / period; w != n.alloc.capWindow {
			n.alloc.capWindow = w
			n.fairShares(now)
			n.alloc.dirty = true
		}
		n.noteScavenge(now)
	}
	if now >= n.admitAt {
		n.setHolders(now)
	}
	if now >= n.alloc.claimAt {
		n.alloc.claimAt = math.MaxInt64
		n.alloc.dirty = true
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
	n.auditFinish(now)
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
