package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"time"
)

// Limits on what a scenario may ask for ("put a limit on everything").
const (
	// MaxScenarioBytes bounds a scenario file.
	MaxScenarioBytes = 1 << 20
	// MaxDuration bounds a run's simulated duration.
	MaxDuration = time.Hour
	// MaxNodes bounds the nodes of a run, joined ones included.
	MaxNodes = 64
	// MaxClients bounds the clients of a run, after expanding counts.
	MaxClients = 100_000
	// MaxEvents bounds the scheduled events of a scenario file.
	MaxEvents = 10_000
	// MaxQueue bounds the simulator's event queue; a run that would exceed
	// it fails with an error rather than eat the machine.
	MaxQueue = 1 << 22
	// MaxDemand bounds one client's demand, in requests per second.
	MaxDemand = 1_000_000
	// MaxStormRate bounds a config storm's updates per second.
	MaxStormRate = 100_000
	// MaxPausedPackets bounds the packets a paused node's receive buffer
	// holds; later ones are dropped, as a full socket buffer drops them.
	// 256 is about what Linux's default 208 KiB UDP receive buffer holds
	// of small datagrams (each charged its ~800-byte kernel truesize).
	MaxPausedPackets = 256
	// MaxPausedRequests bounds the requests waiting at a paused node (its
	// listen backlog); later ones are refused at once and count as denied
	// where they arrive.
	MaxPausedRequests = 4096
)

// Scenario is one simulation: the mesh, its network, its clients and what
// happens to them. The zero value of an optional field means its default
// (README.md has the schema with every default).
type Scenario struct {
	Name     string   `json:"name"`
	Seed     uint64   `json:"seed"`
	Duration Duration `json:"duration"`
	// Nodes is the number of nodes at start, named n1…nN.
	Nodes          int      `json:"nodes"`
	GossipInterval Duration `json:"gossip_interval,omitempty"`
	// Window is the measurement window (default: the capacity period, or 1s).
	Window     Duration   `json:"window,omitempty"`
	Network    Network    `json:"network"`
	Membership Membership `json:"membership"`
	// ClockSkew offsets a node's clock from true time (node → duration).
	ClockSkew map[string]Duration `json:"clock_skew,omitempty"`
	// ClockDrift makes a node's clock run fast (>0) or slow, in ppm.
	ClockDrift      map[string]float64 `json:"clock_drift,omitempty"`
	PartitionPolicy string             `json:"partition_policy,omitempty"`
	// Lease is the nodes' lease (default 10s, the node's own default).
	Lease Duration `json:"lease,omitempty"`
	// DefaultRate per DefaultPeriod is the limit of clients with none.
	DefaultRate   int      `json:"default_rate,omitempty"`
	DefaultPeriod Duration `json:"default_period,omitempty"`
	// MinRate is the zero-weight floor in requests per second (default 1).
	MinRate  int       `json:"min_rate,omitempty"`
	Capacity *Capacity `json:"capacity,omitempty"`
	Clients  []Client  `json:"clients"`
	Events   []Event   `json:"events,omitempty"`
	// AllowOverAdmission reports over-admission in the figures but not as
	// violations: for scenarios that measure what the available policy
	// costs.
	AllowOverAdmission bool `json:"allow_over_admission,omitempty"`
	// ExemptOverAdmission does the same for windows that start before
	// Until and end after From only, and leaves those windows out of the
	// measured ones: for what a policy is known to cost during one fault
	// (a partition under the available policy), while the rest of the run
	// is held to the bounds.
	ExemptOverAdmission *Span `json:"exempt_over_admission,omitempty"`
}

// Span is an interval of simulated time.
type Span struct {
	From  Duration `json:"from"`
	Until Duration `json:"until"`
}

// Network describes the simulated network between every pair of nodes.
type Network struct {
	Latency Duration `json:"latency,omitempty"`
	// Jitter adds a uniform random delay in [0, Jitter) to each packet,
	// which also reorders packets.
	Jitter Duration `json:"jitter,omitempty"`
	// Loss and Duplicate are per-packet probabilities in [0, 1).
	Loss      float64 `json:"loss,omitempty"`
	Duplicate float64 `json:"duplicate,omitempty"`
}

// Membership sets the emulated memberlist timeouts.
type Membership struct {
	// SuspectAfter: a member not heard from this long becomes suspect
	// (default 1.5s).
	SuspectAfter Duration `json:"suspect_after,omitempty"`
	// DeadAfter: a suspect member not heard from this much longer becomes
	// dead (default 5s).
	DeadAfter Duration `json:"dead_after,omitempty"`
	// PushPullInterval is how often each node exchanges full state with a
	// random peer (default 10s).
	PushPullInterval Duration `json:"push_pull_interval,omitempty"`
}

