package fairmesh

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/fairmesh/fairmesh/clock"
	"github.com/fairmesh/fairmesh/crdt"
)

var testStamp = crdt.Timestamp{WallTime: 1_800_000_000_123_456_789, Logical: 7}

func TestReportsRoundTripAndSplit(t *testing.T) {
	var rs []wireReport
	for i := range 500 {
		rs = append(rs, wireReport{hash: uint64(i) * 0x9E3779B97F4A7C15, window: 1_800_000_000 + int64(i), demand: uint64(i * 48), admitted: uint64(i)})
	}
	payloads := reportPayloads(1350, testStamp, rs)
	require.Greater(t, len(payloads), 1, "500 reports do not fit one packet")
	var got []wireReport
	for _, p := range payloads {
		require.LessOrEqual(t, len(p), 1350)
		m, err := decodeMessage(p)
		require.NoError(t, err)
		require.Equal(t, uint64(msgReports), m.typ)
		require.Equal(t, testStamp, m.stamp)
		got = append(got, m.reports...)
	}
	require.Equal(t, rs, got)
}

func TestBeaconCarriesOnlyTheStamp(t *testing.T) {
	m, err := decodeMessage(encodeBeacon(testStamp, 0))
	require.NoError(t, err)
	require.Equal(t, testStamp, m.stamp)
	require.Empty(t, m.reports)
}

func TestConfigRoundTrip(t *testing.T) {
	cs := []wireConfig{
		{id: "gold", kind: kindWeight, v1: 3, stamp: testStamp, node: "n1"},
		{id: "api", kind: kindLimit, v1: 200, v2: int64(time.Second), stamp: crdt.Timestamp{WallTime: 5, Logical: 1}, node: "n5"},
	}
	payloads := configPayloads(1350, testStamp, cs)
	require.Len(t, payloads, 1)
	m, err := decodeMessage(payloads[0])
	require.NoError(t, err)
	require.Equal(t, cs, m.configs)
}

// The wire format is plain msgpack: a generic decoder reads it as one
// flat array, and our decoder reads what a generic encoder wrote.
func TestWireIsMsgpack(t *testing.T) {
	p := reportPayloads(1350, testStamp, []wireReport{{hash: 1 << 63, window: 2, demand: 3, admitted: 1}})[0]
	var generic []any
	require.NoError(t, msgpack.Unmarshal(p, &generic))
	require.Len(t, generic, 9)

	b, err := msgpack.Marshal([]any{wireVersion, 1, testStamp.WallTime, 7, 5, uint64(1 << 63), 2, 3, 1})
	require.NoError(t, err)
	m, err := decodeMessage(b)
	require.NoError(t, err)
	require.Equal(t, []wireReport{{hash: 1 << 63, window: 2, demand: 3, admitted: 1}}, m.reports)
}

func TestDecodeRejects(t *testing.T) {
	enc := func(v ...any) []byte {
		b, err := msgpack.Marshal(v)
		require.NoError(t, err)
		return b
	}
	long := string(make([]byte, MaxClientIDLen+1))
	cases := map[string][]byte{
		// An array header claiming four billion elements: msgpack/v5
		// aborts the process on it; we must refuse it.
		"huge array header":   {0xdd, 0xff, 0xff, 0xff, 0xff},
		"huge string header":  append(enc(wireVersion, 2, 1, 0)[:0:0], 0x97, 1, 2, 1, 0, 0xdb, 0xff, 0xff, 0xff, 0xff),
		"empty":               {},
		"not an array":        {0x01},
		"short header":        enc(wireVersion, 1),
		"unknown version":     enc(wireVersion+1, 1, 1, 0),
		"old version":         enc(wireVersion-1, 1, 1, 0),
		"unknown type":        enc(wireVersion, 9, 1, 0),
		"partial report":      enc(wireVersion, 1, 1, 0, 5, 6),
		"negative window":     enc(wireVersion, 1, 1, 0, 5, -1, 1, 1),
		"count out of range":  enc(wireVersion, 1, 1, 0, 5, 1, 1, 1<<40),
		"string as hash":      enc(wireVersion, 1, 1, 0, "x", 1, 1, 1),
		"trailing bytes":      append(enc(wireVersion, 1, 1, 0, 5, 1, 1, 1), 0x00),
		"negative weight":     enc(wireVersion, 2, 1, 0, "a", kindWeight, -1, 0, 1, 0, "n"),
		"huge weight":         enc(wireVersion, 2, 1, 0, "a", kindWeight, MaxWeight+1, 0, 1, 0, "n"),
		"period too short":    enc(wireVersion, 2, 1, 0, "a", kindLimit, 10, 1, 1, 0, "n"),
		"empty client":        enc(wireVersion, 2, 1, 0, "", kindWeight, 1, 0, 1, 0, "n"),
		"long client":         enc(wireVersion, 2, 1, 0, long, kindWeight, 1, 0, 1, 0, "n"),
		"unstamped config":    enc(wireVersion, 2, 1, 0, "a", kindWeight, 1, 0, 0, 0, "n"),
		"unknown config kind": enc(wireVersion, 2, 1, 0, "a", 9, 1, 0, 1, 0, "n"),
		"oversized":           make([]byte, MaxPayloadBytes+1),
	}
	for name, b := range cases {
		_, err := decodeMessage(b)
		require.Error(t, err, name)
	}
}

