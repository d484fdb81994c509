package gossip

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestEnvelopeRoundTrip(t *testing.T) {
	msg := encodeMessage("n1", []byte{0x93, 1, 2, 3})
	env, err := decodeEnvelope(msg)
	if err != nil || env.kind != kindMessage || env.from != "n1" || len(env.payloads) != 1 || !bytes.Equal(env.payloads[0], []byte{0x93, 1, 2, 3}) {
		t.Fatalf("message: %+v, %v", env, err)
	}
	if len(msg) != envelopeOverhead("n1")+4 {
		t.Errorf("overhead: %d bytes for 4 of payload", len(msg))
	}

	ps := [][]byte{{1}, {}, bytes.Repeat([]byte{2}, 300), {3, 3}}
	st, left := encodeState("node-b", ps, 1<<20)
	env, err = decodeEnvelope(st)
	if err != nil || left != 0 || env.kind != kindState || env.from != "node-b" || len(env.payloads) != 3 {
		t.Fatalf("state: %+v, left %d, %v", env, left, err)
	}
	for i, want := range [][]byte{ps[0], ps[2], ps[3]} {
		if !bytes.Equal(env.payloads[i], want) {
			t.Errorf("state payload %d differs", i)
		}
	}

	// Bounded: what does not fit is left out and counted.
	st, left = encodeState("node-b", ps, envelopeOverhead("node-b")+5+10)
	env, err = decodeEnvelope(st)
	if err != nil || len(env.payloads) != 1 || left != 2 {
		t.Fatalf("bounded state: %d payloads, left %d, %v", len(env.payloads), left, err)
	}

	env, err = decodeEnvelope(encodeLeave("n9"))
	if err != nil || env.kind != kindLeave || env.from != "n9" || len(env.payloads) != 0 {
		t.Fatalf("leave: %+v, %v", env, err)
	}

	env, err = decodeEnvelope(encodeQuiet("n7", 1500*time.Millisecond, []byte{0x93, 4}))
	if err != nil || env.kind != kindQuiet || env.from != "n7" || env.pace != 1500*time.Millisecond ||
		len(env.payloads) != 1 || !bytes.Equal(env.payloads[0], []byte{0x93, 4}) {
		t.Fatalf("quiet: %+v, %v", env, err)
	}
	// A pace past two bytes of milliseconds is sent as the longest.
	if env, _ = decodeEnvelope(encodeQuiet("n7", time.Hour, []byte{1})); env.pace != 65535*time.Millisecond {
		t.Errorf("an hour's pace decoded as %v", env.pace)
	}
}

func TestEnvelopeRejectsGarbage(t *testing.T) {
	long := strings.Repeat("x", 257)
	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, errShort},
		{"short", []byte{2, 1, 0}, errShort},
		{"old version", []byte{1, 1, 0, 1, 'a', 9}, errVersion},
		{"kind", []byte{2, 9, 0, 1, 'a', 9}, errKind},
		{"no sender", []byte{2, 1, 0, 0, 9}, errSender},
		{"sender past end", []byte{2, 1, 0, 9, 'a'}, errSender},
		{"sender too long", append(append([]byte{2, 1, 1, 1}, long...), 9), errSender},
		{"empty message", []byte{2, 1, 0, 1, 'a'}, errEmpty},
		{"quiet without pace", []byte{2, 4, 0, 1, 'a', 0}, errPace},
		{"quiet pace zero", []byte{2, 4, 0, 1, 'a', 0, 0, 9}, errPace},
		{"quiet empty", []byte{2, 4, 0, 1, 'a', 3, 232}, errEmpty},
		{"leave with bytes", []byte{2, 3, 0, 1, 'a', 0}, errTrailing},
		{"state frame cut", []byte{2, 2, 0, 1, 'a', 0, 0}, errStateFrame},
		{"state length huge", []byte{2, 2, 0, 1, 'a', 0xff, 0xff, 0xff, 0xff, 1}, errStateFrame},
		{"state length zero", []byte{2, 2, 0, 1, 'a', 0, 0, 0, 0}, errEmpty},
		// An array header claiming 4 billion elements: msgpack/v5 would
		// allocate for it and abort the process.
		{"msgpack bomb as state", []byte{2, 2, 0, 1, 'a', 0xdd, 0xff, 0xff, 0xff, 0xff}, errStateFrame},
	} {
		if _, err := decodeEnvelope(tc.in); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
}

// FuzzDecodeEnvelope: decoding never panics, and whatever decodes
// re-encodes to the same bytes. The seed corpus is in testdata/fuzz.
func FuzzDecodeEnvelope(f *testing.F) {
	f.Add(encodeMessage("n1", []byte{0x93, 1, 2, 3}))
	st, _ := encodeState("n2", [][]byte{{1}, {2, 2}}, 1<<10)
	f.Add(st)
	f.Add(encodeLeave("n3"))
	f.Add(encodeQuiet("n4", time.Second, []byte{0x93, 1, 2, 3}))
	f.Add([]byte{2, 2, 0, 1, 'a', 0xdd, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		env, err := decodeEnvelope(b)
		if err != nil {
			return
		}
		var again []byte
		switch env.kind {
		case kindMessage:
			again = encodeMessage(env.from, env.payloads[0])
		case kindState:
			again, _ = encodeState(env.from, env.payloads, len(b))
		case kindLeave:
			again = encodeLeave(env.from)
		case kindQuiet:
			again = encodeQuiet(env.from, env.pace, env.payloads[0])
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("re-encoding %x gave %x", b, again)
		}
	})
}
