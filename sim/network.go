package sim

// The simulated network. Every packet between two nodes takes latency plus a
// uniform jitter in [0, jitter) (so packets reorder), may be lost or
// duplicated (gossip and heartbeats only: full-state exchanges ride TCP in
// memberlist and are reliable), and never crosses a partition: a packet is
// dropped if its ends are in different groups when it is sent or when it
// would arrive, or if its destination is down when it arrives.

import "math/rand/v2"

type network struct {
	rng   *rand.Rand
	group []int // partition group per node index; all 0 when healed
}

func (n *network) connected(a, b int) bool { return n.group[a] == n.group[b] }

// partition puts the listed nodes into groups 0…k-1 and every unlisted node
// into the last group.
func (n *network) partition(p *plan, groups [][]string) {
	last := len(groups) - 1
	for i := range n.group {
		n.group[i] = last
	}
	for g, ids := range groups {
		for _, id := range ids {
			n.group[p.nodeIndex[id]] = g
		}
	}
}

func (n *network) heal() {
	for i := range n.group {
		n.group[i] = 0
	}
}

// send puts one packet from node from to node to on the network. Payloads
// are copied: the receiver owns what it gets, and a duplicate is its own
// copy. Bytes of gossip and full-state packets count as sent even if lost.
func (r *runner) send(from, to int, cls pktClass, payloads [][]byte) {
	if cls != pktHeartbeat {
		for _, b := range payloads {
			r.gossipBytes += int64(len(b))
		}
	}
	t := r.tr
	t.begin(trSend, r.now)
	t.int(int64(from))
	t.int(int64(to))
	t.int(int64(cls))
	t.end()
	for _, b := range payloads {
		t.bytes(b)
	}
	if !r.net.connected(from, to) {
		r.drop(from, to, cls, "partition")
		return
	}
	copies := 1
	if cls == pktGossip || cls == pktHeartbeat {
		if r.p.loss > 0 && r.net.rng.Float64() < r.p.loss {
			r.drop(from, to, cls, "loss")
			return
		}
		if r.p.dup > 0 && r.net.rng.Float64() < r.p.dup {
			copies = 2
		}
	}
	for c := 0; c < copies; c++ {
		delay := r.p.latency
		if r.p.jitter > 0 {
			delay += r.net.rng.Int64N(r.p.jitter)
		}
		var pk *packet
		if cls == pktHeartbeat {
			pk = heartbeatPacket
		} else {
			pk = &packet{class: cls, payloads: make([][]byte, len(payloads))}
			for i, b := range payloads {
				pk.payloads[i] = append([]byte(nil), b...)
			}
		}
		r.q.push(event{at: r.now + delay, kind: evDeliver, node: int32(to), from: int32(from), pkt: pk})
	}
}

var heartbeatPacket = &packet{class: pktHeartbeat}

func (r *runner) drop(from, to int, cls pktClass, why string) {
	r.tr.begin(trDrop, r.now)
	r.tr.int(int64(from))
	r.tr.int(int64(to))
	r.tr.int(int64(cls))
	r.tr.str(why)
	r.tr.end()
}

// deliver hands a packet to its destination node.
func (r *runner) deliver(e event) {
	from, to := int(e.from), int(e.node)
	dst := r.nodes[to]
	if dst.state != stateUp {
		r.drop(from, to, e.pkt.class, "down")
		return
	}
	if !r.net.connected(from, to) {
		r.drop(from, to, e.pkt.class, "partition")
		return
	}
	if dst.paused {
		r.holdPacket(from, to, e.pkt)
		return
	}
	r.handPacket(from, to, e.pkt)
}

// handPacket gives a packet that reached node to's process to its Node,
// and answers a push request.
func (r *runner) handPacket(from, to int, pkt *packet) {
	dst := r.nodes[to]
	r.tr.begin(trDeliver, r.now)
	r.tr.int(int64(from))
	r.tr.int(int64(to))
	r.tr.int(int64(pkt.class))
	r.tr.end()
	r.heard(to, from)
	for _, b := range pkt.payloads {
		if err := dst.node.Receive(r.nodes[from].id, b); err != nil {
			r.receiveErrors++
			r.tr.begin(trReceiveErr, r.now)
			r.tr.int(int64(to))
			r.tr.str(err.Error())
			r.tr.end()
		}
	}
	if pkt.class == pktPushReq && r.nodes[from].state == stateUp {
		r.send(to, from, pktPushResp, dst.node.FullState())
	}
}
