package sim

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
)

// Trace record types: the first byte of every record hashed into the digest.
const (
	trDecision byte = iota + 1
	trSend
	trDrop
	trDeliver
	trMember
	trConfig
	trCrash
	trRestart
	trJoin
	trLeave
	trPartition
	trReceiveErr
	trViolation
	trDemand
	trPause
	trResume
	trRefused // a request refused at a paused node's full backlog
)

// trace hashes every event of a run into one digest. Records are binary
// (type, time, fields), so hashing stays cheap at millions of events.
type trace struct {
	h   hash.Hash
	buf []byte
}

func newTrace() *trace { return &trace{h: sha256.New(), buf: make([]byte, 0, 256)} }

func (t *trace) begin(typ byte, at int64) {
	t.buf = append(t.buf[:0], typ)
	t.buf = binary.LittleEndian.AppendUint64(t.buf, uint64(at))
}

func (t *trace) int(v int64) { t.buf = binary.LittleEndian.AppendUint64(t.buf, uint64(v)) }

func (t *trace) str(s string) {
	t.buf = binary.LittleEndian.AppendUint32(t.buf, uint32(len(s)))
	t.buf = append(t.buf, s...)
}

func (t *trace) bytes(b []byte) {
	t.buf = binary.LittleEndian.AppendUint32(t.buf, uint32(len(b)))
	t.h.Write(t.buf)
	t.buf = t.buf[:0]
	t.h.Write(b)
}

func (t *trace) end() {
	t.h.Write(t.buf)
	t.buf = t.buf[:0]
}

func (t *trace) digest() string { return hex.EncodeToString(t.h.Sum(nil)) }
