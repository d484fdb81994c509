package gossip

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/fairmesh/fairmesh"
)

// Config configures a Mesh. Start from DefaultConfig; in a Config built by
// hand, zero fields take the defaults documented on them. New calls
// Validate.
type Config struct {
	// NodeID names this node in the mesh and in memberlist: unique, stable
	// across restarts (a restarted node rejoins under the same ID), at most
	// fairmesh.MaxClientIDLen bytes. Default: the host name.
	NodeID string

	// BindAddr and BindPort are where memberlist listens, UDP and TCP on
	// the same port. Defaults "0.0.0.0" and 7946. BindPort 0 picks a free
	// port; read it back with Mesh.Addr.
	BindAddr string
	BindPort int
	// AdvertiseAddr and AdvertisePort are what other members dial. ""
	// means the bind address; binding 0.0.0.0 or :: it must be set (New
	// fails without it: no guess can know which address the others
	// reach). 0 means the bind port.
	AdvertiseAddr string
	AdvertisePort int

	// Join lists every known peer ("host:port"). The Mesh joins in the
	// background, retrying with backoff (100 ms doubling to 5 s) until one
	// answers, the context given to New ends, Close, or JoinTimeout. Pass
	// every peer, not one seed: joining through one converges slowly, and
	// the list is also what the Mesh re-joins after a long partition.
	Join []string
	// JoinTimeout bounds the background join (default 5m). A node that
	// gives up still serves alone, and peers that list it join it later.
	JoinTimeout time.Duration
	// RejoinInterval is how often, once joined, the Mesh re-joins the Join
	// peers that are missing from its member list (default 30s; negative:
	// never). Without it two halves of a partition that outlasted
	// GossipToTheDeadTime never merge again. Each re-join is one TCP
	// push/pull per missing peer.
	RejoinInterval time.Duration

	// GossipInterval is how often the Node's Tick runs and its messages go
	// out (default 100ms). Shorter: slices follow demand and config spreads
	// sooner, at more packets per second.
	GossipInterval time.Duration

	// SuspectAfter is how long a member memberlist still lists may stay
	// silent before the Node is told it is suspect (default
	// 10·GossipInterval: every member sends to every other at each tick).
	// Under the Available policy its slices are then reclaimed; under
	// Conservative they stay reserved until memberlist declares it dead.
	SuspectAfter time.Duration

	// QuietInterval is the pace of a quiet node (default 1s, or a quarter
	// of Node.Lease when shorter; negative: never quiet): one that for quietAfter (3 s) has sent and received
	// nothing but keepalives (beacons, leases, audits) and received no
	// news, has made no decision for 100 ms, and had no local config
	// change. Only a Node whose Clock is a clock.CoarseClock (nil, the
	// default, makes one) can tell it made no decision: with any other
	// clock the node is never quiet. It then ticks, polls its
	// members and sends its keepalives every QuietInterval instead of every
	// GossipInterval, telling the others so that they wait SuspectAfter +
	// 2·QuietInterval before they suspect it. An idle mesh then wakes a
	// few times a second instead of dozens. It speeds up at once on a
	// decision, a local config change or a payload from a member that is
	// not a keepalive. At most 65.535s, and under a quarter of Node.Lease
	// (leases are renewed by the keepalives).
	QuietInterval time.Duration

	// SecretKey, when set (16, 24 or 32 bytes: AES-128/192/256-GCM),
	// encrypts and authenticates all memberlist traffic; members without
	// it cannot join. Costs 29 bytes per packet. memberlist has no
	// per-node identity or replay protection: the key is the credential.
	// Unless Node.HashKey is set, the client hash is keyed from it
	// (ClientHashKey), so members with the key name clients alike.
	SecretKey []byte

	// Timing is memberlist's failure-detection profile (zero: LANTiming).
	Timing Timing
	// PushPullInterval is how often this node exchanges full state with
	// one random member over TCP, repairing what lost deltas missed
	// (default 15s). Shorter: faster repair, more bytes.
	PushPullInterval time.Duration
	// LeaveTimeout bounds how long Close waits for the leave message to go
	// out (default 2s).
	LeaveTimeout time.Duration

	// MaxPacketBytes bounds an enveloped payload sent by best-effort UDP
	// (default 1350; memberlist adds up to 35 bytes with encryption and the
	// IP/UDP headers 28, which stays under a 1500-byte MTU). Larger ones go
	// by reliable TCP. When Node.MaxMessageBytes is 0 it is set so that
	// every Node message fits one packet.
	MaxPacketBytes int
	// MaxStateBytes bounds the full state sent in one push/pull (default
	// 8 MiB; memberlist rejects over 20 MiB). Payloads past it are left
	// out and counted in Stats.StateTruncated; later deltas and push/pulls
	// carry them.
	MaxStateBytes int
	// MaxQueue bounds the inbound queue between memberlist's callbacks and
	// the Node, in envelopes (default 4096). A full queue drops and counts.
	MaxQueue int
	// MaxQueueBytes bounds the same queue in bytes (default 64 MiB).
	MaxQueueBytes int
	// MaxSendQueue bounds the payloads waiting for a reliable (TCP) send
	// (default 256). A full queue drops and counts.
	MaxSendQueue int

	// Transport replaces the UDP/TCP transport (nil: a Transport on
	// BindAddr:BindPort). Tests pass a FaultTransport. When it has a
	// GetAutoBindPort method (Transport, FaultTransport), a
	// BindPort or AdvertisePort of 0 is read from it.
	Transport memberlist.NodeAwareTransport

	// Logger receives the runtime's and memberlist's log lines (the latter
	// without [DEBUG] ones). nil: discard. It is also the Node's logger when
	// Node.Logger is nil.
	Logger *slog.Logger

	// Node configures the limiter core. Its NodeID must be "" or NodeID.
	// A nil Node.Clock means a clock.CoarseClock owned by the Mesh and
	// stopped by Close; a zero Node.TableSeed, a secret random one.
	Node fairmesh.Config
}

