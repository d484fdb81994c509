package fairmesh

import (
	"fmt"
	mrand "math/rand"
	"math/rand/v2"
	"slices"
	"testing"
	"testing/quick"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fairmesh/fairmesh/bucket"
	"github.com/fairmesh/fairmesh/clock"
)

// Several nodes exchange reports, config and views over a network that
// drops (20%), duplicates and reorders what each tick sends, while clients
// send at random and config changes at random. Then the network stops
// losing, and within a few ticks — by the protocol's own repairs (nacks,
// resends), with no full-state exchange — every node holds every other
// node's newest demand report of every client and the same config.
func TestNodesAgreeAfterLossDuplicationReordering(t *testing.T) {
	f := func(seed uint64) bool {
		rng := rand.New(rand.NewPCG(seed, 1))
		clk := clock.NewManualClock(time.Unix(1_800_000_000, 0))
		ids := []string{"n1", "n2", "n3", "n4"}
		nodes := map[string]*Node{}
		for _, id := range ids {
			n, err := NewNode(Config{NodeID: id, Clock: clk, Capacity: 500})
			require.NoError(t, err)
			nodes[id] = n
		}
		for _, a := range ids {
			for _, b := range ids {
				if a != b {
					nodes[a].SetMember(b, MemberAlive)
				}
			}
		}
		type pkt struct {
			from, to string
			p        []byte
		}
		var inflight []pkt
		deliver := func(loss float64) {
			rng.Shuffle(len(inflight), func(i, j int) { inflight[i], inflight[j] = inflight[j], inflight[i] })
			for _, k := range inflight {
				if rng.Float64() < loss {
					continue
				}
				_ = nodes[k.to].Receive(k.from, k.p)
				if rng.Float64() < 0.1 {
					_ = nodes[k.to].Receive(k.from, k.p)
				}
			}
			inflight = inflight[:0]
		}
		tick := func() {
			for _, from := range ids {
				for _, m := range nodes[from].Tick(clk.Now()) {
					for _, to := range ids {
						if to != from && (m.To == "" || m.To == to) {
							inflight = append(inflight, pkt{from, to, m.Payload})
						}
					}
				}
			}
		}
		clients := []string{"a", "b", "c", "d", "e", "f"}
		for step := range 300 { // 30 s of 100 ms ticks
			for range rng.IntN(40) {
				nodes[ids[rng.IntN(len(ids))]].Allow(clients[rng.IntN(len(clients))])
			}
			if rng.IntN(20) == 0 {
				via := nodes[ids[rng.IntN(len(ids))]]
				_ = via.UpdateClientWeight(clients[rng.IntN(len(clients))], rng.IntN(5))
			}
			if rng.IntN(40) == 0 {
				// Deletions are writes too, and must converge alike.
				_ = nodes[ids[rng.IntN(len(ids))]].DeleteClient(clients[rng.IntN(len(clients))])
			}
			if step%10 == 0 {
				// Traffic moves: demand reports change.
				rng.Shuffle(len(clients), func(i, j int) { clients[i], clients[j] = clients[j], clients[i] })
			}
			clk.Advance(100 * time.Millisecond)
			tick()
			deliver(0.2)
		}
		// Quiet: no loss, no new traffic; the repairs run.
		for range 10 {
			clk.Advance(100 * time.Millisecond)
			tick()
			deliver(0)
		}
		for _, r := range ids {
			for _, s := range ids {
				if r == s {
					continue
				}
				src := nodes[s]
				var problem string
				src.table.Range(func(e *bucket.Entry) bool {
					want := e.Cold.Reported
					if want.Window < 0 {
						return true
					}
					rc := nodes[r].peer[e.Hash()]
					var got string
					if rc == nil || rc.of(s) == nil {
						got = "none"
					} else if rep := rc.of(s).newest; rep != want {
						got = fmt.Sprint(rep)
					}
					if got != "" {
						problem = fmt.Sprintf("seed %d: %s holds %s's report of %s as %s, want %v", seed, r, s, e.ID(), got, want)
						return false
					}
					return true
				})
				if problem != "" {
					t.Log(problem)
					return false
				}
			}
			for _, c := range []string{"a", "b", "c", "d", "e", "f"} {
				x, _ := nodes[r].Client(c)
				y, _ := nodes[ids[0]].Client(c)
				if x.Config != y.Config {
					t.Logf("seed %d: %s has %v for %s, %s has %v", seed, r, x.Config, c, ids[0], y.Config)
					return false
				}
			}
		}
		return !slices.Contains(ids, "")
	}
	if err := quick.Check(f, &quick.Config{MaxCount: 12, Rand: mrand.New(mrand.NewSource(5))}); err != nil {
		t.Fatal(err)
	}
}
