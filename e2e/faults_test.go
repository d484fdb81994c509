//go:build e2e

package e2e

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"maps"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Timing of every fault, in wall-clock time. The containers share the
// host's clock, so the mesh time the replies name windows in is the host's:
// the suite places its fault instants in the same timeline, and counts
// admissions by the windows the replies name.
const (
	// before is the fault-free load observed before each injection, so
	// that the windows the fault starts in are judged whole.
	before = 2 * time.Second
	// observe is how long the load runs after a heal before the windows
	// are judged: recovery must happen within recoveryWindows of it.
	observe         = 8 * time.Second
	recoveryWindows = 3
	recoveryTol     = 0.05
	// settleTimeout bounds the wait for configs to agree after a heal.
	settleTimeout = 30 * time.Second
)

// row is one line of the suite's table of measured figures.
type row struct {
	name    string
	figures Figures
	failed  map[string]int // check → violations
}

// suite is one run: a harness, the cluster under test, the load on it, and
// what the faults measured.
type suite struct {
	h     *harness
	c     *cluster
	lg    *loadGen
	rng   *mrand.Rand
	acked []Write // every acknowledged config write on the current cluster
	rows  []row
	mu    sync.Mutex
}

var baseBounds = Bounds{Capacity: capacity, Limits: map[string]int64{limitedClient: 100}}

