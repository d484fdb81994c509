package crdt

import (
	"math/rand"
	"testing"
	"testing/quick"
)

// A ledger operation, applied by the replica it names.
type ledgerOp struct {
	kind     int // 0 admit, 1 return, 2 transfer
	replica  string
	to       string
	amount   uint64
	absolute uint64 // for admits: the new total
}

// refLedger is the naive reference: per-replica totals as plain maps.
type refLedger struct {
	p, n map[string]uint64
	out  map[Edge]uint64
}

func newRef() *refLedger {
	return &refLedger{p: map[string]uint64{}, n: map[string]uint64{}, out: map[Edge]uint64{}}
}

func (r *refLedger) rights(replica string, grant uint64) uint64 {
	have := grant + r.n[replica]
	spent := r.p[replica]
	for e, v := range r.out {
		if e.To == replica {
			have += v
		}
		if e.From == replica {
			spent += v
		}
	}
	if spent >= have {
		return 0
	}
	return have - spent
}

// Replicas apply their own operations and exchange deltas that are
// shuffled, duplicated and partly dropped (then repaired by a full state):
// every replica ends with the reference's rights and consumption.
func TestLedgerConvergesUnderLossDuplicationReordering(t *testing.T) {
	f := func(seed int64) bool {
		rng := rand.New(rand.NewSource(seed))
		names := []string{"a", "b", "c", "d"}
		ls := map[string]*Ledger{}
		for _, n := range names {
			ls[n] = &Ledger{}
		}
		ref := newRef()
		var inflight []LedgerDelta
		for range 60 {
			who := names[rng.Intn(len(names))]
			l := ls[who]
			switch rng.Intn(3) {
			case 0:
				ref.p[who] += uint64(rng.Intn(5))
				l.Admitted(who, ref.p[who])
			case 1:
				d := uint64(rng.Intn(3))
				ref.n[who] += d
				l.Returned(who, d)
			case 2:
				to := names[rng.Intn(len(names))]
				if to == who {
					continue
				}
				d := uint64(rng.Intn(4))
				ref.out[Edge{who, to}] += d
				l.Transfer(who, to, d)
			}
			inflight = append(inflight, l.TakeDelta())
			// Deliver some in-flight deltas, in any order, some twice,
			// some never.
			rng.Shuffle(len(inflight), func(i, j int) { inflight[i], inflight[j] = inflight[j], inflight[i] })
			keep := inflight[:0]
			for _, d := range inflight {
				switch rng.Intn(4) {
				case 0:
					keep = append(keep, d)
				case 1: // lost
				default:
					ls[names[rng.Intn(len(names))]].Merge(d)
					if rng.Intn(3) == 0 {
						keep = append(keep, d) // duplicated later
					}
				}
			}
			inflight = keep
		}
		// Repair: everyone merges everyone's state, in a random order.
		for range 2 {
			for _, a := range names {
				for _, b := range names {
					ls[a].Merge(ls[b].State())
				}
			}
		}
		var consumed int64
		for _, n := range names {
			consumed += int64(ref.p[n]) - int64(ref.n[n])
		}
		for _, who := range names {
			for _, n := range names {
				if ls[who].Rights(n, 10) != ref.rights(n, 10) {
					t.Logf("seed %d: %s sees %s with %d rights, want %d", seed, who, n, ls[who].Rights(n, 10), ref.rights(n, 10))
					return false
				}
			}
			if ls[who].Consumed() != consumed {
				return false
			}
		}
		return true
	}
	if err := quick.Check(f, quickConfig(7)); err != nil {
		t.Fatal(err)
	}
}

// Transfers only move rights: whatever replicas transfer from what they
// hold, the rights summed over replicas plus what they admitted never
// exceed the grants.
func TestLedgerTransfersNeverCreateRights(t *testing.T) {
	f := func(seed int64) bool {
		rng := rand.New(rand.NewSource(seed))
		names := []string{"a", "b", "c"}
		grant := map[string]uint64{"a": 7, "b": 0, "c": 3}
		var l Ledger
		for range 40 {
			from := names[rng.Intn(3)]
			to := names[rng.Intn(3)]
			// A replica transfers at most what it holds.
			if r := l.Rights(from, grant[from]); r > 0 && from != to {
				l.Transfer(from, to, uint64(rng.Intn(int(r)+1)))
			}
			if r := l.Rights(from, grant[from]); r > 0 {
				p, _ := l.Used(from)
				l.Admitted(from, p+uint64(rng.Intn(int(r)+1)))
			}
		}
		var sum uint64
		for _, n := range names {
			p, _ := l.Used(n)
			sum += l.Rights(n, grant[n]) + p
		}
		return sum == 10 && l.Consumed() <= 10
	}
	if err := quick.Check(f, quickConfig(8)); err != nil {
		t.Fatal(err)
	}
}

func TestLedgerIgnoresSelfTransfersAndLowerValues(t *testing.T) {
	var l Ledger
	l.Transfer("a", "a", 5)
	l.Merge(LedgerDelta{Transfers: []Transfer{{Edge{"b", "b"}, 3}}})
	if l.Out("a") != 0 || l.In("b") != 0 {
		t.Fatal("a transfer to oneself counted")
	}
	l.Transfer("a", "b", 4)
	l.Merge(LedgerDelta{Transfers: []Transfer{{Edge{"a", "b"}, 2}}})
	if l.Sent("a", "b") != 4 {
		t.Fatalf("a lower cumulative value lowered the transfer to %d", l.Sent("a", "b"))
	}
	if !l.Admitted("a", 3) || l.Admitted("a", 2) {
		t.Fatal("Admitted must raise only")
	}
	if got := l.Rights("a", 10); got != 10-4-3 {
		t.Fatalf("rights %d", got)
	}
	if got := l.Rights("a", 1); got != 0 {
		t.Fatalf("rights below zero read as %d", got)
	}
}