// Limits on Config fields.
const (
	// maxStateLimit is memberlist's bound on a remote state (20 MiB), less
	// room for memberlist's own push/pull header.
	maxStateLimit = 20<<20 - 1<<20
	// maxQuietInterval is the longest pace a quiet envelope can carry.
	maxQuietInterval = 65535 * time.Millisecond
	// maxPacketLimit is the largest UDP payload a socket can send.
	maxPacketLimit = 65000
)

// DefaultConfig returns the defaults, with NodeID set to the host name.
func DefaultConfig() Config {
	host, _ := os.Hostname()
	return Config{
		NodeID:           host,
		BindAddr:         "0.0.0.0",
		BindPort:         7946,
		JoinTimeout:      5 * time.Minute,
		RejoinInterval:   30 * time.Second,
		GossipInterval:   100 * time.Millisecond,
		QuietInterval:    time.Second,
		Timing:           LANTiming(),
		PushPullInterval: 15 * time.Second,
		LeaveTimeout:     2 * time.Second,
		MaxPacketBytes:   1350,
		MaxStateBytes:    8 << 20,
		MaxQueue:         4096,
		MaxQueueBytes:    64 << 20,
		MaxSendQueue:     256,
	}
}

// withDefaults fills zero fields. BindPort stays as given: 0 is meaningful.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.NodeID == "" {
		c.NodeID = d.NodeID
	}
	if c.BindAddr == "" {
		c.BindAddr = d.BindAddr
	}
	if c.JoinTimeout == 0 {
		c.JoinTimeout = d.JoinTimeout
	}
	if c.RejoinInterval == 0 {
		c.RejoinInterval = d.RejoinInterval
	}
	if c.GossipInterval == 0 {
		c.GossipInterval = d.GossipInterval
	}
	if c.QuietInterval == 0 {
		c.QuietInterval = d.QuietInterval
		if c.Node.Lease > 0 {
			c.QuietInterval = min(c.QuietInterval, c.Node.Lease/4)
		}
		if c.QuietInterval < c.GossipInterval {
			c.QuietInterval = -1 // a lease too short for any quiet pace
		}
	}
	if c.SuspectAfter == 0 {
		c.SuspectAfter = 10 * c.GossipInterval
	}
	if c.Timing == (Timing{}) {
		c.Timing = d.Timing
	}
	if c.PushPullInterval == 0 {
		c.PushPullInterval = d.PushPullInterval
	}
	if c.LeaveTimeout == 0 {
		c.LeaveTimeout = d.LeaveTimeout
	}
	if c.MaxPacketBytes == 0 {
		c.MaxPacketBytes = d.MaxPacketBytes
	}
	if c.MaxStateBytes == 0 {
		c.MaxStateBytes = d.MaxStateBytes
	}
	if c.MaxQueue == 0 {
		c.MaxQueue = d.MaxQueue
	}
	if c.MaxQueueBytes == 0 {
		c.MaxQueueBytes = d.MaxQueueBytes
	}
	if c.MaxSendQueue == 0 {
		c.MaxSendQueue = d.MaxSendQueue
	}
	if c.Node.NodeID == "" {
		c.Node.NodeID = c.NodeID
	}
	if c.Node.MaxMessageBytes == 0 {
		c.Node.MaxMessageBytes = max(256, c.MaxPacketBytes-envelopeOverhead(c.NodeID))
	}
	if c.Node.Logger == nil {
		c.Node.Logger = c.Logger
	}
	return c
}

