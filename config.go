package fairmesh

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Limits on what a user, the API or another node may ask for.
const (
	// MaxClientIDLen is the longest client ID accepted, in bytes.
	MaxClientIDLen = 256
	// MinPeriod and MaxPeriod bound a limit's window length.
	MinPeriod = time.Millisecond
	MaxPeriod = 24 * time.Hour
	// MaxRate bounds a rate (requests per period): it keeps every count
	// within what a window slot holds.
	MaxRate = 4_000_000
	// MaxWeight bounds a client's weight.
	MaxWeight = 1_000_000
	// DefaultMaxClients is the bound on tracked clients when
	// Config.MaxClients is 0: about 200 MB of state at the worst.
	DefaultMaxClients = 1_000_000
)

// PartitionPolicy says when the slices of unreachable members are reclaimed.
type PartitionPolicy string

const (
	// Conservative keeps an unreachable member's slices reserved until the
	// membership layer declares it dead: no over-admission during a
	// partition shorter than the dead timeout, at the cost of idle
	// capacity meanwhile.
	Conservative PartitionPolicy = "conservative"
	// Available reclaims slices as soon as a member is suspected: capacity
	// is not left idle, at the cost of over-admission while a suspected
	// member is in fact alive and admitting on the other side.
	Available PartitionPolicy = "available"
	// Quorum is Conservative, except that only a side holding a strict
	// majority of the known members reclaims dead members' slices: a node
	// that can reach only a minority (itself included) admits nothing at
	// all from the moment it suspects the others. No over-admission in a
	// partition of any length, at the cost of the minority's availability;
	// an even split stops both halves. A dead member counts until it
	// leaves or the runtime reports it gone.
	Quorum PartitionPolicy = "quorum"
)

// Config configures a Node. The zero value of each field means its
// documented default; Validate reports what cannot be used.
type Config struct {
	// NodeID names this node in the mesh; it must be unique and stable
	// across restarts. "" means "local" (a node alone).
	NodeID string
	// Clock is the node's only source of time. nil: the wall clock.
	// `fairmesh serve` passes a clock.CoarseClock, which reads in ~1 ns.
	Clock Clock
	// Capacity is what the protected API takes in total, in requests per
	// CapacityPeriod, shared among active clients by weight. 0: no shared
	// capacity, only per-client limits apply.
	Capacity int
	// CapacityPeriod is the capacity's window (default 1s).
	CapacityPeriod time.Duration
	// DefaultWeight is the weight of clients never configured. 0 means 1.
	// (A zero default weight cannot be expressed: configure clients to 0.)
	DefaultWeight int
	// DefaultRate is the per-client limit of clients never configured, per
	// DefaultPeriod. 0: none.
	DefaultRate int
	// DefaultPeriod is the window of DefaultRate (default 1s).
	DefaultPeriod time.Duration
	// MinRate is the zero-weight floor in requests per second. 0 means 1.
	MinRate int
	// MaxClients bounds tracked clients (each costs at most ~256 bytes).
	// Past it, new clients share one overflow bucket at the default limit.
	// 0: DefaultMaxClients.
	MaxClients int
	// HashKey keys the 64-bit hash by which a node tracks clients and nodes
	// name them to each other. 0: plain xxhash64, for which anyone who
	// chooses client IDs can make an ID with another's hash in a
	// microsecond (see ErrHashCollision for what a node then does). Every
	// node of a mesh must use the same key; gossip.Mesh derives it from the
	// gossip key unless it is set.
	HashKey uint64
	// TableSeed decides where this node's client table places each client
	// (see bucket.Table). It stays on the node: nodes need not agree on it.
	// With a secret random seed, no one who chooses client IDs can make
	// them share a probe chain, which would make every lookup of them walk
	// it; with 0, a fixed seed, they can by trying IDs. Outcomes do not
	// depend on it. `fairmesh serve` draws a random one at start.
	TableSeed uint64
	// IdleTimeout evicts a client's counters after this long without a
	// request (default 5m); it is raised to two of the client's windows so
	// that eviction never reopens a window.
	IdleTimeout time.Duration
	// MaintainInterval is how often a node alone re-splits allowances as
	// its clock advances, when nothing calls Tick (default 100ms).
	MaintainInterval time.Duration
	// MaxClockOffset bounds how far ahead of the local clock a remote
	// timestamp may be and still be adopted (default 500ms).
	MaxClockOffset time.Duration
	// MaxMessageBytes bounds every payload Tick returns (default 1350: one
	// UDP packet under memberlist). Minimum 256.
	MaxMessageBytes int
	// ReportThreshold is the relative change in a client's per-window
	// demand at this node that is worth telling the mesh about (default
	// 0.02). Smaller: slices follow demand more closely, more gossip.
	ReportThreshold float64
	// MaxReportsPerTick bounds how many clients' demand reports one Tick
	// sends (default 2000, about 80 KB of payload): the biggest changes
	// go first and the rest wait, so gossip stays bounded when many
	// clients appear at once. Smaller: less traffic in bursts, slower
	// convergence after them.
	MaxReportsPerTick int
	// Partition chooses when unreachable members' slices are reclaimed
	// (default Conservative).
	Partition PartitionPolicy
	// Logger receives rare events (rejected clock offsets, dropped
	// messages). nil: discard.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.NodeID == "" {
		c.NodeID = "local"
	}
	if c.Clock == nil {
		c.Clock = wallClock{}
	}
	if c.CapacityPeriod == 0 {
		c.CapacityPeriod = time.Second
	}
	if c.DefaultWeight == 0 {
		c.DefaultWeight = 1
	}
	if c.DefaultPeriod == 0 {
		c.DefaultPeriod = time.Second
	}
	if c.MinRate == 0 {
		c.MinRate = 1
	}
	if c.MaxClients == 0 {
		c.MaxClients = DefaultMaxClients
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 5 * time.Minute
	}
	if c.MaintainInterval == 0 {
		c.MaintainInterval = 100 * time.Millisecond
	}
	if c.MaxClockOffset == 0 {
		c.MaxClockOffset = 500 * time.Millisecond
	}
	if c.MaxMessageBytes == 0 {
		c.MaxMessageBytes = 1350
	}
	if c.ReportThreshold == 0 {
		c.ReportThreshold = 0.02
	}
	if c.MaxReportsPerTick == 0 {
		c.MaxReportsPerTick = 2000
	}
	if c.Partition == "" {
		c.Partition = Conservative
	}
	return c
}

