package fairmesh

import "time"

// Decision is the full answer to an admission question, for callers that
// report limits to their own clients (the HTTP API's RateLimit headers).
type Decision struct {
	// Allowed reports whether the requests were admitted.
	Allowed bool
	// Limit is the client's mesh-wide allowance in the current window;
	// -1 when the client is unlimited.
	Limit int64
	// Remaining is what this node may still admit for the client in the
	// window (its local slice minus what it admitted).
	Remaining int64
	// Reset is the time until the window ends.
	Reset time.Duration
	// Period is the window's length (zero when nothing was decided).
	Period time.Duration
	// WindowStart is the start, in mesh time, of the client's window the
	// requests were counted in (zero when nothing was decided: an invalid
	// request). Together with the client's period it names the window, so
	// that an observer can count admissions per window as the node counted
	// them rather than by its own clock. It is the window the node's entry
	// counted in, which after a clock step back is the newer one.
	WindowStart time.Time
}

// ClientConfig is a client's configuration as the mesh has agreed it.
type ClientConfig struct {
	Weight int
	// Rate requests per Period; Limited is false when the client has no
	// own limit (neither configured nor a node default).
	Rate    int
	Period  time.Duration
	Limited bool
	// Configured reports whether weight or limit were set explicitly
	// (otherwise they are the node's defaults); OwnWeight and OwnLimit say
	// which of the two.
	Configured          bool
	OwnWeight, OwnLimit bool
}

// ClientStatus is what a node knows of one client.
type ClientStatus struct {
	ID     string
	Config ClientConfig
	// Allowance is the client's mesh-wide allowance in the current window
	// (min of its limit and its fair share); -1 when unlimited.
	Allowance int64
	// Slice is this node's part of the allowance; -1 when unlimited.
	Slice int64
	// Admitted and Denied count this node's decisions in the current
	// window; PrevAdmitted and PrevDenied in the one before.
	Admitted, Denied         int64
	PrevAdmitted, PrevDenied int64
	// MeshDemand is the client's demand summed over the mesh, as last
	// reported, in requests per window.
	MeshDemand int64
	// Tracked reports that the node knows the client's traffic: it has
	// decided requests of it or holds another member's report of it.
	// A client neither tracked nor configured (Config.Configured) is
	// unknown: the node only describes what it would do if it came.
	Tracked bool
}

// Status summarises a node.
type Status struct {
	NodeID         string
	Time           time.Time // mesh time
	ClockOffset    time.Duration
	Capacity       int
	CapacityPeriod time.Duration
	DefaultRate    int
	DefaultPeriod  time.Duration
	DefaultWeight  int
	MinRate        int
	Partition      PartitionPolicy
	// Fenced reports that this node admits nothing (see Node.Fenced).
	Fenced         bool
	TrackedClients int
	MaxClients     int
	Members        []Member
	Counters       Counters
}

// Counters are a node's cumulative event counts, for monitoring.
type Counters struct {
	Admitted, Denied uint64 // decisions (requests), since start
	Overflowed       uint64 // requests decided in the shared overflow bucket
	Returned         uint64 // admitted requests given back by Return
	RightsLent       uint64 // rights this node transferred to members that ran dry
	RightsBorrowed   uint64 // rights other members transferred to this node
	NacksSent        uint64 // reports payloads this node asked a member for again
	ReportsRepaired  uint64 // reports payloads this node sent again when asked
	// ReservationsReleased counts reserved capacity moved to the pool
	// because its client fell silent within the window.
	ReservationsReleased uint64
	Evicted              uint64 // idle clients evicted
	MessagesSent         uint64
	BytesSent            uint64
	MessagesReceived     uint64
	BytesReceived        uint64
	DroppedMessages      uint64 // undecodable, unknown version, oversized
	DroppedReports       uint64 // entries past MaxClients (reports or configs from peers), or configs whose ID's hash is another's
	Collisions           uint64 // client IDs refused or sent to overflow because another ID with the same hash is known
	ClockOffsetRejects   uint64 // remote timestamps too far ahead, not adopted
	// ConfigUpdatesLocal counts config writes made through this node (a
	// weight, a limit, a deletion); ConfigUpdatesRemote the registers
	// that a peer's message (or a loaded config file) changed here.
	ConfigUpdatesLocal, ConfigUpdatesRemote uint64
	// Audit is what the mesh's audit of its own admissions found.
	Audit AuditStatus
}

// MemberState is a member's state as the membership layer reports it.
type MemberState int

// Member states, in memberlist's terms.
const (
	MemberAlive MemberState = iota
	MemberSuspect
	MemberDead
	MemberLeft
)

// String returns the state's name in memberlist's terms ("alive", …).
func (s MemberState) String() string {
	switch s {
	case MemberAlive:
		return "alive"
	case MemberSuspect:
		return "suspect"
	case MemberDead:
		return "dead"
	case MemberLeft:
		return "left"
	}
	return "unknown"
}

// Member is one mesh member as this node sees it.
type Member struct {
	ID    string
	State MemberState
}

// Message is a payload for the runtime to deliver. To names the member it
// is for; "" means every alive and suspect member. Payload is at most
// Config.MaxMessageBytes and is owned by the receiver of the Message.
type Message struct {
	To      string
	Payload []byte
}
