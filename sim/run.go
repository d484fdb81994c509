package sim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/fairmesh/fairmesh"
)

// Random streams: each source of randomness draws from its own PCG stream,
// seeded with the run's seed, so that adding traffic does not shift the
// faults and vice versa.
const (
	streamNetwork  = 1
	streamPhases   = 2
	streamPushPull = 3
	streamStorm    = 4
	streamClient   = 1 << 40 // + client index
)

type nodeState uint8

const (
	stateAbsent nodeState = iota // not joined yet
	stateUp
	stateCrashed
	stateGone // left
)

type simNode struct {
	id    string
	state nodeState
	gen   uint32 // incarnation: bumped at each start
	node  *fairmesh.Node
	clock *nodeClock
	// paused: the node is up but its process is stopped (pause.go); what
	// reaches it waits in held, in arrival order.
	paused             bool
	held               []heldItem
	heldPkts, heldReqs int
}

// runner is one run in progress. Everything happens on the caller's
// goroutine.
type runner struct {
	p   *plan
	now int64
	q   queue
	tr  *trace
	net network

	nodes   []*simNode
	views   [][]view
	upCount int
	upVer   uint64 // bumped whenever a node starts or stops
	even    []float64
	evenVer uint64

	crun []clientRun
	met  *metrics

	truth         map[string]*truthCfg
	pend          []*pending
	pendIdx       map[string]int
	convScheduled bool
	convergence   []int64
	updates       int

	phaseRng, ppRng, stormRng *rand.Rand

	gossipBytes   int64
	liveNs        int64 // ∫ live nodes dt
	lastLive      int64
	receiveErrors int64
	requests      int64
	admitted      int64
	events        int64
	violations    []Violation
	nviol         int
	scratch       []int
}

// Run simulates sc and returns its report. It fails only on a scenario that
// does not validate or a run that exceeds a limit (MaxQueue); broken
// invariants and bounds are Report.Violations.
func Run(sc Scenario) (*Report, error) {
	p, err := compile(sc)
	if err != nil {
		return nil, err
	}
	r := &runner{
		p:        p,
		tr:       newTrace(),
		truth:    map[string]*truthCfg{},
		pendIdx:  map[string]int{},
		phaseRng: rand.New(rand.NewPCG(p.seed, streamPhases)),
		ppRng:    rand.New(rand.NewPCG(p.seed, streamPushPull)),
		stormRng: rand.New(rand.NewPCG(p.seed, streamStorm)),
		net:      network{rng: rand.New(rand.NewPCG(p.seed, streamNetwork)), group: make([]int, len(p.nodeIDs))},
		even:     make([]float64, len(p.nodeIDs)),
		evenVer:  ^uint64(0),
	}
	r.met = newMetrics(p)
	r.views = make([][]view, len(p.nodeIDs))
	for i, id := range p.nodeIDs {
		r.views[i] = make([]view, len(p.nodeIDs))
		r.nodes = append(r.nodes, &simNode{id: id, clock: &nodeClock{now: &r.now, skew: p.skew[i], drift: p.drift[i]}})
	}
	if err := r.start(); err != nil {
		return nil, err
	}
	for {
		e, ok := r.q.pop()
		if !ok || e.at > p.duration {
			break
		}
		if r.q.err != nil {
			return nil, r.q.err
		}
		r.advance(e.at)
		r.events++
		r.dispatch(e)
	}
	if r.q.err != nil {
		return nil, r.q.err
	}
	r.advance(p.duration)
	r.abandonHeld()
	return r.report(), nil
}

// advance moves true time to t, integrating live node-seconds.
func (r *runner) advance(t int64) {
	r.liveNs += int64(r.upCount) * (t - r.lastLive)
	r.lastLive = t
	r.now = t
}

