package e2e

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
)

// Event is one decision as the load generator received it: which node
// answered, for which client, whether it admitted, and the window the reply
// named (window_start_ms, the start of the window in Unix ms of the node's
// mesh time). Requests whose reply never arrived are not events: they may
// or may not have been admitted, so the upper-bound checks below see a
// lower bound of what was admitted (as Jepsen's counter checker treats
// indeterminate operations).
type Event struct {
	Node     string
	Client   string
	Allowed  bool
	WindowMS int64
}

// cellKey is one client's decisions by one node in one window.
type cellKey struct {
	Window int64
	Client string
	Node   string
}

// Cell counts decisions.
type Cell struct {
	Admitted, Denied int64
}

// Tally is a history of decisions counted per window, client and node:
// the events themselves are not kept (a ten-minute run makes a million).
// The zero value is not usable; see NewTally.
type Tally struct {
	cells map[cellKey]*Cell
}

// NewTally returns an empty Tally.
func NewTally() *Tally { return &Tally{cells: map[cellKey]*Cell{}} }

// Add counts e.
func (t *Tally) Add(e Event) {
	k := cellKey{e.WindowMS, e.Client, e.Node}
	c := t.cells[k]
	if c == nil {
		c = &Cell{}
		t.cells[k] = c
	}
	if e.Allowed {
		c.Admitted++
	} else {
		c.Denied++
	}
}

// Merge adds every count of o to t.
func (t *Tally) Merge(o *Tally) {
	for k, oc := range o.cells {
		c := t.cells[k]
		if c == nil {
			c = &Cell{}
			t.cells[k] = c
		}
		c.Admitted += oc.Admitted
		c.Denied += oc.Denied
	}
}

// Span is the windows [From, To) in Unix ms of window start.
type Span struct{ From, To int64 }

func (s Span) has(w int64) bool { return w >= s.From && w < s.To }

