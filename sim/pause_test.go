package sim

import (
	"fmt"
	"testing"
	"time"
)

// pauseScenario: one client whose traffic all goes to n1, limited to 50 a
// second, asking 100; n1 is paused from 2.5s to 5.5s (shorter than the
// suspect timeout) on a lossless network without skew, so windows are
// true seconds.
const pauseScenario = `{"name":"pause-unit","seed":5,"duration":"10s","nodes":2,
 "network":{"latency":"1ms"},
 "clients":[{"id":"a","rate":50,"demand":%s,"spread":{"n1":1}}],
 "events":[{"at":"2.5s","pause":"n1"},{"at":"5.5s","resume":"n1"}]}`

func windowsOf(rep *Report, client string) map[int64]WindowRow {
	out := map[int64]WindowRow{}
	for _, w := range rep.Windows {
		if w.Client == client {
			out[w.Window-rep.Windows[0].Window] = w
		}
	}
	return out
}

// A paused node decides nothing; on resume it decides its whole backlog at
// the resume instant, counted in the window its clock names then.
func TestPauseHoldsRequestsUntilResume(t *testing.T) {
	rep := mustRun(t, mustLoad(t, fmt.Sprintf(pauseScenario, "100")))
	w := windowsOf(rep, "a")
	if d := w[2].Demand; d < 49 || d > 51 {
		t.Errorf("window 2 (paused at 2.5s): demand %d, want the 50 decided before the pause", d)
	}
	for _, k := range []int64{3, 4} {
		if w[k].Demand != 0 || w[k].Admitted != 0 {
			t.Errorf("window %d (paused): demand %d, admitted %d; want nothing decided", k, w[k].Demand, w[k].Admitted)
		}
	}
	// The 300 held from 2.5s to 5.5s and the 50 after the resume.
	if d := w[5].Demand; d < 348 || d > 352 {
		t.Errorf("window 5 (resumed at 5.5s): demand %d, want about 350", d)
	}
	if rep.Stats.Requests < 998 || rep.Stats.Requests > 1002 {
		t.Errorf("%d requests in all, want 1000 (none lost)", rep.Stats.Requests)
	}
	// The node's window limit holds through the backlog (it was paused
	// shorter than any timeout: its state is not stale).
	if len(rep.Violations) != 0 {
		t.Errorf("violations: %v", rep.Violations)
	}
}

// A paused node's backlog is bounded: what arrives beyond MaxPausedRequests
// is refused at once, counted where it arrives, and never admitted.
func TestPauseBacklogIsBounded(t *testing.T) {
	rep := mustRun(t, mustLoad(t, fmt.Sprintf(pauseScenario, "2000")))
	w := windowsOf(rep, "a")
	// 6000 arrive while paused: the first MaxPausedRequests are held
	// (until 4.548s) and decided at 5.5s, in window 5; the rest are
	// refused where they arrive: in windows 4 and 5 (1000 of them in
	// [5s, 5.5s)), and window 5 also has the 1000 after the resume.
	if got, want := w[5].Demand, int64(MaxPausedRequests+2000); got < want-2 || got > want+2 {
		t.Errorf("window 5: demand %d, want the %d held, 1000 refused and 1000 after the resume", got, MaxPausedRequests)
	}
	if got, want := w[3].Demand+w[4].Demand, int64(6000-MaxPausedRequests-1000); got < want-2 || got > want+2 {
		t.Errorf("windows 3 and 4: %d refused, want about %d", got, want)
	}
	if w[3].Admitted != 0 || w[4].Admitted != 0 {
		t.Errorf("admitted %d and %d while paused", w[3].Admitted, w[4].Admitted)
	}
}

// The same pause, the same digest; and a pause changes the run.
func TestPauseIsDeterministic(t *testing.T) {
	sc := mustLoad(t, fmt.Sprintf(pauseScenario, "100"))
	sc.Network = Network{Latency: Duration(time.Millisecond), Jitter: Duration(3 * time.Millisecond), Loss: 0.05, Duplicate: 0.05}
	a, b := mustRun(t, sc), mustRun(t, sc)
	if a.Digest != b.Digest {
		t.Fatalf("same scenario, digests %s and %s", a.Digest, b.Digest)
	}
	sc.Events = nil
	if c := mustRun(t, sc); c.Digest == a.Digest {
		t.Fatal("the pause left no trace in the digest")
	}
}

// The search draws pauses shorter and longer than the dead timeout, each
// resumed later, and shrinking drops a pause with its resume.
func TestDrawPauses(t *testing.T) {
	short, long := 0, 0
	for i := range 50 {
		sc := Draw(1, i)
		paused := map[string]Duration{}
		for _, e := range sc.Events {
			switch {
			case e.Pause != "":
				paused[e.Pause] = e.At
			case e.Resume != "":
				at, ok := paused[e.Resume]
				if !ok {
					t.Fatalf("draw %d: resume of %s without a pause", i, e.Resume)
				}
				delete(paused, e.Resume)
				if (e.At - at).D() > 6500*time.Millisecond {
					long++
				} else {
					short++
				}
			}
		}
		if len(paused) > 0 {
			t.Fatalf("draw %d: pauses never resumed: %v", i, paused)
		}
	}
	if short == 0 || long == 0 {
		t.Fatalf("%d short and %d long pauses in 50 draws; want both", short, long)
	}
	evs := []Event{{At: 1, Pause: "n1"}, {At: 2, Pause: "n2"}, {At: 3, Resume: "n2"}, {At: 4, Resume: "n1"}}
	got := dropEvent(evs, 0)
	if len(got) != 2 || got[0].Pause != "n2" || got[1].Resume != "n2" {
		t.Fatalf("dropping the pause of n1 left %+v", got)
	}
}
