package gossip

import (
	"sync/atomic"
	"time"
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

// receive is the receiver goroutine: it hands queued payloads to
// node.Receive, and notes who was heard from, until stop is closed. What is
// still queued at stop is dropped.
func (m *Mesh) receive(stop <-chan struct{}) {
	q := m.in
	for {
		select {
		case <-stop:
			return
		case it := <-q.ch:
			now := time.Now()
			if it.env.kind == kindLeave {
				m.live.noteLeaving(it.env.from, now)
			} else if it.env.from != m.cfg.NodeID {
				m.live.noteHeard(it.env.from, now, it.env.pace)
			}
			for _, p := range it.env.payloads {
				// Errors are counted by the Node (Counters.DroppedMessages).
				_ = m.node.Receive(it.env.from, p)
				q.st.delivered.Add(1)
			}
			q.bytes.Add(-it.size)
		}
	}
}
