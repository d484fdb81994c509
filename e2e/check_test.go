package e2e

import (
	"strings"
	"testing"
)

// The checker's own tests: synthetic histories that satisfy each check and
// that violate it. They need no Docker and run without the e2e tag.

const sec = int64(1000) // one 1s window, in ms

// admit adds n admitted and d denied decisions of client by node in window w.
func admit(t *Tally, w int64, client, node string, n, d int) {
	for range n {
		t.Add(Event{Node: node, Client: client, Allowed: true, WindowMS: w})
	}
	for range d {
		t.Add(Event{Node: node, Client: client, Allowed: false, WindowMS: w})
	}
}

var bounds = Bounds{Capacity: 1000, Limits: map[string]int64{"lim": 100}}

func wantViolations(t *testing.T, got []Violation, n int, check string) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("got %d violations, want %d: %v", len(got), n, got)
	}
	for _, v := range got {
		if v.Check != check {
			t.Fatalf("violation %v, want check %s", v, check)
		}
	}
}

func TestClientLimitsCountByTheWindowTheReplyNames(t *testing.T) {
	h := NewTally()
	// 60 + 40 = 100 in window 0, spread over two nodes: the limit exactly.
	admit(h, 0, "lim", "n1", 60, 10)
	admit(h, 0, "lim", "n2", 40, 10)
	// Window 1: 101 > 100, however the generator's clock would split it.
	admit(h, sec, "lim", "n1", 50, 0)
	admit(h, sec, "lim", "n3", 51, 0)
	// An unlimited client is bounded by the capacity only.
	admit(h, sec, "gold", "n1", 900, 0)

	got := CheckClientLimits(h, Span{0, 2 * sec}, bounds)
	wantViolations(t, got, 1, "client-limit")
	if !strings.Contains(got[0].Detail, "client lim window 1000 admitted 101 > bound 100") {
		t.Fatalf("detail %q", got[0].Detail)
	}
	// Outside the span nothing is checked.
	wantViolations(t, CheckClientLimits(h, Span{0, sec}, bounds), 0, "")
	// Two sides may each admit the limit.
	two := bounds
	two.Sides = 2
	wantViolations(t, CheckClientLimits(h, Span{0, 2 * sec}, two), 0, "")
}

func TestCapacitySumsEveryClientAndNode(t *testing.T) {
	h := NewTally()
	admit(h, 0, "gold", "n1", 600, 50)
	admit(h, 0, "silver", "n4", 400, 5) // 1000: the capacity exactly
	admit(h, sec, "gold", "n1", 700, 0)
	admit(h, sec, "silver", "n4", 400, 0)  // 1100: 10% over
	admit(h, sec, "lim", "n4", 0, 7)       // denials only: not in the breakdown
	admit(h, 2*sec, "gold", "n1", 1001, 0) // one over

	got := CheckCapacity(h, Span{0, 3 * sec}, bounds)
	wantViolations(t, got, 2, "capacity")
	if !strings.Contains(got[0].Detail, "window 1000 admitted 1100 > bound 1000 (+10.0% of capacity)") {
		t.Fatalf("detail %q", got[0].Detail)
	}
	if !strings.HasSuffix(got[0].Detail, "; by node: n1 700 (gold 700), n4 400 (silver 400)") {
		t.Fatalf("detail %q does not end with the per-node breakdown", got[0].Detail)
	}
	two := bounds
	two.Sides = 2
	wantViolations(t, CheckCapacity(h, Span{0, 3 * sec}, two), 0, "")

	f := Measure(h, Span{0, 3 * sec}, bounds, "lim")
	if f.MaxOverPct < 10 || f.MaxOverPct > 10.01 || f.LimitedMax != 0 {
		t.Fatalf("figures %+v", f)
	}
	// (0 + 10.0 + 0.1) / 3
	if got := MeanOver(h, Span{0, 3 * sec}, bounds); got < 3.36 || got > 3.37 {
		t.Fatalf("mean over %v", got)
	}
}

func TestIdealCapsDemandAtLimitsAndCapacity(t *testing.T) {
	h := NewTally()
	admit(h, 0, "lim", "n1", 100, 100) // 200 offered, limit 100
	admit(h, 0, "gold", "n1", 300, 0)
	if got := Ideal(h, 0, bounds); got != 400 {
		t.Fatalf("ideal %d, want 400", got)
	}
	admit(h, 0, "gold", "n2", 0, 900)
	if got := Ideal(h, 0, bounds); got != 1000 {
		t.Fatalf("ideal %d, want the capacity", got)
	}
}

