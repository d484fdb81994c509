package gossip

import (
	"sync/atomic"

	"github.com/fairmesh/fairmesh"
)

// inbound is the bounded queue between memberlist's callbacks and the
// Node: offer never blocks, receive drains it on one goroutine.
type inbound struct {
	ch       chan inItem
	bytes    atomic.Int64 // bytes queued
	maxBytes int64
	st       *stats
}

type inItem struct {
	env  envelope
	size int64
}

func newInbound(maxItems, maxBytes int, st *stats) *inbound {
	return &inbound{ch: make(chan inItem, maxItems), maxBytes: int64(maxBytes), st: st}
}

// offer copies b (memberlist reuses it), decodes the envelope and queues
// it. Garbage and overflow are dropped and counted. It never blocks: it
// runs on memberlist's packet handler or push/pull goroutine.
func (q *inbound) offer(b []byte) {
	size := int64(len(b))
	if q.bytes.Add(size) > q.maxBytes {
		q.bytes.Add(-size)
		q.st.queueDrops.Add(1)
		return
	}
	env, err := decodeEnvelope(append([]byte(nil), b...))
	if err != nil {
		q.bytes.Add(-size)
		q.st.garbage.Add(1)
		return
	}
	select {
	case q.ch <- inItem{env: env, size: size}:
		q.st.received.Add(1)
	default:
		q.bytes.Add(-size)
		q.st.queueDrops.Add(1)
	}
}

// receive hands queued payloads to node.Receive until stop is closed. It
// runs on the Mesh's receiver goroutine; what is still queued at stop is
// dropped.
func (q *inbound) receive(node *fairmesh.Node, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case it := <-q.ch:
			for _, p := range it.env.payloads {
				// Errors are counted by the Node (Counters.DroppedMessages).
				_ = node.Receive(it.env.from, p)
				q.st.delivered.Add(1)
			}
			q.bytes.Add(-it.size)
		}
	}
}
