package bench

import (
	"fmt"
	"testing"

	"github.com/cespare/xxhash/v2"
)

var sink uint64

// BenchmarkPickAndHash is the floor under the per-client benchmarks here:
// choosing a random client and hashing its ID, with no limiter at all.
// "formatted" is the harness of BenchmarkAllow/*/100k, "pooled" that of
// BenchmarkAllow/*/100k-pooled.
func BenchmarkPickAndHash(b *testing.B) {
	b.Run("formatted", func(b *testing.B) {
		var id clientID
		p := picker{x: 1}
		var s uint64
		for b.Loop() {
			id.set(p.next(manyClients))
			s += xxhash.Sum64String(string(id[:]))
		}
		sink = s
	})
	b.Run("pooled", func(b *testing.B) {
		ids := clientIDs(manyClients)
		p := picker{x: 1}
		var s uint64
		for b.Loop() {
			s += xxhash.Sum64String(ids[p.next(len(ids))])
		}
		sink = s
	})
}

// BenchmarkMemoryLatency is the machine's floor under a per-client decision
// across many clients: one load whose address depends on the one before, at
// a random cache line of a buffer of the given size. A decision across 100k
// clients touches two random lines (a table slot and an entry) in ~10 MB;
// when that does not fit the cache the machine gives this process, each
// dependent miss costs what the "10MB" row says, whatever the limiter does.
func BenchmarkMemoryLatency(b *testing.B) {
	for _, mb := range []int{1, 4, 10, 64} {
		b.Run(fmt.Sprintf("%dMB", mb), func(b *testing.B) {
			next := chain(mb << 20)
			i := uint32(0)
			for b.Loop() {
				i = next[i]
			}
			sink = uint64(i)
		})
	}
}

// chain returns a buffer of size bytes in which one word per 64-byte line
// holds the index of the next line's word, the lines visited in one random
// cycle, so that the hardware prefetchers cannot guess the next load.
func chain(size int) []uint32 {
	const perLine = 64 / 4
	lines := size / 64
	order := make([]int, lines)
	for i := range order {
		order[i] = i
	}
	p := picker{x: 88172645463325252}
	for i := lines - 1; i > 0; i-- {
		j := p.next(i + 1)
		order[i], order[j] = order[j], order[i]
	}
	next := make([]uint32, lines*perLine)
	for k, line := range order {
		next[line*perLine] = uint32(order[(k+1)%lines] * perLine)
	}
	return next
}

// The chain must be one cycle through every line, or the benchmark would
// loop in a few lines that stay in cache.
func TestChainVisitsEveryLineOnce(t *testing.T) {
	const size = 64 << 10
	next := chain(size)
	seen := map[uint32]bool{}
	i := uint32(0)
	for range size / 64 {
		if seen[i] {
			t.Fatalf("line %d visited twice before the cycle closed", i/16)
		}
		seen[i] = true
		i = next[i]
	}
	if i != 0 || len(seen) != size/64 {
		t.Fatalf("after %d steps: at %d, %d lines seen", size/64, i, len(seen))
	}
}
