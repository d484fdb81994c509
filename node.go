package fairmesh

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/fairmesh/fairmesh/bucket"
	"github.com/fairmesh/fairmesh/crdt"
)

// Node is one member of a fairmesh mesh, or a limiter on its own: the
// deterministic core. It never starts a goroutine, never sleeps and reads
// time only through its Clock (and the now passed to Tick).
//
// Allow, AllowN and Decide are safe for concurrent use; on a known client
// they take no global lock and allocate nothing. Every other method is safe
// for concurrent use too and serialises on the node's lock.
//
// A Node alone needs no driver: as its clock advances, the first Allow past
// each MaintainInterval re-splits allowances. In a mesh, a runtime calls Tick
// every gossip interval and sends what it returns, hands received payloads to
// Receive, and reports membership with SetMember.
type Node struct {
	cfg      Config
	local    func() int64 // the local clock, Unix ns
	fast     func() int64 // its cheap reading, for the decision paths
	offset   atomic.Int64 // adopted mesh-time offset (ns, >= 0)
	table    *bucket.Table
	overflow *bucket.Entry
	// pool is this node's part of the capacity no client reserved, per
	// capacity window; nil without a capacity.
	pool *bucket.Entry

	nextMaintain atomic.Int64 // mesh time of the next inline maintenance
	// leaseUntil is the mesh time at which the lease runs out (MaxInt64:
	// none to run out); the fast path checks it so that a node that was
	// paused fences before it decides anything.
	leaseUntil  atomic.Int64
	overflowed  atomic.Uint64
	returned    atomic.Uint64 // requests given back by Return
	confVersion atomic.Uint64 // see ConfigVersion

	mu      sync.Mutex // guards everything below
	hlc     *crdt.HLC
	log     *slog.Logger
	conf    map[uint64]*clientConf // configured clients
	confLog configAudit            // rate limit of the log lines of config from peers
	audit   auditState             // the mesh's audit of its admissions (audit.go)
	// servedOnce: the node has held a lease since it started; fencing
	// before that is joining, not a fault.
	servedOnce bool
	// maintainedAt is the latest time maintenance ran at (see maintain).
	maintainedAt int64
	peer         map[uint64]*remoteClient // demand reported by other nodes
	mem          map[string]MemberState   // other members as the membership layer sees them

	holders []string // sorted slice holders: self, then members per policy
	// holdersChangedAt is when the holders last changed (mesh time):
	// traffic moves between nodes then, and demand follows it at once.
	holdersChangedAt int64
	selfIdx          int
	// views is this node's holder-view log, peerViews every other node's
	// as received; pendingView counts the ticks that still send the
	// newest entries. See views.go.
	views       viewLog
	peerViews   map[string]*viewLog
	pendingView int
	// admitAt is when the next member this node heard of will be counted
	// in its view; math.MaxInt64: none waits. admitting is, per member
	// waiting to be counted, the incarnation it waits with; admitDue, the
	// members that waited and are counted at the next recordView. See
	// admit (membership.go).
	admitAt             int64
	admitting, admitDue map[string]int64
	// ledgers are the client windows whose rights moved (ledger.go); acks
	// the transfer acknowledgements owed to each member.
	ledgers map[ledgerKey]*ledgerCell
	acks    map[string][]wireLedger
	// repSeq is the last reports sequence number used, repLog which
	// clients each recent one carried, repairs the numbers each member
	// asked for again, repIn what this node received of each member's
	// (reliable.go).
	repSeq  uint64
	repLog  map[uint64]*sentPayload
	repairs map[string][]uint64
	repIn   map[string]*repRecv
	// lastTick and tickGap are the mesh time of the last Tick and the
	// interval between Ticks as observed (ns).
	lastTick, tickGap int64
	act               activity
	wait              waitQueue
	// fenced: this node admits nothing (its lease ran out, it never
	// reached the members it was told to join, or it was removed).
	fenced bool
	// Leases (lease.go): what this node heard from each member, the
	// latest own send time each member confirmed hearing, the expiries
	// members reported (member → reporter → note), the incarnation of
	// each member whose shares were reclaimed, and when an operator
	// removed a member.
	heard     map[string]*leaseRec
	echoed    map[string]int64
	expiries  map[string]map[string]leaseNote
	reclaimed map[string]int64
	removed   map[string]int64
	// expiredMe: the members that gave up on this incarnation;
	// leaseDirty: an expiry, removal or new member is still to be sent.
	expiredMe     map[string]bool
	leaseDirty    bool
	lastLeaseSent int64

	pendingReports map[uint64]*pending // own demand reports to send
	pendingConf    map[uint64]int      // config registers to send (sends left)
	pendingFull    map[string]bool     // members owed a full state

	policies map[bucket.Policy]*bucket.Policy // interned, see intern
	alloc    allocState
	counters Counters
	scratch  scratch
	sweepAt  int64 // mesh time of the next window boundary of any client
	// peerAhead is how far each peer's clock was ahead of the local clock
	// (ns), for adopting the majority's time; see observe.
	peerAhead map[string]int64
	// aliveSince is the mesh time at which each member last became alive;
	// startedAt is this node's start: its current incarnation.
	aliveSince map[string]int64
	startedAt  int64
	// freshAt is when this process last started afresh: its start, or a
	// new incarnation taken while fenced. What it holds and the acks it
	// counts date from then; a new incarnation taken while it held its
	// lease keeps both (lease.go, reincarnate).
	freshAt int64
	// priorReplicas are the ledger replicas of this process's earlier
	// incarnations since freshAt: transfers to and from them are its own.
	priorReplicas []string
	// prevInc is the incarnation this process left when it last took a
	// new one holding its lease (0: none since freshAt); views naming it
	// count this process for windows whose lead instant is before
	// prevUntil (reincarnate).
	prevInc, prevUntil int64
	// lastHeard is when each member's last payload arrived (mesh ns);
	// silentSince is the earliest lastHeard among suspect slice holders,
	// MaxInt64 when none is suspect. See ownDemand.
	lastHeard   map[string]int64
	silentSince int64
	// reportedBy: the members whose current process has sent demand
	// reports (a full state, at least): a client it reported nothing of
	// has no demand there, rather than reports still on their way.
	reportedBy map[string]bool
}

