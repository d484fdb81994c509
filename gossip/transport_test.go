package gossip

import (
	"bytes"
	"net"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// Each packet comes in a buffer of its own, of its exact size: memberlist
// keeps what it is handed, so a reused read buffer must never leak into it.
func TestTransportPacketsDoNotShareTheReadBuffer(t *testing.T) {
	a, err := NewTransport("127.0.0.1", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Shutdown()
	b, err := NewTransport("127.0.0.1", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Shutdown()
	to := net.JoinHostPort("127.0.0.1", strconv.Itoa(b.GetAutoBindPort()))
	first, second := bytes.Repeat([]byte{1}, 300), []byte{2, 2, 2}
	for _, p := range [][]byte{first, second} {
		if _, err := a.WriteTo(p, to); err != nil {
			t.Fatal(err)
		}
	}
	var got [][]byte
	for len(got) < 2 {
		select {
		case p := <-b.PacketCh():
			got = append(got, p.Buf)
			if p.From.String() != net.JoinHostPort("127.0.0.1", strconv.Itoa(a.GetAutoBindPort())) {
				t.Errorf("packet from %v, want a's address", p.From)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("received %d of 2 packets on loopback", len(got))
		}
	}
	if !bytes.Equal(got[0], first) || !bytes.Equal(got[1], second) {
		t.Fatalf("packets read back as %v and %v", got[0], got[1])
	}
	if cap(got[0]) != len(first) {
		t.Errorf("a %d-byte packet holds a %d-byte buffer", len(first), cap(got[0]))
	}
}

func TestTransportAdvertise(t *testing.T) {
	wild, err := NewTransport("0.0.0.0", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer wild.Shutdown()
	if _, _, err := wild.FinalAdvertiseAddr("", 0); err == nil {
		t.Error("bound to 0.0.0.0 with no advertise address: no error, a guess")
	}
	ip, port, err := wild.FinalAdvertiseAddr("10.1.2.3", 7000)
	if err != nil || ip.String() != "10.1.2.3" || port != 7000 {
		t.Errorf("advertise 10.1.2.3:7000 gave %v:%d, %v", ip, port, err)
	}
	if _, _, err := wild.FinalAdvertiseAddr("not-an-ip", 7000); err == nil {
		t.Error("a host name accepted as the advertise IP")
	}
	lo, err := NewTransport("127.0.0.1", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lo.Shutdown()
	ip, port, err = lo.FinalAdvertiseAddr("", 0)
	if err != nil || !ip.Equal(net.IPv4(127, 0, 0, 1)) || port != lo.GetAutoBindPort() {
		t.Errorf("bound to loopback, advertises %v:%d, %v", ip, port, err)
	}
	if _, err := NewTransport("localhost", 0, nil); err == nil {
		t.Error("a host name accepted as the bind address")
	}
}

// Shutdown stops both reader goroutines, even with nobody reading the
// channels, and can be called twice.
func TestTransportShutdownLeavesNoGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	tr, err := NewTransport("127.0.0.1", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	to := net.JoinHostPort("127.0.0.1", strconv.Itoa(tr.GetAutoBindPort()))
	if _, err := tr.WriteTo([]byte{9}, to); err != nil { // one packet nobody takes
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", to) // one connection nobody takes
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	time.Sleep(50 * time.Millisecond)
	_ = tr.Shutdown()
	_ = tr.Shutdown()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("%d goroutines after Shutdown, %d before", n, before)
	}
}
