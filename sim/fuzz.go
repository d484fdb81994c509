package sim

// The randomized fault search: scenarios drawn at random (mesh size,
// clients, limits of every length, steady, Poisson and on/off demand,
// latency, jitter, loss, duplication, skew and drift within the guard,
// joins, leaves, crashes, restarts, pauses of random lengths paired with
// their resumes, partitions of random shapes and lengths, heals, all at
// arbitrary instants), each run and checked; a
// failing one is shrunk to a smaller scenario that still fails, which
// `fairmesh sim FILE` replays.

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// Bounds a drawn scenario is held to besides its violations (over-admission
// in any window or any client window, broken invariants, config that does
// not converge, floors): over its measured windows, when it has at least
// fuzzMinMeasured of them and no partition.
const (
	fuzzFairness    = 5.0
	fuzzUtilization = 95.0
	fuzzMinMeasured = 5
)

// FuzzCase is one drawn scenario and what failed in it.
type FuzzCase struct {
	Index    int      `json:"index"`
	Scenario Scenario `json:"scenario"`
	Failures []string `json:"failures"`
	// Shrunk is the smallest failing scenario found, when it failed.
	Shrunk *Scenario `json:"shrunk,omitempty"`
}

// Draw returns the i-th random scenario of a search with the given seed:
// the same (seed, i) always gives the same scenario.
func Draw(seed uint64, i int) Scenario {
	rng := rand.New(rand.NewPCG(seed, uint64(i)))
	d := func(lo, hi time.Duration) Duration { return Duration(lo + time.Duration(rng.Int64N(int64(hi-lo)+1))) }
	ms := func(lo, hi int) Duration { return Duration(time.Duration(lo+rng.IntN(hi-lo+1)) * time.Millisecond) }
	nodes := 3 + rng.IntN(7)
	sc := Scenario{
		Name:           fmt.Sprintf("fuzz-%d-%d", seed, i),
		Seed:           rng.Uint64() >> 1,
		Duration:       d(20*time.Second, 40*time.Second),
		Nodes:          nodes,
		GossipInterval: Duration(100 * time.Millisecond),
		Network: Network{
			Latency:   ms(1, 10),
			Jitter:    ms(0, 10),
			Loss:      float64(rng.IntN(51)) / 1000,
			Duplicate: float64(rng.IntN(21)) / 1000,
		},
	}
	_ = rng.IntN(5) // once the partition policy; kept so that seeds draw what they did
	if rng.IntN(2) == 0 {
		sc.Capacity = &Capacity{Rate: 200 + rng.IntN(4801), Period: Duration(time.Second)}
	}
	if rng.IntN(4) == 0 {
		sc.DefaultRate = 10 + rng.IntN(500)
	}
	sc.ClockSkew = map[string]Duration{}
	sc.ClockDrift = map[string]float64{}
	for k := 1; k <= nodes; k++ {
		if rng.IntN(3) == 0 {
			sc.ClockSkew[fmt.Sprintf("n%d", k)] = ms(-200, 200)
		}
		if rng.IntN(4) == 0 {
			sc.ClockDrift[fmt.Sprintf("n%d", k)] = float64(rng.IntN(201) - 100)
		}
	}
	periods := []time.Duration{100 * time.Millisecond, 250 * time.Millisecond, time.Second, time.Second, time.Second,
		10 * time.Second, time.Minute, time.Hour}
	total := 1 + rng.IntN(200)
	for c := 0; total > 0 && c < 12; c++ {
		cl := Client{ID: fmt.Sprintf("c%d", c)}
		if count := 1 + rng.IntN(total); c > 0 && count > 1 && rng.IntN(2) == 0 {
			cl.Count = count
		}
		total -= max(cl.Count, 1)
		w := rng.IntN(6)
		if rng.IntN(7) == 0 {
			w = 0
		}
		cl.Weight = &w
		if rng.IntN(10) < 7 {
			rate := 1 + rng.IntN(1000)
			cl.Rate = &rate
			cl.Period = Duration(periods[rng.IntN(len(periods))])
		}
		cl.Demand = float64(1+rng.IntN(1500)) / float64(max(cl.Count, 1))
		if rng.IntN(3) == 0 {
			cl.Arrivals = "poisson"
		}
		if rng.IntN(10) < 3 {
			cl.OnOff = &OnOff{On: d(200*time.Millisecond, 8*time.Second), Off: d(500*time.Millisecond, 20*time.Second), Phase: d(0, 5*time.Second)}
		}
		if rng.IntN(6) == 0 {
			cl.Spread = map[string]float64{"n1": 0.7, fmt.Sprintf("n%d", 2+rng.IntN(nodes-1)): 0.3}
		}
		sc.Clients = append(sc.Clients, cl)
	}
	drawEvents(rng, &sc)
	return sc
}

