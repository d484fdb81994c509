package sim

import (
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/fairmesh/fairmesh"
)

// plan is a validated scenario with every default applied and every name
// resolved to an index: what Run executes.
type plan struct {
	name     string
	seed     uint64
	duration int64 // ns of simulated time

	gossip, window, suspect, dead, pushPull int64
	latency, jitter                         int64
	loss, dup                               float64

	nodeIDs   []string // initial nodes n1…nN, then joined ones in event order
	nodeIndex map[string]int
	initial   int
	skew      []int64
	drift     []float64 // ppm
	maxSkew   int64     // mesh time = true time + maxSkew (see metrics.go)

	policy        fairmesh.PartitionPolicy
	lease         time.Duration
	capacity      int   // requests per capPeriod; 0: none
	capPeriod     int64 // ns
	defaultRate   int
	defaultPeriod int64
	minRate       int

	clients     []clientSpec
	clientIndex map[string]int
	groups      map[string][]int // group ID → its clients

	events             []plannedEvent
	allowOverAdmission bool
	exemptFrom         int64 // over-admission in windows overlapping [exemptFrom, exemptUntil) is not a violation
	exemptUntil        int64
}

type clientSpec struct {
	id        string
	weight    int
	weightSet bool
	rate      int
	period    int64
	limitSet  bool
	demand    float64
	spread    []float64 // per node index, normalised; nil: even over live nodes
	poisson   bool
	on, off   int64 // on/off pattern; off == 0: always on
	phase     int64
}

type plannedEvent struct {
	at    int64
	order int // position in the file, for a stable sort
	ev    Event
}

func compile(sc Scenario) (*plan, error) {
	p, err := compileBase(sc)
	if err != nil {
		return nil, fmt.Errorf("sim: scenario %q: %w", sc.Name, err)
	}
	return p, nil
}

