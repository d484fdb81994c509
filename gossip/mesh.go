package gossip

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/memberlist"

	"github.com/fairmesh/fairmesh"
	"github.com/fairmesh/fairmesh/clock"
)

// Mesh is one member of a fairmesh mesh on a real network: a fairmesh.Node
// driven by memberlist and the goroutines described in the package doc. Its
// methods are safe for concurrent use.
type Mesh struct {
	cfg   Config
	node  *fairmesh.Node
	clock fairmesh.Clock
	owned *clock.CoarseClock // the clock, when the Mesh made it
	ml    *memberlist.Memberlist
	in    *inbound
	ev    *events
	live  *liveness
	st    stats
	log   *slog.Logger

	reliable chan reliableSend
	kick     chan struct{}   // the poller tells the ticker the members changed
	paced    chan struct{}   // the ticker tells the poller the pace changed
	quiet    atomic.Bool     // at the quiet pace (quiet.go)
	woke     <-chan struct{} // the clock's: decisions started again (nil: cannot tell)
	closing  atomic.Bool     // set when shutdown begins (see logWriter)

	stop    chan struct{} // closed by Close: every goroutine returns
	wg      sync.WaitGroup
	joined  chan struct{} // closed when the first join ends
	joinErr error         // written before joined is closed

	closeOnce sync.Once
	closeErr  error
}

// New validates cfg, creates the Node and memberlist (which starts
// listening), starts the Mesh's goroutines, and returns without waiting for
// the join, which runs in the background: use WaitJoined to wait for it.
// ctx bounds only that background join (cancel it to stop retrying); the
// Mesh runs until Close. Called from any goroutine; blocks only to bind.
func New(ctx context.Context, cfg Config) (*Mesh, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	cfg.Join = slices.Clone(cfg.Join)
	cfg.SecretKey = slices.Clone(cfg.SecretKey)
	m := &Mesh{
		cfg:      cfg,
		log:      cfg.Logger,
		reliable: make(chan reliableSend, cfg.MaxSendQueue),
		kick:     make(chan struct{}, 1),
		paced:    make(chan struct{}, 1),
		stop:     make(chan struct{}),
		joined:   make(chan struct{}),
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	m.log = m.log.With("node", cfg.NodeID)
	if cfg.Node.Clock == nil {
		m.owned = clock.NewCoarseClock(0)
		cfg.Node.Clock = m.owned
	}
	m.clock = cfg.Node.Clock
	m.woke = clockWakes(m.clock)
	if cfg.Node.HashKey == 0 && len(cfg.SecretKey) > 0 {
		cfg.Node.HashKey = ClientHashKey(cfg.SecretKey)
	}
	if cfg.Node.TableSeed == 0 {
		cfg.Node.TableSeed = randomSeed()
	}
	node, err := fairmesh.NewNode(cfg.Node)
	if err != nil {
		m.stopClock()
		return nil, err
	}
	m.node = node
	m.in = newInbound(cfg.MaxQueue, cfg.MaxQueueBytes, &m.st)
	m.live = newLiveness()
	m.ev = newEvents(&m.st)
	mc := m.memberlistConfig()
	if mc.Transport == nil {
		t, err := NewTransport(cfg.BindAddr, cfg.BindPort, m.log)
		if err != nil {
			m.stopClock()
			return nil, err
		}
		mc.Transport = t
		if mc.BindPort == 0 {
			mc.BindPort = t.GetAutoBindPort()
		}
		if mc.AdvertisePort == 0 {
			mc.AdvertisePort = mc.BindPort
		}
	}
	ml, err := memberlist.Create(mc)
	if err != nil {
		_ = mc.Transport.Shutdown()
		m.stopClock()
		return nil, fmt.Errorf("gossip: starting memberlist: %w", err)
	}
	m.ml = ml
	m.goroutine(func() { m.receive(m.stop) })
	m.goroutine(func() { m.watchMembers(m.stop) })
	m.goroutine(func() { m.tick(m.stop) })
	for range reliableSenders {
		m.goroutine(func() { m.sendReliable(m.stop) })
	}
	m.goroutine(func() { m.join(ctx, m.stop) })
	m.log.Info("gossip: started", "addr", m.Addr(), "encrypted", len(cfg.SecretKey) > 0)
	return m, nil
}

func (m *Mesh) goroutine(f func()) {
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		f()
	}()
}