// Capacity is the shared capacity: Rate requests per Period.
type Capacity struct {
	Rate   int      `json:"rate"`
	Period Duration `json:"period,omitempty"`
}

// Client is one client (or, with Count, a group of identical clients).
type Client struct {
	ID string `json:"id"`
	// Count > 1 expands this entry into clients ID-0 … ID-(Count-1).
	Count  int  `json:"count,omitempty"`
	Weight *int `json:"weight,omitempty"`
	// Rate per Period is the client's own limit; nil: none (or the
	// default limit).
	Rate   *int     `json:"rate,omitempty"`
	Period Duration `json:"period,omitempty"`
	// Demand is in requests per second.
	Demand float64 `json:"demand"`
	// Spread sends this fraction of the traffic to each node (normalised);
	// empty: even over all live nodes.
	Spread map[string]float64 `json:"spread,omitempty"`
	// Arrivals is "uniform" (default) or "poisson".
	Arrivals string `json:"arrivals,omitempty"`
	// OnOff makes the client bursty: it sends at Demand for On, then
	// nothing for Off, over and over, starting Phase into an on period.
	OnOff *OnOff `json:"on_off,omitempty"`
}

// OnOff is an on/off traffic pattern.
type OnOff struct {
	On    Duration `json:"on"`
	Off   Duration `json:"off"`
	Phase Duration `json:"phase,omitempty"`
}

// Event is something that happens at At; exactly one action is set.
type Event struct {
	At          Duration     `json:"at"`
	Partition   [][]string   `json:"partition,omitempty"`
	Heal        bool         `json:"heal,omitempty"`
	Crash       string       `json:"crash,omitempty"`
	Restart     string       `json:"restart,omitempty"`
	Join        string       `json:"join,omitempty"`
	Leave       string       `json:"leave,omitempty"`
	SetWeight   *SetWeight   `json:"set_weight,omitempty"`
	SetLimit    *SetLimit    `json:"set_limit,omitempty"`
	SetDemand   *SetDemand   `json:"set_demand,omitempty"`
	ConfigStorm *ConfigStorm `json:"config_storm,omitempty"`

	// Pause stops a node's process (docker pause, a stopped VM, a long GC
	// pause): no ticks, packets wait in its receive buffer, requests wait
	// undecided, while its clock runs on. Resume starts it again
	// (README.md: "Pause and resume").
	Pause  string `json:"pause,omitempty"`
	Resume string `json:"resume,omitempty"`
}

// SetWeight updates a client's weight through node Via.
type SetWeight struct {
	Client string `json:"client"`
	Weight int    `json:"weight"`
	Via    string `json:"via"`
}

// SetLimit updates a client's own limit through node Via.
type SetLimit struct {
	Client string   `json:"client"`
	Rate   int      `json:"rate"`
	Period Duration `json:"period,omitempty"`
	Via    string   `json:"via"`
}

// SetDemand changes a client's demand (req/s); a group ID changes every
// client of the group.
type SetDemand struct {
	Client string  `json:"client"`
	Demand float64 `json:"demand"`
}

// ConfigStorm issues RatePerS random weight updates per second, from At
// until Until, each to one of Clients clients named Prefix0 … through a
// random live node, with a weight drawn uniformly from Weights [lo, hi].
type ConfigStorm struct {
	RatePerS float64  `json:"rate_per_s"`
	Until    Duration `json:"until"`
	Clients  int      `json:"clients"`
	// Prefix names the clients hit (default "storm-"); those that are also
	// scenario clients carry traffic, the others only config.
	Prefix  string `json:"prefix,omitempty"`
	Weights [2]int `json:"weights"`
}

// Load reads a scenario from r, rejecting unknown fields, trailing data,
// files over MaxScenarioBytes and values that cannot be simulated.
func Load(r io.Reader) (Scenario, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxScenarioBytes+1))
	if err != nil {
		return Scenario{}, fmt.Errorf("sim: reading scenario: %w", err)
	}
	if len(b) > MaxScenarioBytes {
		return Scenario{}, fmt.Errorf("sim: scenario is larger than %d bytes", MaxScenarioBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var sc Scenario
	if err := dec.Decode(&sc); err != nil {
		return Scenario{}, fmt.Errorf("sim: scenario: %w", err)
	}
	if dec.More() {
		return Scenario{}, errors.New("sim: scenario: trailing data after the JSON object")
	}
	if _, err := compile(sc); err != nil {
		return Scenario{}, err
	}
	return sc, nil
}

// finite reports whether f is a usable number.
func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