func compileBase(sc Scenario) (*plan, error) {
	p := &plan{name: sc.Name, seed: sc.Seed, allowOverAdmission: sc.AllowOverAdmission}
	if x := sc.ExemptOverAdmission; x != nil {
		if x.From < 0 || x.Until < x.From {
			return nil, fmt.Errorf("exempt_over_admission: from %v until %v is not an interval", time.Duration(x.From), time.Duration(x.Until))
		}
		p.exemptFrom, p.exemptUntil = int64(x.From), int64(x.Until)
	}
	if sc.Name == "" {
		return nil, fmt.Errorf("name is empty")
	}
	if sc.Duration <= 0 || sc.Duration.D() > MaxDuration {
		return nil, fmt.Errorf("duration %v is outside (0, %v]", sc.Duration.D(), MaxDuration)
	}
	p.duration = int64(sc.Duration)
	if sc.Nodes < 1 || sc.Nodes > MaxNodes {
		return nil, fmt.Errorf("nodes %d is outside [1, %d]", sc.Nodes, MaxNodes)
	}
	pos := func(name string, d Duration, def time.Duration, max time.Duration) (int64, error) {
		if d == 0 {
			return int64(def), nil
		}
		if d < 0 || d.D() > max {
			return 0, fmt.Errorf("%s %v is outside (0, %v]", name, d.D(), max)
		}
		return int64(d), nil
	}
	var err error
	if p.gossip, err = pos("gossip_interval", sc.GossipInterval, 100*time.Millisecond, 10*time.Second); err != nil {
		return nil, err
	}
	if p.gossip < int64(time.Millisecond) {
		return nil, fmt.Errorf("gossip_interval %v is under 1ms", sc.GossipInterval.D())
	}
	if p.suspect, err = pos("membership.suspect_after", sc.Membership.SuspectAfter, 1500*time.Millisecond, time.Hour); err != nil {
		return nil, err
	}
	if p.dead, err = pos("membership.dead_after", sc.Membership.DeadAfter, 5*time.Second, time.Hour); err != nil {
		return nil, err
	}
	if p.pushPull, err = pos("membership.push_pull_interval", sc.Membership.PushPullInterval, 10*time.Second, time.Hour); err != nil {
		return nil, err
	}
	if sc.Network.Latency < 0 || sc.Network.Latency.D() > 10*time.Second ||
		sc.Network.Jitter < 0 || sc.Network.Jitter.D() > 10*time.Second {
		return nil, fmt.Errorf("network latency and jitter must be in [0, 10s]")
	}
	p.latency, p.jitter = int64(sc.Network.Latency), int64(sc.Network.Jitter)
	for _, f := range []struct {
		name string
		v    float64
	}{{"network.loss", sc.Network.Loss}, {"network.duplicate", sc.Network.Duplicate}} {
		if !finite(f.v) || f.v < 0 || f.v >= 1 {
			return nil, fmt.Errorf("%s %v is outside [0, 1)", f.name, f.v)
		}
	}
	p.loss, p.dup = sc.Network.Loss, sc.Network.Duplicate

	switch sc.PartitionPolicy {
	case "", string(fairmesh.Lease):
		p.policy = fairmesh.Lease
	case string(fairmesh.Available):
		p.policy = fairmesh.Available
	default:
		return nil, fmt.Errorf("partition_policy %q is not \"lease\" or \"available\"", sc.PartitionPolicy)
	}
	if sc.Lease.D() < 0 || sc.Lease.D() > time.Hour {
		return nil, fmt.Errorf("lease %v is outside [0, 1h]", sc.Lease.D())
	}
	p.lease = sc.Lease.D()
	if sc.DefaultRate < 0 || sc.DefaultRate > fairmesh.MaxRate {
		return nil, fmt.Errorf("default_rate %d is outside [0, %d]", sc.DefaultRate, fairmesh.MaxRate)
	}
	p.defaultRate = sc.DefaultRate
	if p.defaultPeriod, err = period("default_period", sc.DefaultPeriod); err != nil {
		return nil, err
	}
	if sc.MinRate < 0 || sc.MinRate > fairmesh.MaxRate {
		return nil, fmt.Errorf("min_rate %d is outside [0, %d]", sc.MinRate, fairmesh.MaxRate)
	}
	p.minRate = sc.MinRate
	if p.minRate == 0 {
		p.minRate = 1
	}
	p.window = int64(time.Second)
	if c := sc.Capacity; c != nil {
		if c.Rate < 0 || c.Rate > fairmesh.MaxRate {
			return nil, fmt.Errorf("capacity.rate %d is outside [0, %d]", c.Rate, fairmesh.MaxRate)
		}
		if p.capPeriod, err = period("capacity.period", c.Period); err != nil {
			return nil, err
		}
		p.capacity = c.Rate
		p.window = p.capPeriod
	}
	if sc.Window != 0 {
		if p.window, err = period("window", sc.Window); err != nil {
			return nil, err
		}
	}
	if p.window < p.gossip {
		return nil, fmt.Errorf("window %v is shorter than gossip_interval %v", time.Duration(p.window), time.Duration(p.gossip))
	}

	// Nodes: initial, then joined in time order.
	p.nodeIndex = map[string]int{}
	for i := 1; i <= sc.Nodes; i++ {
		id := "n" + strconv.Itoa(i)
		p.nodeIndex[id] = len(p.nodeIDs)
		p.nodeIDs = append(p.nodeIDs, id)
	}
	p.initial = sc.Nodes
	if len(sc.Events) > MaxEvents {
		return nil, fmt.Errorf("%d events, more than %d", len(sc.Events), MaxEvents)
	}
	for i, e := range sc.Events {
		if e.At < 0 || int64(e.At) > p.duration {
			return nil, fmt.Errorf("event %d: at %v is outside [0, duration]", i, e.At.D())
		}
		p.events = append(p.events, plannedEvent{at: int64(e.At), order: i, ev: e})
	}
	sort.SliceStable(p.events, func(a, b int) bool { return p.events[a].at < p.events[b].at })
	for _, pe := range p.events {
		if pe.ev.Join == "" {
			continue
		}
		if err := fairmesh.ValidateClientID(pe.ev.Join); err != nil || len(pe.ev.Join) > fairmesh.MaxClientIDLen {
			return nil, fmt.Errorf("event at %v: join: bad node ID %q", pe.ev.At.D(), pe.ev.Join)
		}
		if _, dup := p.nodeIndex[pe.ev.Join]; dup {
			return nil, fmt.Errorf("event at %v: join: node %q already exists", pe.ev.At.D(), pe.ev.Join)
		}
		p.nodeIndex[pe.ev.Join] = len(p.nodeIDs)
		p.nodeIDs = append(p.nodeIDs, pe.ev.Join)
	}
	if len(p.nodeIDs) > MaxNodes {
		return nil, fmt.Errorf("%d nodes with the joined ones, more than %d", len(p.nodeIDs), MaxNodes)
	}
	p.skew = make([]int64, len(p.nodeIDs))
	p.drift = make([]float64, len(p.nodeIDs))
	for _, id := range sortedKeys(sc.ClockSkew) {
		i, ok := p.nodeIndex[id]
		if !ok {
			return nil, fmt.Errorf("clock_skew: unknown node %q", id)
		}
		d := sc.ClockSkew[id].D()
		if d < -time.Hour || d > time.Hour {
			return nil, fmt.Errorf("clock_skew %q: %v is outside ±1h", id, d)
		}
		p.skew[i] = int64(d)
	}
	for _, id := range sortedKeys(sc.ClockDrift) {
		i, ok := p.nodeIndex[id]
		if !ok {
			return nil, fmt.Errorf("clock_drift: unknown node %q", id)
		}
		v := sc.ClockDrift[id]
		if !finite(v) || v < -10_000 || v > 10_000 {
			return nil, fmt.Errorf("clock_drift %q: %v ppm is outside ±10000", id, v)
		}
		p.drift[i] = v
	}
	p.maxSkew = p.skew[0]
	for _, s := range p.skew {
		p.maxSkew = max(p.maxSkew, s)
	}
	p.maxSkew = min(p.maxSkew, int64(500*time.Millisecond))

	if err := p.compileClients(sc.Clients); err != nil {
		return nil, err
	}
	if err := p.checkEvents(); err != nil {
		return nil, err
	}
	return p, nil
}

