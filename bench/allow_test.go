package bench

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"
	"golang.org/x/time/rate"

	"github.com/fairmesh/fairmesh"
	"github.com/fairmesh/fairmesh/clock"
)

const manyClients = 100_000

func clientIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("client-%08d", i)
	}
	return ids
}

// picker walks ids in a pseudo-random order, cheaply and without shared
// state, so that the benchmark measures the limiter, not the generator.
type picker struct{ x uint64 }

func (p *picker) next(n int) int {
	p.x ^= p.x << 13
	p.x ^= p.x >> 7
	p.x ^= p.x << 17
	return int(p.x % uint64(n))
}

var seeds atomic.Uint64

// newFairmesh returns a node with the clock `fairmesh serve` uses and a
// limit high enough that every request is a full decision that admits.
func newFairmesh(b *testing.B) *fairmesh.Node {
	clk := clock.NewCoarseClock(time.Millisecond)
	b.Cleanup(clk.Stop)
	n, err := fairmesh.NewNode(fairmesh.Config{Clock: clk, DefaultRate: fairmesh.MaxRate, MaxClients: 2 * manyClients})
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// shardedRate is the baseline: one x/time/rate Limiter per client in a
// sharded map, the usual way to build a per-client limiter with it.
type shardedRate struct {
	shards [256]struct {
		mu sync.RWMutex
		m  map[string]*rate.Limiter
		_  [40]byte
	}
}

func newShardedRate() *shardedRate {
	s := &shardedRate{}
	for i := range s.shards {
		s.shards[i].m = map[string]*rate.Limiter{}
	}
	return s
}

func (s *shardedRate) Allow(id string) bool {
	sh := &s.shards[xxhash.Sum64String(id)&255]
	sh.mu.RLock()
	l := sh.m[id]
	sh.mu.RUnlock()
	if l == nil {
		sh.mu.Lock()
		if l = sh.m[id]; l == nil {
			l = rate.NewLimiter(rate.Limit(fairmesh.MaxRate), fairmesh.MaxRate)
			sh.m[id] = l
		}
		sh.mu.Unlock()
	}
	return l.Allow()
}

type limiter interface{ Allow(string) bool }

func run(b *testing.B, l limiter, ids []string) {
	for _, id := range ids {
		l.Allow(id) // warm: every client is known before timing starts
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		p := picker{x: seeds.Add(1)*0x9E3779B97F4A7C15 | 1}
		for pb.Next() {
			l.Allow(ids[p.next(len(ids))])
		}
	})
}

func BenchmarkAllow(b *testing.B) {
	hot := []string{"hot-client"}
	many := clientIDs(manyClients)
	b.Run("fairmesh/hot", func(b *testing.B) { run(b, newFairmesh(b), hot) })
	b.Run("xrate/hot", func(b *testing.B) { run(b, newShardedRate(), hot) })
	b.Run("fairmesh/100k", func(b *testing.B) { run(b, newFairmesh(b), many) })
	b.Run("xrate/100k", func(b *testing.B) { run(b, newShardedRate(), many) })
}
