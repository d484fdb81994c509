package bucket

import (
	"errors"
	"sync"
	"sync/atomic"
)

// ErrFull is returned by Insert when the table holds its maximum number of
// entries.
var ErrFull = errors.New("bucket: table is full")

const shardCount = 256 // a power of two; enough that inserts rarely contend

// tombstone marks a deleted slot so that probe chains stay intact.
var tombstone = &Entry{}

// slotArray is one shard's open-addressing array. Readers load it
// atomically and probe without a lock; writers replace it when it grows.
type slotArray struct {
	slots []slot
	mask  uint64
	shift uint // a placed hash's bits just under the shard's are the start
}

// slot keeps the hash beside the pointer so that a probe compares hashes
// within the array and dereferences only the entry that matches: at 100k
// clients every dereference is a cache miss.
type slot struct {
	hash atomic.Uint64
	e    atomic.Pointer[Entry]
}

type shard struct {
	mu    sync.Mutex // serialises writers of this shard only
	arr   atomic.Pointer[slotArray]
	live  int // entries (mu)
	tombs int // tombstones (mu)
	_     [40]byte
}

// Table is a sharded hash table of Entries keyed by (64-bit hash, client ID);
// the owner computes the hash (fairmesh: xxhash64, keyed or not).
// Lookup takes no lock and allocates nothing; Insert and Delete lock one
// shard. It holds at most Max entries. Safe for concurrent use.
//
// Where an entry sits (its shard and the start of its probe chain) is not
// the hash's own bits but the top bits of the hash times a multiplier drawn
// from the table's seed. The owner's hash may be public (plain xxhash64):
// anyone could then choose thousands of IDs whose hashes share their low
// bits, put them all in one probe chain, and make every lookup there walk
// it. With a secret seed, two distinct hashes land in the same place with
// probability about 2^-b for b placement bits, whatever IDs were chosen
// (multiply-shift hashing), so chains stay as short as random ones.
type Table struct {
	mult uint64 // odd, from the seed; every lookup reads it
	// Own line for mult: inserts write shard 0's lock and count, and
	// must not evict it from every reader's cache.
	_      [56]byte
	shards [shardCount]shard
	max    int64
	count  atomic.Int64
}

// NewTable returns a table that holds at most max entries (max >= 1),
// placing entries by seed. A table facing IDs that callers choose should
// get a secret, random seed; its value changes nothing else.
func NewTable(max int, seed uint64) *Table {
	if max < 1 {
		max = 1
	}
	t := &Table{max: int64(max), mult: mix64(seed) | 1}
	for i := range t.shards {
		t.shards[i].arr.Store(newSlotArray(8))
	}
	return t
}

// mix64 is splitmix64's finaliser: distinct seeds (0 too) give unrelated
// multipliers.
func mix64(x uint64) uint64 {
	x += 0x9E3779B97F4A7C15
	x = (x ^ x>>30) * 0xBF58476D1CE4E5B9
	x = (x ^ x>>27) * 0x94D049BB133111EB
	return x ^ x>>31
}

const shardBits = 8 // log2(shardCount)

func newSlotArray(n int) *slotArray {
	bits := uint(0)
	for 1<<bits < n {
		bits++
	}
	return &slotArray{slots: make([]slot, n), mask: uint64(n - 1), shift: 64 - shardBits - bits}
}

// Len returns the number of entries.
func (t *Table) Len() int { return int(t.count.Load()) }

// Max returns the bound on entries.
func (t *Table) Max() int { return int(t.max) }

// place is where hash h goes: its top shardBits choose the shard, the bits
// under them the probe chain's start.
func (t *Table) place(h uint64) uint64 { return h * t.mult }

func (t *Table) shardOf(p uint64) *shard { return &t.shards[p>>(64-shardBits)] }

func (a *slotArray) start(p uint64) uint64 { return (p >> a.shift) & a.mask }

// Lookup returns the entry for (h, id), or nil.
func (t *Table) Lookup(h uint64, id string) *Entry { return t.probe(h, id, false) }

// LookupHash returns an entry whose client has hash h, whatever its ID, or
// nil. It is for owners that key other state by hash and must notice a
// second ID with a known hash.
func (t *Table) LookupHash(h uint64) *Entry { return t.probe(h, "", true) }