type pending struct {
	e     *bucket.Entry
	left  int
	delta uint64 // how much the demand moved: bigger changes go first
}

// NewNode validates cfg and returns a Node. It starts nothing.
func NewNode(cfg Config) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	n := &Node{
		cfg:            cfg,
		table:          bucket.NewTable(cfg.MaxClients, cfg.TableSeed),
		conf:           map[uint64]*clientConf{},
		peer:           map[uint64]*remoteClient{},
		mem:            map[string]MemberState{},
		pendingReports: map[uint64]*pending{},
		pendingConf:    map[uint64]int{},
		pendingFull:    map[string]bool{},
		policies:       map[bucket.Policy]*bucket.Policy{},
		aliveSince:     map[string]int64{},
		lastHeard:      map[string]int64{},
		heard:          map[string]*leaseRec{},
		reportedBy:     map[string]bool{},
		echoed:         map[string]int64{},
		expiredMe:      map[string]bool{},
		expiries:       map[string]map[string]leaseNote{},
		reclaimed:      map[string]int64{},
		removed:        map[string]int64{},
		lastLeaseSent:  math.MinInt64,
		silentSince:    math.MaxInt64,
		log:            cfg.Logger,
		act:            activity{changed: make(chan struct{}, 1)},
	}
	if n.log == nil {
		n.log = slog.New(slog.DiscardHandler)
	}
	clk := cfg.Clock
	n.local = func() int64 { return clk.Now().UnixNano() }
	n.fast = n.local
	if nc, ok := cfg.Clock.(nanoClock); ok {
		n.fast = nc.UnixNano
	}
	n.hlc = crdt.NewHLC(n.meshNow, cfg.MaxClockOffset)
	n.audit = newAuditState(n.meshNow(), int64(n.cfg.CapacityPeriod))
	n.holders = []string{cfg.NodeID}
	now := n.meshNow()
	n.startedAt = now
	n.freshAt = now
	n.peerViews = map[string]*viewLog{}
	n.ledgers = map[ledgerKey]*ledgerCell{}
	n.acks = map[string][]wireLedger{}
	n.repLog = map[uint64]*sentPayload{}
	n.repairs = map[string][]uint64{}
	n.repIn = map[string]*repRecv{}
	n.views.inc = now
	n.admitAt = math.MaxInt64
	n.recordView(now)
	if cfg.Capacity > 0 {
		n.pool = bucket.NewEntry(0, "", &bucket.Policy{Period: int64(cfg.CapacityPeriod), Limit: -1}, now)
	}
	n.overflow = bucket.NewEntry(0, "", &bucket.Policy{Period: int64(cfg.DefaultPeriod)}, now)
	n.refreshOverflow(now)
	n.overflow.Cold.Processed = now/n.overflow.Policy().Period - 1
	n.alloc.init(n)
	n.leaseUntil.Store(math.MaxInt64)
	n.checkLease(now)
	return n, nil
}

