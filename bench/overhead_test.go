package bench

import (
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
