package gossip

import (
	"encoding/binary"
	"errors"
	"math"
	"time"

	"github.com/fairmesh/fairmesh"
)

// The envelope names the sender of every payload, since memberlist's
// NotifyMsg does not:
//
//	byte 0     version (2; 1 had no kind 4: members of the two do not
//	           understand each other, and refuse each other's envelopes)
//	byte 1     kind: 1 = one Node payload, 2 = a full state, 3 = a leave
//	           notice (the sender is closing; no payload), 4 = one Node
//	           payload from a member at its quiet pace
//	bytes 2–3  sender ID length n, big endian, 1..fairmesh.MaxClientIDLen
//	n bytes    sender ID
//	kind 1:    the payload (the rest, at least one byte)
//	kind 2:    payloads, each a 4-byte big-endian length (≥ 1) and its bytes
//	kind 3:    nothing
//	kind 4:    the sender's pace in milliseconds (2 bytes, big endian, ≥ 1:
//	           it sends to every member at least that often), then the
//	           payload as in kind 1
//
// Decoding trusts no length: each is checked against the bytes left.
const (
	envVersion   = 2
	kindMessage  = 1
	kindState    = 2
	kindLeave    = 3
	kindQuiet    = 4
	paceLen      = 2
	envHeaderLen = 4
	statePrefix  = 4
)

var (
	errShort      = errors.New("gossip: envelope too short")
	errVersion    = errors.New("gossip: unknown envelope version")
	errKind       = errors.New("gossip: unknown envelope kind")
	errSender     = errors.New("gossip: bad sender ID length")
	errEmpty      = errors.New("gossip: empty payload")
	errTrailing   = errors.New("gossip: bytes after a leave notice")
	errPace       = errors.New("gossip: quiet pace missing or zero")
	errStateFrame = errors.New("gossip: state payload length exceeds the envelope")
)

// envelopeOverhead is what the envelope adds to one payload from node id.
func envelopeOverhead(id string) int { return envHeaderLen + len(id) }

func appendHeader(dst []byte, kind byte, from string) []byte {
	dst = append(dst, envVersion, kind)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(from)))
	return append(dst, from...)
}

// encodeMessage wraps one Node payload from node from.
func encodeMessage(from string, payload []byte) []byte {
	b := make([]byte, 0, envelopeOverhead(from)+len(payload))
	return append(appendHeader(b, kindMessage, from), payload...)
}

// encodeQuiet wraps one Node payload from node from, sent at its quiet
// pace (at most 65.535 s).
func encodeQuiet(from string, pace time.Duration, payload []byte) []byte {
	ms := uint16(min(max(pace.Milliseconds(), 1), math.MaxUint16))
	b := make([]byte, 0, envelopeOverhead(from)+paceLen+len(payload))
	b = binary.BigEndian.AppendUint16(appendHeader(b, kindQuiet, from), ms)
	return append(b, payload...)
}

// encodeLeave is the leave notice of node from.
func encodeLeave(from string) []byte {
	return appendHeader(make([]byte, 0, envelopeOverhead(from)), kindLeave, from)
}

// encodeState wraps a full state, keeping the payloads, in order, that fit
// in max bytes in all; it returns how many were left out. Empty payloads
// are skipped.
func encodeState(from string, payloads [][]byte, max int) (b []byte, left int) {
	size := envelopeOverhead(from)
	for _, p := range payloads {
		size += statePrefix + len(p)
	}
	b = appendHeader(make([]byte, 0, min(size, max)), kindState, from)
	for i, p := range payloads {
		if len(p) == 0 {
			continue
		}
		if len(b)+statePrefix+len(p) > max {
			for _, q := range payloads[i:] {
				if len(q) > 0 {
					left++
				}
			}
			return b, left
		}
		b = binary.BigEndian.AppendUint32(b, uint32(len(p)))
		b = append(b, p...)
	}
	return b, 0
}

// envelope is a decoded envelope; payloads alias the decoded buffer.
type envelope struct {
	kind     byte
	from     string
	pace     time.Duration // kind 4: how often at least the sender sends
	payloads [][]byte
}

// decodeEnvelope checks and splits b. It never panics and allocates no
// more than a slice header per payload, each payload at least five bytes
// of b.
func decodeEnvelope(b []byte) (envelope, error) {
	if len(b) < envHeaderLen {
		return envelope{}, errShort
	}
	if b[0] != envVersion {
		return envelope{}, errVersion
	}
	kind := b[1]
	if kind < kindMessage || kind > kindQuiet {
		return envelope{}, errKind
	}
	n := int(binary.BigEndian.Uint16(b[2:4]))
	if n == 0 || n > fairmesh.MaxClientIDLen || n > len(b)-envHeaderLen {
		return envelope{}, errSender
	}
	e := envelope{kind: kind, from: string(b[envHeaderLen : envHeaderLen+n])}
	rest := b[envHeaderLen+n:]
	switch kind {
	case kindLeave:
		if len(rest) != 0 {
			return envelope{}, errTrailing
		}
		return e, nil
	case kindQuiet:
		if len(rest) < paceLen || binary.BigEndian.Uint16(rest) == 0 {
			return envelope{}, errPace
		}
		e.pace = time.Duration(binary.BigEndian.Uint16(rest)) * time.Millisecond
		rest = rest[paceLen:]
		if len(rest) == 0 {
			return envelope{}, errEmpty
		}
		e.payloads = [][]byte{rest}
		return e, nil
	case kindMessage:
		if len(rest) == 0 {
			return envelope{}, errEmpty
		}
		e.payloads = [][]byte{rest}
		return e, nil
	}
	e.payloads = make([][]byte, 0, min(len(rest)/(statePrefix+1), 64))
	for len(rest) > 0 {
		if len(rest) < statePrefix {
			return envelope{}, errStateFrame
		}
		l := binary.BigEndian.Uint32(rest)
		rest = rest[statePrefix:]
		if l == 0 {
			return envelope{}, errEmpty
		}
		if uint64(l) > uint64(len(rest)) {
			return envelope{}, errStateFrame
		}
		e.payloads = append(e.payloads, rest[:l:l])
		rest = rest[l:]
	}
	return e, nil
}
