package fairmesh

import (
	"errors"
	"fmt"
	"math"
)

// Decoding is done by hand rather than by msgpack.Unmarshal: msgpack/v5
// trusts length prefixes, and five hostile bytes (an array header claiming
// four billion elements) abort the process with an out-of-memory error that
// recover cannot catch. This reader checks every count against the bytes
// left before it allocates anything, so a payload of b bytes never makes it
// allocate more than a small multiple of b.

// maxWireCount bounds counts in reports: no node admits more than
// bucket.MaxCount per client per window.
const maxWireCount = 1<<22 - 1

var errTruncated = errors.New("fairmesh: message truncated")

type wireReader struct {
	b []byte
	i int
}

func (r *wireReader) left() int { return len(r.b) - r.i }

func (r *wireReader) byte() (byte, error) {
	if r.i >= len(r.b) {
		return 0, errTruncated
	}
	c := r.b[r.i]
	r.i++
	return c, nil
}

func (r *wireReader) bytes(n int) ([]byte, error) {
	if n < 0 || n > r.left() {
		return nil, errTruncated
	}
	s := r.b[r.i : r.i+n]
	r.i += n
	return s, nil
}

func (r *wireReader) be(n int) (uint64, error) {
	s, err := r.bytes(n)
	if err != nil {
		return 0, err
	}
	var v uint64
	for _, c := range s {
		v = v<<8 | uint64(c)
	}
	return v, nil
}

func (r *wireReader) arrayLen() (int, error) {
	c, err := r.byte()
	if err != nil {
		return 0, err
	}
	var n uint64
	switch {
	case c&0xf0 == 0x90:
		n = uint64(c & 0x0f)
	case c == 0xdc:
		n, err = r.be(2)
	case c == 0xdd:
		n, err = r.be(4)
	default:
		return 0, fmt.Errorf("fairmesh: expected an array, got msgpack code 0x%02x", c)
	}
	if err != nil {
		return 0, err
	}
	// Every element takes at least one byte.
	if n > uint64(r.left()) {
		return 0, fmt.Errorf("fairmesh: array of %d elements in %d bytes", n, r.left())
	}
	return int(n), nil
}

func (r *wireReader) uint() (uint64, error) {
	c, err := r.byte()
	if err != nil {
		return 0, err
	}
	switch {
	case c <= 0x7f:
		return uint64(c), nil
	case c == 0xcc:
		return r.be(1)
	case c == 0xcd:
		return r.be(2)
	case c == 0xce:
		return r.be(4)
	case c == 0xcf:
		return r.be(8)
	case c >= 0xd0 && c <= 0xd3, c >= 0xe0:
		r.i--
		v, err := r.int()
		if err != nil {
			return 0, err
		}
		if v < 0 {
			return 0, fmt.Errorf("fairmesh: negative value %d where an unsigned one is expected", v)
		}
		return uint64(v), nil
	}
	return 0, fmt.Errorf("fairmesh: expected an integer, got msgpack code 0x%02x", c)
}

func (r *wireReader) int() (int64, error) {
	c, err := r.byte()
	if err != nil {
		return 0, err
	}
	switch {
	case c <= 0x7f:
		return int64(c), nil
	case c >= 0xe0:
		return int64(int8(c)), nil
	case c == 0xd0:
		v, err := r.be(1)
		return int64(int8(v)), err
	case c == 0xd1:
		v, err := r.be(2)
		return int64(int16(v)), err
	case c == 0xd2:
		v, err := r.be(4)
		return int64(int32(v)), err
	case c == 0xd3:
		v, err := r.be(8)
		return int64(v), err
	case c >= 0xcc && c <= 0xcf:
		r.i--
		v, err := r.uint()
		if err != nil {
			return 0, err
		}
		if v > math.MaxInt64 {
			return 0, fmt.Errorf("fairmesh: integer %d overflows int64", v)
		}
		return int64(v), nil
	}
	return 0, fmt.Errorf("fairmesh: expected an integer, got msgpack code 0x%02x", c)
}

func (r *wireReader) str(maxLen int) (string, error) {
	c, err := r.byte()
	if err != nil {
		return "", err
	}
	var n uint64
	switch {
	case c&0xe0 == 0xa0:
		n = uint64(c & 0x1f)
	case c == 0xd9:
		n, err = r.be(1)
	case c == 0xda:
		n, err = r.be(2)
	case c == 0xdb:
		n, err = r.be(4)
	default:
		return "", fmt.Errorf("fairmesh: expected a string, got msgpack code 0x%02x", c)
	}
	if err != nil {
		return "", err
	}
	if n > uint64(maxLen) {
		return "", fmt.Errorf("fairmesh: string of %d bytes exceeds %d", n, maxLen)
	}
	s, err := r.bytes(int(n))
	return string(s), err
}