// Now returns the node's mesh time: its clock plus the offset it adopted
// from the mesh (see Status.ClockOffset). Windows are aligned on it.
func (n *Node) Now() time.Time { return time.Unix(0, n.meshNow()) }

// meshNow is the node's mesh time: its clock plus the adopted offset.
func (n *Node) meshNow() int64 { return n.local() + n.offset.Load() }

// fastNow is meshNow on the clock's cheap reading (nanoClock), for the
// decision paths only: a clock.CoarseClock sleeps when nothing reads it
// that way, so maintenance and gossip, which read meshNow, leave an idle
// node without a ticker. The bucket counts a reading that lags the
// policies in their window.
func (n *Node) fastNow() int64 { return n.fast() + n.offset.Load() }

// ValidateClientID reports why id cannot name a client, or nil. A client ID
// is 1 to MaxClientIDLen bytes of valid UTF-8 without control characters
// (C0, DEL, C1): IDs end up in logs, tables and terminals, where such bytes
// would move the cursor or split a line, and an invalid UTF-8 ID would come
// back from JSON as U+FFFD and could no longer be addressed. The same rule
// holds wherever an ID enters: the Go API, HTTP, the CLI and gossip.
func ValidateClientID(id string) error {
	switch {
	case id == "":
		return errors.New("fairmesh: client ID is empty")
	case len(id) > MaxClientIDLen:
		return fmt.Errorf("fairmesh: client ID is %d bytes, longer than %d", len(id), MaxClientIDLen)
	case !utf8.ValidString(id):
		return errors.New("fairmesh: client ID is not valid UTF-8")
	}
	for i, r := range id {
		if unicode.IsControl(r) {
			return fmt.Errorf("fairmesh: client ID has a control character (%U) at byte %d", r, i)
		}
	}
	return nil
}

// Allow reports whether clientID may make one request now, and counts it.
// An invalid client ID is never allowed.
func (n *Node) Allow(clientID string) bool { return n.Decide(clientID, 1).Allowed }

// AllowN reports whether clientID may make k requests now: all k are
// admitted or none. k <= 0 or an invalid client ID is never allowed.
func (n *Node) AllowN(clientID string, k int) bool { return n.Decide(clientID, k).Allowed }

// Decide is AllowN with the details an API reports to its callers.
func (n *Node) Decide(clientID string, k int) Decision { return n.decide(clientID, k, admitNew) }

// How decide counts (see bucket.Entry's Admit, Retry and Attempt).
const (
	admitNew   = iota // a new request: counted as demand, admitted if it fits
	admitRetry        // a waiting request again: admitted if it fits
	countOnly         // a request that joins a queue: counted, not admitted
)

