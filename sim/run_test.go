package sim

import (
	"strings"
	"testing"
)

func mustLoad(t *testing.T, doc string) Scenario {
	t.Helper()
	sc, err := Load(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func mustRun(t *testing.T, sc Scenario) *Report {
	t.Helper()
	rep, err := Run(sc)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// detScenario exercises every source of randomness and every fault.
const detScenario = `{"name":"det","seed":11,"duration":"20s","nodes":4,
 "network":{"latency":"2ms","jitter":"5ms","loss":0.05,"duplicate":0.05},
 "membership":{"push_pull_interval":"2s"},
 "clock_skew":{"n2":"+300ms","n3":"-200ms"},"clock_drift":{"n4":100},
 "capacity":{"rate":500,"period":"1s"},
 "clients":[{"id":"a","weight":2,"demand":300,"arrivals":"poisson","spread":{"n1":0.5,"n2":0.5}},
            {"id":"b","demand":200},{"id":"z","weight":0,"demand":50},
            {"id":"l","rate":40,"demand":100}],
 "events":[{"at":"3s","partition":[["n1"],["n2"]]},{"at":"5s","heal":true},
           {"at":"6s","crash":"n2"},{"at":"9s","restart":"n2"},{"at":"10s","join":"n5"},
           {"at":"12s","leave":"n1"},{"at":"13s","set_demand":{"client":"b","demand":400}},
           {"at":"14s","set_limit":{"client":"l","rate":20,"via":"n3"}},
           {"at":"15s","config_storm":{"rate_per_s":200,"until":"16s","clients":30,"weights":[0,5]}}]}`

func TestSameSeedSameDigest(t *testing.T) {
	sc := mustLoad(t, detScenario)
	a, b := mustRun(t, sc), mustRun(t, sc)
	if a.Digest != b.Digest {
		t.Fatalf("same seed, different digests: %s and %s", a.Digest, b.Digest)
	}
	if a.Stats != b.Stats || a.FairnessErrorPct != b.FairnessErrorPct || len(a.Violations) != len(b.Violations) {
		t.Fatalf("same seed, different reports: %+v and %+v", a.Stats, b.Stats)
	}
	sc.Seed++
	c := mustRun(t, sc)
	if c.Digest == a.Digest {
		t.Fatalf("different seeds, same digest %s", a.Digest)
	}
	if a.Stats.Requests == 0 || a.Stats.ConfigUpdates != 202 {
		t.Fatalf("the run did not happen as scripted: %+v", a.Stats)
	}
}

// TestSingleNode: one node alone, no faults, must keep a limited client at
// its limit and let an unlimited one through.
func TestSingleNode(t *testing.T) {
	rep := mustRun(t, mustLoad(t, `{"name":"single","seed":1,"duration":"20s","nodes":1,
	 "clients":[{"id":"limited","rate":100,"period":"1s","demand":300},{"id":"free","demand":50}]}`))
	if len(rep.Violations) > 0 {
		t.Errorf("violations: %v", rep.Violations)
	}
	if rep.OverAdmissionPct > 1 {
		t.Errorf("over_admission_pct = %v, want ≤ 1", rep.OverAdmissionPct)
	}
	for _, w := range rep.Windows {
		if !w.Measured {
			continue
		}
		switch w.Client {
		case "limited":
			if w.Admitted < 99 || w.Admitted > 101 {
				t.Errorf("window %d: limited client admitted %d, want 100±1", w.Window, w.Admitted)
			}
		case "free":
			if w.Admitted != w.Demand {
				t.Errorf("window %d: unlimited client admitted %d of %d", w.Window, w.Admitted, w.Demand)
			}
		}
	}
	if rep.MeasuredWindows < 15 {
		t.Errorf("measured windows = %d, want ≥ 15", rep.MeasuredWindows)
	}
	if rep.UtilizationPct < 99 {
		t.Errorf("utilization_pct = %v, want ≥ 99", rep.UtilizationPct)
	}
	if rep.GossipBytesPerNodePerS != 0 {
		t.Errorf("a node alone sent %v B/s", rep.GossipBytesPerNodePerS)
	}
}

// TestSingleNodeCapacity: one node, a capacity shared 2:1.
func TestSingleNodeCapacity(t *testing.T) {
	rep := mustRun(t, mustLoad(t, `{"name":"single-cap","seed":1,"duration":"20s","nodes":1,
	 "capacity":{"rate":300,"period":"1s"},
	 "clients":[{"id":"a","weight":2,"demand":400},{"id":"b","demand":400}]}`))
	if len(rep.Violations) > 0 {
		t.Errorf("violations: %v", rep.Violations)
	}
	if rep.FairnessErrorPct > 5 || rep.UtilizationPct < 95 || rep.CapacityOverAdmissionPct > 1 {
		t.Errorf("fairness %v %%, utilization %v %%, capacity over-admission %v %%",
			rep.FairnessErrorPct, rep.UtilizationPct, rep.CapacityOverAdmissionPct)
	}
}
