package fairmesh

import (
	"math"
	"slices"
	"strings"
)

// Who may hold rights in a window, and how much.
//
// Every node keeps a log of its own holder views (itself and the members
// whose shares it holds: under the lease policy every member it knows
// that has not left, been removed or been reclaimed), each member
// named with its incarnation (the mesh time at which that process started),
// and gossips the log's newest entries when it changes. The rights of a
// window x of length P are claimed from the views in force at the instant
// T = x·P − lead(P), shortly before the window opens, and pinned: they
// never move again but by explicit transfers.
//
// A node claims, for window x, the smallest of its parts of the allowance
// under its own view at T and under every view at T, known to it, of the
// members its own view holds — and nothing under a view that does not hold
// it, with its current incarnation. So:
//
//   - a member that joins, or restarts (a new incarnation), claims nothing
//     until every member it knows has counted it in a view in force at T;
//     the others counted what it claims before it claims it;
//   - a member that leaves or is declared dead keeps, for the windows
//     already pinned, everything it held (it counts as consumed until the
//     window ends): nobody else re-grants it;
//   - while two members disagree about a third, each claims no more than
//     its part under the other's view.
//
// The parts then sum to at most the allowance whenever no two claimants
// are unaware of each other; that (a partition) is what the partition
// policies are for.

// member is a holder named with its incarnation.
type member struct {
	name string
	inc  int64
}

// viewEntry is one holder view of one node: the members, sorted by name,
// that it counted from since (mesh ns) on.
type viewEntry struct {
	seq     uint64
	since   int64
	members []member
	// fenced marks an own entry recorded while this node was fenced (its
	// lease ran out, lease.go): it claims nothing of windows whose lead instant
	// falls in it. Not sent: peers need only the members.
	fenced bool
}

// index reports whether the view holds name with incarnation inc, and
// where. A member listed with incarnation 0 (the view's owner did not know
// it yet) matches any: what protects a window from a restarted process is
// that a process claims nothing of windows whose lead instant came before
// it started, while its predecessor claimed nothing after it stopped.
func (v *viewEntry) index(name string, inc int64) (int, bool) {
	i, ok := findMember(v.members, name)
	return i, ok && (v.members[i].inc == inc || v.members[i].inc == 0)
}

// findMember returns where name is, or would be, in ms (sorted by name),
// and whether it is there.
func findMember(ms []member, name string) (int, bool) {
	return slices.BinarySearchFunc(ms, name, func(m member, s string) int { return strings.Compare(m.name, s) })
}

// maxViewLog bounds the entries kept of any node's view log.
const maxViewLog = 8

// viewLog is a node's view history, oldest first.
type viewLog struct {
	inc     int64
	entries []viewEntry
}

// at returns the entry in force at mesh time t, or nil when none is known.
// For a t before the node started (its incarnation), it is the view the
// node started with: a process that did not exist at t claimed nothing
// then, so what bounds a window whose lead instant came before every
// member started (a mesh starting) is the views they started with. A
// process restarted since t is bounded instead by the views of the others
// at t, which name its previous incarnation.
func (l *viewLog) at(t int64) *viewEntry {
	for i := len(l.entries) - 1; i >= 0; i-- {
		if l.entries[i].since <= t {
			return &l.entries[i]
		}
	}
	if t < l.inc {
		// The newest entry recorded at the start instant.
		var first *viewEntry
		for i := range l.entries {
			if l.entries[i].since == l.inc {
				first = &l.entries[i]
			}
		}
		return first
	}
	return nil
}

// add merges an entry, keeping the log sorted by seq and bounded; an entry
// already known changes nothing. It reports whether the log changed.
func (l *viewLog) add(e viewEntry) bool {
	i, found := slices.BinarySearchFunc(l.entries, e.seq, func(x viewEntry, s uint64) int {
		switch {
		case x.seq < s:
			return -1
		case x.seq > s:
			return 1
		}
		return 0
	})
	if found {
		return false
	}
	l.entries = slices.Insert(l.entries, i, e)
	if len(l.entries) > maxViewLog {
		l.entries = slices.Delete(l.entries, 0, len(l.entries)-maxViewLog)
	}
	return true
}

// latest returns the newest entry, or nil.
func (l *viewLog) latest() *viewEntry {
	if len(l.entries) == 0 {
		return nil
	}
	return &l.entries[len(l.entries)-1]
}

