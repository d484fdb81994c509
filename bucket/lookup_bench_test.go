package bucket

import (
	"fmt"
	"testing"

	"github.com/cespare/xxhash/v2"
)

// BenchmarkLookupAdmit measures the table alone across 100k clients: no
// node, no clock. Each ID is formatted in place (its bytes in cache, as a
// server holds the ID of the request it has just parsed) and hashed, so
// the misses measured are the table's own.
func BenchmarkLookupAdmit(b *testing.B) {
	const n = 100_000
	tb := NewTable(n, 0)
	p := &Policy{Period: 1e9, Slice: MaxCount, NextSlice: MaxCount}
	for i := range n {
		id := fmt.Sprintf("client-%08d", i)
		tb.Insert(xxhash.Sum64String(id), id, p, 0)
	}
	id := []byte("client-00000000")
	x := uint64(1)
	for b.Loop() {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		i := x % n
		for j := len(id) - 1; j >= len("client-"); j-- {
			id[j] = byte('0' + i%10)
			i /= 10
		}
		e := tb.Lookup(xxhash.Sum64(id), string(id))
		if e == nil {
			b.Fatal("a known client was not found")
		}
		e.Admit(5, 1)
	}
}
