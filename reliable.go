package fairmesh

import (
	"slices"

	"github.com/fairmesh/fairmesh/crdt"
)

// Reliable reports. Every reports payload a node broadcasts carries a
// sequence number, and every beacon the highest one it has used; a
// receiver keeps, per member, which of the last 64 it received, and asks
// (a nack, each tick) for the ones it missed. The sender answers with the
// current reports of the clients that payload carried, under the same
// number: values are absolute, so a repair is never stale and a repeat is
// harmless. A lost report is so repaired within a few ticks, not at the
// next full-state exchange, and nodes do not split windows by different
// numbers for long.

const (
	// repWindow is how many recent sequence numbers a receiver tracks; an
	// older loss is left to the full-state exchange.
	repWindow = 64
	// maxRepLog bounds the payloads a sender can repair.
	maxRepLog = 256
	// maxNacksPerTick bounds the sequence numbers one nack asks for.
	maxNacksPerTick = 32
)

// repRecv is what a node received of one member's numbered reports: the
// highest number heard of, and a bit per number below it (bit i: max−i).
type repRecv struct {
	max  uint64
	mask uint64
}

func (r *repRecv) shift(to uint64) {
	if d := to - r.max; d >= 64 {
		r.mask = 0
	} else {
		r.mask <<= d
	}
	r.max = to
}

// got records payload s received.
func (r *repRecv) got(s uint64) {
	switch {
	case r.max == 0:
		// The first payload heard of: those numbered before it (up to the
		// tracked window) were sent before this node listened, or lost;
		// either way they are asked for.
		r.max, r.mask = s, 1
	case s > r.max:
		r.shift(s)
		r.mask |= 1
	case r.max-s < repWindow:
		r.mask |= 1 << (r.max - s)
	}
}

// heardOf records that the sender has used numbers up to high.
func (r *repRecv) heardOf(high uint64) {
	switch {
	case high == 0:
	case r.max == 0:
		r.max, r.mask = high, 0
	case high > r.max:
		r.shift(high)
	}
}

// missing appends the numbers not received, oldest first, at most limit.
func (r *repRecv) missing(out []uint64, limit int) []uint64 {
	for i := repWindow - 1; i >= 0 && len(out) < limit; i-- {
		if uint64(i) >= r.max {
			continue
		}
		if r.mask&(1<<i) == 0 {
			out = append(out, r.max-uint64(i))
		}
	}
	return out
}

// noteReports records the number of a reports or config payload from
// member from.
func (n *Node) noteReports(from string, m wireMsg) {
	r := n.repIn[from]
	if r == nil {
		if len(n.repIn) >= maxTrackedPeers {
			return
		}
		r = &repRecv{}
		n.repIn[from] = r
	}
	if m.typ == msgReports && len(m.reports) == 0 {
		r.heardOf(m.seq)
	} else if m.seq > 0 {
		r.got(m.seq)
	}
}

// sentPayload is what one numbered payload carried: reports or config
// registers of these clients.
type sentPayload struct {
	config bool
	hashes []uint64
}

// logSent remembers which clients each numbered payload carried.
func (n *Node) logSent(first uint64, config bool, hs []uint64, payloadOf []int) {
	for i, h := range hs {
		s := first + uint64(payloadOf[i])
		p := n.repLog[s]
		if p == nil {
			p = &sentPayload{config: config}
			n.repLog[s] = p
		}
		if !slices.Contains(p.hashes, h) {
			p.hashes = append(p.hashes, h)
		}
	}
	for s := range n.repLog {
		if s+maxRepLog <= n.repSeq {
			delete(n.repLog, s)
		}
	}
}

// onNack queues repairs of the payloads member from missed.
func (n *Node) onNack(from string, seqs []uint64) {
	for _, s := range seqs {
		if _, ok := n.repLog[s]; ok && len(n.repairs[from]) < maxNacksPerTick {
			n.repairs[from] = append(n.repairs[from], s)
		}
	}
}

// reliabilityMessages returns this tick's nacks and repairs.
func (n *Node) reliabilityMessages(stamp crdt.Timestamp) []Message {
	var out []Message
	for _, peer := range sortedKeys(n.repIn) {
		if st, ok := n.mem[peer]; !ok || st == MemberDead || st == MemberLeft {
			delete(n.repIn, peer)
			continue
		}
		miss := n.repIn[peer].missing(nil, maxNacksPerTick)
		if len(miss) == 0 {
			continue
		}
		n.counters.NacksSent += uint64(len(miss))
		for _, p := range encodeNacks(n.cfg.MaxMessageBytes, stamp, miss) {
			out = append(out, Message{To: peer, Payload: p})
		}
	}
	for _, peer := range sortedKeys(n.repairs) {
		for _, s := range n.repairs[peer] {
			sent := n.repLog[s]
			var ps [][]byte
			if sent.config {
				var cs []wireConfig
				for _, h := range sent.hashes {
					if cc := n.conf[h]; cc != nil {
						cs = n.appendConf(cs, cc)
					}
				}
				if len(cs) == 0 {
					continue
				}
				ps, _ = encodeConfigs(n.cfg.MaxMessageBytes, stamp, s, cs)
			} else {
				var rs []wireReport
				for _, h := range sent.hashes {
					if e := n.table.LookupHash(h); e != nil {
						rs = appendReports(rs, h, e)
					}
				}
				if len(rs) == 0 {
					continue
				}
				ps, _ = encodeReports(n.cfg.MaxMessageBytes, stamp, s, rs)
			}
			// The original fit one payload, and so, but for a client that
			// reports two windows now, does its repair: what would spill
			// over waits for the next report of those clients.
			out = append(out, Message{To: peer, Payload: ps[0]})
			n.counters.ReportsRepaired++
		}
	}
	clear(n.repairs)
	return out
}