// Validate reports the first field that cannot be used, after defaults.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case c.NodeID == "" || len(c.NodeID) > fairmesh.MaxClientIDLen:
		return fmt.Errorf("gossip: NodeID must be 1 to %d bytes", fairmesh.MaxClientIDLen)
	case c.Node.NodeID != c.NodeID:
		return fmt.Errorf("gossip: Node.NodeID %q differs from NodeID %q", c.Node.NodeID, c.NodeID)
	case net.ParseIP(c.BindAddr) == nil:
		return fmt.Errorf("gossip: BindAddr %q is not an IP address", c.BindAddr)
	case c.AdvertiseAddr != "" && net.ParseIP(c.AdvertiseAddr) == nil:
		return fmt.Errorf("gossip: AdvertiseAddr %q is not an IP address", c.AdvertiseAddr)
	case c.BindPort < 0 || c.BindPort > 65535 || c.AdvertisePort < 0 || c.AdvertisePort > 65535:
		return errors.New("gossip: BindPort and AdvertisePort must be in [0, 65535]")
	case c.JoinTimeout < 0:
		return errors.New("gossip: JoinTimeout is negative")
	case c.GossipInterval < time.Millisecond:
		return errors.New("gossip: GossipInterval is under 1ms")
	case c.SuspectAfter < 2*c.GossipInterval:
		return errors.New("gossip: SuspectAfter is under two GossipIntervals")
	case c.QuietInterval > 0 && (c.QuietInterval < c.GossipInterval || c.QuietInterval > maxQuietInterval):
		return fmt.Errorf("gossip: QuietInterval %v is outside [GossipInterval, %v]", c.QuietInterval, maxQuietInterval)
	case c.QuietInterval > 0 && c.Node.Lease > 0 && 4*c.QuietInterval > c.Node.Lease:
		return fmt.Errorf("gossip: QuietInterval %v is over a quarter of Node.Lease %v: a quiet node's leases would lapse", c.QuietInterval, c.Node.Lease)
	case len(c.SecretKey) != 0 && len(c.SecretKey) != 16 && len(c.SecretKey) != 24 && len(c.SecretKey) != 32:
		return fmt.Errorf("gossip: SecretKey is %d bytes, want 16, 24 or 32", len(c.SecretKey))
	case c.PushPullInterval < 0 || c.LeaveTimeout < 0:
		return errors.New("gossip: PushPullInterval and LeaveTimeout must not be negative")
	case c.MaxPacketBytes < envelopeOverhead(c.NodeID)+256 || c.MaxPacketBytes > maxPacketLimit:
		return fmt.Errorf("gossip: MaxPacketBytes %d is outside [%d, %d]", c.MaxPacketBytes, envelopeOverhead(c.NodeID)+256, maxPacketLimit)
	case c.MaxStateBytes < c.MaxPacketBytes || c.MaxStateBytes > maxStateLimit:
		return fmt.Errorf("gossip: MaxStateBytes %d is outside [MaxPacketBytes, %d]", c.MaxStateBytes, maxStateLimit)
	case c.MaxQueue < 1 || c.MaxQueueBytes < c.MaxStateBytes || c.MaxSendQueue < 1:
		return errors.New("gossip: MaxQueue and MaxSendQueue must be positive, MaxQueueBytes at least MaxStateBytes")
	}
	if err := c.Timing.validate(); err != nil {
		return err
	}
	return c.Node.Validate()
}