func (n *Node) decide(clientID string, k int, how int) Decision {
	if k <= 0 || k > MaxRate || clientID == "" || len(clientID) > MaxClientIDLen {
		return Decision{}
	}
	now := n.fastNow()
	if now >= n.leaseUntil.Load() {
		n.catchUp(now)
	} else if now >= n.nextMaintain.Load() {
		n.maintainInline(now)
	}
	h := n.hashID(clientID)
	e := n.table.Lookup(h, clientID)
	if e == nil {
		// Only an ID entering the table is checked in full: one found there
		// passed this check when it entered, so the fast path pays nothing.
		if ValidateClientID(clientID) != nil {
			return Decision{}
		}
		e = n.track(h, clientID, now)
	}
	var d bucket.Decision
	if how == admitNew {
		d = e.Admit(now, uint64(k))
	} else {
		d = admitAs(e, now, uint64(k), how)
	}
	if d.Stale {
		// The policy is more than a window old: this node was paused or
		// starved of CPU, and its rights for this window were never
		// derived. Never decide on them.
		n.catchUp(now)
		if d = admitAs(e, now, uint64(k), how); d.Stale {
			return Decision{}
		}
	}
	if e == n.overflow {
		n.overflowed.Add(uint64(k))
	}
	limit, rem := d.Policy.Limit, int64(d.Remaining)
	if d.Policy.Unlimited {
		limit, rem = -1, -1
	}
	// The window ends ResetNanos from now: derived from it rather than from
	// now/Period, which would name the older window after a clock step back.
	start := now + d.ResetNanos - d.Policy.Period
	return Decision{Allowed: d.Allowed, Limit: limit, Remaining: rem, Reset: time.Duration(d.ResetNanos),
		Period: time.Duration(d.Policy.Period), WindowStart: time.Unix(0, start)}
}

// admitAs counts and admits as how says.
func admitAs(e *bucket.Entry, now int64, k uint64, how int) bucket.Decision {
	switch how {
	case admitRetry:
		return e.Retry(now, k)
	case countOnly:
		return e.Attempt(now, k)
	}
	return e.Admit(now, k)
}

// catchUp brings the node up to date with mesh time now, waiting for the
// lock: its lease, then every policy. Only a node whose lease ran out or
// whose policies are stale (a pause) takes this path.
func (n *Node) catchUp(now int64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	now = max(now, n.meshNow())
	n.checkLease(now)
	n.alloc.dirty = true
	n.maintain(now)
}

// maintainInline runs maintenance from the fast path when nobody drives the
// node; it never waits for the lock, so Allow never blocks on it.
func (n *Node) maintainInline(now int64) {
	if !n.mu.TryLock() {
		return
	}
	defer n.mu.Unlock()
	if now < n.nextMaintain.Load() {
		return
	}
	n.maintain(now)
}

// track returns the entry for a client seen for the first time, creating it
// (the slow path: it takes the node's lock), or the overflow bucket when the
// table is full.
func (n *Node) track(h uint64, id string, now int64) *bucket.Entry {
	// A full table sends unknown clients to the overflow bucket without
	// the lock: a flood of random IDs must not serialise on it.
	if n.table.Len() >= n.table.Max() {
		return n.overflow
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if e := n.table.Lookup(h, id); e != nil {
		return e
	}
	// The node and the mesh key a client's state by its 64-bit hash, so a
	// second ID with a known hash (crafted, most likely: xxhash is not a
	// keyed hash) must not get an entry of its own, nor the first one's
	// config; it shares the overflow bucket with the clients nobody knows.
	if cc := n.conf[h]; (cc != nil && cc.id != id) || n.table.LookupHash(h) != nil {
		n.counters.Collisions++
		return n.overflow
	}
	p := n.newClientPolicy(h, now)
	// The table keeps its own copy: an ID cut from a request buffer must not
	// pin that buffer for as long as the client is tracked.
	e, created, err := n.table.Insert(h, strings.Clone(id), p, now)
	if errors.Is(err, bucket.ErrFull) {
		return n.overflow
	}
	if created {
		if rc := n.peer[h]; rc != nil {
			e.Cold.Share = rc.share
		}
		e.Cold.Processed = now/p.Period - 1
		n.noteBoundary(p.Period, now)
	}
	return e
}

// schedule sets when the fast path next runs maintenance: after
// MaintainInterval, or at the next window boundary if that comes first.
func (n *Node) schedule(now int64) {
	n.nextMaintain.Store(min(now+int64(n.cfg.MaintainInterval), n.sweepAt))
}
