package bucket

import (
	"sync/atomic"
)

// Counts in a window slot are packed into one uint64 so that a decision is a
// single compare-and-swap: 20 bits of window tag, 22 bits of attempts, 22
// bits of admitted requests.
const (
	countBits = 22
	tagBits   = 64 - 2*countBits
	// MaxCount is the largest count a slot holds: a node admits at most this
	// many requests of one client in one window. Counts saturate there.
	MaxCount = 1<<countBits - 1
	tagMask  = 1<<tagBits - 1
	// MaxIdleWindows bounds how long an entry may stay idle before it must
	// be evicted: past 2^19 windows the 20-bit window tag could alias.
	MaxIdleWindows = 1 << (tagBits - 1)
)

// Policy is what a node may admit for one client, published atomically by
// the table's owner. A Policy is immutable once published.
type Policy struct {
	// Period is the window length in nanoseconds (> 0). Windows are aligned
	// on mesh time: window w covers [w·Period, (w+1)·Period).
	Period int64
	// Window is the window Slice was computed for.
	Window int64
	// Slice is how many requests this node may admit in window Window, at
	// most MaxCount. Ignored when Unlimited.
	Slice uint64
	// NextSlice applies to the windows after Window, until the owner
	// publishes a newer policy: the owner computes it in advance, so that
	// the first requests of a window never run on the last window's split.
	NextSlice uint64
	// Unlimited admits everything (still counting attempts and admissions).
	Unlimited bool
	// Limit is the mesh-wide allowance of the window, reported to callers
	// (RateLimit-Limit). -1 when unlimited.
	Limit int64
	// The fields below are read only when the slice is spent: they come
	// after those every decision reads.
	// Extra and NextExtra are further requests this node may admit in
	// window Window and in the windows after it, beyond Slice and NextSlice,
	// each of which must also take one unit from Pool: the client's own
	// limit is not reached, but the capacity beyond its reserved share is
	// shared with every other client of the node. Pool nil: no capacity
	// applies, and Extra is admitted like Slice.
	Extra, NextExtra uint64
	// Pool is the node's unreserved capacity: an Entry whose slice is what
	// the node may admit beyond reserved shares, counted per capacity
	// window. Shared by every client of the node; touched only when a
	// client's reserved slice is spent.
	Pool *Entry
}

// Entry is one tracked client. Admit is safe for concurrent use and takes no
// lock. Cold is not touched by this package after creation and is guarded
// by the owner's lock.
//
// An Entry is exactly one 64-byte cache line holding everything a decision
// reads: across 100k clients each line the fast path touches is a likely
// cache miss, so the ID's bytes (up to inlineID of them) sit in the line
// too, and matching a request's ID against the entry needs no other memory.
type Entry struct {
	policy atomic.Pointer[Policy]
	slots  [2]atomic.Uint64 // window w lives in slots[w&1]
	// lastSeen is the mesh time (ns) of the latest Admit, for idle eviction.
	lastSeen atomic.Int64
	// Cold is the owner's bookkeeping, kept out of line.
	Cold *Cold
	// idLen and idHead are the ID's length and its first inlineID bytes.
	idLen  uint16
	idHead [inlineID]byte
}

// inlineID is how many bytes of a client ID an Entry holds in its own cache
// line: IDs up to this length are matched without touching other memory,
// longer ones compare the rest against Cold's copy.
const inlineID = 22

// Cold is the owner's per-client bookkeeping, guarded by the owner's lock.
// Admit never touches it; Lookup reads only hash and id, which never change.
type Cold struct {
	hash uint64 // the client's hash as the owner computed it, written once before publication
	id   string // the client's ID, written once before publication
	// Processed is the newest finished window the owner has accounted.
	Processed int64
	// Reported and PrevReported are the two newest demand reports the
	// owner published for this client.
	Reported, PrevReported Report
	// Share is the owner's last fair share for the client, in requests
	// per second.
	Share float64
	// Demand is the owner's smoothed demand per window, in sixteenths of
	// a request; DemandSet reports whether it has a value yet.
	Demand    uint64
	DemandSet bool
	// Samples is how many windows Demand averages since it last jumped
	// (capped by the owner).
	Samples uint8
	// Portion is the owner's reservation for the client in the capacity
	// window it last divided (requests per window of the client's own);
	// PrevPortion the one in the window before it, which a client whose
	// windows are shorter than the capacity's is still claiming.
	Portion     uint32
	PrevPortion uint32
	// Ahead is the low 32 bits of the newest window (plus one) whose
	// unneeded rights the owner already offered to other nodes before it
	// opened: only ever compared with the next window's.
	Ahead uint32
	// Pins are the owner's rights for the windows w with w&1 == i, fixed
	// once claimed.
	Pins [2]Pin
}

