package bucket

import (
	"fmt"
	"testing"

	"github.com/cespare/xxhash/v2"
)

// BenchmarkLookupAdmit measures the table alone across 100k clients, with
// hashes computed beforehand.
func BenchmarkLookupAdmit(b *testing.B) {
	const n = 100_000
	tb := NewTable(n)
	ids := make([]string, n)
	hs := make([]uint64, n)
	p := &Policy{Period: 1e9, Slice: MaxCount, NextSlice: MaxCount}
	for i := range ids {
		ids[i] = fmt.Sprintf("client-%08d", i)
		hs[i] = xxhash.Sum64String(ids[i])
		tb.Insert(hs[i], ids[i], p, 0)
	}
	x := uint64(1)
	for b.Loop() {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		i := x % n
		tb.Lookup(hs[i], ids[i]).Admit(5, 1)
	}
}