func period(name string, d Duration) (int64, error) {
	if d == 0 {
		return int64(time.Second), nil
	}
	if d.D() < fairmesh.MinPeriod || d.D() > fairmesh.MaxPeriod {
		return 0, fmt.Errorf("%s %v is outside [%v, %v]", name, d.D(), fairmesh.MinPeriod, fairmesh.MaxPeriod)
	}
	return int64(d), nil
}

func (p *plan) compileClients(cs []Client) error {
	p.clientIndex = map[string]int{}
	p.groups = map[string][]int{}
	total := 0
	for _, c := range cs {
		n := max(c.Count, 1)
		if c.Count < 0 || total+n > MaxClients {
			return fmt.Errorf("client %q: more than %d clients in all (or a negative count)", c.ID, MaxClients)
		}
		total += n
	}
	p.clients = make([]clientSpec, 0, total)
	for _, c := range cs {
		if err := fairmesh.ValidateClientID(c.ID); err != nil || c.ID == "" || len(c.ID) > fairmesh.MaxClientIDLen-8 {
			return fmt.Errorf("client %q: bad client ID", c.ID)
		}
		spec := clientSpec{id: c.ID, weight: 1, demand: c.Demand}
		if c.Weight != nil {
			if *c.Weight < 0 || *c.Weight > fairmesh.MaxWeight {
				return fmt.Errorf("client %q: weight %d is outside [0, %d]", c.ID, *c.Weight, fairmesh.MaxWeight)
			}
			spec.weight, spec.weightSet = *c.Weight, true
		}
		if c.Rate != nil {
			if *c.Rate < 0 || *c.Rate > fairmesh.MaxRate {
				return fmt.Errorf("client %q: rate %d is outside [0, %d]", c.ID, *c.Rate, fairmesh.MaxRate)
			}
			pd, err := period("client "+strconv.Quote(c.ID)+" period", c.Period)
			if err != nil {
				return err
			}
			spec.rate, spec.period, spec.limitSet = *c.Rate, pd, true
		} else if c.Period != 0 {
			return fmt.Errorf("client %q: period without rate", c.ID)
		}
		if !finite(c.Demand) || c.Demand < 0 || c.Demand > MaxDemand {
			return fmt.Errorf("client %q: demand %v is outside [0, %d] requests per second", c.ID, c.Demand, MaxDemand)
		}
		switch c.Arrivals {
		case "", "uniform":
		case "poisson":
			spec.poisson = true
		default:
			return fmt.Errorf("client %q: arrivals %q is neither \"uniform\" nor \"poisson\"", c.ID, c.Arrivals)
		}
		if o := c.OnOff; o != nil {
			if o.On <= 0 || o.Off <= 0 || o.Phase < 0 || int64(o.On) > int64(MaxDuration) || int64(o.Off) > int64(MaxDuration) {
				return fmt.Errorf("client %q: on_off needs positive on and off (at most %v) and a phase >= 0", c.ID, MaxDuration)
			}
			spec.on, spec.off, spec.phase = int64(o.On), int64(o.Off), int64(o.Phase)%int64(o.On+o.Off)
		}
		if len(c.Spread) > 0 {
			spec.spread = make([]float64, len(p.nodeIDs))
			sum := 0.0
			for _, id := range sortedKeys(c.Spread) {
				i, ok := p.nodeIndex[id]
				if !ok {
					return fmt.Errorf("client %q: spread: unknown node %q", c.ID, id)
				}
				f := c.Spread[id]
				if !finite(f) || f < 0 {
					return fmt.Errorf("client %q: spread %q: %v is not a fraction", c.ID, id, f)
				}
				spec.spread[i] = f
				sum += f
			}
			if sum <= 0 {
				return fmt.Errorf("client %q: spread sums to 0", c.ID)
			}
			for i := range spec.spread {
				spec.spread[i] /= sum
			}
		}
		if _, dup := p.groups[c.ID]; dup {
			return fmt.Errorf("client %q is listed twice", c.ID)
		}
		if c.Count <= 1 {
			if err := p.addClient(c.ID, spec); err != nil {
				return err
			}
			continue
		}
		for k := 0; k < c.Count; k++ {
			s := spec
			s.id = c.ID + "-" + strconv.Itoa(k)
			if err := p.addClient(c.ID, s); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p *plan) addClient(group string, s clientSpec) error {
	if _, dup := p.clientIndex[s.id]; dup {
		return fmt.Errorf("client %q is listed twice", s.id)
	}
	p.clientIndex[s.id] = len(p.clients)
	p.groups[group] = append(p.groups[group], len(p.clients))
	p.clients = append(p.clients, s)
	return nil
}

// checkEvents validates each event and replays node states in time order,
// so that a crash hits a running node, a restart a crashed one, a pause a
// running one, a resume a paused one, and a config update goes through a
// node that is up and not paused.
func (p *plan) checkEvents() error {
	const (
		absent = iota
		up
		crashed
		gone
		paused
	)
	state := make([]int, len(p.nodeIDs))
	for i := 0; i < p.initial; i++ {
		state[i] = up
	}
	node := func(what, id string) (int, error) {
		i, ok := p.nodeIndex[id]
		if !ok {
			return 0, fmt.Errorf("%s: unknown node %q", what, id)
		}
		return i, nil
	}
	for _, pe := range p.events {
		e := pe.ev
		err := func() error {
			n := 0
			for _, set := range []bool{e.Partition != nil, e.Heal, e.Crash != "", e.Restart != "", e.Join != "",
				e.Leave != "", e.SetWeight != nil, e.SetLimit != nil, e.SetDemand != nil, e.ConfigStorm != nil,
				e.Pause != "", e.Resume != ""} {
				if set {
					n++
				}
			}
			if n != 1 {
				return fmt.Errorf("an event needs exactly one action, this one has %d", n)
			}
			switch {
			case e.Partition != nil:
				if len(e.Partition) < 1 {
					return fmt.Errorf("partition: no groups")
				}
				seen := map[string]bool{}
				for _, g := range e.Partition {
					for _, id := range g {
						if _, err := node("partition", id); err != nil {
							return err
						}
						if seen[id] {
							return fmt.Errorf("partition: node %q is in two groups", id)
						}
						seen[id] = true
					}
				}
			case e.Crash != "":
				i, err := node("crash", e.Crash)
				if err != nil {
					return err
				}
				if state[i] == paused {
					return fmt.Errorf("crash: node %q is paused (resume it first)", e.Crash)
				}
				if state[i] != up {
					return fmt.Errorf("crash: node %q is not up", e.Crash)
				}
				state[i] = crashed
			case e.Restart != "":
				i, err := node("restart", e.Restart)
				if err != nil {
					return err
				}
				if state[i] != crashed {
					return fmt.Errorf("restart: node %q has not crashed", e.Restart)
				}
				state[i] = up
			case e.Join != "":
				state[p.nodeIndex[e.Join]] = up
			case e.Pause != "":
				i, err := node("pause", e.Pause)
				if err != nil {
					return err
				}
				switch state[i] {
				case up:
				case paused:
					return fmt.Errorf("pause: node %q is already paused", e.Pause)
				case crashed:
					return fmt.Errorf("pause: node %q has crashed", e.Pause)
				default:
					return fmt.Errorf("pause: node %q is not up", e.Pause)
				}
				state[i] = paused
			case e.Resume != "":
				i, err := node("resume", e.Resume)
				if err != nil {
					return err
				}
				if state[i] != paused {
					return fmt.Errorf("resume: node %q is not paused", e.Resume)
				}
				state[i] = up
			case e.Leave != "":
				i, err := node("leave", e.Leave)
				if err != nil {
					return err
				}
				if state[i] == paused {
					return fmt.Errorf("leave: node %q is paused (resume it first)", e.Leave)
				}
				if state[i] != up {
					return fmt.Errorf("leave: node %q is not up", e.Leave)
				}
				state[i] = gone
			case e.SetWeight != nil:
				w := e.SetWeight
				if err := p.checkClientID(w.Client); err != nil {
					return fmt.Errorf("set_weight: %w", err)
				}
				if w.Weight < 0 || w.Weight > fairmesh.MaxWeight {
					return fmt.Errorf("set_weight: weight %d is outside [0, %d]", w.Weight, fairmesh.MaxWeight)
				}
				i, err := node("set_weight via", w.Via)
				if err != nil {
					return err
				}
				if state[i] == paused {
					return fmt.Errorf("set_weight: via node %q is paused", w.Via)
				}
				if state[i] != up {
					return fmt.Errorf("set_weight: via node %q is not up", w.Via)
				}
			case e.SetLimit != nil:
				l := e.SetLimit
				if err := p.checkClientID(l.Client); err != nil {
					return fmt.Errorf("set_limit: %w", err)
				}
				if l.Rate < 0 || l.Rate > fairmesh.MaxRate {
					return fmt.Errorf("set_limit: rate %d is outside [0, %d]", l.Rate, fairmesh.MaxRate)
				}
				if _, err := period("set_limit period", l.Period); err != nil {
					return err
				}
				i, err := node("set_limit via", l.Via)
				if err != nil {
					return err
				}
				if state[i] == paused {
					return fmt.Errorf("set_limit: via node %q is paused", l.Via)
				}
				if state[i] != up {
					return fmt.Errorf("set_limit: via node %q is not up", l.Via)
				}
			case e.SetDemand != nil:
				d := e.SetDemand
				if _, ok := p.groups[d.Client]; !ok {
					if _, ok := p.clientIndex[d.Client]; !ok {
						return fmt.Errorf("set_demand: unknown client %q", d.Client)
					}
				}
				if !finite(d.Demand) || d.Demand < 0 || d.Demand > MaxDemand {
					return fmt.Errorf("set_demand: demand %v is outside [0, %d]", d.Demand, MaxDemand)
				}
			case e.ConfigStorm != nil:
				s := e.ConfigStorm
				if !finite(s.RatePerS) || s.RatePerS <= 0 || s.RatePerS > MaxStormRate {
					return fmt.Errorf("config_storm: rate_per_s %v is outside (0, %d]", s.RatePerS, MaxStormRate)
				}
				if s.Until < e.At || int64(s.Until) > p.duration {
					return fmt.Errorf("config_storm: until %v is outside [at, duration]", s.Until.D())
				}
				if s.Clients < 1 || s.Clients > MaxClients {
					return fmt.Errorf("config_storm: clients %d is outside [1, %d]", s.Clients, MaxClients)
				}
				if s.Weights[0] < 0 || s.Weights[1] < s.Weights[0] || s.Weights[1] > fairmesh.MaxWeight {
					return fmt.Errorf("config_storm: weights %v is not a range within [0, %d]", s.Weights, fairmesh.MaxWeight)
				}
				if err := p.checkClientID(stormPrefix(s) + strconv.Itoa(s.Clients-1)); err != nil {
					return fmt.Errorf("config_storm: %w", err)
				}
			}
			return nil
		}()
		if err != nil {
			return fmt.Errorf("event at %v: %w", e.At.D(), err)
		}
	}
	return nil
}

func stormPrefix(s *ConfigStorm) string {
	if s.Prefix == "" {
		return "storm-"
	}
	return s.Prefix
}

// checkClientID accepts a scenario client, or any valid ID (a client that
// gets config but no traffic).
func (p *plan) checkClientID(id string) error {
	if _, ok := p.clientIndex[id]; ok {
		return nil
	}
	if id == "" || len(id) > fairmesh.MaxClientIDLen {
		return fmt.Errorf("bad client ID %q", id)
	}
	return fairmesh.ValidateClientID(id)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