// Pin is what a node claimed of one client in one window: its part of the
// client's reserved share (Slice) and of its limit (Limit), fixed once set
// so that a window's rights never move but by explicit transfers.
type Pin struct {
	Window1      int64 // the window plus one; 0: unset; negated: stale (claim again)
	Slice, Limit uint32
}

// Report is a node's demand for a client as of one finished window:
// absolute values, so that a report received twice or late does no harm.
type Report struct {
	Window int64 // -1: none
	// Demand is the node's smoothed attempts per window, in sixteenths of
	// a request (fixed point, so that a client sending 1.5 requests per
	// window to a node is not reported as 1 or 2 by chance).
	Demand   uint64
	Admitted uint64 // admissions in Window
}

// NewEntry returns an untracked entry for a client with the given hash, ID
// and initial policy. Tables create entries with Table.Insert; NewEntry is for
// stand-alone entries such as the overflow bucket.
func NewEntry(hash uint64, id string, p *Policy, now int64) *Entry {
	e := &Entry{idLen: uint16(len(id)), Cold: &Cold{hash: hash, id: id, Reported: Report{Window: -1}, PrevReported: Report{Window: -1}}}
	copy(e.idHead[:], id)
	e.policy.Store(p)
	e.lastSeen.Store(now)
	return e
}

// Hash returns the client's hash, as the owner gave it to Insert or NewEntry.
func (e *Entry) Hash() uint64 { return e.Cold.hash }

// ID returns the client's ID ("" for the overflow bucket).
func (e *Entry) ID() string { return e.Cold.id }

// is reports whether the entry belongs to the client id. The hash has
// matched already; this compares the bytes, so that two IDs with the same
// hash never share an entry.
func (e *Entry) is(id string) bool {
	if int(e.idLen) != len(id) {
		return false
	}
	head := min(len(id), inlineID)
	// string(bytes) == string compiles to a comparison, not a copy.
	if string(e.idHead[:head]) != id[:head] {
		return false
	}
	// hash and id in Cold are written once, before the entry is published.
	return head == len(id) || e.Cold.id[head:] == id[head:]
}

// Policy returns the policy in force.
func (e *Entry) Policy() *Policy { return e.policy.Load() }

// SetPolicy publishes p; decisions after it returns use p. When p's
// window length differs from the current policy's, the counts start over:
// they counted windows of the old length. The owner calls it, under its
// lock.
func (e *Entry) SetPolicy(p *Policy) {
	old := e.policy.Swap(p)
	if old != nil && old.Period != p.Period {
		for i := range e.slots {
			e.slots[i].Store(0)
		}
	}
}

// LastSeen returns the mesh time of the latest Admit (or of creation).
func (e *Entry) LastSeen() int64 { return e.lastSeen.Load() }

// Decision is the outcome of Admit.
type Decision struct {
	Allowed bool
	// Remaining is what this node may still admit in the window.
	Remaining uint64
	// ResetNanos is the time left until the window ends.
	ResetNanos int64
	// Policy is the policy the decision used, so that a caller reports
	// the limit it was decided by, not one published since.
	Policy *Policy
	// Stale reports that nothing was decided or counted: the policy is
	// for a window more than one before now's (its owner was paused, or
	// starved of CPU, past a window it never derived rights for). The
	// caller brings the policy up to date and asks again.
	Stale bool
}

func pack(tag, attempts, admitted uint64) uint64 {
	return tag<<(2*countBits) | attempts<<countBits | admitted
}

func unpack(v uint64) (tag, attempts, admitted uint64) {
	return v >> (2 * countBits), (v >> countBits) & MaxCount, v & MaxCount
}

// tagAhead reports how many windows tag a is ahead of tag b, when a is at
// most half the tag space ahead; 0 otherwise.
func tagAhead(a, b uint64) int64 {
	d := (a - b) & tagMask
	if d == 0 || d >= 1<<(tagBits-1) {
		return 0
	}
	return int64(d)
}

func satAdd(a, b uint64) uint64 {
	if a+b > MaxCount {
		return MaxCount
	}
	return a + b
}

// Admit counts k attempts at mesh time now (Unix ns, >= 0) and admits them
// all if the window's admissions stay within the policy's slice, or within
// slice plus extra when the pool (if any) grants k units; otherwise none.
// It takes no lock and allocates nothing.
func (e *Entry) Admit(now int64, k uint64) Decision { return e.admit(now, k, k, true) }

// Retry is Admit for k requests whose attempt was counted already (a
// request that waits is offered again and again, and is demand once).
func (e *Entry) Retry(now int64, k uint64) Decision { return e.admit(now, k, 0, true) }

// Attempt counts k attempts and admits nothing: a request that joins a
// queue behind others of its client is demand, but must not pass them.
func (e *Entry) Attempt(now int64, k uint64) Decision { return e.admit(now, k, k, false) }