// TestFaults runs every fault against one five-node mesh under the default
// partition policy, then the 3|2 split against a fresh mesh under the
// available policy, and logs a table of what each measured.
func TestFaults(t *testing.T) {
	began := time.Now()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("E2E_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("E2E_SEED %q: %v", s, err)
		}
		seed = v
	}
	t.Logf("seed %d (E2E_SEED=%d replays the same injection offsets)", seed, seed)
	s := &suite{h: newHarness(t), lg: newLoadGen(), rng: mrand.New(mrand.NewPCG(seed, 0))}
	t.Cleanup(s.lg.stop)
	t.Logf("serve --data-dir: %v", s.h.hasData)

	s.c = s.h.startCluster(t, defaultPolicy)
	s.configure(t)
	for _, n := range s.c.nodes {
		s.lg.add(n)
	}
	time.Sleep(3 * time.Second) // every client tracked and reported on every node

	t.Run("baseline", func(t *testing.T) {
		s.fault(t, faultOpts{}, func(t *testing.T, f *faultRun) {
			time.Sleep(10 * time.Second)
			f.healNow()
		})
	})
	t.Run("kill-restart", func(t *testing.T) {
		s.fault(t, faultOpts{}, func(t *testing.T, f *faultRun) {
			victim := s.c.nodes[4]
			f.must(docker("kill", victim.container))
			f.write(t, s.c.nodes[0], s.c.nodes[1])
			// Restart anywhere from a second before the others may
			// reclaim its share (lease + the 500 ms clock guard after
			// they last heard it) to two seconds after: the process
			// comes back before, during or after the reclaim.
			down := lease - time.Second + time.Duration(s.rng.Int64N(int64(3*time.Second)))
			t.Logf("restarting %s %v after the kill", victim.id, down)
			time.Sleep(down)
			f.must(docker("start", victim.container))
			f.healNow()
		})
	})
	t.Run("pause-10s", func(t *testing.T) {
		s.fault(t, faultOpts{}, func(t *testing.T, f *faultRun) {
			victim := s.c.nodes[2]
			f.must(docker("pause", victim.container))
			f.write(t, s.c.nodes[0], s.c.nodes[4])
			time.Sleep(10 * time.Second)
			f.must(docker("unpause", victim.container))
			f.healNow()
		})
	})
	for _, d := range []time.Duration{20 * time.Second, 60 * time.Second} {
		t.Run(fmt.Sprintf("split-3-2-%v", d), func(t *testing.T) {
			s.split(t, d, baseBounds)
		})
	}
	t.Run("asymmetric-20s", func(t *testing.T) {
		s.fault(t, faultOpts{}, func(t *testing.T, f *faultRun) {
			// n1's outbound gossip is dropped; what the others send it
			// still arrives (TCP push-pull cannot complete either way).
			f.must("", s.c.nodes[0].iptables("-A", "OUTPUT", "-d", s.h.gossip.prefix+"0/24", "-j", "DROP"))
			f.write(t, s.c.nodes[0], s.c.nodes[1])
			time.Sleep(20 * time.Second)
			f.must("", s.c.nodes[0].flush())
			f.healNow()
		})
	})
	t.Run("loss-20pct-20s", func(t *testing.T) {
		s.fault(t, faultOpts{}, func(t *testing.T, f *faultRun) {
			for _, n := range s.c.nodes {
				f.must("", n.iptables("-A", "INPUT", "-s", s.h.gossip.prefix+"0/24",
					"-m", "statistic", "--mode", "random", "--probability", "0.2", "-j", "DROP"))
			}
			f.write(t, s.c.nodes[0], s.c.nodes[3])
			time.Sleep(20 * time.Second)
			for _, n := range s.c.nodes {
				f.must("", n.flush())
			}
			f.healNow()
		})
	})
	t.Run("wrong-key-20s", func(t *testing.T) {
		s.fault(t, faultOpts{}, func(t *testing.T, f *faultRun) {
			// A sixth node with another key, joining everyone, and load on
			// it like on the others: it must admit nothing, or whatever it
			// admits counts against the capacity.
			wrong := make([]byte, 32)
			rand.Read(wrong)
			key := filepath.Join(s.h.dir, "wrong.key")
			f.must("", os.WriteFile(key, []byte(base64.StdEncoding.EncodeToString(wrong)), 0o600))
			n6, err := s.h.createNode(nodeSpec{idx: 6, policy: s.c.policy, key: key, join: s.c.joinAll()})
			if err != nil {
				t.Fatalf("starting the wrong-key node: %v", err)
			}
			s.lg.add(n6)
			f.write(t, s.c.nodes[0])
			time.Sleep(20 * time.Second)
			s.lg.remove(n6.id)
			f.must("", s.h.removeNode(n6))
			f.healNow()
		})
	})
	t.Run("full-stop", func(t *testing.T) {
		if !s.h.hasData {
			t.Errorf("fairmesh serve --help lists no --data-dir: nothing persists configuration, " +
				"so a full stop loses every acknowledged config write (the checks below show it)")
		}
		s.fault(t, faultOpts{}, func(t *testing.T, f *faultRun) {
			f.write(t, s.c.nodes...)
			var wg sync.WaitGroup
			for _, n := range s.c.nodes {
				wg.Go(func() { f.must(docker("stop", "-t", "5", n.container)) })
			}
			wg.Wait()
			for _, n := range s.c.nodes {
				wg.Go(func() { f.must(docker("start", n.container)) })
			}
			wg.Wait()
			f.healNow()
		})
	})

	// The available policy on a fresh mesh: it promises only that k sides
	// admit at most k times the allowance.
	s.lg.stop()
	s.c.remove()
	t.Run("split-3-2-20s-available", func(t *testing.T) {
		s.c = s.h.startCluster(t, availablePolicy)
		s.acked = nil
		s.lg = newLoadGen()
		defer s.lg.stop() // on a failure too: no workers left behind
		s.configure(t)
		for _, n := range s.c.nodes {
			s.lg.add(n)
		}
		time.Sleep(3 * time.Second)
		two := baseBounds
		two.Sides = 2
		s.split(t, 20*time.Second, two)
	})

	s.logTable(t)
	t.Logf("suite ran %v", time.Since(began).Round(time.Second))
}

// split cuts gossip between {n1,n2,n3} and {n4,n5} for d, in both
// directions, by iptables inside every node's namespace.
func (s *suite) split(t *testing.T, d time.Duration, b Bounds) {
	major := map[string]bool{"n1": true, "n2": true, "n3": true}
	s.fault(t, faultOpts{bounds: b, majority: major, leased: b.Sides <= 1}, func(t *testing.T, f *faultRun) {
		for _, a := range s.c.nodes {
			for _, o := range s.c.nodes {
				if major[a.id] == major[o.id] {
					continue
				}
				f.must("", a.iptables("-A", "INPUT", "-s", o.gossipIP, "-j", "DROP"))
				f.must("", a.iptables("-A", "OUTPUT", "-d", o.gossipIP, "-j", "DROP"))
			}
		}
		f.cut = time.Now()
		f.write(t, s.c.nodes[0], s.c.nodes[3])
		time.Sleep(d)
		for _, n := range s.c.nodes {
			f.must("", n.flush())
		}
		f.healNow()
	})
}

