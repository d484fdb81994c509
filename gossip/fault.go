package gossip

import (
	"errors"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// FaultNet is a test tool: a set of network faults shared by the
// FaultTransports made from it, so that an in-process test can partition,
// delay or degrade a mesh of real memberlist nodes on loopback. Faults apply
// where traffic leaves a node: UDP packets are dropped or delayed, TCP dials
// fail at once (as if refused) when either direction of the link is cut.
// Connections already open are not cut; memberlist opens one per exchange.
// Addresses are "ip:port" as memberlist dials them (FaultTransport.Addr).
// Its methods are safe for concurrent use.
type FaultNet struct {
	mu      sync.Mutex
	rnd     *rand.Rand
	group   map[string]int     // partition group of an address
	cut     map[[2]string]bool // directed links cut
	loss    float64
	delay   time.Duration
	jitter  time.Duration
	mtu     int
	pending atomic.Int64 // delayed packets not yet written

	dropped, delayed, oversize, refused atomic.Uint64
}

// FaultStats counts what a FaultNet did.
type FaultStats struct {
	Dropped  uint64 // UDP packets dropped (cut, partition or loss)
	Delayed  uint64 // UDP packets delayed
	Oversize uint64 // UDP packets dropped for exceeding the MTU
	Refused  uint64 // TCP dials refused (cut or partition)
}

// maxDelayed bounds the packets a FaultNet holds back at once; past it,
// delayed packets are dropped.
const maxDelayed = 10000

// NewFaultNet returns a FaultNet with no faults, whose loss and jitter draw
// from a source seeded with seed.
func NewFaultNet(seed uint64) *FaultNet {
	return &FaultNet{
		rnd:   rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		group: map[string]int{},
		cut:   map[[2]string]bool{},
	}
}

// Transport binds a Transport on bindAddr:bindPort (0: a free port) and
// wraps it in a FaultTransport subject to this FaultNet. Pass it as
// Config.Transport, with AdvertiseAddr equal to bindAddr.
func (f *FaultNet) Transport(bindAddr string, bindPort int) (*FaultTransport, error) {
	nt, err := NewTransport(bindAddr, bindPort, nil)
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort(bindAddr, strconv.Itoa(nt.GetAutoBindPort()))
	return &FaultTransport{net: f, inner: nt, addr: addr}, nil
}

// Partition splits the listed addresses into groups that cannot reach each
// other, replacing any earlier partition. Addresses not listed reach and
// are reached by everyone.
func (f *FaultNet) Partition(groups ...[]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.group)
	for i, g := range groups {
		for _, a := range g {
			f.group[a] = i + 1
		}
	}
}

// Cut cuts the link from one address to another, in that direction only.
func (f *FaultNet) Cut(from, to string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cut[[2]string{from, to}] = true
}

// Heal removes every partition and cut; loss, delay and MTU stay.
func (f *FaultNet) Heal() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.group)
	clear(f.cut)
}

// SetLoss drops each UDP packet with probability p (0 ≤ p ≤ 1).
func (f *FaultNet) SetLoss(p float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.loss = min(max(p, 0), 1)
}

// SetDelay holds each UDP packet back by d plus a uniform jitter in
// [0, jitter), which reorders them, and each TCP dial by d.
func (f *FaultNet) SetDelay(d, jitter time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.delay, f.jitter = max(d, 0), max(jitter, 0)
}

// SetMTU drops UDP packets longer than n bytes, as a real network would
// (0: no limit; loopback takes 64 KiB).
func (f *FaultNet) SetMTU(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mtu = n
}

// Stats returns what the FaultNet has done so far.
func (f *FaultNet) Stats() FaultStats {
	return FaultStats{Dropped: f.dropped.Load(), Delayed: f.delayed.Load(), Oversize: f.oversize.Load(), Refused: f.refused.Load()}
}

// blockedLocked reports whether traffic from → to is cut. f.mu is held.
func (f *FaultNet) blockedLocked(from, to string) bool {
	if f.cut[[2]string{from, to}] {
		return true
	}
	gf, gt := f.group[from], f.group[to]
	return gf != 0 && gt != 0 && gf != gt
}

