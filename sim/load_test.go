package sim

import (
	"strings"
	"testing"
)

const issueExample = `{"name":"partition-2-3","seed":7,"duration":"60s","nodes":5,"gossip_interval":"100ms",
 "network":{"latency":"2ms","jitter":"3ms","loss":0.01},
 "clock_skew":{"n2":"+400ms","n4":"-300ms"},
 "capacity":{"rate":1000,"period":"1s"},
 "clients":[{"id":"gold","weight":3,"demand":900,"spread":{"n1":0.7,"n3":0.3}},
            {"id":"free","weight":0,"demand":400},
            {"id":"api","weight":1,"rate":200,"period":"1s","demand":500}],
 "events":[{"at":"20s","partition":[["n1","n2"],["n3","n4","n5"]]},{"at":"35s","heal":true},
           {"at":"40s","crash":"n3"},{"at":"45s","restart":"n3"},
           {"at":"10s","set_weight":{"client":"api","weight":2,"via":"n5"}}]}`

func TestLoadIssueExample(t *testing.T) {
	sc, err := Load(strings.NewReader(issueExample))
	if err != nil {
		t.Fatal(err)
	}
	if sc.Name != "partition-2-3" || len(sc.Clients) != 3 || len(sc.Events) != 5 {
		t.Fatalf("loaded %+v", sc)
	}
}