func (m *Mesh) memberlistConfig() *memberlist.Config {
	c := m.cfg
	mc := memberlist.DefaultLANConfig()
	mc.Name = c.NodeID
	mc.BindAddr, mc.BindPort = c.BindAddr, c.BindPort
	mc.AdvertiseAddr, mc.AdvertisePort = c.AdvertiseAddr, c.AdvertisePort
	if c.Transport != nil {
		mc.Transport = c.Transport
		if p, ok := c.Transport.(interface{ GetAutoBindPort() int }); ok && mc.BindPort == 0 {
			mc.BindPort = p.GetAutoBindPort()
		}
	}
	if mc.AdvertisePort == 0 {
		mc.AdvertisePort = mc.BindPort // memberlist does this itself only for its own transport
	}
	c.Timing.apply(mc)
	mc.PushPullInterval = c.PushPullInterval
	// memberlist's LZW compression (on in its LAN defaults) allocates a
	// large table for every message it sends; the limiter's payloads are
	// msgpack of a few dozen bytes, which it cannot shrink. Off, an idle
	// mesh spends about a fifth less CPU (measured with a profile of an
	// idle 3-node mesh: compressPayload was a quarter of its allocation).
	// Receivers accept either form, so members that still compress are
	// understood.
	mc.EnableCompression = false
	if len(c.SecretKey) > 0 {
		mc.SecretKey = c.SecretKey
		mc.GossipVerifyIncoming, mc.GossipVerifyOutgoing = true, true
	}
	mc.Delegate = &delegate{m: m}
	mc.Events = m.ev
	mc.Logger = log.New(logWriter{log: m.log, closing: &m.closing}, "", 0)
	return mc
}

// Close leaves the mesh gracefully (waiting at most LeaveTimeout for the
// leave message to go out), shuts memberlist down, stops every goroutine
// the Mesh started and waits for them (a reliable send in flight may hold
// it up to Timing.TCPTimeout), then stops the clock it owns. The Node stays
// usable alone: it is told that every member left. Safe to call more than
// once and from any goroutine; later calls return the first result.
func (m *Mesh) Close() error { return m.shutdown(true) }

// shutdown is Close, with or without the graceful leave: without it the
// others see a crash (tests use it to kill a node).
func (m *Mesh) shutdown(leave bool) error {
	m.closeOnce.Do(func() {
		m.closing.Store(true)
		if leave {
			m.announceLeave()
		}
		close(m.stop)
		var errs []error
		if leave {
			if err := m.ml.Leave(m.cfg.LeaveTimeout); err != nil {
				errs = append(errs, fmt.Errorf("gossip: leave: %w", err))
			}
		}
		if err := m.ml.Shutdown(); err != nil {
			errs = append(errs, fmt.Errorf("gossip: shutdown: %w", err))
		}
		m.wg.Wait()
		// Alone now: the Node stops reserving slices for the others.
		for _, mem := range m.node.Status().Members {
			m.node.SetMember(mem.ID, fairmesh.MemberLeft)
		}
		m.stopClock()
		m.closeErr = errors.Join(errs...)
		m.log.Info("gossip: closed", "left", leave)
	})
	return m.closeErr
}

// announceLeave tells every member, best effort, that this node is leaving,
// so that they record it as left rather than dead (see liveness.go).
func (m *Mesh) announceLeave() {
	env := encodeLeave(m.cfg.NodeID)
	for _, n := range m.ev.nodes() {
		if n.Name != m.cfg.NodeID {
			_ = m.ml.SendBestEffort(&n, env)
		}
	}
}

func (m *Mesh) stopClock() {
	if m.owned != nil {
		m.owned.Stop()
	}
}

// Node returns the Mesh's Node, for callers that need it whole (the HTTP
// API). Do not call Tick, Receive or SetMember on it: the Mesh does.
func (m *Mesh) Node() *fairmesh.Node { return m.node }

// Addr returns the address other members reach this one at ("ip:port"),
// with the port memberlist actually bound. Never blocks.
func (m *Mesh) Addr() string {
	n, _ := m.ev.node(m.cfg.NodeID)
	return n.Address()
}

// MemberInfo is one member of the mesh as memberlist sees it.
type MemberInfo struct {
	ID    string
	Addr  string // "ip:port"
	State fairmesh.MemberState
}

// Members returns the members memberlist considers alive or suspect, this
// node included, sorted by ID, each with the state the Node was last told
// (alive until the poller has seen it). Dead and left members are not
// listed (the Node's Status keeps them). Called from any goroutine; takes
// the Node's lock briefly.
func (m *Mesh) Members() []MemberInfo {
	states := map[string]fairmesh.MemberState{}
	for _, mem := range m.node.Status().Members {
		states[mem.ID] = mem.State
	}
	var out []MemberInfo
	for _, n := range m.ev.nodes() {
		out = append(out, MemberInfo{ID: n.Name, Addr: n.Address(), State: states[n.Name]})
	}
	return out
}

// Stats returns the runtime's counts. Never blocks.
func (m *Mesh) Stats() Stats { return m.st.snapshot() }
