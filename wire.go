package fairmesh

import (
	"bytes"
	"encoding/binary"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/fairmesh/fairmesh/crdt"
)

// The wire format. Every payload is one msgpack array:
//
//	[version, type, stamp.wall, stamp.logical, field…]
//
// with the fields of its entries flattened into the same array (compact: no
// maps, no per-entry headers). version is 2 (1 had no views and no ledger:
// a mesh runs one version). Types:
//
//	1 reports: a sequence number, then entries of 4 fields (client
//	  xxhash64, window, demand, admitted), the sender's own demand per
//	  finished client window, absolute values. Without entries (a beacon)
//	  the number is the highest the sender used.
//	2 config:  a sequence number (shared with reports), then entries of 7
//	  fields (client ID, kind 1=weight 2=limit,
//	  weight or rate, 0 or period ns, stamp.wall, stamp.logical, stamp.node).
//	3 view:    one holder view of the sender: its incarnation, the entry's
//	  sequence number and mesh time, then (name, incarnation) per member,
//	  sorted by name, the sender among them.
//	5 nack:    sequence numbers of reports payloads the receiver of the
//	  nack sent and the sender of it did not receive.
//	6 lease:   the sender's incarnation and the mesh time it sent the
//	  message at, then entries of 4 fields (member name, incarnation or
//	  0, how long before the message's send time, flags 1=expired
//	  2=removed): the send time of the last message the sender heard
//	  from each member (the incarnation only with an expiry: an ack
//	  needs none, its time tells), or when an operator removed one
//	  (lease.go).
//	4 ledger:  entries of 6 fields (client xxhash64, window, kind 1=want
//	  2=transfer 3=ack, from replica, to replica, value): a want is the
//	  sender's refusals in the window; a transfer the cumulative rights
//	  from gave to; an ack the cumulative transfer the borrower merged.
//
// stamp is the sender's HLC when it built the payload; receivers adopt its
// wall part as mesh time within MaxClockOffset.
const (
	wireVersion = 2
	msgReports  = 1
	msgConfig   = 2
	msgView     = 3
	msgLedger   = 4
	msgNack     = 5 // entries of 1 field: a reports sequence number to send again
	msgLease    = 6
	leaseFields = 4
	viewFields  = 3 // before the members, two fields each
	// Ledger entries: 6 fields, of three kinds.
	ledgerFields   = 6
	ledgerWant     = 1
	ledgerTransfer = 2
	ledgerAck      = 3
	// maxViewMembers bounds the members of one view on the wire.
	maxViewMembers = 4096
	reportFields   = 4
	configFields   = 7
	headerFields   = 4
	kindWeight     = 1
	kindLimit      = 2
	// MaxPayloadBytes is the largest payload Receive accepts.
	MaxPayloadBytes = 1 << 20
)

type wireReport struct {
	hash     uint64
	window   int64
	demand   uint64
	admitted uint64
}

type wireConfig struct {
	id    string
	kind  uint64
	v1    int64
	v2    int64
	stamp crdt.Timestamp
	node  string
}

type wireMsg struct {
	typ     uint64
	stamp   crdt.Timestamp
	seq     uint64   // reports: the payload's number, or a beacon's highest
	nacks   []uint64 // nack
	reports []wireReport
	configs []wireConfig
	view    *wireView
	ledger  []wireLedger
	lease   *wireLease
	audit   *wireAudit
}

type wireLease struct {
	inc, sent int64
	entries   []leaseEntry
}

type wireLedger struct {
	hash     uint64
	window   int64
	kind     uint64
	from, to string
	value    uint64
}

type wireView struct {
	inc   int64
	entry viewEntry
}

// msgWriter packs entries into payloads of at most max bytes.
type msgWriter struct {
	max   int
	typ   uint64
	stamp crdt.Timestamp
	buf   bytes.Buffer
	enc   *msgpack.Encoder
	count int
	out   [][]byte
	// seq, when set, numbers each payload: it is written first after the
	// header, and the payload of entry i is entryPayload[i].
	seq func(payload int) uint64
	// extra, when set, writes further header fields after seq and
	// returns how many.
	extra        func(*msgpack.Encoder) int
	base         int // fields in a payload before its entries
	entryPayload []int
}

func newMsgWriter(max int, typ uint64, stamp crdt.Timestamp) *msgWriter {
	w := &msgWriter{max: max, typ: typ, stamp: stamp}
	w.enc = msgpack.NewEncoder(&w.buf)
	return w
}

func (w *msgWriter) begin() {
	w.buf.Reset()
	// array32 header, its count patched in flush: the count is not known
	// until the payload is full.
	w.buf.Write([]byte{0xdd, 0, 0, 0, 0})
	_ = w.enc.EncodeUint(wireVersion)
	_ = w.enc.EncodeUint(w.typ)
	_ = w.enc.EncodeInt(w.stamp.WallTime)
	_ = w.enc.EncodeUint(uint64(w.stamp.Logical))
	w.count = headerFields
	if w.seq != nil {
		_ = w.enc.EncodeUint(w.seq(len(w.out)))
		w.count++
	}
	if w.extra != nil {
		w.count += w.extra(w.enc)
	}
	w.base = w.count
}

// add appends one entry of nfields written by put, starting a new payload
// when it would not fit.
func (w *msgWriter) add(nfields int, put func(*msgpack.Encoder)) {
	if w.count == 0 {
		w.begin()
	}
	mark := w.buf.Len()
	put(w.enc)
	if w.buf.Len() > w.max && w.count > w.base {
		w.buf.Truncate(mark)
		w.flush()
		w.begin()
		put(w.enc)
	}
	w.count += nfields
	w.entryPayload = append(w.entryPayload, len(w.out))
}