// decodeMessage parses and validates a payload. It allocates at most in
// proportion to len(b), never panics, and returns an error for anything
// that is not a well-formed message of a known version and type.
func decodeMessage(b []byte) (wireMsg, error) {
	var m wireMsg
	if len(b) > MaxPayloadBytes {
		return m, fmt.Errorf("fairmesh: message of %d bytes exceeds %d", len(b), MaxPayloadBytes)
	}
	r := &wireReader{b: b}
	n, err := r.arrayLen()
	if err != nil {
		return m, err
	}
	if n < headerFields {
		return m, errors.New("fairmesh: message has no header")
	}
	ver, err := r.uint()
	if err != nil {
		return m, err
	}
	if ver != wireVersion {
		return m, fmt.Errorf("fairmesh: unknown message version %d", ver)
	}
	if m.typ, err = r.uint(); err != nil {
		return m, err
	}
	if m.stamp.WallTime, err = r.int(); err != nil {
		return m, err
	}
	lg, err := r.uint()
	if err != nil {
		return m, err
	}
	if lg > math.MaxUint32 {
		return m, errors.New("fairmesh: logical clock out of range")
	}
	m.stamp.Logical = uint32(lg)
	n -= headerFields
	switch m.typ {
	case msgReports:
		if n < 1 {
			return m, errors.New("fairmesh: reports message without its sequence number")
		}
		if m.seq, err = r.uint(); err != nil {
			return m, err
		}
		n--
		if n%reportFields != 0 {
			return m, errors.New("fairmesh: reports message has a partial entry")
		}
		m.reports = make([]wireReport, 0, n/reportFields)
		for range n / reportFields {
			var x wireReport
			if x.hash, err = r.uint(); err != nil {
				return m, err
			}
			if x.window, err = r.int(); err != nil {
				return m, err
			}
			if x.window < 0 {
				return m, errors.New("fairmesh: negative window")
			}
			if x.demand, err = r.uint(); err != nil {
				return m, err
			}
			if x.admitted, err = r.uint(); err != nil {
				return m, err
			}
			if x.admitted > maxWireCount || x.demand > maxWireCount*demandScale {
				return m, errors.New("fairmesh: report count out of range")
			}
			m.reports = append(m.reports, x)
		}
	case msgConfig:
		if n < 1 {
			return m, errors.New("fairmesh: config message without its sequence number")
		}
		if m.seq, err = r.uint(); err != nil {
			return m, err
		}
		n--
		if m.seq == 0 && n == 0 {
			return m, errors.New("fairmesh: empty config message")
		}
		if n%configFields != 0 {
			return m, errors.New("fairmesh: config message has a partial entry")
		}
		m.configs = make([]wireConfig, 0, n/configFields)
		for range n / configFields {
			c, err := decodeConfig(r)
			if err != nil {
				return m, err
			}
			m.configs = append(m.configs, c)
		}
	case msgNack:
		m.nacks = make([]uint64, 0, n)
		for range n {
			q, err := r.uint()
			if err != nil {
				return m, err
			}
			if q == 0 {
				return m, errors.New("fairmesh: nack of sequence number 0")
			}
			m.nacks = append(m.nacks, q)
		}
	case msgLedger:
		if n%ledgerFields != 0 {
			return m, errors.New("fairmesh: ledger message has a partial entry")
		}
		m.ledger = make([]wireLedger, 0, n/ledgerFields)
		for range n / ledgerFields {
			var x wireLedger
			if x.hash, err = r.uint(); err != nil {
				return m, err
			}
			if x.window, err = r.int(); err != nil {
				return m, err
			}
			if x.kind, err = r.uint(); err != nil {
				return m, err
			}
			if x.from, err = r.str(2 * MaxClientIDLen); err != nil {
				return m, err
			}
			if x.to, err = r.str(2 * MaxClientIDLen); err != nil {
				return m, err
			}
			if x.value, err = r.uint(); err != nil {
				return m, err
			}
			switch {
			case x.window < 0:
				return m, errors.New("fairmesh: negative window")
			case x.kind < ledgerWant || x.kind > ledgerAck:
				return m, fmt.Errorf("fairmesh: unknown ledger entry kind %d", x.kind)
			case x.value > maxWireCount:
				return m, errors.New("fairmesh: ledger value out of range")
			case x.from == "" || (x.kind != ledgerWant && x.to == ""):
				return m, errors.New("fairmesh: ledger entry without its replicas")
			}
			m.ledger = append(m.ledger, x)
		}
	case msgLease:
		l, err := decodeLease(r, n)
		if err != nil {
			return m, err
		}
		m.lease = l
	case msgAudit:
		a, err := decodeAudit(r, n)
		if err != nil {
			return m, err
		}
		m.audit = a
	case msgView:
		v, err := decodeView(r, n)
		if err != nil {
			return m, err
		}
		m.view = v
	default:
		return m, fmt.Errorf("fairmesh: unknown message type %d", m.typ)
	}
	if r.left() != 0 {
		return m, fmt.Errorf("fairmesh: %d trailing bytes", r.left())
	}
	return m, nil
}