// A node that receives garbage drops it, counts it and changes nothing.
func TestReceiveGarbageChangesNothing(t *testing.T) {
	n, err := NewNode(Config{NodeID: "n1", Clock: fixedClock(time.Unix(1_800_000_000, 0))})
	require.NoError(t, err)
	n.SetMember("n2", MemberAlive)
	require.NoError(t, n.UpdateClientWeight("a", 3))
	before, _ := n.Client("a")
	for _, b := range [][]byte{{0xdd, 0xff, 0xff, 0xff, 0xff}, {0xc1}, nil} {
		require.ErrorIs(t, n.Receive("n2", b), ErrDropped)
	}
	after, _ := n.Client("a")
	require.Equal(t, before, after)
	require.Equal(t, uint64(3), n.Status().Counters.DroppedMessages)
}

type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }

// fuzzSeeds are one well-formed payload of every type.
func fuzzSeeds() [][]byte {
	return [][]byte{
		{0xdd, 0xff, 0xff, 0xff, 0xff},
		reportPayloads(1350, testStamp, []wireReport{{hash: 1, window: 2, demand: 3, admitted: 1}})[0],
		configPayloads(1350, testStamp, []wireConfig{{id: "a", kind: kindLimit, v1: 5, v2: int64(time.Second), stamp: testStamp, node: "n"}})[0],
		encodeView(1350, testStamp, 7, viewEntry{seq: 2, since: 9, members: []member{{"n1", 0}, {"n2", 7}}}),
		encodeLedger(1350, testStamp, []wireLedger{
			{hash: 1, window: 3, kind: ledgerWant, from: "n2#7", value: 4},
			{hash: 1, window: 3, kind: ledgerTransfer, from: "n2#7", to: "n1#1800000000000000000", value: 2},
			{hash: 1, window: 3, kind: ledgerAck, from: "n1#1800000000000000000", to: "n2#7", value: 2},
		})[0],
		encodeAudit(1350, testStamp, 1_800_000_000, 1_800_000_004, []uint64{0, 250, 1000}),
	}
}

func FuzzDecodeMessage(f *testing.F) {
	for _, b := range fuzzSeeds() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMessage(b)
		if err != nil {
			return
		}
		// What decodes re-encodes to a payload that decodes the same.
		var again [][]byte
		switch m.typ {
		case msgReports:
			again = reportPayloadsFrom(MaxPayloadBytes, m.stamp, m.seq, m.reports)
		case msgConfig:
			again, _ = encodeConfigs(MaxPayloadBytes, m.stamp, m.seq, m.configs)
		case msgView:
			again = [][]byte{encodeView(MaxPayloadBytes, m.stamp, m.view.inc, m.view.entry)}
		case msgLedger:
			again = encodeLedger(MaxPayloadBytes, m.stamp, m.ledger)
		case msgAudit:
			counts := make([]uint64, len(m.audit.counts))
			for i, c := range m.audit.counts {
				counts[i] = uint64(c[1])
			}
			base := m.audit.first
			if len(m.audit.counts) > 0 {
				base = m.audit.counts[0][0]
			}
			again = [][]byte{encodeAudit(MaxPayloadBytes, m.stamp, m.audit.first, base, counts)}
		}
		for _, p := range again {
			m2, err := decodeMessage(p)
			if err != nil {
				t.Fatalf("re-encoded message does not decode: %v", err)
			}
			if len(m2.reports) != len(m.reports) || len(m2.configs) != len(m.configs) || len(m2.ledger) != len(m.ledger) ||
				(m.audit != nil && (m2.audit == nil || len(m2.audit.counts) != len(m.audit.counts))) ||
				(m.view != nil && (m2.view == nil || len(m2.view.entry.members) != len(m.view.entry.members))) {
				t.Fatalf("round trip changed the entry count")
			}
		}
	})
}

