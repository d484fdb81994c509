package bench

import (
	"fmt"
	"strings"
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

// clientID is a client ID formatted in place, the way a server holds the ID
// of the request it has just parsed: its bytes are in cache, and turning it
// into a string for a call that does not keep it allocates nothing.
type clientID [15]byte

// set writes "client-%08d" for i.
func (c *clientID) set(i int) {
	copy(c[:], "client-")
	for j := len(c) - 1; j >= len("client-"); j-- {
		c[j] = byte('0' + i%10)
		i /= 10
	}
}

func clientIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("client-%08d", i)
	}
	return ids
}

// picker walks client numbers in a pseudo-random order, cheaply and without
// shared state, so that the benchmark measures the limiter, not the generator.
type picker struct{ x uint64 }

var seeds atomic.Uint64

func newPicker() picker { return picker{x: seeds.Add(1)*0x9E3779B97F4A7C15 | 1} }

func (p *picker) next(n int) int {
	p.x ^= p.x << 13
	p.x ^= p.x >> 7
	p.x ^= p.x << 17
	return int(p.x % uint64(n))
}

// newFairmesh returns a node with the clock `fairmesh serve` uses and a
// limit high enough that every request is a full decision that admits.
func newFairmesh(b *testing.B) *fairmesh.Node { return newFairmeshKeyed(b, 0) }

// newFairmeshKeyed is newFairmesh with a keyed client hash, as a mesh with a
// gossip key runs.
func newFairmeshKeyed(b *testing.B, key uint64) *fairmesh.Node {
	clk := clock.NewCoarseClock(time.Millisecond)
	b.Cleanup(clk.Stop)
	n, err := fairmesh.NewNode(fairmesh.Config{Clock: clk, DefaultRate: fairmesh.MaxRate, MaxClients: 2 * manyClients, HashKey: key})
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
			// Its own copy, as fairmesh keeps: the caller's bytes may be
			// a request buffer.
			sh.m[strings.Clone(id)] = l
		}
		sh.mu.Unlock()
	}
	return l.Allow()
}

type limiter interface{ Allow(string) bool }

// warm makes every client known before timing starts.
func warm(b *testing.B, l limiter, n int) {
	var id clientID
	for i := range n {
		id.set(i)
		l.Allow(string(id[:]))
	}
	b.ReportAllocs()
	b.ResetTimer()
}

// The loops below are written out per limiter rather than through the
// limiter interface: a call through an interface makes the ID escape, and
// the benchmark would measure an allocation neither limiter makes.

// hotID is the one client of the hot-client benchmarks. Their loops call
// Allow with it and nothing else: a random pick among one ID and a call
// through an interface would add ~7 ns of harness to both limiters
// (measured), which is not Allow's cost.
const hotID = "hot-client"

func runFairmeshHot(b *testing.B, n *fairmesh.Node) {
	n.Allow(hotID)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n.Allow(hotID)
		}
	})
}

func runXrateHot(b *testing.B) {
	s := newShardedRate()
	s.Allow(hotID)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s.Allow(hotID)
		}
	})
}

func runFairmeshMany(b *testing.B) {
	n := newFairmesh(b)
	warm(b, n, manyClients)
	b.RunParallel(func(pb *testing.PB) {
		var id clientID
		p := newPicker()
		for pb.Next() {
			id.set(p.next(manyClients))
			n.Allow(string(id[:]))
		}
	})
}

func runXrateMany(b *testing.B) {
	s := newShardedRate()
	warm(b, s, manyClients)
	b.RunParallel(func(pb *testing.PB) {
		var id clientID
		p := newPicker()
		for pb.Next() {
			id.set(p.next(manyClients))
			s.Allow(string(id[:]))
		}
	})
}

// runPooled draws IDs from 100k strings made beforehand (3.2 MB of headers
// and bytes): each call then starts with two cache misses of the harness's
// own, which BenchmarkPickAndHash measures alone.
func runPooled(b *testing.B, l limiter, ids []string) {
	for _, id := range ids {
		l.Allow(id)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		p := newPicker()
		for pb.Next() {
			l.Allow(ids[p.next(len(ids))])
		}
	})
}

func BenchmarkAllow(b *testing.B) {
	pool := clientIDs(manyClients)
	b.Run("fairmesh/hot", func(b *testing.B) { runFairmeshHot(b, newFairmesh(b)) })
	b.Run("fairmesh/hot-keyed", func(b *testing.B) { runFairmeshHot(b, newFairmeshKeyed(b, 0x5eed)) })
	b.Run("xrate/hot", runXrateHot)
	b.Run("fairmesh/100k", runFairmeshMany)
	b.Run("xrate/100k", runXrateMany)
	b.Run("fairmesh/100k-pooled", func(b *testing.B) { runPooled(b, newFairmesh(b), pool) })
	b.Run("xrate/100k-pooled", func(b *testing.B) { runPooled(b, newShardedRate(), pool) })
}

func TestClientIDFormat(t *testing.T) {
	var id clientID
	for _, i := range []int{0, 7, 12345678, manyClients - 1} {
		id.set(i)
		if got, want := string(id[:]), fmt.Sprintf("client-%08d", i); got != want {
			t.Fatalf("set(%d) = %q, want %q", i, got, want)
		}
	}
}
