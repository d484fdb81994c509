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

// PartitionPolicy says what a node does when it cannot reach some of the
// members it knows (a partition, a crash, a pause: from inside, they look
// the same).
type PartitionPolicy string

const (
	// Lease never admits past an allowance or the capacity in a partition
	// of any length, on any side, and never stops a side that could
	// safely serve. A node serves while members holding at least half of
	// the known members (itself included) have confirmed hearing from it
	// within the last Lease; past that it fences (admits nothing) until
	// they do again. A side that sees exactly half keeps its own shares
	// and reclaims nothing; a side that sees a strict majority also
	// reclaims an unreachable member's shares, once that member's lease
	// has certainly run out (Lease + MaxClockOffset after the last time
	// any of them heard from it). A two-node mesh therefore keeps both
	// halves serving their own share. RemoveMember declares a member gone
	// for good. The default. See lease.go.
	Lease PartitionPolicy = "lease"
	// Available reclaims an unreachable member's shares as soon as it is
	// suspected: capacity is not left idle, at the cost of over-admission
	// while the suspected member is in fact alive on another side: with k
	// sides, at most k times each allowance and the capacity. A node that
	// has heard from no member for longer than Lease still fences.
	Available PartitionPolicy = "available"
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
	// MaxWaiting bounds the requests blocked in Wait at once, over all
	// clients (default 65536), and MaxWaitingPerClient those of one client
	// (default 4096, at most MaxWaiting). Past either, Wait fails at once
	// with ErrQueueFull.
	MaxWaiting          int
	MaxWaitingPerClient int
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
	// Partition chooses what a node does about members it cannot reach
	// (default Lease).
	Partition PartitionPolicy
	// Lease is how long a node keeps serving the shares it holds without
	// hearing from the members it needs (see Lease), and so how long the
	// others wait, plus MaxClockOffset, before they reclaim the shares of
	// a member they no longer hear from (default 10s; at least 10 × the
	// interval between Ticks is wise, and at least the membership layer's
	// dead timeout, so that a slow member is declared dead before it
	// fences).
	Lease time.Duration
	// Seeds is how many members this node was told to join at start
	// (addresses whose names it does not know yet). Until it has heard
	// from any member it admits nothing: a node whose key is refused or
	// whose peers are unreachable must not serve the whole capacity
	// alone. 0: a node that starts alone serves alone until members join.
	Seeds int
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
	if c.MaxWaiting == 0 {
		c.MaxWaiting = 65536
	}
	if c.MaxWaitingPerClient == 0 {
		c.MaxWaitingPerClient = min(4096, c.MaxWaiting)
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
		c.Partition = Lease
	}
	if c.Lease == 0 {
		c.Lease = 10 * time.Second
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
	case c.MaxWaiting < 0 || c.MaxWaitingPerClient < 0:
		return errors.New("fairmesh: MaxWaiting and MaxWaitingPerClient must not be negative")
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
	case c.Partition != Lease && c.Partition != Available:
		return fmt.Errorf("fairmesh: unknown partition policy %q (want %q or %q)", c.Partition, Lease, Available)
	case c.Lease < 0 || c.Lease > MaxPeriod:
		return fmt.Errorf("fairmesh: Lease %v is outside [0, %v]", c.Lease, MaxPeriod)
	case c.Seeds < 0:
		return errors.New("fairmesh: Seeds is negative")
	}
	return nil
}