// probe walks h's probe chain for the entry of (h, id), or of h alone when
// anyID is set.
func (t *Table) probe(h uint64, id string, anyID bool) *Entry {
	p := t.place(h)
	a := t.shardOf(p).arr.Load()
	for i, n := a.start(p), uint64(0); n <= a.mask; i, n = (i+1)&a.mask, n+1 {
		s := &a.slots[i]
		e := s.e.Load()
		if e == nil {
			return nil
		}
		// The hash is stored before the pointer is published, so a
		// published pointer always has its hash beside it.
		if s.hash.Load() == h && e != tombstone && (anyID || e.is(id)) {
			return e
		}
	}
	return nil
}

// Insert returns the entry for (h, id), creating it with policy pol at mesh
// time now if it is absent. created reports whether it is new. When the table
// is full and the entry absent, it returns ErrFull.
func (t *Table) Insert(h uint64, id string, pol *Policy, now int64) (e *Entry, created bool, err error) {
	p := t.place(h)
	s := t.shardOf(p)
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := t.Lookup(h, id); e != nil {
		return e, false, nil
	}
	if t.count.Load() >= t.max {
		return nil, false, ErrFull
	}
	a := s.arr.Load()
	// Keep the load under 3/4 so probe chains stay short and always end.
	if uint64(s.live+s.tombs+1)*4 > (a.mask+1)*3 {
		size := int(a.mask + 1)
		if uint64(s.live+1)*2 > a.mask+1 {
			size *= 2
		}
		a = s.rehash(t, a, size)
	}
	e = NewEntry(h, id, pol, now)
	for i := a.start(p); ; i = (i + 1) & a.mask {
		cur := a.slots[i].e.Load()
		if cur == nil || cur == tombstone {
			if cur == tombstone {
				s.tombs--
			}
			a.slots[i].hash.Store(h)
			a.slots[i].e.Store(e)
			break
		}
	}
	s.live++
	t.count.Add(1)
	return e, true, nil
}

// rehash copies the live entries into a new array of the given size and
// publishes it. Readers still probing the old array see a consistent old
// view; an entry they miss sends them to Insert, which finds it.
func (s *shard) rehash(t *Table, old *slotArray, size int) *slotArray {
	a := newSlotArray(size)
	for i := range old.slots {
		e := old.slots[i].e.Load()
		if e == nil || e == tombstone {
			continue
		}
		h := old.slots[i].hash.Load()
		for j := a.start(t.place(h)); ; j = (j + 1) & a.mask {
			if a.slots[j].e.Load() == nil {
				a.slots[j].hash.Store(h)
				a.slots[j].e.Store(e)
				break
			}
		}
	}
	s.tombs = 0
	s.arr.Store(a)
	return a
}

// Delete removes e if it is still in the table. Goroutines that loaded e
// before may still count into it; those counts are lost with it.
func (t *Table) Delete(e *Entry) bool {
	p := t.place(e.Hash())
	s := t.shardOf(p)
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.arr.Load()
	for i, n := a.start(p), uint64(0); n <= a.mask; i, n = (i+1)&a.mask, n+1 {
		cur := a.slots[i].e.Load()
		if cur == nil {
			return false
		}
		if cur == e {
			// A tombstone keeps the hash: probes pass over it.
			a.slots[i].e.Store(tombstone)
			s.live--
			s.tombs++
			t.count.Add(-1)
			// Shrink-free cleanup: rebuild when tombstones dominate.
			if s.tombs > s.live && s.tombs > 8 {
				size := int(a.mask + 1)
				for size > 8 && uint64(s.live)*4 < uint64(size) {
					size /= 2
				}
				s.rehash(t, a, size)
			}
			return true
		}
	}
	return false
}

// Range calls fn for every entry until fn returns false. It takes no lock:
// entries inserted or deleted during the walk may or may not be visited,
// every other entry is visited once.
func (t *Table) Range(fn func(*Entry) bool) {
	for i := range t.shards {
		a := t.shards[i].arr.Load()
		for j := range a.slots {
			e := a.slots[j].e.Load()
			if e == nil || e == tombstone {
				continue
			}
			if !fn(e) {
				return
			}
		}
	}
}
