package sim

// The pause fault: a node whose process is stopped (docker pause, a stopped
// VM, a long GC pause) while its clock runs on. While paused, a node:
//
//   - gets no Tick, ages no membership view and starts no push/pull (its
//     ticker events keep their phase and do nothing);
//   - receives nothing: packets that reach it wait in its receive buffer, in
//     arrival order, up to MaxPausedPackets; later ones are dropped ("buffer
//     full"), as a full socket buffer drops them. A packet that crosses a
//     partition or finds the node crashed is dropped as usual; one already
//     buffered is delivered whatever happens to the network afterwards;
//   - decides no request: the load balancer keeps sending it its share (it
//     does not know), and each request waits, up to MaxPausedRequests;
//     later ones are refused at once and count as denied in the window of
//     their arrival (true time);
//   - takes no config call and no notice of a join or a leave.
//
// On resume, all at the resume instant and in this order:
//
//  1. everything it holds, requests and packets interleaved in the order
//     they arrived (one FIFO over both sockets, as the process drains them
//     when it runs again): each request is decided with whatever state the
//     node has at that point, and counted in the window its mesh time names
//     (the resume instant's), each packet is received (and a push request
//     answered);
//  2. the leaves it missed (MemberLeft for nodes that left while it was
//     paused);
//  3. one Tick: the tick its ticker holds pending (a Go ticker keeps one),
//     which ages its views — members whose packets reached its buffer were
//     just heard from; the others may turn suspect or dead at once;
//  4. then its ticks and push/pulls go on at their old phase.
//
// So the backlog is decided before the node has ticked or heard anything
// newer than its buffer: the harsh case, and what a real process does. The
// other nodes see a paused node fall silent: suspect, then dead after the
// dead timeout, and alive again when its first packets after the resume
// arrive.

import "github.com/fairmesh/fairmesh"

// heldItem is a request or a packet waiting at a paused node.
type heldItem struct {
	at     int64 // true time it arrived
	from   int   // packet source; -1 for a request
	client int   // request's client
	pkt    *packet
}

// pause stops node i's process.
func (r *runner) pause(i int) {
	sn := r.nodes[i]
	sn.paused = true
	r.tr.begin(trPause, r.now)
	r.tr.int(int64(i))
	r.tr.end()
}

// resume starts node i's process again and has it catch up (see above).
func (r *runner) resume(i int) {
	sn := r.nodes[i]
	r.tr.begin(trResume, r.now)
	r.tr.int(int64(i))
	r.tr.int(int64(len(sn.held)))
	r.tr.end()
	sn.paused = false
	held := sn.held
	sn.held, sn.heldPkts, sn.heldReqs = nil, 0, 0
	for _, h := range held {
		if h.pkt == nil {
			r.decide(i, h.client)
		} else {
			r.handPacket(h.from, i, h.pkt)
		}
	}
	for j, o := range r.nodes {
		if j != i && o.state == stateGone && r.views[i][j].known {
			r.setView(i, j, fairmesh.MemberLeft)
		}
	}
	r.gossipTick(i)
}

// holdPacket puts a packet that reached paused node to in its buffer, or
// drops it if the buffer is full.
func (r *runner) holdPacket(from, to int, pkt *packet) {
	sn := r.nodes[to]
	if sn.heldPkts >= MaxPausedPackets {
		r.drop(from, to, pkt.class, "buffer full")
		return
	}
	sn.heldPkts++
	sn.held = append(sn.held, heldItem{at: r.now, from: from, pkt: pkt})
}

// holdRequest queues a request of client c at paused node n, or refuses it
// if the backlog is full.
func (r *runner) holdRequest(n, c int) {
	sn := r.nodes[n]
	if sn.heldReqs >= MaxPausedRequests {
		r.refuse(n, c, r.now)
		return
	}
	sn.heldReqs++
	sn.held = append(sn.held, heldItem{at: r.now, from: -1, client: c})
}

// refuse counts a request of client c that arrived at node n at true time
// at and that the node never decides: denied, in the window of at.
func (r *runner) refuse(n, c int, at int64) {
	if w := r.met.window(at); w >= 0 && w < len(r.met.wins) {
		r.met.arrive(w, c)
	}
	r.tr.begin(trRefused, r.now)
	r.tr.int(int64(n))
	r.tr.int(int64(c))
	r.tr.end()
}

// abandonHeld counts the requests still waiting at nodes paused at the end
// of the run as refused where they arrived (they time out).
func (r *runner) abandonHeld() {
	for n, sn := range r.nodes {
		for _, h := range sn.held {
			if h.pkt == nil {
				r.refuse(n, h.client, h.at)
			}
		}
		sn.held = nil
	}
}

// pausedCount is the number of nodes paused now.
func (r *runner) pausedCount() int {
	k := 0
	for _, sn := range r.nodes {
		if sn.paused {
			k++
		}
	}
	return k
}
