package sim

import (
	"container/heap"
	"fmt"
)

// kind says what an event does when it fires.
type kind uint8

const (
	evTick      kind = iota + 1 // node ticks: membership, Tick, heartbeats
	evDeliver                   // a packet reaches node
	evArrival                   // a client request arrives
	evPushPull                  // node starts an anti-entropy exchange
	evScenario                  // a scenario event (index into plan.events)
	evStorm                     // one config-storm update
	evConvCheck                 // config convergence check
)

// event is one entry of the queue. The fields used depend on kind.
type event struct {
	at   int64  // true simulated time, ns since start
	seq  uint64 // insertion order: ties in time fire in the order scheduled
	kind kind
	node int32  // node index (tick, push-pull, delivery destination)
	from int32  // delivery source
	idx  int32  // client index, scenario event index, packet class
	gen  uint32 // node incarnation or client arrival generation
	pkt  *packet
}

// packet is what the network carries.
type packet struct {
	class    pktClass
	payloads [][]byte
}

type pktClass uint8

const (
	pktGossip    pktClass = iota + 1 // a Tick message
	pktHeartbeat                     // a membership probe (no payload)
	pktPushReq                       // full state, answered with full state
	pktPushResp                      // full state, the answer
)

func (c pktClass) String() string {
	switch c {
	case pktGossip:
		return "gossip"
	case pktHeartbeat:
		return "heartbeat"
	case pktPushReq:
		return "push"
	case pktPushResp:
		return "pull"
	}
	return "?"
}

type eventHeap []event

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)   { *h = append(*h, x.(event)) }
func (h *eventHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = event{}
	*h = old[:len(old)-1]
	return e
}

// queue is the bounded event queue.
type queue struct {
	h   eventHeap
	seq uint64
	err error // set once the bound is hit
}

func (q *queue) push(e event) {
	if len(q.h) >= MaxQueue {
		if q.err == nil {
			q.err = fmt.Errorf("sim: event queue exceeded %d events", MaxQueue)
		}
		return
	}
	q.seq++
	e.seq = q.seq
	heap.Push(&q.h, e)
}

func (q *queue) pop() (event, bool) {
	if len(q.h) == 0 {
		return event{}, false
	}
	return heap.Pop(&q.h).(event), true
}