// Validate reports the first field that cannot be used, after defaults.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case len(c.NodeID) > MaxClientIDLen:
		return fmt.Errorf("fairmesh: NodeID is longer than %d bytes", MaxClientIDLen)
	case c.Capacity < 0:
		return errors.New("fairmesh: Capacity is negative")
	case c.CapacityPeriod < MinPeriod || c.CapacityPeriod > MaxPeriod:
		return fmt.Errorf("fairmesh: CapacityPeriod %v is outside [%v, %v]", c.CapacityPeriod, MinPeriod, MaxPeriod)
	case c.DefaultWeight < 0 || c.DefaultWeight > MaxWeight:
		return fmt.Errorf("fairmesh: DefaultWeight %d is outside [0, %d]", c.DefaultWeight, MaxWeight)
	case c.DefaultRate < 0 || c.DefaultRate > MaxRate:
		return fmt.Errorf("fairmesh: DefaultRate %d is outside [0, %d]", c.DefaultRate, MaxRate)
	case c.DefaultPeriod < MinPeriod || c.DefaultPeriod > MaxPeriod:
		return fmt.Errorf("fairmesh: DefaultPeriod %v is outside [%v, %v]", c.DefaultPeriod, MinPeriod, MaxPeriod)
	case c.MinRate < 0 || c.MinRate > MaxRate:
		return fmt.Errorf("fairmesh: MinRate %d is outside [0, %d]", c.MinRate, MaxRate)
	case c.MaxClients < 0:
		return errors.New("fairmesh: MaxClients is negative")
	case c.IdleTimeout < 0 || c.MaintainInterval < 0 || c.MaxClockOffset < 0:
		return errors.New("fairmesh: IdleTimeout, MaintainInterval and MaxClockOffset must not be negative")
	case c.MaxMessageBytes < 256:
		return errors.New("fairmesh: MaxMessageBytes is under 256")
	case c.MaxReportsPerTick < 0:
		return errors.New("fairmesh: MaxReportsPerTick is negative")
	case c.ReportThreshold < 0 || c.ReportThreshold > 1:
		return errors.New("fairmesh: ReportThreshold is outside [0, 1]")
	case c.Partition != Conservative && c.Partition != Available && c.Partition != Quorum:
		return fmt.Errorf("fairmesh: unknown partition policy %q", c.Partition)
	}
	return nil
}
