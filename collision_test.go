package fairmesh

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/stretchr/testify/require"

	"github.com/fairmesh/fairmesh/clock"
	"github.com/fairmesh/fairmesh/internal/testids"
)

// collidingID returns an ID whose xxhash64 is victim's.
func collidingID(t *testing.T, victim string) string {
	t.Helper()
	id := testids.Colliding(victim, "evil")
	require.NotEqual(t, victim, id)
	require.Equal(t, xxhash.Sum64String(victim), xxhash.Sum64String(id), "the constructed ID must collide")
	return id
}

// requireNoSharedHashes checks what confFor and track maintain: a tracked
// client never runs under the config of another ID with the same hash, and
// no two tracked clients share a hash.
func requireNoSharedHashes(t *testing.T, n *Node) {
	t.Helper()
	require.NoError(t, n.CheckInvariants())
	n.mu.Lock()
	defer n.mu.Unlock()
	for h, cc := range n.conf {
		if e := n.table.LookupHash(h); e != nil {
			require.Equal(t, cc.id, e.ID(), "a tracked client runs under another's config")
		}
	}
}

func collisionNode(t *testing.T) (*Node, *clock.ManualClock) {
	clk := clock.NewManualClock(time.Unix(1000, 0))
	n, err := NewNode(Config{Clock: clk, DefaultRate: 5, DefaultPeriod: time.Second})
	require.NoError(t, err)
	return n, clk
}

// An update for an ID whose hash is a configured client's is refused and
// leaves that client's config as it was.
func TestCollidingIDCannotChangeAnotherClientsConfig(t *testing.T) {
	n, _ := collisionNode(t)
	victim := "gold"
	evil := collidingID(t, victim)
	require.NoError(t, n.UpdateClientRateLimit(victim, 100, time.Second))
	require.NoError(t, n.UpdateClientWeight(victim, 7))

	err := n.UpdateClientRateLimit(evil, 1, time.Second)
	require.True(t, errors.Is(err, ErrHashCollision), "got %v", err)
	err = n.UpdateClientWeight(evil, 0)
	require.True(t, errors.Is(err, ErrHashCollision), "got %v", err)
	_, err = n.Client(evil)
	require.True(t, errors.Is(err, ErrHashCollision), "got %v", err)

	cs, err := n.Client(victim)
	require.NoError(t, err)
	require.Equal(t, 7, cs.Config.Weight)
	require.Equal(t, 100, cs.Config.Rate)
	require.Equal(t, uint64(2), n.Status().Counters.Collisions, "the two refused updates are counted")
}

// A colliding ID that sends requests neither gets the configured client's
// limit nor eats into its allowance: it is served by the overflow bucket.
func TestCollidingIDIsServedByOverflow(t *testing.T) {
	n, clk := collisionNode(t)
	victim := "gold"
	evil := collidingID(t, victim)
	require.NoError(t, n.UpdateClientRateLimit(victim, 100, time.Second))
	clk.Advance(time.Second)

	evilAdmitted := 0
	for range 50 {
		if n.Allow(evil) {
			evilAdmitted++
		}
	}
	victimAdmitted := 0
	for range 150 {
		if n.Allow(victim) {
			victimAdmitted++
		}
	}
	require.LessOrEqual(t, evilAdmitted, 5, "the collider got more than the default limit")
	require.Equal(t, 100, victimAdmitted, "the collider ate into the victim's allowance")
	require.Equal(t, 1, n.Status().TrackedClients)
	requireNoSharedHashes(t, n)
}

// When the colliding ID is tracked first and the real client is configured
// afterwards, the operator's config wins: the collider is dropped to the
// overflow bucket and the configured client gets its own entry and limit.
func TestConfigWinsOverATrackedCollider(t *testing.T) {
	n, clk := collisionNode(t)
	victim := "gold"
	evil := collidingID(t, victim)
	for range 4 {
		require.True(t, n.Allow(evil))
	}
	require.Equal(t, 1, n.Status().TrackedClients)

	n.SetMember("peer", MemberAlive) // with a peer, demand reports are queued
	clk.Advance(time.Second)
	n.Allow(evil) // a finished window of 4 requests: the collider now has a report queued
	require.NotEmpty(t, n.pendingReports)
	require.NoError(t, n.UpdateClientRateLimit(victim, 100, time.Second))
	require.Equal(t, 0, n.Status().TrackedClients)
	require.Empty(t, n.pendingReports, "the collider's reports would speak for the configured client")
	n.SetMember("peer", MemberLeft) // alone again: the whole allowance is this node's
	clk.Advance(time.Second)
	victimAdmitted := 0
	for range 150 {
		if n.Allow(victim) {
			victimAdmitted++
		}
	}
	require.Equal(t, 100, victimAdmitted)
	evilAdmitted := 0
	for range 50 {
		if n.Allow(evil) {
			evilAdmitted++
		}
	}
	require.LessOrEqual(t, evilAdmitted, 5)
	requireNoSharedHashes(t, n)
}

// With a HashKey, an ID crafted against the public hash no longer collides:
// both clients are tracked apart, each with its own allowance.
func TestHashKeyDefeatsACraftedCollision(t *testing.T) {
	clk := clock.NewManualClock(time.Unix(1000, 0))
	n, err := NewNode(Config{Clock: clk, DefaultRate: 5, DefaultPeriod: time.Second, HashKey: 0x5eed})
	require.NoError(t, err)
	victim := "gold"
	evil := collidingID(t, victim)
	require.NotEqual(t, n.hashID(victim), n.hashID(evil))
	require.NoError(t, n.UpdateClientRateLimit(victim, 100, time.Second))
	require.NoError(t, n.UpdateClientRateLimit(evil, 20, time.Second), "a keyed node has no reason to refuse it")
	clk.Advance(time.Second)
	count := func(id string, tries int) (admitted int) {
		for range tries {
			if n.Allow(id) {
				admitted++
			}
		}
		return admitted
	}
	require.Equal(t, 20, count(evil, 50))
	require.Equal(t, 100, count(victim, 150))
	require.Equal(t, 2, n.Status().TrackedClients)
	require.Zero(t, n.Status().Counters.Collisions)
	requireNoSharedHashes(t, n)
}

// keyedHash must be exactly the library's seeded xxhash64, for every length
// (the short path, the 32-byte stripes, and every tail).
func TestKeyedHashIsSeededXXHash(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 300)
	for n := range len(buf) {
		for range 4 {
			for i := range buf[:n] {
				buf[i] = byte(r.Uint32())
			}
			key := r.Uint64()
			if r.IntN(4) == 0 {
				key = 0 // no key: plain xxhash64
			}
			d := xxhash.NewWithSeed(key)
			_, _ = d.Write(buf[:n])
			if got, want := keyedHash(key, string(buf[:n])), d.Sum64(); got != want {
				t.Fatalf("length %d, key %x: %x, want %x", n, key, got, want)
			}
			if key == 0 && keyedHash(0, string(buf[:n])) != xxhash.Sum64(buf[:n]) {
				t.Fatalf("length %d: without a key the hash is not xxhash64", n)
			}
		}
	}
}

func TestKeyedHash(t *testing.T) {
	require.NotEqual(t, xxhash.Sum64String("gold"), keyedHash(1, "gold"))
	require.NotEqual(t, keyedHash(1, "gold"), keyedHash(2, "gold"))
	require.Equal(t, keyedHash(7, "gold"), keyedHash(7, "gold"))
	require.Zero(t, testing.AllocsPerRun(100, func() { keyedHash(7, "client-00000042") }))
}