// configure sets the load clients' weights and limits on n1 and waits
// until every node has them.
func (s *suite) configure(t *testing.T) {
	t.Helper()
	n1 := s.c.nodes[0]
	for _, lc := range loadClients {
		if err := putJSON(n1.base+"/v1/clients/"+lc.id+"/weight", map[string]int{"weight": lc.weight}); err != nil {
			t.Fatalf("configuring %s: %v", lc.id, err)
		}
		want := Config{Weight: lc.weight}
		if lc.limit > 0 {
			if err := putJSON(n1.base+"/v1/clients/"+lc.id+"/limit",
				map[string]any{"rate": lc.limit, "period": period.String()}); err != nil {
				t.Fatalf("configuring %s: %v", lc.id, err)
			}
			want = Config{Weight: lc.weight, Limited: true, Rate: lc.limit, Period: period.String()}
		}
		s.acked = append(s.acked, Write{Node: n1.id, Client: lc.id, Want: want})
	}
	snaps, err := s.c.settledConfigs(s.acked, settleTimeout)
	if err != nil {
		t.Fatalf("reading configs: %v", err)
	}
	if v := append(CheckConfigsAgree(snaps), CheckAcked(s.acked, snaps)...); len(v) > 0 {
		t.Fatalf("the load clients' config did not reach every node: %v", v)
	}
}

// restore undoes whatever an earlier fault left (a failed subtest may have
// stopped half way) and waits for the mesh to be whole, with the load
// clients configured.
func (s *suite) restore(t *testing.T) {
	t.Helper()
	for _, n := range s.c.nodes {
		docker("unpause", n.container) // fails when not paused: fine
		docker("start", n.container)   // a no-op when running
	}
	for _, n := range s.c.nodes {
		if err := n.flush(); err != nil {
			t.Fatalf("restoring: %v", err)
		}
	}
	if err := s.c.waitFormed(readyTimeout); err != nil {
		t.Fatalf("restoring: the mesh did not re-form: %v\n%s", err, s.c.logs())
	}
	snaps, err := s.c.snapshots()
	if err == nil && len(CheckAcked(s.acked[:len(loadClients)], snaps)) == 0 {
		return
	}
	// An earlier fault lost the load clients' config (a full stop without
	// persistence): set it again, so that this fault is judged on its own.
	s.acked = nil
	s.configure(t)
}

// faultOpts are what a fault is judged against.
type faultOpts struct {
	bounds Bounds // zero: baseBounds
	// majority names the majority side of a split: its share of the ideal
	// after leaseWait is measured.
	majority map[string]bool
	// leased: the split runs under the default policy, which promises that
	// the majority serves at least majorityShare of the ideal after
	// leaseWait and the minority serves what it holds until its lease
	// ends.
	leased bool
}

// faultRun is one fault as it runs: its instants and the writes it made.
type faultRun struct {
	t     *testing.T
	s     *suite
	start time.Time
	// cut is when a split's last rule was in place (installing them one
	// namespace at a time takes a second or two): the lease runs from
	// there.
	cut    time.Time
	heal   time.Time
	writes []Write
}

// must fails the fault when err is not nil; the first result is ignored
// (docker's output).
func (f *faultRun) must(_ string, err error) {
	if err != nil {
		f.t.Errorf("injecting: %v", err)
	}
}

func (f *faultRun) healNow() { f.heal = time.Now() }