// packet decides the fate of one UDP packet: drop, or send after delay.
func (f *FaultNet) packet(from, to string, size int) (drop bool, delay time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.mtu > 0 && size > f.mtu:
		f.oversize.Add(1)
		return true, 0
	case f.blockedLocked(from, to), f.loss > 0 && f.rnd.Float64() < f.loss:
		f.dropped.Add(1)
		return true, 0
	}
	delay = f.delay
	if f.jitter > 0 {
		delay += time.Duration(f.rnd.Int64N(int64(f.jitter)))
	}
	return false, delay
}

// dial decides the fate of one TCP dial.
func (f *FaultNet) dial(from, to string) (refuse bool, delay time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.blockedLocked(from, to) || f.blockedLocked(to, from) {
		f.refused.Add(1)
		return true, 0
	}
	return false, f.delay
}

// errLinkCut is what a dial over a cut link returns.
var errLinkCut = errors.New("gossip: fault injection: link cut")

// FaultTransport is a test tool: a memberlist.NodeAwareTransport over a
// real Transport whose outgoing traffic is subject to its FaultNet. Make
// one with FaultNet.Transport. memberlist calls it from its own goroutines.
type FaultTransport struct {
	net    *FaultNet
	inner  *Transport
	addr   string
	closed atomic.Bool
}

var _ memberlist.NodeAwareTransport = (*FaultTransport)(nil)

// Addr returns the transport's "ip:port", the key of its FaultNet rules.
func (t *FaultTransport) Addr() string { return t.addr }

// GetAutoBindPort returns the port bound (New reads it when BindPort is 0).
func (t *FaultTransport) GetAutoBindPort() int { return t.inner.GetAutoBindPort() }

// FinalAdvertiseAddr is the inner transport's.
func (t *FaultTransport) FinalAdvertiseAddr(ip string, port int) (net.IP, int, error) {
	return t.inner.FinalAdvertiseAddr(ip, port)
}

// WriteTo sends a UDP packet, subject to the faults.
func (t *FaultTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	return t.WriteToAddress(b, memberlist.Address{Addr: addr})
}

// WriteToAddress sends a UDP packet, subject to the faults. A dropped packet
// reports success, like a lost one; a delayed one is copied and written
// later from a timer, unless the transport has shut down.
func (t *FaultTransport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	drop, delay := t.net.packet(t.addr, a.Addr, len(b))
	switch {
	case drop:
		return time.Now(), nil
	case delay <= 0:
		return t.inner.WriteToAddress(b, a)
	case t.net.pending.Add(1) > maxDelayed:
		t.net.pending.Add(-1)
		t.net.dropped.Add(1)
		return time.Now(), nil
	}
	t.net.delayed.Add(1)
	cp := append([]byte(nil), b...)
	time.AfterFunc(delay, func() {
		defer t.net.pending.Add(-1)
		if !t.closed.Load() {
			_, _ = t.inner.WriteToAddress(cp, a)
		}
	})
	return time.Now(), nil
}

// PacketCh is the inner transport's.
func (t *FaultTransport) PacketCh() <-chan *memberlist.Packet { return t.inner.PacketCh() }

// DialTimeout dials TCP, subject to the faults.
func (t *FaultTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return t.DialAddressTimeout(memberlist.Address{Addr: addr}, timeout)
}

// DialAddressTimeout dials TCP, subject to the faults: refused at once over
// a cut link, after the FaultNet's delay (within timeout) otherwise.
func (t *FaultTransport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	refuse, delay := t.net.dial(t.addr, a.Addr)
	if refuse {
		return nil, errLinkCut
	}
	if delay > 0 {
		if delay >= timeout {
			time.Sleep(timeout)
			return nil, errors.New("gossip: fault injection: dial timed out")
		}
		time.Sleep(delay)
		timeout -= delay
	}
	return t.inner.DialAddressTimeout(a, timeout)
}

// StreamCh is the inner transport's.
func (t *FaultTransport) StreamCh() <-chan net.Conn { return t.inner.StreamCh() }

// Shutdown stops delayed packets from being written and shuts the inner
// transport down.
func (t *FaultTransport) Shutdown() error {
	t.closed.Store(true)
	return t.inner.Shutdown()
}
