package gossip

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// Transport is memberlist's UDP and TCP transport on one address, like
// memberlist.NetTransport but for what an idle mesh pays: NetTransport
// allocates (and zeroes) a fresh 64 KiB buffer for every UDP packet it
// reads, so that a node receiving a few dozen packets a second of under
// 200 bytes each made megabytes of garbage a second, and the collector's
// work was a third of an idle node's CPU (measured with perf on an idle
// 3-node mesh). This one reads into one buffer and hands memberlist a copy
// of the packet's exact size. Its methods are safe for concurrent use.
type Transport struct {
	tcp      *net.TCPListener
	udp      *net.UDPConn
	port     int
	packetCh chan *memberlist.Packet
	streamCh chan net.Conn
	stop     chan struct{}
	wg       sync.WaitGroup
	closed   atomic.Bool
	once     sync.Once
	log      *slog.Logger
}

var _ memberlist.NodeAwareTransport = (*Transport)(nil)

// Bounds of UDP packets and of the socket's receive buffer.
const (
	// maxUDPPacket is the largest UDP datagram: a read never truncates.
	maxUDPPacket = 65536
	// udpReadBuffer is the kernel receive buffer asked for, halved until
	// the kernel accepts it: bursts of gossip queue there, not on the
	// floor, while the reader is descheduled.
	udpReadBuffer = 2 << 20
)

// NewTransport listens for TCP and UDP on bindAddr:bindPort (port 0: a
// free one, the same for both; read it with GetAutoBindPort). log receives
// accept and read errors (nil: discarded). Shutdown releases everything.
func NewTransport(bindAddr string, bindPort int, log *slog.Logger) (*Transport, error) {
	ip := net.ParseIP(bindAddr)
	if ip == nil {
		return nil, fmt.Errorf("gossip: bind address %q is not an IP address", bindAddr)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tcp, err := net.ListenTCP("tcp", &net.TCPAddr{IP: ip, Port: bindPort})
	if err != nil {
		return nil, fmt.Errorf("gossip: TCP listener on %s: %w", net.JoinHostPort(bindAddr, strconv.Itoa(bindPort)), err)
	}
	port := tcp.Addr().(*net.TCPAddr).Port
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip, Port: port})
	if err != nil {
		_ = tcp.Close()
		return nil, fmt.Errorf("gossip: UDP listener on %s: %w", net.JoinHostPort(bindAddr, strconv.Itoa(port)), err)
	}
	for size := udpReadBuffer; size > 0; size /= 2 {
		if udp.SetReadBuffer(size) == nil {
			break
		}
	}
	t := &Transport{
		tcp: tcp, udp: udp, port: port,
		packetCh: make(chan *memberlist.Packet),
		streamCh: make(chan net.Conn),
		stop:     make(chan struct{}),
		log:      log,
	}
	t.wg.Add(2)
	go t.acceptLoop()
	go t.readLoop()
	return t, nil
}

// GetAutoBindPort returns the port bound, TCP and UDP.
func (t *Transport) GetAutoBindPort() int { return t.port }

// FinalAdvertiseAddr returns ip:port when ip is given, else the bound
// address and port. Bound to 0.0.0.0 or :: it does not guess which of the
// host's addresses the others can reach: it asks for one.
func (t *Transport) FinalAdvertiseAddr(ip string, port int) (net.IP, int, error) {
	if ip != "" {
		a := net.ParseIP(ip)
		if a == nil {
			return nil, 0, fmt.Errorf("gossip: advertise address %q is not an IP address", ip)
		}
		if a4 := a.To4(); a4 != nil {
			a = a4
		}
		return a, port, nil
	}
	bound := t.tcp.Addr().(*net.TCPAddr).IP
	if bound.IsUnspecified() {
		return nil, 0, errors.New("gossip: bound to every address: set AdvertiseAddr to the one the other members can reach")
	}
	return bound, t.port, nil
}

// WriteTo sends one UDP packet to addr ("ip:port").
func (t *Transport) WriteTo(b []byte, addr string) (time.Time, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return time.Time{}, err
	}
	_, err = t.udp.WriteTo(b, ua)
	return time.Now(), err
}

// WriteToAddress is WriteTo to a.Addr.
func (t *Transport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	return t.WriteTo(b, a.Addr)
}

// PacketCh delivers the UDP packets read, each in a buffer of its own.
func (t *Transport) PacketCh() <-chan *memberlist.Packet { return t.packetCh }

// DialTimeout opens a TCP connection to addr within timeout.
func (t *Transport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	d := net.Dialer{Timeout: timeout}
	return d.Dial("tcp", addr)
}

// DialAddressTimeout is DialTimeout to a.Addr.
func (t *Transport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	return t.DialTimeout(a.Addr, timeout)
}

// StreamCh delivers the TCP connections accepted.
func (t *Transport) StreamCh() <-chan net.Conn { return t.streamCh }

// Shutdown closes both sockets and waits for the two goroutines reading
// them. Safe to call more than once.
func (t *Transport) Shutdown() error {
	t.once.Do(func() {
		t.closed.Store(true)
		close(t.stop)
		_ = t.tcp.Close()
		_ = t.udp.Close()
	})
	t.wg.Wait()
	return nil
}

// acceptLoop hands accepted connections to memberlist until Shutdown. A
// failing Accept (out of file descriptors, say) is retried after a pause
// that doubles from 5 ms to 1 s, so that it neither spins nor stalls long.
func (t *Transport) acceptLoop() {
	defer t.wg.Done()
	var pause time.Duration
	for {
		conn, err := t.tcp.AcceptTCP()
		if err != nil {
			if t.closed.Load() {
				return
			}
			pause = min(max(2*pause, 5*time.Millisecond), time.Second)
			t.log.Warn("gossip: accepting a TCP connection", "err", err, "retry_in", pause)
			select {
			case <-t.stop:
				return
			case <-time.After(pause):
			}
			continue
		}
		pause = 0
		select {
		case t.streamCh <- conn:
		case <-t.stop:
			_ = conn.Close()
			return
		}
	}
}

// readLoop reads UDP packets into one buffer and hands memberlist an
// exact-size copy of each (memberlist keeps the buffer it is given), until
// Shutdown. Empty datagrams are dropped: no memberlist message is empty.
func (t *Transport) readLoop() {
	defer t.wg.Done()
	buf := make([]byte, maxUDPPacket)
	for {
		n, from, err := t.udp.ReadFrom(buf)
		at := time.Now() // as close to the read as can be: memberlist times probes with it
		if err != nil {
			if t.closed.Load() {
				return
			}
			t.log.Warn("gossip: reading a UDP packet", "err", err)
			continue
		}
		if n < 1 {
			continue
		}
		own := make([]byte, n)
		copy(own, buf)
		p := &memberlist.Packet{Buf: own, From: from, Timestamp: at}
		select {
		case t.packetCh <- p:
		case <-t.stop:
			return
		}
	}
}