// write sets a fresh client's weight on each of the nodes; the writes that
// were acknowledged must be on every node after the heal.
func (f *faultRun) write(t *testing.T, on ...*node) {
	for _, n := range on {
		client := fmt.Sprintf("cfg-%s-%d", sanitize(t.Name()), len(f.writes)+1)
		w := Write{Node: n.id, Client: client, Want: Config{Weight: 1 + len(f.writes)%5}}
		if err := putJSON(n.base+"/v1/clients/"+client+"/weight", map[string]int{"weight": w.Want.Weight}); err != nil {
			t.Logf("config write to %s not acknowledged (allowed during a fault): %v", n.id, err)
			continue
		}
		f.writes = append(f.writes, w)
	}
}

func sanitize(name string) string {
	name = name[strings.LastIndex(name, "/")+1:]
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, strings.ToLower(name))
}

// fault runs one fault: restore the mesh, observe the load before, wait
// for an arbitrary instant inside a window, inject (body, which heals and
// calls healNow), observe after the heal, then check and measure.
func (s *suite) fault(t *testing.T, o faultOpts, body func(t *testing.T, f *faultRun)) {
	b := o.bounds
	if b.Capacity == 0 {
		b = baseBounds
	}
	s.restore(t)
	time.Sleep(before)
	// Never on a window boundary: between 15% and 85% into a window.
	in := time.Duration(time.Now().UnixNano() % int64(period))
	target := period*15/100 + time.Duration(s.rng.Int64N(int64(period*70/100)))
	if d := (target - in + period) % period; d > 0 {
		time.Sleep(d)
	}
	auditBefore := s.c.audits()
	f := &faultRun{t: t, s: s, start: time.Now()}
	body(t, f)
	if f.heal.IsZero() {
		f.heal = time.Now()
	}
	t.Logf("injected at %s (%d ms into its window), healed at %s",
		f.start.Format("15:04:05.000"), f.start.UnixMilli()%period.Milliseconds(), f.heal.Format("15:04:05.000"))
	formedErr := s.c.waitFormed(readyTimeout)
	if wait := time.Until(f.heal.Add(observe)); wait > 0 {
		time.Sleep(wait)
	}
	// Judge whole windows only: from the one before the injection to the
	// last one that has ended.
	pms := period.Milliseconds()
	end := time.Now().UnixMilli()
	span := Span{From: f.start.UnixMilli()/pms*pms - pms, To: end / pms * pms}
	tally := s.lg.snapshot()

	var vs []Violation
	vs = append(vs, CheckCapacity(tally, span, b)...)
	vs = append(vs, CheckClientLimits(tally, span, b)...)
	vs = append(vs, CheckRecovery(tally, f.heal.UnixMilli(), span, pms, b, recoveryTol, recoveryWindows)...)
	if formedErr != nil {
		vs = append(vs, Violation{"reform", formedErr.Error()})
	}
	auditAfter := s.c.audits()
	vs = append(vs, checkAudit(auditBefore, auditAfter, b.sides() > 1)...)
	t.Logf("the mesh's audit, per node: %s", describeAudit(auditBefore, auditAfter))
	s.acked = append(s.acked, f.writes...)
	snaps, err := s.c.settledConfigs(s.acked, settleTimeout)
	if err != nil {
		vs = append(vs, Violation{"config-agree", "reading configs: " + err.Error()})
	} else {
		vs = append(vs, CheckConfigsAgree(snaps)...)
		vs = append(vs, CheckAcked(s.acked, snaps)...)
	}

	fig := Measure(tally, span, b, limitedClient)
	pre := f.start.UnixMilli() / pms * pms
	fig.MeanOverPct = MeanOver(tally, Span{From: pre, To: windowAfter(f.heal.UnixMilli(), pms)}, b)
	fig.Recovery = Recovery(tally, f.heal.UnixMilli(), span, pms, b, recoveryTol)
	if o.majority != nil {
		cut := f.cut
		if cut.IsZero() {
			cut = f.start
		}
		after := Span{From: windowAfter(cut.Add(leaseWait).UnixMilli(), pms), To: f.heal.UnixMilli() / pms * pms}
		fig.MajorityShare = MajorityShare(tally, after, o.majority, b)
		if o.leased {
			if fig.MajorityShare < majorityShare {
				vs = append(vs, Violation{"majority-share", fmt.Sprintf("the majority served %.2f of the ideal once the lease had run out, want ≥ %.2f", fig.MajorityShare, majorityShare)})
			}
			// The minority's whole windows within its lease, which runs
			// from the last of its messages the others confirmed before
			// the cut: up to two lease message intervals (Lease/8 each,
			// one for its message, one for the confirmation) before it.
			held := Span{From: windowAfter(f.start.UnixMilli(), pms), To: cut.Add(lease-lease/4).UnixMilli() / pms * pms}
			minority := func(_, node string) bool { return !o.majority[node] }
			for _, w := range tally.Windows(held) {
				if tally.Admitted(w, minority) == 0 {
					vs = append(vs, Violation{"minority-lease", fmt.Sprintf("window %d: the minority admitted nothing within its lease", w)})
				}
			}
		}
	}
	r := row{name: t.Name(), figures: fig, failed: map[string]int{}}
	for _, v := range vs {
		r.failed[v.Check]++
	}
	s.mu.Lock()
	s.rows = append(s.rows, r)
	s.mu.Unlock()

	t.Logf("figures: max over capacity %+.1f%% (mean during the fault %+.1f%%), %s max %d/window, majority share %s, recovery %s; offered %.0f/s answered; %s",
		fig.MaxOverPct, fig.MeanOverPct, limitedClient, fig.LimitedMax, share(fig.MajorityShare), recovery(fig.Recovery),
		offered(tally, span), describeWindows(tally, span.From, span, b))
	logSparse(t, tally, span)
	if len(vs) > 0 {
		s.logAroundHeal(t, tally, f.heal, span)
	}
	// Every violation is an error, but a long fault makes hundreds of
	// the same kind: the first few of each say enough.
	shown := map[string]int{}
	for _, v := range vs {
		if shown[v.Check]++; shown[v.Check] <= 3 {
			t.Errorf("%v", v)
		}
	}
	for c, n := range r.failed {
		if n > 3 {
			t.Errorf("%s: %d more violations", c, n-3)
		}
	}
}