func TestLoadRejects(t *testing.T) {
	base := `{"name":"x","seed":1,"duration":"10s","nodes":3,"clients":[{"id":"a","demand":10}]`
	cases := []struct {
		name, doc, want string
	}{
		{"unknown field", `{"name":"x","seed":1,"duration":"10s","nodes":3,"bogus":1,"clients":[]}`, "unknown field"},
		{"unknown client field", `{"name":"x","duration":"10s","nodes":3,"clients":[{"id":"a","demand":1,"wieght":2}]}`, "unknown field"},
		{"negative demand", `{"name":"x","duration":"10s","nodes":3,"clients":[{"id":"a","demand":-5}]}`, "demand"},
		{"unknown node in an event", base + `,"events":[{"at":"1s","crash":"n9"}]}`, `unknown node "n9"`},
		{"unknown via node", base + `,"events":[{"at":"1s","set_weight":{"client":"a","weight":2,"via":"n4"}}]}`, `unknown node "n4"`},
		{"unknown node in a partition", base + `,"events":[{"at":"1s","partition":[["n1"],["zz"]]}]}`, `unknown node "zz"`},
		{"unknown node in a spread", `{"name":"x","duration":"10s","nodes":2,"clients":[{"id":"a","demand":1,"spread":{"n3":1}}]}`, `unknown node "n3"`},
		{"unknown node in clock_skew", `{"name":"x","duration":"10s","nodes":2,"clock_skew":{"n7":"1ms"},"clients":[]}`, `unknown node "n7"`},
		{"restart of a running node", base + `,"events":[{"at":"1s","restart":"n1"}]}`, "has not crashed"},
		{"update through a crashed node", base + `,"events":[{"at":"1s","crash":"n2"},{"at":"2s","set_limit":{"client":"a","rate":5,"via":"n2"}}]}`, "not up"},
		{"two actions in one event", base + `,"events":[{"at":"1s","crash":"n1","heal":true}]}`, "exactly one action"},
		{"no action", base + `,"events":[{"at":"1s"}]}`, "exactly one action"},
		{"event after the end", base + `,"events":[{"at":"11s","heal":true}]}`, "outside"},
		{"duration without unit", `{"name":"x","duration":10,"nodes":3,"clients":[]}`, "duration"},
		{"bad duration", `{"name":"x","duration":"10 parsecs","nodes":3,"clients":[]}`, "duration"},
		{"too long", `{"name":"x","duration":"2h","nodes":3,"clients":[]}`, "duration"},
		{"too many nodes", `{"name":"x","duration":"10s","nodes":65,"clients":[]}`, "nodes"},
		{"no nodes", `{"name":"x","duration":"10s","nodes":0,"clients":[]}`, "nodes"},
		{"too many clients", `{"name":"x","duration":"10s","nodes":1,"clients":[{"id":"a","count":100001,"demand":1}]}`, "clients"},
		{"loss of 1", `{"name":"x","duration":"10s","nodes":1,"network":{"loss":1},"clients":[]}`, "loss"},
		{"bad policy", `{"name":"x","duration":"10s","nodes":1,"partition_policy":"yolo","clients":[]}`, "partition_policy"},
		{"bad arrivals", `{"name":"x","duration":"10s","nodes":1,"clients":[{"id":"a","demand":1,"arrivals":"bursty"}]}`, "arrivals"},
		{"duplicate client", `{"name":"x","duration":"10s","nodes":1,"clients":[{"id":"a","demand":1},{"id":"a","demand":2}]}`, "twice"},
		{"negative weight", `{"name":"x","duration":"10s","nodes":1,"clients":[{"id":"a","weight":-1,"demand":1}]}`, "weight"},
		{"join of an existing node", base + `,"events":[{"at":"1s","join":"n2"}]}`, "already exists"},
		{"pause of an unknown node", base + `,"events":[{"at":"1s","pause":"n9"}]}`, `pause: unknown node "n9"`},
		{"pause of a paused node", base + `,"events":[{"at":"1s","pause":"n1"},{"at":"2s","pause":"n1"}]}`, `pause: node "n1" is already paused`},
		{"pause of a crashed node", base + `,"events":[{"at":"1s","crash":"n1"},{"at":"2s","pause":"n1"}]}`, `pause: node "n1" has crashed`},
		{"resume of a running node", base + `,"events":[{"at":"1s","resume":"n2"}]}`, `resume: node "n2" is not paused`},
		{"resume of an unknown node", base + `,"events":[{"at":"1s","resume":"n7"}]}`, `resume: unknown node "n7"`},
		{"resume twice", base + `,"events":[{"at":"1s","pause":"n1"},{"at":"2s","resume":"n1"},{"at":"3s","resume":"n1"}]}`, "is not paused"},
		{"crash of a paused node", base + `,"events":[{"at":"1s","pause":"n3"},{"at":"2s","crash":"n3"}]}`, "paused (resume it first)"},
		{"update through a paused node", base + `,"events":[{"at":"1s","pause":"n2"},{"at":"2s","set_weight":{"client":"a","weight":5,"via":"n2"}}]}`, `via node "n2" is paused`},
		{"pause and crash in one event", base + `,"events":[{"at":"1s","pause":"n1","crash":"n2"}]}`, "exactly one action"},
		{"storm weights reversed", base + `,"events":[{"at":"1s","config_storm":{"rate_per_s":10,"until":"2s","clients":3,"weights":[5,1]}}]}`, "weights"},
		{"trailing data", `{"name":"x","duration":"10s","nodes":1,"clients":[]} {}`, "trailing"},
		{"no name", `{"duration":"10s","nodes":1,"clients":[]}`, "name"},
		{"too large", `{"name":"` + strings.Repeat("x", MaxScenarioBytes) + `"}`, "larger than"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(strings.NewReader(tc.doc))
			if err == nil {
				t.Fatalf("Load accepted it")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func TestBuiltinsLoad(t *testing.T) {
	names := BuiltinNames()
	want := []string{"bursty", "churn", "churn-offset", "config-storm", "crash", "crash-long-window", "crash-offset", "heal-loss", "heal-staggered", "hot-client", "leave-shift", "many-clients", "partition", "partition-available", "partition-long", "partition-three-ways", "pause", "skew", "steady", "tiny-clients", "zero-weight"}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Fatalf("BuiltinNames() = %v, want %v", names, want)
	}
	for _, n := range names {
		sc, err := Builtin(n)
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		if sc.Name != n {
			t.Errorf("built-in %s is named %q", n, sc.Name)
		}
	}
	if _, err := Builtin("../steady"); err == nil {
		t.Error("Builtin accepted a path")
	}
	if _, err := Builtin("nope"); err == nil {
		t.Error("Builtin accepted an unknown name")
	}
}