func (r *runner) start() error {
	p := r.p
	for i := 0; i < p.initial; i++ {
		if err := r.boot(i); err != nil {
			return err
		}
	}
	for i := 0; i < p.initial; i++ {
		for j := 0; j < p.initial; j++ {
			if i != j {
				r.introduce(i, j)
			}
		}
	}
	// Initial client config is pre-configured on every initial node.
	for c, spec := range p.clients {
		if spec.weightSet || spec.limitSet {
			t := &truthCfg{weight: spec.weight, weightSet: spec.weightSet, rate: spec.rate, period: spec.period, limitSet: spec.limitSet}
			r.truth[spec.id] = t
			for i := 0; i < p.initial; i++ {
				n := r.nodes[i].node
				var err error
				if spec.weightSet {
					err = n.UpdateClientWeight(spec.id, spec.weight)
				}
				if err == nil && spec.limitSet {
					err = n.UpdateClientRateLimit(spec.id, spec.rate, time.Duration(spec.period))
				}
				if err != nil {
					return fmt.Errorf("sim: scenario %q: configuring client %q on %s: %w", p.name, spec.id, r.nodes[i].id, err)
				}
			}
		}
		r.recordConfig(c)
	}
	r.crun = make([]clientRun, len(p.clients))
	for c, spec := range p.clients {
		r.crun[c] = clientRun{demand: spec.demand, rng: rand.New(rand.NewPCG(p.seed, streamClient+uint64(c)))}
		r.startArrivals(c)
	}
	for k := range p.events {
		r.q.push(event{at: p.events[k].at, kind: evScenario, idx: int32(k)})
	}
	return nil
}

// boot starts node i with a fresh fairmesh.Node (a new incarnation) and
// schedules its ticks and push/pulls at random phases.
func (r *runner) boot(i int) error {
	p := r.p
	sn := r.nodes[i]
	sn.gen++
	cfg := fairmesh.Config{
		NodeID:         sn.id,
		Clock:          sn.clock,
		Capacity:       p.capacity,
		CapacityPeriod: time.Duration(p.capPeriod),
		DefaultRate:    p.defaultRate,
		DefaultPeriod:  time.Duration(p.defaultPeriod),
		MinRate:        p.minRate,
		Partition:      p.policy,
		Lease:          p.lease,
	}
	n, err := fairmesh.NewNode(cfg)
	if err != nil {
		return fmt.Errorf("sim: scenario %q: starting node %s: %w", p.name, sn.id, err)
	}
	sn.node = n
	sn.state = stateUp
	r.upCount++
	r.upVer++
	for j := range r.views[i] {
		r.views[i][j] = view{}
	}
	r.q.push(event{at: r.now + r.phaseRng.Int64N(p.gossip), kind: evTick, node: int32(i), gen: sn.gen})
	r.q.push(event{at: r.now + r.phaseRng.Int64N(p.pushPull), kind: evPushPull, node: int32(i), gen: sn.gen})
	r.forgetNode(i)
	return nil
}

// stop takes node i down (crash or leave).
func (r *runner) stop(i int, st nodeState) {
	sn := r.nodes[i]
	sn.state = st
	sn.node = nil
	r.upCount--
	r.upVer++
}

func (r *runner) dispatch(e event) {
	switch e.kind {
	case evTick:
		r.tick(e)
	case evDeliver:
		r.deliver(e)
	case evArrival:
		r.arrival(e)
	case evPushPull:
		r.pushPull(e)
	case evScenario:
		r.scenarioEvent(int(e.idx))
	case evStorm:
		r.storm(e)
	case evConvCheck:
		r.checkConvergence()
	}
}

func (r *runner) live(i int, gen uint32) bool {
	sn := r.nodes[i]
	return sn.state == stateUp && sn.gen == gen
}

// tick is one gossip interval of node i. A paused node's ticker keeps its
// phase but does nothing (pause.go).
func (r *runner) tick(e event) {
	i := int(e.node)
	if !r.live(i, e.gen) {
		return
	}
	r.q.push(event{at: r.now + r.p.gossip, kind: evTick, node: e.node, gen: e.gen})
	if r.nodes[i].paused {
		return
	}
	r.gossipTick(i)
}

