package bucket

import (
	"fmt"
	"testing"
)

// longestProbe is the farthest any entry sits from the start of its probe
// chain: what a lookup of that entry, or of an absent hash starting nearby,
// walks.
func (t *Table) longestProbe() uint64 {
	var worst uint64
	for i := range t.shards {
		a := t.shards[i].arr.Load()
		for j := range a.slots {
			e := a.slots[j].e.Load()
			if e == nil || e == tombstone {
				continue
			}
			if d := (uint64(j) - a.start(t.place(e.Hash()))) & a.mask; d > worst {
				worst = d
			}
		}
	}
	return worst
}

// Hashes chosen to share their low 40 bits (what anyone can find for a
// public hash such as plain xxhash64 by trying IDs) would all fall into one
// shard and one probe chain if the table placed entries by the hash's own
// bits. Placed through the seed's multiplier they spread like random hashes,
// whatever the seed, and every one is still found.
func TestCraftedHashesDoNotShareAProbeChain(t *testing.T) {
	const n = 4096
	for _, seed := range []uint64{0, 1, 0xdeadbeef} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			tb := NewTable(n, seed)
			hash := func(i int) uint64 { return 0x000000A5A5A5A5A5 | uint64(i)<<40 }
			for i := range n {
				if _, _, err := tb.Insert(hash(i), fmt.Sprint(i), policy(1), 0); err != nil {
					t.Fatal(err)
				}
			}
			// n random hashes in 256 shards at a load under 3/4 leave no
			// entry this far from its start; one shared chain would leave
			// one n-1 away.
			if worst := tb.longestProbe(); worst > 48 {
				t.Fatalf("an entry sits %d slots from its chain's start", worst)
			}
			for i := range n {
				if tb.Lookup(hash(i), fmt.Sprint(i)) == nil {
					t.Fatalf("entry %d not found", i)
				}
			}
		})
	}
}