// FuzzReceive feeds arbitrary bytes to a live node: it must never panic
// and must keep admitting its known client as before.
func FuzzReceive(f *testing.F) {
	for _, b := range fuzzSeeds() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := NewNode(Config{NodeID: "n1", Clock: fixedClock(time.Unix(1_800_000_000, 0))})
		if err != nil {
			t.Fatal(err)
		}
		n.SetMember("n2", MemberAlive)
		if err := n.UpdateClientRateLimit("known", 1, time.Second); err != nil {
			t.Fatal(err)
		}
		_ = n.Receive("n2", b)
		if err := n.CheckInvariants(); err != nil {
			t.Fatal(err)
		}
	})
}

// A config entry stamped far in the future would win every LWW race for its
// client forever: it is refused and counted.
func TestConfigFromTheFarFutureIsRefused(t *testing.T) {
	base := time.Unix(1_800_000_000, 0)
	n, err := NewNode(Config{NodeID: "n1", Clock: fixedClock(base)})
	require.NoError(t, err)
	n.SetMember("n2", MemberAlive)
	header := crdt.Timestamp{WallTime: base.UnixNano()}
	future := crdt.Timestamp{WallTime: base.Add(time.Hour).UnixNano()}
	p := configPayloads(1350, header, []wireConfig{{id: "a", kind: kindWeight, v1: 9, stamp: future, node: "n2"}})[0]
	require.NoError(t, n.Receive("n2", p))
	st, _ := n.Client("a")
	require.Equal(t, 1, st.Config.Weight, "not merged")
	require.Equal(t, uint64(1), n.Status().Counters.ClockOffsetRejects)
	require.NoError(t, n.UpdateClientWeight("a", 2))
	st, _ = n.Client("a")
	require.Equal(t, 2, st.Config.Weight, "a local write still wins")
}

// Peers cannot grow a node's memory past its bound with reports.
func TestReportsFromPeersAreBounded(t *testing.T) {
	n, err := NewNode(Config{NodeID: "n1", MaxClients: 10, Clock: fixedClock(time.Unix(1_800_000_000, 0))})
	require.NoError(t, err)
	n.SetMember("n2", MemberAlive)
	var rs []wireReport
	for i := range 50 {
		rs = append(rs, wireReport{hash: uint64(i + 1), window: 1, demand: 16})
	}
	for _, p := range reportPayloads(1350, testStamp, rs) {
		require.NoError(t, n.Receive("n2", p))
	}
	require.Equal(t, uint64(40), n.Status().Counters.DroppedReports)
}

// A burst of new clients does not make one tick's gossip unbounded: at most
// MaxReportsPerTick clients are reported per tick, the rest in later ticks.
func TestReportsPerTickAreBounded(t *testing.T) {
	base := time.Unix(1_800_000_000, 0)
	clk := clock.NewManualClock(base)
	n, err := NewNode(Config{NodeID: "n1", Clock: clk, MaxReportsPerTick: 100})
	require.NoError(t, err)
	n.SetMember("n2", MemberAlive)
	n.Tick(clk.Now()) // the full state owed to the new member
	for i := range 1000 {
		id := fmt.Sprintf("client-%d", i)
		// At least 4 requests: fewer wait for a second window before
		// their first report.
		for range 4 + i%7 {
			n.Allow(id)
		}
	}
	clk.Advance(time.Second)
	reported := map[uint64]bool{}
	for tick := 1; len(reported) < 1000; tick++ {
		require.LessOrEqual(t, tick, 10, "every client reported within 10 ticks")
		seen := map[uint64]bool{}
		for _, m := range n.Tick(clk.Now()) {
			msg, err := decodeMessage(m.Payload)
			require.NoError(t, err)
			for _, r := range msg.reports {
				seen[r.hash] = true
				reported[r.hash] = true
			}
		}
		require.LessOrEqual(t, len(seen), 100, "tick %d", tick)
		clk.Advance(100 * time.Millisecond)
	}
}

// reportPayloads numbers payloads from 1.
func reportPayloads(max int, stamp crdt.Timestamp, rs []wireReport) [][]byte {
	return reportPayloadsFrom(max, stamp, 1, rs)
}

func reportPayloadsFrom(max int, stamp crdt.Timestamp, first uint64, rs []wireReport) [][]byte {
	if len(rs) == 0 {
		return [][]byte{encodeBeacon(stamp, first)}
	}
	ps, _ := encodeReports(max, stamp, first, rs)
	return ps
}

func configPayloads(max int, stamp crdt.Timestamp, cs []wireConfig) [][]byte {
	ps, _ := encodeConfigs(max, stamp, 1, cs)
	return ps
}