// gossipTick is what node i does at a tick: age its views, Tick, send,
// heartbeat, check its invariants.
func (r *runner) gossipTick(i int) {
	sn := r.nodes[i]
	r.ageViews(i)
	msgs := sn.node.Tick(sn.clock.Now())
	r.scratch = r.sees(i, r.scratch)
	for _, m := range msgs {
		if m.To == "" {
			for _, j := range r.scratch {
				r.send(i, j, pktGossip, [][]byte{m.Payload})
			}
			continue
		}
		j, ok := r.p.nodeIndex[m.To]
		if !ok || j == i {
			r.violation(i, fmt.Sprintf("Tick addressed a message to %q, not a member", m.To))
			continue
		}
		r.send(i, j, pktGossip, [][]byte{m.Payload})
	}
	r.heartbeats(i)
	if sn.node.Fenced() || !sn.node.Settled() {
		// A fenced node refuses by design, and a dead member's shares
		// idle until the lease lets a majority reclaim them (the
		// policy's cost, not a fault of the allocation): fairness and
		// utilization are measured only where every node serves what
		// every other can reach.
		r.markEvent(r.now)
	}
	if err := sn.node.CheckInvariants(); err != nil {
		r.violation(i, err.Error())
	}
}

// pushPull starts node i's anti-entropy exchange with a random peer it sees
// alive.
func (r *runner) pushPull(e event) {
	i := int(e.node)
	if !r.live(i, e.gen) {
		return
	}
	r.q.push(event{at: r.now + r.p.pushPull, kind: evPushPull, node: e.node, gen: e.gen})
	if r.nodes[i].paused {
		return
	}
	r.scratch = r.aliveSeen(i, r.scratch)
	if len(r.scratch) == 0 {
		return
	}
	j := r.scratch[r.ppRng.IntN(len(r.scratch))]
	r.send(i, j, pktPushReq, r.nodes[i].node.FullState())
}

func (r *runner) scenarioEvent(k int) {
	p := r.p
	e := p.events[k].ev
	r.markEvent(r.now)
	switch {
	case e.Partition != nil:
		r.net.partition(p, e.Partition)
		r.tr.begin(trPartition, r.now)
		for _, g := range r.net.group {
			r.tr.int(int64(g))
		}
		r.tr.end()
	case e.Heal:
		r.net.heal()
		r.tr.begin(trPartition, r.now)
		r.tr.end()
	case e.Crash != "":
		i := p.nodeIndex[e.Crash]
		r.stop(i, stateCrashed)
		r.tr.begin(trCrash, r.now)
		r.tr.int(int64(i))
		r.tr.end()
	case e.Restart != "", e.Join != "":
		id, typ := e.Restart, trRestart
		if id == "" {
			id, typ = e.Join, trJoin
		}
		i := p.nodeIndex[id]
		if err := r.boot(i); err != nil {
			r.violation(i, err.Error())
			return
		}
		r.tr.begin(typ, r.now)
		r.tr.int(int64(i))
		r.tr.end()
		// The new incarnation learns every member up now (from its seed);
		// every member up learns of it.
		for j, sn := range r.nodes {
			if j != i && sn.state == stateUp {
				r.introduce(i, j)
				if !sn.paused {
					// A paused node learns of it when it hears from it.
					r.introduce(j, i)
				}
			}
		}
	case e.Leave != "":
		i := p.nodeIndex[e.Leave]
		r.stop(i, stateGone)
		r.tr.begin(trLeave, r.now)
		r.tr.int(int64(i))
		r.tr.end()
		for j, sn := range r.nodes {
			if j != i && sn.state == stateUp && !sn.paused && r.views[j][i].known {
				// A paused node sees the leave when it resumes.
				r.setView(j, i, fairmesh.MemberLeft)
			}
		}
	case e.SetWeight != nil:
		w := e.SetWeight.Weight
		r.update(e.SetWeight.Client, p.nodeIndex[e.SetWeight.Via], &w, nil, 0)
	case e.SetLimit != nil:
		l := e.SetLimit
		pd, _ := period("", l.Period)
		rate := l.Rate
		r.update(l.Client, p.nodeIndex[l.Via], nil, &rate, pd)
	case e.SetDemand != nil:
		ids := p.groups[e.SetDemand.Client]
		if ids == nil {
			ids = []int{p.clientIndex[e.SetDemand.Client]}
		}
		for _, c := range ids {
			r.crun[c].demand = e.SetDemand.Demand
			r.startArrivals(c)
		}
		r.tr.begin(trDemand, r.now)
		r.tr.str(e.SetDemand.Client)
		r.tr.end()
	case e.ConfigStorm != nil:
		r.q.push(event{at: r.now, kind: evStorm, idx: int32(k)})
	case e.Pause != "":
		r.pause(p.nodeIndex[e.Pause])
	case e.Resume != "":
		r.resume(p.nodeIndex[e.Resume])
	}
}