// admit counts attempts and, if may, admits k as Admit does.
func (e *Entry) admit(now int64, k, attempts uint64, may bool) Decision {
	p := e.policy.Load()
	w := now / p.Period
	tag := uint64(w) & tagMask
	// A clock that stepped back must not reopen an older window (written
	// out rather than calling window: this is the fast path).
	for i := range e.slots {
		v := e.slots[i].Load()
		if v == 0 {
			continue
		}
		st, _, _ := unpack(v)
		if d := tagAhead(st, tag); d > 0 && d <= maxStepBack {
			w += d
			tag = st
		}
	}
	if w < p.Window {
		// This reader's clock lags the one that derived p (see window).
		w, tag = p.Window, uint64(p.Window)&tagMask
	}
	if w > p.Window+1 {
		return Decision{Stale: true, Policy: p}
	}
	slot := &e.slots[w&1]
	fromPool := false // k units taken from p.Pool and not yet used
	for {
		old := slot.Load()
		st, att, adm := unpack(old)
		if st != tag {
			att, adm = 0, 0
		}
		att = satAdd(att, attempts)
		slice := p.Slice
		if w > p.Window {
			slice = p.NextSlice
		}
		allowed := may && (p.Unlimited || adm+k <= slice)
		pooled := false
		if may && !allowed {
			allowed, pooled, fromPool = p.beyondSlice(now, w, adm, k, slice, fromPool)
		}
		if allowed {
			adm = satAdd(adm, k)
		}
		if slot.CompareAndSwap(old, pack(tag, att, adm)) {
			if fromPool && !pooled {
				// Taken on an earlier try, and this one needed none.
				p.Pool.Release(now, k)
			}
			if e.lastSeen.Load() < now {
				e.lastSeen.Store(now)
			}
			var rem uint64
			switch {
			case p.Unlimited:
				rem = MaxCount
			case adm < slice:
				rem = slice - adm
			}
			return Decision{Allowed: allowed, Remaining: rem, ResetNanos: (w+1)*p.Period - now, Policy: p}
		}
	}
}

// beyondSlice decides k requests past the slice (adm admitted already in
// window w): within the extra rights, each takes a pool unit, taken once
// per decision (took says whether it was already). Out of line: only a
// client whose slice is spent gets here.
func (p *Policy) beyondSlice(now, w int64, adm, k, slice uint64, took bool) (allowed, pooled, taken bool) {
	extra := p.Extra
	if w > p.Window {
		extra = p.NextExtra
	}
	if adm+k > slice+extra {
		return false, false, took
	}
	if p.Pool == nil {
		return true, false, took
	}
	if !took {
		took = p.Pool.Admit(now, k).Allowed
	}
	return took, took, took
}

// window returns the window of now under p and its tag. A clock that
// stepped back must not reopen an older window: if either slot already
// counts a newer window, it counts in that one. Nor may a clock that lags
// the one that derived p (the fast path reads a coarse clock that a ticker
// advances; the owner derives policies on the exact one): p's rights are
// its window's, and counting them in an older window would let that window
// admit past its own slice. Such a reading counts in p's window.
func (e *Entry) window(now int64, p *Policy) (w int64, tag uint64) {
	w = max(now/p.Period, p.Window)
	tag = uint64(w) & tagMask
	for i := range e.slots {
		v := e.slots[i].Load()
		if v == 0 {
			continue // never written: every write counts at least one attempt
		}
		st, _, _ := unpack(v)
		// Only a bounded step: a slot far "ahead" holds a window of another
		// length (the client's limit changed while a decision was in
		// flight, see SetPolicy), not a clock that stepped back.
		if d := tagAhead(st, tag); d > 0 && d <= maxStepBack {
			w += d
			tag = st
		}
	}
	return w, tag
}

// maxStepBack is how many windows back a clock may step and still not
// reopen a window it counted in; a stale tag of another window length
// aliases within it with probability 2^-14.
const maxStepBack = 64

// Release gives back up to k admissions counted in the window of now (a
// refund, or pool units a decision took and did not use) and returns how
// many it gave back: never more than the window admitted. Attempts stay
// counted. Safe for concurrent use with Admit.
func (e *Entry) Release(now int64, k uint64) uint64 {
	p := e.policy.Load()
	w, tag := e.window(now, p)
	slot := &e.slots[w&1]
	for {
		old := slot.Load()
		st, att, adm := unpack(old)
		if st != tag || adm == 0 {
			return 0
		}
		r := min(k, adm)
		if slot.CompareAndSwap(old, pack(tag, att, adm-r)) {
			return r
		}
	}
}

// Counts returns the attempts and admissions counted in window w (zero when
// the slot holds another window).
func (e *Entry) Counts(w int64) (attempts, admitted uint64) {
	st, att, adm := unpack(e.slots[w&1].Load())
	if st != uint64(w)&tagMask {
		return 0, 0
	}
	return att, adm
}