func (w *msgWriter) flush() {
	if w.count <= w.base {
		return
	}
	b := bytes.Clone(w.buf.Bytes())
	binary.BigEndian.PutUint32(b[1:5], uint32(w.count))
	w.out = append(w.out, b)
	w.count = 0
}

func (w *msgWriter) done() [][]byte {
	w.flush()
	return w.out
}

// encodeReports packs reports into payloads numbered from first on (0:
// unnumbered): a reports payload's first field is its sequence number, by
// which receivers notice one that was lost and ask for it again
// (reliable.go). It returns the payloads and, for each report, the payload
// it went into.
func encodeReports(max int, stamp crdt.Timestamp, first uint64, rs []wireReport) ([][]byte, []int) {
	w := newMsgWriter(max, msgReports, stamp)
	w.seq = numbered(first)
	for _, r := range rs {
		w.add(reportFields, func(e *msgpack.Encoder) {
			_ = e.EncodeUint(r.hash)
			_ = e.EncodeInt(r.window)
			_ = e.EncodeUint(r.demand)
			_ = e.EncodeUint(r.admitted)
		})
	}
	return w.done(), w.entryPayload
}

// numbered numbers payloads from first on; with first 0 they are
// unnumbered (a full state, sent to one member).
func numbered(first uint64) func(payload int) uint64 {
	return func(payload int) uint64 {
		if first == 0 {
			return 0
		}
		return first + uint64(payload)
	}
}

// encodeConfigs packs config entries into payloads numbered from first on
// (0: unnumbered), in the same sequence as reports.
func encodeConfigs(max int, stamp crdt.Timestamp, first uint64, cs []wireConfig) ([][]byte, []int) {
	w := newMsgWriter(max, msgConfig, stamp)
	w.seq = numbered(first)
	for _, c := range cs {
		w.add(configFields, func(e *msgpack.Encoder) {
			_ = e.EncodeString(c.id)
			_ = e.EncodeUint(c.kind)
			_ = e.EncodeInt(c.v1)
			_ = e.EncodeInt(c.v2)
			_ = e.EncodeInt(c.stamp.WallTime)
			_ = e.EncodeUint(uint64(c.stamp.Logical))
			_ = e.EncodeString(c.node)
		})
	}
	return w.done(), w.entryPayload
}

func encodeLedger(max int, stamp crdt.Timestamp, ls []wireLedger) [][]byte {
	w := newMsgWriter(max, msgLedger, stamp)
	for _, l := range ls {
		w.add(ledgerFields, func(e *msgpack.Encoder) {
			_ = e.EncodeUint(l.hash)
			_ = e.EncodeInt(l.window)
			_ = e.EncodeUint(l.kind)
			_ = e.EncodeString(l.from)
			_ = e.EncodeString(l.to)
			_ = e.EncodeUint(l.value)
		})
	}
	return w.done()
}

func encodeNacks(max int, stamp crdt.Timestamp, seqs []uint64) [][]byte {
	w := newMsgWriter(max, msgNack, stamp)
	for _, q := range seqs {
		w.add(1, func(e *msgpack.Encoder) { _ = e.EncodeUint(q) })
	}
	return w.done()
}

// encodeView returns one payload carrying a view entry of this node.
func encodeView(max int, stamp crdt.Timestamp, inc int64, v viewEntry) []byte {
	w := newMsgWriter(max, msgView, stamp)
	w.begin()
	_ = w.enc.EncodeInt(inc)
	_ = w.enc.EncodeUint(v.seq)
	_ = w.enc.EncodeInt(v.since)
	for _, m := range v.members {
		_ = w.enc.EncodeString(m.name)
		_ = w.enc.EncodeInt(m.inc)
	}
	w.count += viewFields + 2*len(v.members)
	out := w.done()
	if len(out) == 0 {
		return nil
	}
	return out[0]
}

// encodeBeacon returns a reports payload with no entries: it carries the
// sender's stamp, so that mesh time keeps agreeing when a node has nothing
// else to say, and in place of a sequence number the highest one the
// sender has used, so that a receiver notices a lost last payload.
func encodeBeacon(stamp crdt.Timestamp, high uint64) []byte {
	w := newMsgWriter(1<<10, msgReports, stamp)
	w.seq = func(int) uint64 { return high }
	w.begin()
	b := bytes.Clone(w.buf.Bytes())
	binary.BigEndian.PutUint32(b[1:5], uint32(w.count))
	return b
}

// encodeLease returns the lease message: one payload while it fits, else
// split, each part carrying the sender's incarnation and send time.
func encodeLease(max int, stamp crdt.Timestamp, inc, sent int64, es []leaseEntry) [][]byte {
	w := newMsgWriter(max, msgLease, stamp)
	w.extra = func(enc *msgpack.Encoder) int {
		_ = enc.EncodeInt(inc)
		_ = enc.EncodeInt(sent)
		return 2
	}
	for _, e := range es {
		w.add(leaseFields, func(enc *msgpack.Encoder) {
			_ = enc.EncodeString(e.name)
			inc := int64(0)
			if e.flags != 0 {
				inc = e.inc
			}
			_ = enc.EncodeInt(inc)
			_ = enc.EncodeInt(sent - e.sent) // small: a few bytes
			_ = enc.EncodeUint(e.flags)
		})
	}
	out := w.done()
	if len(out) == 0 {
		// Without entries it still says "I am here, at this time".
		w.begin()
		w.base = 0
		out = w.done()
	}
	return out
}