// update issues a config update through node via, if it is up.
func (r *runner) update(id string, via int, weight, rate *int, period int64) {
	if r.nodes[via].state != stateUp {
		r.violation(via, fmt.Sprintf("config update of %q through a node that is down", id))
		return
	}
	if r.nodes[via].paused {
		r.violation(via, fmt.Sprintf("config update of %q through a node that is paused", id))
		return
	}
	r.updates++
	r.issueConfig(id, via, weight, rate, period)
}

// storm issues one config-storm update and schedules the next.
func (r *runner) storm(e event) {
	s := r.p.events[e.idx].ev.ConfigStorm
	gap := int64(float64(time.Second) / s.RatePerS)
	if next := r.now + max(gap, 1); next <= int64(s.Until) {
		r.q.push(event{at: next, kind: evStorm, idx: e.idx})
	}
	running := r.upCount - r.pausedCount()
	if running == 0 {
		return
	}
	id := fmt.Sprintf("%s%d", stormPrefix(s), r.stormRng.IntN(s.Clients))
	w := s.Weights[0] + r.stormRng.IntN(s.Weights[1]-s.Weights[0]+1)
	k := r.stormRng.IntN(running)
	for i, sn := range r.nodes {
		if sn.state != stateUp || sn.paused {
			continue
		}
		if k == 0 {
			r.update(id, i, &w, nil, 0)
			return
		}
		k--
	}
}

func (r *runner) report() *Report {
	r.finalConfigCheck()
	rep := &Report{Name: r.p.name, Seed: r.p.seed, WindowNS: r.p.window}
	r.analyze(rep)
	r.checkAudits()
	r.checkQuotas(rep)
	rep.OverAdmissionPct = round4(rep.OverAdmissionPct)
	rep.ConfigConvergenceMsP99 = p99(r.convergence)
	if r.liveNs > 0 {
		rep.GossipBytesPerNodePerS = round4(float64(r.gossipBytes) / (float64(r.liveNs) / 1e9))
	}
	if r.nviol > MaxViolations {
		r.violations = append(r.violations, Violation{At: time.Duration(r.p.duration).String(),
			What: fmt.Sprintf("%d more violations not listed", r.nviol-MaxViolations)})
	}
	rep.Violations = r.violations
	if rep.Violations == nil {
		rep.Violations = []Violation{}
	}
	for _, w := range r.met.wins {
		if w == nil {
			continue
		}
		for c := range w.demand {
			r.requests += int64(w.demand[c])
			r.admitted += int64(w.admitted[c])
		}
	}
	rep.Stats = Stats{Events: r.events, Requests: r.requests, Admitted: r.admitted, ConfigUpdates: r.updates,
		ReceiveErrors: r.receiveErrors, GossipBytes: r.gossipBytes}
	rep.Digest = r.tr.digest()
	return rep
}

func sortInt64s(s []int64) { slices.Sort(s) }

// checkAudits holds the nodes' own audit of the mesh (each adds up what
// every member said it admitted in each capacity window) to the promise
// the simulator checks: where no over-admission is allowed or exempted,
// no node may find a window over the capacity. The audit sums the nodes'
// counts by the window each node counted in, as the claims bound them, so
// it is exact where the simulator's true-time windows allow one request of
// slack.
func (r *runner) checkAudits() {
	if r.p.allowOverAdmission || r.p.exemptUntil > r.p.exemptFrom || r.p.capacity <= 0 {
		return
	}
	for i, sn := range r.nodes {
		if sn.node == nil {
			continue
		}
		if a := sn.node.Status().Counters.Audit; a.OverWindows > 0 {
			r.violation(i, fmt.Sprintf("audit: the node found %d capacity windows over the capacity (+%d requests); the last audited admitted %d",
				a.OverWindows, a.OverRequests, a.LastAdmitted))
		}
	}
}
