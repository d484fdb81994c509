package bench

import (
	"testing"

	"github.com/cespare/xxhash/v2"
)

var sink uint64

// BenchmarkPickAndHash is the floor under every per-client benchmark here:
// picking a random client ID and hashing it, with no limiter at all.
func BenchmarkPickAndHash(b *testing.B) {
	ids := clientIDs(manyClients)
	p := picker{x: 1}
	var s uint64
	for b.Loop() {
		s += xxhash.Sum64String(ids[p.next(len(ids))])
	}
	sink = s
}