// drawEvents adds up to 6 membership and network events at random instants,
// each valid for the node states at its time, and the resume of each pause.
func drawEvents(rng *rand.Rand, sc *Scenario) {
	const (
		up = iota + 1
		crashed
		gone
		paused
	)
	state := map[string]int{}
	var names []string
	for k := 1; k <= sc.Nodes; k++ {
		id := fmt.Sprintf("n%d", k)
		state[id] = up
		names = append(names, id)
	}
	next := sc.Nodes + 1
	var times []time.Duration
	for range rng.IntN(7) {
		times = append(times, 3*time.Second+time.Duration(rng.Int64N(int64(sc.Duration.D()-8*time.Second))))
	}
	slices.Sort(times)
	partitioned := time.Duration(-1)
	susp, dead := 1500*time.Millisecond, 5*time.Second // the simulator's defaults
	type resumeAt struct {
		at   time.Duration
		node string
	}
	var resumes []resumeAt // pending, in time order
	resumeUntil := func(t time.Duration) {
		for len(resumes) > 0 && resumes[0].at <= t {
			sc.Events = append(sc.Events, Event{At: Duration(resumes[0].at), Resume: resumes[0].node})
			state[resumes[0].node] = up
			resumes = resumes[1:]
		}
	}
	for _, at := range times {
		resumeUntil(at)
		var ups, down []string
		for _, id := range names {
			switch state[id] {
			case up:
				ups = append(ups, id)
			case crashed:
				down = append(down, id)
			}
		}
		e := Event{At: Duration(at)}
		switch k := rng.IntN(6); {
		case partitioned >= 0:
			e.Heal = true
			partitioned = -1
		case k == 0 && len(ups) < 9:
			e.Join = fmt.Sprintf("n%d", next)
			state[e.Join] = up
			names = append(names, e.Join)
			next++
		case k == 1 && len(ups) > 2:
			e.Leave = ups[rng.IntN(len(ups))]
			state[e.Leave] = gone
		case k == 2 && len(ups) > 2:
			e.Crash = ups[rng.IntN(len(ups))]
			state[e.Crash] = crashed
		case k == 3 && len(down) > 0:
			e.Restart = down[rng.IntN(len(down))]
			state[e.Restart] = up
		case k == 4 && len(ups) >= 2:
			shuffled := slices.Clone(names)
			rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			groups := 2 + rng.IntN(2)
			e.Partition = make([][]string, groups)
			for i, id := range shuffled {
				e.Partition[i%groups] = append(e.Partition[i%groups], id)
			}
			partitioned = at
		case k == 5 && len(ups) > 2:
			// A pause shorter or longer than the dead timeout, resumed at
			// least 2 s before the end so that the backlog is decided.
			length := susp + dead + 500*time.Millisecond + time.Duration(rng.Int64N(int64(14*time.Second)))
			if rng.IntN(2) == 0 {
				length = 200*time.Millisecond + time.Duration(rng.Int64N(int64(susp+dead-time.Second)))
			}
			e.Pause = ups[rng.IntN(len(ups))]
			state[e.Pause] = paused
			resumes = append(resumes, resumeAt{min(at+length, sc.Duration.D()-2*time.Second), e.Pause})
			slices.SortStableFunc(resumes, func(a, b resumeAt) int { return int(a.at - b.at) })
		default:
			continue
		}
		sc.Events = append(sc.Events, e)
	}
	resumeUntil(sc.Duration.D())
}

// Failures lists what a run of sc broke: its violations, and the fairness
// and utilization bounds over its measured windows when it has no
// partition and enough of them.
func Failures(sc Scenario, rep *Report) []string {
	var out []string
	for _, v := range rep.Violations {
		out = append(out, fmt.Sprintf("%s %s: %s", v.At, v.Node, v.What))
	}
	partition := false
	for _, e := range sc.Events {
		partition = partition || e.Partition != nil
	}
	if !partition && rep.MeasuredWindows >= fuzzMinMeasured {
		if rep.FairnessErrorPct > fuzzFairness {
			out = append(out, fmt.Sprintf("fairness error %.2f%% > %v%%", rep.FairnessErrorPct, fuzzFairness))
		}
		if rep.UtilizationPct >= 0 && rep.UtilizationPct < fuzzUtilization {
			out = append(out, fmt.Sprintf("utilization %.2f%% < %v%%", rep.UtilizationPct, fuzzUtilization))
		}
	}
	return out
}

