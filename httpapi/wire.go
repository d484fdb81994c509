package httpapi

// The JSON shapes of the API. They are exported so that Go clients (the
// fairmesh CLI among them) decode exactly what the server encodes.

// Error is the body of every 4xx answer the handler writes itself.
type Error struct {
	Error string `json:"error"`
	// Field names the offending input; empty when no single input is at
	// fault.
	Field string `json:"field,omitempty"`
}

// AllowResult is one admission decision.
type AllowResult struct {
	Allowed bool `json:"allowed"`
	// Limit is the client's mesh-wide allowance in the current window;
	// -1 when the client is unlimited (no own limit, no shared capacity).
	Limit int64 `json:"limit"`
	// Remaining is what this node may still admit for the client in the
	// window; -1 when unlimited.
	Remaining int64 `json:"remaining"`
	// ResetMS is the time until the window ends, in milliseconds, rounded up.
	ResetMS int64 `json:"reset_ms"`
	// WindowStartMS is the start of the window the decision counted in, in
	// Unix milliseconds of the node's mesh time: what names the window when
	// counting admissions per window.
	WindowStartMS int64 `json:"window_start_ms"`
	// Error says why a request that waited (?wait=) was refused without
	// running out of time: the queue was full, or no window could ever
	// admit it.
	Error string `json:"error,omitempty"`
}

// BatchRequest is the body of POST /v1/allow.
type BatchRequest struct {
	Requests []BatchItem `json:"requests"`
}

// BatchItem asks for N requests of Client; N omitted means 1.
type BatchItem struct {
	Client string `json:"client"`
	N      *int   `json:"n,omitempty"`
}

// BatchResponse answers POST /v1/allow, one result per request, in order.
type BatchResponse struct {
	Results []AllowResult `json:"results"`
}

// WeightRequest is the body of PUT /v1/clients/{client}/weight.
type WeightRequest struct {
	Weight *int `json:"weight"`
}

// LimitRequest is the body of PUT /v1/clients/{client}/limit: Rate
// requests per Period, a Go duration string in [1ms, 24h]. Rate 0 blocks
// the client.
type LimitRequest struct {
	Rate   *int   `json:"rate"`
	Period string `json:"period"`
}

// ClientConfig is a client's configuration as the mesh agreed it.
type ClientConfig struct {
	Weight int `json:"weight"`
	// Limited is false when the client has no own limit; Rate and Period
	// are then omitted.
	Limited bool   `json:"limited"`
	Rate    *int   `json:"rate,omitempty"`
	Period  string `json:"period,omitempty"`
	// Configured is false when the values are the node's defaults;
	// OwnWeight and OwnLimit say which of the two are the client's own.
	Configured bool `json:"configured"`
	OwnWeight  bool `json:"own_weight"`
	OwnLimit   bool `json:"own_limit"`
}

// Client is what the node knows of one client (GET /v1/clients/{client},
// and the answer to the PUTs, after the change).
type Client struct {
	ID     string       `json:"id"`
	Config ClientConfig `json:"config"`
	// Allowance is the client's mesh-wide allowance in the current window;
	// Slice is this node's part of it. -1: unlimited.
	Allowance int64 `json:"allowance"`
	Slice     int64 `json:"slice"`
	// This node's decisions in the current and the previous window.
	Admitted     int64 `json:"admitted"`
	Denied       int64 `json:"denied"`
	PrevAdmitted int64 `json:"prev_admitted"`
	PrevDenied   int64 `json:"prev_denied"`
	// MeshDemand is the client's demand over the mesh, per window.
	MeshDemand int64 `json:"mesh_demand"`
	// Window is the length of the client's windows (its limit's period,
	// else the capacity's or the default's): what the counts above are per.
	Window string `json:"window"`
	// State is "configured" (it has a weight or limit of its own),
	// "tracked" (no config of its own, but its traffic is known here) or
	// "unknown" (neither: only in a DELETE's answer; GET answers 404).
	State string `json:"state"`
}

// ClientList answers GET /v1/clients. Truncated is true when the node
// tracks more clients than the limit asked for.
type ClientList struct {
	Clients   []Client `json:"clients"`
	Truncated bool     `json:"truncated"`
}

