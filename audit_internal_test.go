package fairmesh

import (
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vmihailenco/msgpack/v5"
)

func TestAuditMessageRoundTripAndRefusals(t *testing.T) {
	b := encodeAudit(1350, testStamp, 100, 104, []uint64{0, 250, 1000})
	m, err := decodeMessage(b)
	require.NoError(t, err)
	require.Equal(t, uint64(msgAudit), m.typ)
	require.Equal(t, int64(100), m.audit.first)
	require.Equal(t, [][2]int64{{104, 0}, {105, 250}, {106, 1000}}, m.audit.counts)
	require.Less(t, len(b), 40, "a few bytes a window")

	for name, p := range map[string][]byte{
		"base before first": encodeAudit(1350, testStamp, 100, 99, []uint64{1}),
		"too many windows":  encodeAuditUnbounded(100, 100, make([]uint64, auditHistory+1)),
		"count too large":   encodeAudit(1350, testStamp, 100, 100, []uint64{maxWireCount + 1}),
	} {
		_, err := decodeMessage(p)
		require.Error(t, err, name)
	}
}

// encodeAuditUnbounded writes more counts than encodeAudit would.
func encodeAuditUnbounded(first, base int64, counts []uint64) []byte {
	w := newMsgWriter(1<<20, msgAudit, testStamp)
	w.extra = func(enc *msgpack.Encoder) int {
		_ = enc.EncodeInt(first)
		_ = enc.EncodeInt(base)
		return 2
	}
	for _, c := range counts {
		w.add(auditFields, func(enc *msgpack.Encoder) { _ = enc.EncodeUint(c) })
	}
	return w.done()[0]
}
