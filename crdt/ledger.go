package crdt

import (
	"cmp"
	"maps"
	"slices"
)

// Ledger is the consumption ledger of one allowance in one window, shared by
// the replicas (node processes) that hold rights to it: a PN-counter of
// what each replica admitted (P) and gave back (N), and a grow-only matrix
// of the rights each replica transferred to another, cumulative. Every
// entry has one writer, the replica it belongs to (the transfer from→to is
// written by from), so merging is the per-entry maximum: idempotent,
// commutative and associative, and a lost, duplicated or reordered delta
// does no harm.
//
// It is the bounded counter of Balegas et al. ("Extending Eventually
// Consistent Cloud Databases for Enforcing Numeric Invariants", SRDS 2015)
// over a PN-counter: what a replica may still admit is what it was granted
// plus what it received, less what it transferred, admitted and did not
// give back (Rights). A replica transfers only from its own rights, so the
// sum over replicas never exceeds what was granted, in whatever order the
// deltas arrive.
//
// The zero value is an empty ledger ready to use. A Ledger is NOT safe for
// concurrent use.
type Ledger struct {
	used PNCounter
	out  map[Edge]uint64
	// changed marks transfers changed since the last TakeDelta.
	changed map[Edge]struct{}
}

// Edge names a transfer of rights from one replica to another.
type Edge struct{ From, To string }

// Transfer is the cumulative amount of rights From has transferred To.
type Transfer struct {
	Edge
	Amount uint64
}

// LedgerDelta is a set of ledger entries to merge: the entries changed
// since the last TakeDelta, or the whole State. Entries are sorted.
type LedgerDelta struct {
	Used      PNDelta
	Transfers []Transfer
}

// Admitted raises replica's admitted total to at least p (absolute, so a
// repeated report is harmless) and reports whether it changed.
func (l *Ledger) Admitted(replica string, p uint64) bool {
	cur, n := l.used.Entry(replica)
	if p <= cur {
		return false
	}
	l.used.Merge(PNDelta{Entries: []PNEntry{{Node: replica, P: p, N: n}}})
	return true
}

// Returned adds d to what replica gave back.
func (l *Ledger) Returned(replica string, d uint64) { l.used.Decrement(replica, d) }

// Transfer records that from transfers d more of its rights to to.
func (l *Ledger) Transfer(from, to string, d uint64) {
	if d == 0 || from == to {
		return
	}
	l.raise(Edge{from, to}, addSat(l.out[Edge{from, to}], d))
}

func (l *Ledger) raise(e Edge, v uint64) {
	if v <= l.out[e] {
		return
	}
	if l.out == nil {
		l.out = map[Edge]uint64{}
		l.changed = map[Edge]struct{}{}
	}
	l.out[e] = v
	l.changed[e] = struct{}{}
}

// Sent returns the cumulative rights from transferred to to.
func (l *Ledger) Sent(from, to string) uint64 { return l.out[Edge{from, to}] }

// In returns the rights every other replica transferred to replica.
func (l *Ledger) In(replica string) uint64 {
	return l.sum(func(e Edge) bool { return e.To == replica })
}

// Out returns the rights replica transferred to every other.
func (l *Ledger) Out(replica string) uint64 {
	return l.sum(func(e Edge) bool { return e.From == replica })
}

func (l *Ledger) sum(keep func(Edge) bool) uint64 {
	var s uint64
	for e, v := range l.out {
		if keep(e) {
			s = addSat(s, v)
		}
	}
	return s
}

// Consumed returns what every replica admitted and did not give back.
func (l *Ledger) Consumed() int64 { return l.used.Value() }

// Used returns replica's admitted and returned totals.
func (l *Ledger) Used(replica string) (p, n uint64) { return l.used.Entry(replica) }

// Rights returns what replica may still admit given the grant it started
// with: grant + In − Out − P + N, never below zero.
func (l *Ledger) Rights(replica string, grant uint64) uint64 {
	p, n := l.used.Entry(replica)
	have := addSat(addSat(grant, l.In(replica)), n)
	spent := addSat(l.Out(replica), p)
	if spent >= have {
		return 0
	}
	return have - spent
}

// Merge raises every entry to the maximum of its value and the delta's.
func (l *Ledger) Merge(d LedgerDelta) {
	l.used.Merge(d.Used)
	for _, t := range d.Transfers {
		if t.From != t.To {
			l.raise(t.Edge, t.Amount)
		}
	}
}

// TakeDelta returns the entries changed since the last TakeDelta, locally
// or by a merge that raised them, and clears the change set.
func (l *Ledger) TakeDelta() LedgerDelta {
	d := LedgerDelta{Used: l.used.TakeDelta(), Transfers: sortedTransfers(l, l.changed)}
	clear(l.changed)
	return d
}

// State returns every entry; merging it brings another ledger up to at
// least this one.
func (l *Ledger) State() LedgerDelta {
	return LedgerDelta{Used: l.used.State(), Transfers: sortedTransfers(l, l.out)}
}

func sortedTransfers[V any](l *Ledger, set map[Edge]V) []Transfer {
	if len(set) == 0 {
		return nil
	}
	ts := make([]Transfer, 0, len(set))
	for _, e := range slices.SortedFunc(maps.Keys(set), func(a, b Edge) int {
		return cmp.Or(cmp.Compare(a.From, b.From), cmp.Compare(a.To, b.To))
	}) {
		ts = append(ts, Transfer{e, l.out[e]})
	}
	return ts
}