// logSparse logs, per node, the windows in which fewer than a quarter of
// the mean decisions arrived: the load generator or the nodes stalled, and
// which nodes tells which.
// logAroundHeal logs, for a fault that failed a check, what each node
// admitted in the windows from two before the heal to three after, and
// what each node logged above debug level from three seconds before the
// heal: enough to tell which node fell short and why.
func (s *suite) logAroundHeal(t *testing.T, tally *Tally, heal time.Time, span Span) {
	pms := period.Milliseconds()
	from := windowAfter(heal.UnixMilli(), pms) - 2*pms
	for w := max(from, span.From); w < span.To && w <= from+5*pms; w += pms {
		t.Logf("window %s: %s", time.UnixMilli(w).Format("15:04:05"), tally.ByNode(w))
	}
	for _, n := range s.c.nodes {
		out, err := exec.Command("docker", "logs", "--since", heal.Add(-3*time.Second).Format(time.RFC3339Nano), n.container).CombinedOutput()
		if err != nil {
			t.Logf("%s's log: %v", n.id, err)
			continue
		}
		var lines []string
		for _, l := range strings.Split(string(out), "\n") {
			if l != "" && !strings.Contains(l, "level=DEBUG") {
				lines = append(lines, l)
			}
		}
		if len(lines) > 40 {
			lines = lines[len(lines)-40:]
		}
		if len(lines) == 0 {
			lines = []string{"(nothing above debug level)"}
		}
		t.Logf("%s's log from 3 s before the heal:\n%s", n.id, strings.Join(lines, "\n"))
	}
}

func logSparse(t *testing.T, tally *Tally, s Span) {
	mean := offered(tally, s)
	for _, w := range tally.Windows(s) {
		var n int64
		for _, a := range tally.Attempts(w) {
			n += a
		}
		if float64(n) >= mean/4 {
			continue
		}
		per := map[string]int64{}
		for k, c := range tally.cells {
			if k.Window == w {
				per[k.Node] += c.Admitted + c.Denied
			}
		}
		t.Logf("sparse window %s: %d decisions (mean %.0f), per node %v",
			time.UnixMilli(w).Format("15:04:05"), n, mean, per)
	}
}