// Search draws n scenarios from seed, runs and checks each, shrinks every
// failing one with at most shrinkRuns further runs, and calls done with
// each case as it finishes.
func Search(seed uint64, n, shrinkRuns int, done func(FuzzCase)) error {
	for i := range n {
		sc := Draw(seed, i)
		rep, err := Run(sc)
		if err != nil {
			return fmt.Errorf("sim: drawn scenario %d: %w", i, err)
		}
		c := FuzzCase{Index: i, Scenario: sc, Failures: Failures(sc, rep)}
		if len(c.Failures) > 0 && shrinkRuns > 0 {
			s := Shrink(sc, shrinkRuns)
			c.Shrunk = &s
		}
		done(c)
	}
	return nil
}

// Shrink returns a smaller scenario that still fails: it drops events,
// clients and network faults, shrinks groups and the duration, one change
// at a time, keeping each change that still fails, within runs runs.
func Shrink(sc Scenario, runs int) Scenario {
	fails := func(s Scenario) bool {
		if runs <= 0 {
			return false
		}
		runs--
		if _, err := compile(s); err != nil {
			return false
		}
		rep, err := Run(s)
		return err == nil && len(Failures(s, rep)) > 0
	}
	try := func(change func(s *Scenario) bool) bool {
		s := cloneScenario(sc)
		if !change(&s) || !fails(s) {
			return false
		}
		sc = s
		return true
	}
	for progress := true; progress && runs > 0; {
		progress = false
		for i := len(sc.Events) - 1; i >= 0; i-- {
			if i >= len(sc.Events) || sc.Events[i].Heal || sc.Events[i].Resume != "" {
				// Without its heal a partition would outlast the span the
				// scenario exempts: a failure of the shrinking, not the mesh.
				// A resume goes with its pause.
				continue
			}
			progress = try(func(s *Scenario) bool { s.Events = dropEvent(s.Events, i); return true }) || progress
		}
		for i := len(sc.Clients) - 1; i >= 0 && len(sc.Clients) > 1; i-- {
			progress = try(func(s *Scenario) bool { s.Clients = slices.Delete(s.Clients, i, i+1); return true }) || progress
		}
		for i := range sc.Clients {
			progress = try(func(s *Scenario) bool {
				c := &s.Clients[i]
				if c.Count <= 1 {
					return false
				}
				c.Demand *= float64(c.Count)
				c.Count /= 2
				c.Demand /= float64(max(c.Count, 1))
				return true
			}) || progress
			progress = try(func(s *Scenario) bool {
				if s.Clients[i].OnOff == nil {
					return false
				}
				s.Clients[i].OnOff = nil
				return true
			}) || progress
		}
		progress = try(func(s *Scenario) bool {
			if s.Network == (Network{}) {
				return false
			}
			s.Network = Network{}
			return true
		}) || progress
		progress = try(func(s *Scenario) bool {
			if len(s.ClockSkew)+len(s.ClockDrift) == 0 {
				return false
			}
			s.ClockSkew, s.ClockDrift = nil, nil
			return true
		}) || progress
		progress = try(func(s *Scenario) bool {
			last := Duration(0)
			for _, e := range s.Events {
				last = max(last, e.At)
			}
			short := max(last+Duration(8*time.Second), Duration(10*time.Second))
			if short >= s.Duration {
				return false
			}
			s.Duration = short
			return true
		}) || progress
	}
	sc.Name = strings.TrimSuffix(sc.Name, "-shrunk") + "-shrunk"
	return sc
}

// dropEvent deletes event i, and with a pause the resume that ends it.
func dropEvent(evs []Event, i int) []Event {
	if id := evs[i].Pause; id != "" {
		for j := i + 1; j < len(evs); j++ {
			if evs[j].Resume == id {
				evs = slices.Delete(evs, j, j+1)
				break
			}
		}
	}
	return slices.Delete(evs, i, i+1)
}

// cloneScenario deep-copies what Shrink changes.
func cloneScenario(sc Scenario) Scenario {
	s := sc
	s.Events = slices.Clone(sc.Events)
	s.Clients = slices.Clone(sc.Clients)
	for i := range s.Clients {
		if o := s.Clients[i].OnOff; o != nil {
			c := *o
			s.Clients[i].OnOff = &c
		}
	}
	return s
}
