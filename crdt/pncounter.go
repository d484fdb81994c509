package crdt

import (
	"math"
	"slices"
	"strings"
)

// PNCounter is a delta-state PN-counter with one entry per node: P totals a
// node's increments and N its decrements, and the counter's value is
// ΣP − ΣN. A node should only increment or decrement its own entry; replicas
// exchange entries and merge them by taking the maximum of each, so merging is
// idempotent, commutative and associative and a lost, duplicated or reordered
// delta does no harm.
//
// The counter tracks which entries changed, locally or by a merge that raised
// them, since the last [PNCounter.TakeDelta].
//
// The zero value is an empty counter ready to use, as is [NewPNCounter]'s
// result. A PNCounter is NOT safe for concurrent use: callers that share one
// hold their own lock.
type PNCounter struct {
	entries map[string]pnPair
	dirty   map[string]struct{}
}

// pnPair is one node's entry: increment and decrement totals.
type pnPair struct{ p, n uint64 }

// PNEntry is one node's absolute increment (P) and decrement (N) totals.
type PNEntry struct {
	Node string
	P, N uint64
}

// PNDelta is a set of entries to merge into a [PNCounter]: either the entries
// changed since the last [PNCounter.TakeDelta] or the full
// [PNCounter.State]. Entries produced by this package are sorted by Node with
// one entry per node; [PNCounter.Merge] accepts any order and repeated nodes.
// The zero value is the empty delta.
type PNDelta struct {
	Entries []PNEntry
}

// NewPNCounter returns an empty counter.
func NewPNCounter() *PNCounter {
	return &PNCounter{}
}

// Increment adds d to node's P total, saturating at math.MaxUint64 so that
// the total never decreases. An increment that changes nothing (d == 0, or P
// already saturated) does not mark the entry changed.
func (c *PNCounter) Increment(node string, d uint64) {
	e := c.entries[node]
	c.raise(node, pnPair{p: addSat(e.p, d), n: e.n})
}

// Decrement adds d to node's N total, saturating at math.MaxUint64 so that
// the total never decreases. A decrement that changes nothing does not mark
// the entry changed.
func (c *PNCounter) Decrement(node string, d uint64) {
	e := c.entries[node]
	c.raise(node, pnPair{p: e.p, n: addSat(e.n, d)})
}

// Value returns ΣP − ΣN over all entries. The sums are taken modulo 2^64, so
// the result is exact whenever the true value fits in an int64.
func (c *PNCounter) Value() int64 {
	var p, n uint64
	for _, e := range c.entries {
		p += e.p
		n += e.n
	}
	return int64(p - n)
}

// Entry returns node's P and N totals, zero for a node never seen.
func (c *PNCounter) Entry(node string) (p, n uint64) {
	e := c.entries[node]
	return e.p, e.n
}

// Merge raises each entry to the maximum of its current value and the
// delta's, P and N independently, and marks raised entries changed. Merge
// does not retain d.
func (c *PNCounter) Merge(d PNDelta) {
	for _, in := range d.Entries {
		e := c.entries[in.Node]
		c.raise(in.Node, pnPair{p: max(e.p, in.P), n: max(e.n, in.N)})
	}
}

// TakeDelta returns the absolute current values of the entries changed since
// the previous TakeDelta (or since the counter was created), sorted by node,
// and clears the change set. It returns the empty delta when nothing changed.
// The returned slice is the caller's.
func (c *PNCounter) TakeDelta() PNDelta {
	if len(c.dirty) == 0 {
		return PNDelta{}
	}
	d := snapshot(c, c.dirty)
	clear(c.dirty)
	return d
}

// State returns every entry, sorted by node; merging it into another counter
// brings that counter up to at least this one. It does not touch the change
// set. The returned slice is the caller's.
func (c *PNCounter) State() PNDelta {
	return snapshot(c, c.entries)
}

// raise stores e for node if it differs from the current entry, marking the
// entry changed. Callers only pass values at least the current ones.
func (c *PNCounter) raise(node string, e pnPair) {
	if cur, ok := c.entries[node]; ok && cur == e {
		return
	}
	if e == (pnPair{}) {
		return // nothing to record for an unknown node
	}
	if c.entries == nil {
		c.entries = make(map[string]pnPair)
		c.dirty = make(map[string]struct{})
	}
	c.entries[node] = e
	c.dirty[node] = struct{}{}
}

// snapshot returns the entries named by the keys of set, sorted by node.
func snapshot[V any](c *PNCounter, set map[string]V) PNDelta {
	if len(set) == 0 {
		return PNDelta{}
	}
	entries := make([]PNEntry, 0, len(set))
	for node := range set {
		e := c.entries[node]
		entries = append(entries, PNEntry{Node: node, P: e.p, N: e.n})
	}
	slices.SortFunc(entries, func(a, b PNEntry) int { return strings.Compare(a.Node, b.Node) })
	return PNDelta{Entries: entries}
}

// addSat returns a+b, or math.MaxUint64 if the sum overflows.
func addSat(a, b uint64) uint64 {
	if s := a + b; s >= a {
		return s
	}
	return math.MaxUint64
}