// offered is the mean decisions per window over s: the load that arrived.
func offered(t *Tally, s Span) float64 {
	ws := t.Windows(s)
	var n int64
	for _, w := range ws {
		for _, a := range t.Attempts(w) {
			n += a
		}
	}
	return float64(n) / float64(max(len(ws), 1))
}

func share(x float64) string {
	if x < 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", x)
}

func recovery(r int) string {
	switch r {
	case -1:
		return "never"
	case -2:
		return "-"
	}
	return strconv.Itoa(r)
}

// logTable logs the measured figures of every fault, for the README.
func (s *suite) logTable(t *testing.T) {
	var b strings.Builder
	b.WriteString("\n| fault | max over capacity | mean over capacity during the fault | lim max/window | majority share after lease | recovery windows | failed checks |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- |\n")
	for _, r := range s.rows {
		var failed []string
		for _, c := range []string{"capacity", "client-limit", "recovery", "reform", "config-agree", "acked-lost"} {
			if n := r.failed[c]; n > 0 {
				failed = append(failed, fmt.Sprintf("%s (%d)", c, n))
			}
		}
		if len(failed) == 0 {
			failed = []string{"none"}
		}
		fmt.Fprintf(&b, "| %s | %+.1f%% | %+.1f%% | %d | %s | %s | %s |\n", strings.TrimPrefix(r.name, "TestFaults/"),
			r.figures.MaxOverPct, r.figures.MeanOverPct, r.figures.LimitedMax, share(r.figures.MajorityShare), recovery(r.figures.Recovery),
			strings.Join(failed, ", "))
	}
	t.Log(b.String())
}

// auditFigures is what a node's audit of the mesh found (GET /v1/status).
type auditFigures struct {
	OverWindows  uint64 `json:"over_windows"`
	OverRequests uint64 `json:"over_requests"`
	Windows      uint64 `json:"windows"`
}

// audits reads every reachable node's audit figures.
func (c *cluster) audits() map[string]auditFigures {
	out := map[string]auditFigures{}
	for _, n := range c.nodes {
		var st struct {
			Counters struct {
				Audit auditFigures `json:"audit"`
			} `json:"counters"`
		}
		if getJSON(n.base+"/v1/status", &st) == nil {
			out[n.id] = st.Counters.Audit
		}
	}
	return out
}

// checkAudit holds the mesh's audit of itself (each node adds up what all
// admitted in every capacity window) to what the checker sees: under the
// default policy no node's audit may find a window over the capacity; under
// available, whose split does admit past it, some node's must. A node that
// restarted during the fault starts its figures over.
func checkAudit(before, after map[string]auditFigures, expectOver bool) []Violation {
	var found bool
	var vs []Violation
	for _, id := range slices.Sorted(maps.Keys(after)) {
		a, b := after[id], before[id]
		if a.Windows < b.Windows {
			b = auditFigures{} // restarted
		}
		if a.OverWindows > b.OverWindows {
			found = true
			if !expectOver {
				vs = append(vs, Violation{"audit", fmt.Sprintf("%s's audit found %d windows over the capacity (+%d requests)",
					id, a.OverWindows-b.OverWindows, a.OverRequests-b.OverRequests)})
			}
		}
	}
	if expectOver && !found {
		vs = append(vs, Violation{"audit", "no node's audit found the split's over-admission"})
	}
	return vs
}

// describeAudit says what each node's audit added during a fault:
// windows audited complete, and those over the capacity.
func describeAudit(before, after map[string]auditFigures) string {
	var parts []string
	for _, id := range slices.Sorted(maps.Keys(after)) {
		a, b := after[id], before[id]
		if a.Windows < b.Windows {
			b = auditFigures{}
		}
		parts = append(parts, fmt.Sprintf("%s %d windows, %d over (+%d requests)", id, a.Windows-b.Windows, a.OverWindows-b.OverWindows, a.OverRequests-b.OverRequests))
	}
	return strings.Join(parts, "; ")
}