func decodeConfig(r *wireReader) (wireConfig, error) {
	var c wireConfig
	var err error
	if c.id, err = r.str(MaxClientIDLen); err != nil {
		return c, err
	}
	if err := ValidateClientID(c.id); err != nil {
		return c, err
	}
	if c.kind, err = r.uint(); err != nil {
		return c, err
	}
	if c.v1, err = r.int(); err != nil {
		return c, err
	}
	if c.v2, err = r.int(); err != nil {
		return c, err
	}
	if c.stamp.WallTime, err = r.int(); err != nil {
		return c, err
	}
	lg, err := r.uint()
	if err != nil {
		return c, err
	}
	if lg > math.MaxUint32 {
		return c, errors.New("fairmesh: logical clock out of range")
	}
	c.stamp.Logical = uint32(lg)
	if c.node, err = r.str(MaxClientIDLen); err != nil {
		return c, err
	}
	return c, c.validate()
}

// decodeView reads a view entry of n fields: the sender's incarnation,
// sequence number and since, then (name, incarnation) pairs sorted by name
// without repeats.
func decodeView(r *wireReader, n int) (*wireView, error) {
	if n < viewFields || (n-viewFields)%2 != 0 {
		return nil, errors.New("fairmesh: view message has a partial entry")
	}
	if (n-viewFields)/2 > maxViewMembers {
		return nil, fmt.Errorf("fairmesh: view of more than %d members", maxViewMembers)
	}
	v := &wireView{}
	var err error
	if v.inc, err = r.int(); err != nil {
		return nil, err
	}
	if v.entry.seq, err = r.uint(); err != nil {
		return nil, err
	}
	if v.entry.since, err = r.int(); err != nil {
		return nil, err
	}
	if v.inc < 0 || v.entry.since < 0 || v.entry.seq == 0 {
		return nil, errors.New("fairmesh: view with a negative time or no sequence number")
	}
	count := (n - viewFields) / 2
	v.entry.members = make([]member, 0, count)
	for i := range count {
		var m member
		if m.name, err = r.str(MaxClientIDLen); err != nil {
			return nil, err
		}
		if m.name == "" {
			return nil, errors.New("fairmesh: view member without a name")
		}
		if m.inc, err = r.int(); err != nil {
			return nil, err
		}
		if m.inc < 0 {
			return nil, errors.New("fairmesh: view member with a negative incarnation")
		}
		if i > 0 && v.entry.members[i-1].name >= m.name {
			return nil, errors.New("fairmesh: view members not sorted")
		}
		v.entry.members = append(v.entry.members, m)
	}
	return v, nil
}

// decodeLease reads a lease message of n fields: the sender's incarnation
// and send time, then entries of leaseFields.
func decodeLease(r *wireReader, n int) (*wireLease, error) {
	if n < 2 || (n-2)%leaseFields != 0 {
		return nil, errors.New("fairmesh: lease message has a partial entry")
	}
	if (n-2)/leaseFields > 2*maxViewMembers {
		return nil, fmt.Errorf("fairmesh: lease message of more than %d entries", 2*maxViewMembers)
	}
	l := &wireLease{}
	var err error
	if l.inc, err = r.int(); err != nil {
		return nil, err
	}
	if l.sent, err = r.int(); err != nil {
		return nil, err
	}
	if l.inc <= 0 || l.sent <= 0 {
		return nil, errors.New("fairmesh: lease message without its incarnation or send time")
	}
	count := (n - 2) / leaseFields
	l.entries = make([]leaseEntry, 0, count)
	for range count {
		var e leaseEntry
		if e.name, err = r.str(MaxClientIDLen); err != nil {
			return nil, err
		}
		if e.inc, err = r.int(); err != nil {
			return nil, err
		}
		ago, err := r.int()
		if err != nil {
			return nil, err
		}
		if ago < -l.sent+1 || ago > l.sent {
			return nil, errors.New("fairmesh: lease entry time out of range")
		}
		e.sent = l.sent - ago
		if e.flags, err = r.uint(); err != nil {
			return nil, err
		}
		switch {
		case e.name == "":
			return nil, errors.New("fairmesh: lease entry without a name")
		case e.inc < 0 || e.sent < 0:
			return nil, errors.New("fairmesh: lease entry with a negative time")
		case e.flags > leaseExpired|leaseRemoved || e.flags == leaseExpired|leaseRemoved:
			return nil, fmt.Errorf("fairmesh: lease entry with unknown flags %d", e.flags)
		}
		l.entries = append(l.entries, e)
	}
	return l, nil
}