// recordView appends this node's current holder view to its log when it
// changed, and queues it for gossip. A member still waiting to be counted
// (admit) is named as the last entry named it.
func (n *Node) recordView(now int64) {
	last := n.views.latest()
	ms := make([]member, 0, len(n.holders))
	for _, h := range n.holders {
		inc := n.startedAt
		if h != n.cfg.NodeID {
			inc = n.incOf(h)
			if w, ok := n.admitting[h]; ok && w == inc {
				if prev, _ := last.admits(h, inc); prev != nil {
					ms = append(ms, *prev)
				}
				continue
			}
		}
		ms = append(ms, member{h, inc})
	}
	due := n.admitDue
	n.admitDue = nil
	if last != nil && slices.Equal(last.members, ms) && last.fenced == n.fenced {
		return
	}
	if len(due) > 0 {
		// Record first what was in force from the admission on: the entry
		// before, with the members admitted in time.
		from := int64(math.MaxInt64)
		pre := slices.Clone(last.members)
		for name, inc := range due {
			from = min(from, inc+admitDelay)
			i, found := findMember(pre, name)
			if found {
				pre[i] = member{name, inc}
			} else {
				pre = slices.Insert(pre, i, member{name, inc})
			}
		}
		if from > last.since && from < now {
			n.appendView(from, pre, last.fenced)
		}
	}
	n.appendView(now, ms, n.fenced)
}

// appendView appends one entry, in force from since, to this node's log.
func (n *Node) appendView(since int64, ms []member, fenced bool) {
	seq := uint64(1)
	if last := n.views.latest(); last != nil {
		if slices.Equal(last.members, ms) && last.fenced == fenced {
			return
		}
		seq = last.seq + 1
		if last.since == since {
			// Replaced at the instant it began: it was never in force.
			n.views.entries = n.views.entries[:len(n.views.entries)-1]
		}
	}
	n.views.add(viewEntry{seq: seq, since: since, members: ms, fenced: fenced})
	n.pendingView = resends + 1
}

// admits reports whether counting member name with incarnation inc would
// admit a new process into view v (nil: none yet, which admits nobody: a
// node's first view counts everyone it knows at once), and how v names the
// member now (nil: not at all). A member v names with incarnation 0 (its
// owner did not know it yet) is already counted.
func (v *viewEntry) admits(name string, inc int64) (prev *member, admits bool) {
	if v == nil || inc == 0 {
		return nil, false
	}
	i, found := findMember(v.members, name)
	if !found {
		return nil, true
	}
	m := &v.members[i]
	return m, m.inc != 0 && m.inc != inc
}

// admitDelay is how long after a member's process starts every node counts
// it (admit): time for its first messages to reach every member, a few
// gossip intervals. A constant, so that every node derives the same
// instant.
const admitDelay = 400_000_000

// alone reports whether this node has never known another member: it
// then holds every allowance whole, with nothing to agree on.
func (n *Node) alone() bool { return len(n.mem) == 0 }

// leadOf is how long before a window of length period opens its rights
// are claimed: long enough for a view change to reach every member first,
// short enough to follow membership closely.
func leadOf(period int64) int64 { return min(period/2, int64(maxLead)) }

// maxLead bounds leadOf (ns).
const maxLead = 500_000_000

// claimViews returns the views that bound this node's claim on a window
// whose lead instant is t: its own view at t first, then the view at t of
// every other member of it that this node knows. ok is false when this
// node's own view at t is unknown (it had not started) or it holds nothing
// then.
func (n *Node) claimViews(t int64) (views []*viewEntry, ok bool) {
	own := n.views.at(t)
	if t < n.startedAt {
		// This process did not exist at t: what bounds it is what the
		// members it knows now held then.
		own = n.views.latest()
	}
	if own == nil || own.fenced {
		return nil, false
	}
	views = append(n.scratch.views[:0], own)
	consult := func(name string) bool {
		if name == n.cfg.NodeID {
			return true
		}
		pv := n.peerViews[name]
		if pv == nil {
			return false
		}
		v := pv.at(t)
		if v == nil {
			return false // its view at t is unknown: claim nothing
		}
		views = append(views, v)
		return true
	}
	for _, m := range own.members {
		if !consult(m.name) {
			return nil, false
		}
	}
	if t < n.startedAt {
		// Every member this process has known may have claimed the window
		// before it started, gone since or not.
		for i := range n.views.entries {
			for _, m := range n.views.entries[i].members {
				if _, ok := own.index(m.name, 0); !ok && !consult(m.name) {
					return nil, false
				}
			}
		}
	}
	n.scratch.views = views
	return views, true
}