// Status answers GET /v1/status.
type Status struct {
	NodeID         string   `json:"node_id"`
	Time           string   `json:"time"` // mesh time, RFC 3339 with nanoseconds
	ClockOffset    string   `json:"clock_offset"`
	Capacity       int      `json:"capacity"`
	CapacityPeriod string   `json:"capacity_period"`
	DefaultRate    int      `json:"default_rate"`
	DefaultPeriod  string   `json:"default_period"`
	DefaultWeight  int      `json:"default_weight"`
	MinRate        int      `json:"min_rate"`
	Partition      string   `json:"partition"`
	TrackedClients int      `json:"tracked_clients"`
	MaxClients     int      `json:"max_clients"`
	Members        []Member `json:"members"`
	Counters       Counters `json:"counters"`
	// Fenced: the node's lease ran out and it admits nothing until it
	// hears from enough members again.
	Fenced bool `json:"fenced"`
	// Warnings are what the operator should fix (unencrypted gossip off
	// loopback); empty when there is nothing.
	Warnings []string `json:"warnings"`
}

// Member is one mesh member as the node sees it.
type Member struct {
	ID string `json:"id"`
	// Addr is where the member gossips ("ip:port"); omitted when unknown
	// (in /v1/status, and for members that are dead or left).
	Addr  string `json:"addr,omitempty"`
	State string `json:"state"` // alive, suspect, dead, left
	// Self marks the node that answered (only in /v1/members).
	Self bool `json:"self,omitempty"`
}

// MemberList answers GET /v1/members: the mesh as the answering node sees
// it, itself included, sorted by ID.
type MemberList struct {
	NodeID  string   `json:"node_id"`
	Members []Member `json:"members"`
}

// Counters are the node's cumulative event counts since start.
type Counters struct {
	Admitted           uint64 `json:"admitted"`
	Denied             uint64 `json:"denied"`
	Overflowed         uint64 `json:"overflowed"`
	Evicted            uint64 `json:"evicted"`
	MessagesSent       uint64 `json:"messages_sent"`
	BytesSent          uint64 `json:"bytes_sent"`
	MessagesReceived   uint64 `json:"messages_received"`
	BytesReceived      uint64 `json:"bytes_received"`
	DroppedMessages    uint64 `json:"dropped_messages"`
	DroppedReports     uint64 `json:"dropped_reports"`
	Collisions         uint64 `json:"hash_collisions"`
	ClockOffsetRejects uint64 `json:"clock_offset_rejects"`
	Returned           uint64 `json:"returned"`              // admitted requests given back (POST /v1/return)
	RightsLent         uint64 `json:"rights_lent"`           // rights given to members that ran dry
	RightsBorrowed     uint64 `json:"rights_borrowed"`       // rights received from members
	NacksSent          uint64 `json:"nacks_sent"`            // gossip payloads asked for again
	ReportsRepaired    uint64 `json:"reports_repaired"`      // gossip payloads sent again when asked
	Released           uint64 `json:"reservations_released"` // reserved capacity moved to the pool
	ConfigLocal        uint64 `json:"config_updates_local"`  // config writes made through this node
	ConfigRemote       uint64 `json:"config_updates_remote"` // config registers a peer changed here
	Audit              Audit  `json:"audit"`
}

// Health answers GET /healthz and GET /readyz: Status is "ok", "ready"
// or "not ready"; Reason says why a node is not ready.
type Health struct {
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}

// ApplyRequest is the body of POST /v1/apply: the config of the listed
// clients (a client's weight or limit left out means its default), and
// with Prune, no config for the clients not listed.
type ApplyRequest struct {
	Clients []ClientSetting `json:"clients"`
	Prune   bool            `json:"prune,omitempty"`
}

// ClientSetting is one client's own config: each field omitted when the
// client runs on the node's default. ID is set in requests and left out
// of the before and after of a change.
type ClientSetting struct {
	ID     string `json:"id,omitempty"`
	Weight *int   `json:"weight,omitempty"`
	Rate   *int   `json:"rate,omitempty"`
	Period string `json:"period,omitempty"`
}

// ApplyResponse answers POST /v1/apply: the changes made (Applied) or that
// a dry run would make, one per client whose config differs, by client ID.
type ApplyResponse struct {
	Applied bool           `json:"applied"`
	Changes []ClientChange `json:"changes"`
}

// ClientChange is one client's config before and after an apply.
type ClientChange struct {
	ID     string        `json:"id"`
	Before ClientSetting `json:"before"`
	After  ClientSetting `json:"after"`
}

// Audit is the mesh's audit of its own admissions per capacity window
// (see fairmesh.AuditStatus): windows audited complete and incomplete,
// those over the capacity and by how many requests in all, and the last
// audited window (its start in Unix ms of mesh time) with its admissions.
type Audit struct {
	Windows      uint64 `json:"windows"`
	Incomplete   uint64 `json:"incomplete"`
	OverWindows  uint64 `json:"over_windows"`
	OverRequests uint64 `json:"over_requests"`
	LastWindowMS int64  `json:"last_window_ms"`
	LastAdmitted uint64 `json:"last_admitted"`
}
