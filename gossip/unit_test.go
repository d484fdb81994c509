package gossip

import (
	"bytes"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fairmesh/fairmesh"
)

func TestLogWriterDropsDebug(t *testing.T) {
	var out bytes.Buffer
	w := logWriter{log: slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	for _, l := range []string{
		"[DEBUG] memberlist: Stream connection from=127.0.0.1:5\n",
		"[INFO] memberlist: Suspect n2 has failed\n",
		"[WARN] memberlist: Refuting a suspect message\n",
		"[ERR] memberlist: Push/Pull failed\n",
		"no tag at all\n",
	} {
		w.Write([]byte(l))
	}
	got := out.String()
	if strings.Contains(got, "Stream connection") {
		t.Errorf("a [DEBUG] line got through:\n%s", got)
	}
	for _, want := range []string{"level=INFO msg=\"memberlist: Suspect", "level=WARN msg=\"memberlist: Refuting", "level=ERROR msg=\"memberlist: Push/Pull", "level=INFO msg=\"no tag"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
}

// While the Mesh runs, a send on a closed socket is an error; once it is
// closing, that is the shutdown itself and is logged at debug level.
func TestLogWriterQuietsClosedSocketsOnlyWhenClosing(t *testing.T) {
	var out bytes.Buffer
	var closing atomic.Bool
	w := logWriter{log: slog.New(slog.NewTextHandler(&out, nil)), closing: &closing}
	line := "[ERR] memberlist: Failed to send gossip to 127.0.0.1:1: write udp: use of closed network connection\n"
	w.Write([]byte(line))
	if !strings.Contains(out.String(), "level=ERROR") {
		t.Fatalf("while running: %q", out.String())
	}
	out.Reset()
	closing.Store(true)
	w.Write([]byte(line))
	w.Write([]byte("[ERR] memberlist: Push/Pull failed\n"))
	if got := out.String(); strings.Contains(got, "closed network connection") || !strings.Contains(got, "level=ERROR msg=\"memberlist: Push/Pull") {
		t.Fatalf("while closing, only the closed socket is quieted: %q", got)
	}
}

func TestConfigValidate(t *testing.T) {
	ok := DefaultConfig()
	ok.NodeID = "n1"
	if err := ok.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	if c := (Config{NodeID: "n1"}).withDefaults(); c.Node.MaxMessageBytes != 1350-envelopeOverhead("n1") || c.SuspectAfter != time.Second || c.Timing != LANTiming() {
		t.Errorf("zero fields do not take the defaults: %+v", c)
	}
	for name, mod := range map[string]func(*Config){
		"long NodeID":        func(c *Config) { c.NodeID = strings.Repeat("n", 257) },
		"other Node.NodeID":  func(c *Config) { c.Node.NodeID = "n2" },
		"bind addr":          func(c *Config) { c.BindAddr = "localhost" },
		"port":               func(c *Config) { c.BindPort = 70000 },
		"key size":           func(c *Config) { c.SecretKey = make([]byte, 15) },
		"tiny packets":       func(c *Config) { c.MaxPacketBytes = 100 },
		"huge state":         func(c *Config) { c.MaxStateBytes = 30 << 20 },
		"queue":              func(c *Config) { c.MaxQueue = -1 },
		"suspect too soon":   func(c *Config) { c.SuspectAfter = c.GossipInterval },
		"probe timeout":      func(c *Config) { c.Timing.ProbeTimeout = c.Timing.ProbeInterval },
		"bad node config":    func(c *Config) { c.Node.Capacity = -1 },
		"negative join time": func(c *Config) { c.JoinTimeout = -time.Second },
	} {
		c := ok
		mod(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: no error", name)
		} else if !strings.HasPrefix(err.Error(), "gossip: ") && !strings.HasPrefix(err.Error(), "fairmesh: ") {
			t.Errorf("%s: error without a package prefix: %v", name, err)
		}
	}
}

func TestInboundBoundsAndCounts(t *testing.T) {
	var st stats
	q := newInbound(2, 1<<20, &st)
	buf := encodeMessage("n2", []byte{1, 2, 3})
	for range 3 {
		q.offer(buf)
	}
	q.offer([]byte("garbage"))
	buf[len(buf)-1] = 9 // the queue holds a copy
	if s := st.snapshot(); s.Received != 2 || s.QueueDrops != 1 || s.Garbage != 1 {
		t.Errorf("stats %+v", s)
	}
	if it := <-q.ch; it.env.payloads[0][2] != 3 {
		t.Error("the queue kept memberlist's buffer instead of a copy")
	}
	small := newInbound(10, 10, &st)
	small.offer(encodeMessage("n2", bytes.Repeat([]byte{1}, 20)))
	if len(small.ch) != 0 || small.bytes.Load() != 0 {
		t.Error("the byte bound did not hold")
	}
}

func TestFaultNetRules(t *testing.T) {
	f := NewFaultNet(3)
	a, b, c := "127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"
	f.Partition([]string{a}, []string{b})
	if drop, _ := f.packet(a, b, 10); !drop {
		t.Error("partitioned packet went through")
	}
	if drop, _ := f.packet(a, c, 10); drop {
		t.Error("a packet to an address in no group was dropped")
	}
	if refuse, _ := f.dial(b, a); !refuse {
		t.Error("partitioned dial went through")
	}
	f.Heal()
	f.Cut(a, b)
	if drop, _ := f.packet(b, a, 10); drop {
		t.Error("a one-way cut dropped the other direction")
	}
	if refuse, _ := f.dial(b, a); !refuse {
		t.Error("a TCP dial over a half-cut link went through")
	}
	f.Heal()
	f.SetMTU(100)
	if drop, _ := f.packet(a, b, 101); !drop {
		t.Error("oversized packet went through")
	}
	f.SetMTU(0)
	f.SetLoss(0.5)
	dropped := 0
	for range 1000 {
		if drop, _ := f.packet(a, b, 10); drop {
			dropped++
		}
	}
	if dropped < 400 || dropped > 600 {
		t.Errorf("loss 0.5 dropped %d of 1000", dropped)
	}
	if s := f.Stats(); s.Oversize != 1 || s.Refused != 2 {
		t.Errorf("stats %+v", s)
	}
}

// TestNodeMessagesFitOnePacket: with the defaults, every payload the Node
// produces, enveloped, fits MaxPacketBytes, so it goes by UDP.
func TestNodeMessagesFitOnePacket(t *testing.T) {
	cfg := Config{NodeID: strings.Repeat("n", 256)}.withDefaults()
	n, err := fairmesh.NewNode(cfg.Node)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2000 {
		must(t, n.UpdateClientWeight(strings.Repeat("c", 200)+string(rune('a'+i%26))+strings.Repeat("x", i%50), 1+i%7))
	}
	n.SetMember("other", fairmesh.MemberAlive)
	for _, m := range n.Tick(time.Now()) {
		if l := len(encodeMessage(cfg.NodeID, m.Payload)); l > cfg.MaxPacketBytes {
			t.Fatalf("enveloped payload of %d bytes, MaxPacketBytes %d", l, cfg.MaxPacketBytes)
		}
	}
}