// Windows returns the window starts within s that have any decision,
// ascending.
func (t *Tally) Windows(s Span) []int64 {
	seen := map[int64]bool{}
	for k := range t.cells {
		if s.has(k.Window) {
			seen[k.Window] = true
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

// Admitted sums the admissions in window w of the clients and nodes that
// keep accepts (nil keeps all).
func (t *Tally) Admitted(w int64, keep func(client, node string) bool) int64 {
	var n int64
	for k, c := range t.cells {
		if k.Window == w && (keep == nil || keep(k.Client, k.Node)) {
			n += c.Admitted
		}
	}
	return n
}

// Attempts returns, per client, the decisions (admitted and denied) in
// window w: the demand the load generator offered, as answered.
func (t *Tally) Attempts(w int64) map[string]int64 { return t.AttemptsOf(w, nil) }

// AttemptsOf is Attempts over the nodes keep accepts (all when nil).
func (t *Tally) AttemptsOf(w int64, keep func(node string) bool) map[string]int64 {
	out := map[string]int64{}
	for k, c := range t.cells {
		if k.Window == w && (keep == nil || keep(k.Node)) {
			out[k.Client] += c.Admitted + c.Denied
		}
	}
	return out
}

// Bounds are the safety bounds of a run.
type Bounds struct {
	// Capacity is the mesh's capacity per window.
	Capacity int64
	// Limits are the clients' own limits per window; a client without one
	// is bounded by Capacity alone.
	Limits map[string]int64
	// Sides is how many sides may each admit a full allowance: 1 for a
	// policy that promises the mesh-wide bound under every fault; k for
	// one (available) that promises at most k times it with k sides.
	Sides int64
}

// allowance is what a client may be admitted per window mesh-wide. A fair
// share is not a safety bound (capacity nobody uses goes to whoever asks),
// so a client without its own limit is bounded only by the capacity.
func (b Bounds) allowance(client string) int64 {
	if l, ok := b.Limits[client]; ok {
		return l
	}
	return b.Capacity
}

// Violation is one failed check, with the figures that failed it.
type Violation struct {
	Check  string // "client-limit", "capacity", "recovery", "config-agree", "acked-lost"
	Detail string
}

func (v Violation) String() string { return v.Check + ": " + v.Detail }

// CheckClientLimits checks, for every client and window in s, that the
// mesh admitted at most Sides times the client's allowance, exactly: each
// node counts a decision in the window its reply names, against that
// window's rights, so there is no rounding to forgive.
func CheckClientLimits(t *Tally, s Span, b Bounds) []Violation {
	sum := map[[2]string]int64{}
	var keys [][2]string
	for k, c := range t.cells {
		if !s.has(k.Window) {
			continue
		}
		key := [2]string{fmt.Sprint(k.Window), k.Client}
		if _, ok := sum[key]; !ok {
			keys = append(keys, key)
		}
		sum[key] += c.Admitted
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i][0] < keys[j][0] || keys[i][0] == keys[j][0] && keys[i][1] < keys[j][1]
	})
	var out []Violation
	for _, key := range keys {
		bound := b.sides() * b.allowance(key[1])
		if got := sum[key]; got > bound {
			out = append(out, Violation{"client-limit",
				fmt.Sprintf("client %s window %s admitted %d > bound %d", key[1], key[0], got, bound)})
		}
	}
	return out
}

func (b Bounds) sides() int64 { return max(b.Sides, 1) }

// CheckCapacity checks that every window in s admitted at most Sides times
// the capacity over all clients, exactly.
func CheckCapacity(t *Tally, s Span, b Bounds) []Violation {
	var out []Violation
	bound := b.sides() * b.Capacity
	for _, w := range t.Windows(s) {
		if got := t.Admitted(w, nil); got > bound {
			out = append(out, Violation{"capacity",
				fmt.Sprintf("window %d admitted %d > bound %d (%+.1f%% of capacity); by node: %s", w, got, bound, overPct(got, b.Capacity), t.ByNode(w))})
		}
	}
	return out
}

// ByNode describes window w's admissions per node and, within each node,
// per client, in name order: "n1 210 (gold 90, lim 20), n2 …". It says
// where an over-admission came from.
func (t *Tally) ByNode(w int64) string {
	per := map[string]map[string]int64{}
	for k, c := range t.cells {
		if k.Window != w || c.Admitted == 0 {
			continue
		}
		if per[k.Node] == nil {
			per[k.Node] = map[string]int64{}
		}
		per[k.Node][k.Client] += c.Admitted
	}
	var nodes []string
	for _, n := range slices.Sorted(maps.Keys(per)) {
		var sum int64
		var cl []string
		for _, c := range slices.Sorted(maps.Keys(per[n])) {
			sum += per[n][c]
			cl = append(cl, fmt.Sprintf("%s %d", c, per[n][c]))
		}
		nodes = append(nodes, fmt.Sprintf("%s %d (%s)", n, sum, strings.Join(cl, ", ")))
	}
	return strings.Join(nodes, ", ")
}

func overPct(got, capacity int64) float64 {
	return 100 * float64(got-capacity) / float64(capacity)
}

// Ideal is what a perfect limiter admits in window w: the demand offered
// (each client's attempts, capped at its own limit), at most the capacity.
func Ideal(t *Tally, w int64, b Bounds) int64 { return SideIdeal(t, w, b, nil) }

// SideIdeal is Ideal over the decisions of the nodes keep accepts (all
// when nil): what a side of a split could serve of what it was asked.
func SideIdeal(t *Tally, w int64, b Bounds, keep func(node string) bool) int64 {
	var want int64
	for c, n := range t.AttemptsOf(w, keep) {
		if l, ok := b.Limits[c]; ok {
			n = min(n, l)
		}
		want += n
	}
	return min(want, b.Capacity)
}

// Recovery returns how many windows after heal (the first window starting
// at or after it is window 0) the admissions took to come back within tol
// (a fraction) of the ideal: the index of the first window that is; -1 when
// none in s is. A window with no decisions at all is out of tolerance. Only
// the first return counts: under bursty demand a mesh without faults dips
// now and then (the baseline shows how often), and a later dip is not the
// fault's.
func Recovery(t *Tally, heal int64, s Span, period int64, b Bounds, tol float64) int {
	n := 0
	for w := windowAfter(heal, period); w < s.To; w += period {
		ideal := Ideal(t, w, b)
		got := t.Admitted(w, nil)
		if ideal > 0 && absf(float64(got-ideal)) <= tol*float64(ideal) {
			return n
		}
		n++
	}
	return -1
}

func absf(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// CheckRecovery fails when Recovery took more than within windows.
func CheckRecovery(t *Tally, heal int64, s Span, period int64, b Bounds, tol float64, within int) []Violation {
	r := Recovery(t, heal, s, period, b, tol)
	if r >= 0 && r <= within {
		return nil
	}
	what := fmt.Sprintf("took %d windows", r)
	if r < 0 {
		what = "never did within the observed windows"
	}
	return []Violation{{"recovery", fmt.Sprintf("admissions back within %.0f%% of the ideal within %d windows of the heal: %s (%s)",
		100*tol, within, what, describeWindows(t, windowAfter(heal, period), s, b))}}
}

// windowAfter is the start of the first window starting at or after ms.
func windowAfter(ms, period int64) int64 { return (ms + period - 1) / period * period }

// describeWindows lists admitted/ideal for the windows from w on, for a
// failure message.
func describeWindows(t *Tally, from int64, s Span, b Bounds) string {
	var parts []string
	for _, w := range t.Windows(Span{from, s.To}) {
		parts = append(parts, fmt.Sprintf("%d/%d", t.Admitted(w, nil), Ideal(t, w, b)))
	}
	return "admitted/ideal per window: " + strings.Join(parts, " ")
}

// Figures are what a fault measured, for the suite's table.
type Figures struct {
	// MaxOverPct is the largest capacity over-admission of a window, in %
	// of the capacity (negative: never reached it).
	MaxOverPct float64
	// MeanOverPct is the mean over-admission of the windows while the
	// fault was active, in % of the capacity (see MeanOver).
	MeanOverPct float64
	// LimitedMax is the most the limited client got in one window.
	LimitedMax int64
	// MajorityShare is the mean, over the split's windows after the lease,
	// of what the majority side admitted over the ideal; -1 when the fault
	// is not a split.
	MajorityShare float64
	// Recovery is Recovery's result; -1 never, -2 not measured.
	Recovery int
}

// Measure computes MaxOverPct and LimitedMax over s.
func Measure(t *Tally, s Span, b Bounds, limited string) Figures {
	f := Figures{MaxOverPct: -100, MajorityShare: -1, Recovery: -2}
	for _, w := range t.Windows(s) {
		f.MaxOverPct = max(f.MaxOverPct, overPct(t.Admitted(w, nil), b.Capacity))
		f.LimitedMax = max(f.LimitedMax, t.Admitted(w, func(c, _ string) bool { return c == limited }))
	}
	return f
}

// MeanOver is the mean, over the windows of s, of what they admitted
// beyond the capacity, in % of it (negative: below it). A long fault's
// maximum says how bad one window got; the mean, how much it cost overall.
func MeanOver(t *Tally, s Span, b Bounds) float64 {
	ws := t.Windows(s)
	if len(ws) == 0 {
		return 0
	}
	var sum float64
	for _, w := range ws {
		sum += overPct(t.Admitted(w, nil), b.Capacity)
	}
	return sum / float64(len(ws))
}

// MajorityShare is the mean, over the windows of s, of what the nodes in
// side admitted over the side's own ideal in the window (what it could
// serve of what its nodes were asked: the other side's requests are not
// its to serve); -1 when s has no window.
func MajorityShare(t *Tally, s Span, side map[string]bool, b Bounds) float64 {
	var sum float64
	n := 0
	for _, w := range t.Windows(s) {
		ideal := SideIdeal(t, w, b, func(node string) bool { return side[node] })
		if ideal == 0 {
			continue
		}
		got := t.Admitted(w, func(_, node string) bool { return side[node] })
		sum += float64(got) / float64(ideal)
		n++
	}
	if n == 0 {
		return -1
	}
	return sum / float64(n)
}

// Config is a client's configuration as one node reports it.
type Config struct {
	Weight  int
	Limited bool
	Rate    int
	Period  string
}

func (c Config) String() string {
	if !c.Limited {
		return fmt.Sprintf("weight %d", c.Weight)
	}
	return fmt.Sprintf("weight %d, %d/%s", c.Weight, c.Rate, c.Period)
}

// CheckConfigsAgree checks that every node reports the same configured
// clients with the same config. snaps maps node to client to config.
func CheckConfigsAgree(snaps map[string]map[string]Config) []Violation {
	nodes := slices.Sorted(maps.Keys(snaps))
	if len(nodes) < 2 {
		return nil
	}
	ids := map[string]bool{}
	for _, s := range snaps {
		for id := range s {
			ids[id] = true
		}
	}
	var out []Violation
	for _, id := range slices.Sorted(maps.Keys(ids)) {
		var seen []string
		differ := false
		ref, refOK := snaps[nodes[0]][id]
		for _, n := range nodes {
			c, ok := snaps[n][id]
			if ok != refOK || c != ref {
				differ = true
			}
			if ok {
				seen = append(seen, n+": "+c.String())
			} else {
				seen = append(seen, n+": absent")
			}
		}
		if differ {
			out = append(out, Violation{"config-agree", fmt.Sprintf("client %s: %s", id, strings.Join(seen, "; "))})
		}
	}
	return out
}

// Write is a config update that the API acknowledged (2xx).
type Write struct {
	Node   string // the node that acknowledged it
	Client string
	Want   Config
}

// CheckAcked checks that every acknowledged write is present, as written,
// on every node of snaps. Each write names a client of its own, so that no
// later write may legitimately replace it.
func CheckAcked(acked []Write, snaps map[string]map[string]Config) []Violation {
	var out []Violation
	nodes := slices.Sorted(maps.Keys(snaps))
	for _, w := range acked {
		for _, n := range nodes {
			c, ok := snaps[n][w.Client]
			switch {
			case !ok:
				out = append(out, Violation{"acked-lost",
					fmt.Sprintf("client %s (%s, acknowledged by %s) is absent on %s", w.Client, w.Want, w.Node, n)})
			case c != w.Want:
				out = append(out, Violation{"acked-lost",
					fmt.Sprintf("client %s (%s, acknowledged by %s) is %s on %s", w.Client, w.Want, w.Node, c, n)})
			}
		}
	}
	return out
}