// history builds windows 0..len(admitted)-1 each offering 2000 attempts of
// which admitted[i] were admitted.
func history(admitted ...int) *Tally {
	h := NewTally()
	for i, a := range admitted {
		admit(h, int64(i)*sec, "gold", "n1", a, 2000-a)
	}
	return h
}

func TestRecoveryCountsWindowsFromTheHeal(t *testing.T) {
	tests := []struct {
		name     string
		admitted []int
		heal     int64
		want     int
	}{
		// Heal mid-window 1: window 2 is the first after it.
		{"at once", []int{500, 500, 990, 1000, 1010, 980}, 1500, 0},
		{"two windows", []int{500, 500, 600, 700, 960, 1000}, 1500, 2},
		{"a later dip is not the fault's", []int{500, 500, 1000, 600, 1000, 1000}, 1500, 0},
		{"over counts as off", []int{500, 500, 1200, 1100, 1040, 1000}, 1500, 2},
		{"never", []int{500, 500, 600, 700, 800, 900}, 1500, -1},
		{"heal on a boundary", []int{500, 500, 1000, 1000}, 2000, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := history(tt.admitted...)
			s := Span{0, int64(len(tt.admitted)) * sec}
			if got := Recovery(h, tt.heal, s, sec, bounds, 0.05); got != tt.want {
				t.Fatalf("Recovery = %d, want %d", got, tt.want)
			}
			bad := CheckRecovery(h, tt.heal, s, sec, bounds, 0.05, 1)
			if ok := tt.want >= 0 && tt.want <= 1; ok != (len(bad) == 0) {
				t.Fatalf("CheckRecovery within 1 = %v (recovery %d)", bad, tt.want)
			}
		})
	}
}

func TestMajorityShareCountsOnlyTheSide(t *testing.T) {
	h := NewTally()
	admit(h, 0, "gold", "n1", 300, 700)
	admit(h, 0, "gold", "n4", 500, 500)
	admit(h, sec, "gold", "n1", 500, 500)
	admit(h, sec, "gold", "n4", 500, 500)
	side := map[string]bool{"n1": true, "n2": true, "n3": true}
	if got := MajorityShare(h, Span{0, 2 * sec}, side, bounds); got != 0.4 {
		t.Fatalf("share %v, want (0.3+0.5)/2", got)
	}
	if got := MajorityShare(h, Span{5 * sec, 6 * sec}, side, bounds); got != -1 {
		t.Fatalf("share of no window %v", got)
	}
	// The side was asked for 600 of a capacity of 1000 while the other
	// side was asked for 1000 more: serving 570 is 95% of what it could.
	admit(h, 2*sec, "gold", "n2", 570, 30)
	admit(h, 2*sec, "gold", "n5", 0, 1000)
	if got := MajorityShare(h, Span{2 * sec, 3 * sec}, side, bounds); got != 0.95 {
		t.Fatalf("share %v, want 570 of the side's own 600", got)
	}
}

func TestConfigsAgree(t *testing.T) {
	w3 := Config{Weight: 3}
	lim := Config{Weight: 1, Limited: true, Rate: 100, Period: "1s"}
	same := map[string]map[string]Config{
		"n1": {"gold": w3, "lim": lim},
		"n2": {"gold": w3, "lim": lim},
	}
	wantViolations(t, CheckConfigsAgree(same), 0, "")

	differ := map[string]map[string]Config{
		"n1": {"gold": w3, "lim": lim},
		"n2": {"gold": {Weight: 2}, "lim": lim},
		"n3": {"lim": lim},
	}
	got := CheckConfigsAgree(differ)
	wantViolations(t, got, 1, "config-agree")
	if got[0].Detail != "client gold: n1: weight 3; n2: weight 2; n3: absent" {
		t.Fatalf("detail %q", got[0].Detail)
	}
}

func TestAckedWritesArePresentEverywhere(t *testing.T) {
	acked := []Write{{Node: "n1", Client: "cfg-1", Want: Config{Weight: 5}}}
	ok := map[string]map[string]Config{"n1": {"cfg-1": {Weight: 5}}, "n2": {"cfg-1": {Weight: 5}}}
	wantViolations(t, CheckAcked(acked, ok), 0, "")

	lost := map[string]map[string]Config{"n1": {"cfg-1": {Weight: 5}}, "n2": {}}
	got := CheckAcked(acked, lost)
	wantViolations(t, got, 1, "acked-lost")
	if !strings.Contains(got[0].Detail, "absent on n2") {
		t.Fatalf("detail %q", got[0].Detail)
	}
	changed := map[string]map[string]Config{"n1": {"cfg-1": {Weight: 4}}}
	wantViolations(t, CheckAcked(acked, changed), 1, "acked-lost")
}
