package sim

import (
	"encoding/json"
	"strings"
	"testing"
)

// The search CI runs: seed 1's first scenarios (fewer under the race
// detector, which slows each run tenfold). Every failure is logged with
// the scenario that replays it.
//
// knownFuzzFailures lists which of seed 1's first 40 scenarios the search
// still fails on. A ratchet: a regression that adds a failure fails this
// test, and so does a fix that leaves one passing (remove it here).
//
// Known today: none. (Before leases, 0, 5, 6 and 22 failed: a node
// paused for longer than the dead timeout decided its backlog, on resume,
// with a share the others had reclaimed.)
const (
	fuzzSearchSeed  = 1
	fuzzSearchCount = 40
)

var knownFuzzFailures = map[int]bool{}

func TestFuzzSearch(t *testing.T) {
	if testing.Short() {
		t.Skip("draws and runs dozens of scenarios; run without -short")
	}
	count := fuzzSearchCount
	if raceEnabled {
		count = 8
	}
	failed, known := 0, 0
	err := Search(fuzzSearchSeed, count, 0, func(c FuzzCase) {
		if knownFuzzFailures[c.Index] {
			known++
		}
		switch {
		case len(c.Failures) > 0 && !knownFuzzFailures[c.Index]:
			failed++
			t.Errorf("seed %d scenario %d (%s, replay: fairmesh sim --fuzz %d --seed %d) failed:\n  %s",
				fuzzSearchSeed, c.Index, c.Scenario.Name, c.Index+1, fuzzSearchSeed, strings.Join(c.Failures, "\n  "))
		case len(c.Failures) > 0:
			failed++
			t.Logf("seed %d scenario %d (%s) failed, as known:\n  %s",
				fuzzSearchSeed, c.Index, c.Scenario.Name, strings.Join(c.Failures, "\n  "))
		case knownFuzzFailures[c.Index]:
			t.Errorf("seed %d scenario %d (%s) now passes: remove it from knownFuzzFailures", fuzzSearchSeed, c.Index, c.Scenario.Name)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d of %d drawn scenarios failed (%d known)", failed, count, known)
}

// The same (seed, index) draws the same scenario, every drawn scenario is
// valid, and they differ from each other.
func TestDrawIsDeterministicAndValid(t *testing.T) {
	seen := map[string]bool{}
	for i := range 50 {
		a, b := Draw(7, i), Draw(7, i)
		ja, jb := mustJSON(t, a), mustJSON(t, b)
		if ja != jb {
			t.Fatalf("draw %d differs between calls", i)
		}
		if _, err := compile(a); err != nil {
			t.Fatalf("draw %d is not a valid scenario: %v\n%s", i, err, ja)
		}
		seen[ja] = true
	}
	if len(seen) < 50 {
		t.Fatalf("only %d distinct scenarios in 50 draws", len(seen))
	}
}

func mustJSON(t *testing.T, sc Scenario) string {
	t.Helper()
	b, err := json.Marshal(sc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A failing scenario shrinks to one that still fails and is no larger.
func TestShrinkKeepsAFailure(t *testing.T) {
	// Under the available policy, over a partition longer than the dead
	// timeout, both sides reclaim: over-admission, not exempted.
	sc := Scenario{Name: "shrinkme", Seed: 3, Duration: Duration(30e9), Nodes: 4, GossipInterval: Duration(1e8), PartitionPolicy: "available",
		Network: Network{Loss: 0.01, Jitter: Duration(3e6)},
		Clients: []Client{{ID: "a", Rate: intp(100), Period: Duration(1e9), Demand: 300}, {ID: "b", Demand: 20}},
		Events: []Event{{At: Duration(5e9), Crash: "n4"}, {At: Duration(6e9), Partition: [][]string{{"n1"}, {"n2", "n3"}}},
			{At: Duration(20e9), Heal: true}}}
	rep := mustRun(t, sc)
	if len(Failures(sc, rep)) == 0 {
		t.Fatal("the scenario meant to fail passed")
	}
	s := Shrink(sc, 40)
	rep = mustRun(t, s)
	if len(Failures(s, rep)) == 0 {
		t.Fatal("shrunk scenario passes")
	}
	if len(s.Events) > len(sc.Events) || len(s.Clients) > len(sc.Clients) || s.Duration > sc.Duration {
		t.Fatalf("shrunk scenario is larger: %s", mustJSON(t, s))
	}
	if len(s.Events) == len(sc.Events) && len(s.Clients) == len(sc.Clients) && s.Network == sc.Network {
		t.Fatalf("nothing was shrunk: %s", mustJSON(t, s))
	}
}

func intp(v int) *int { return &v }
