package fairmesh

import "time"

// Activity: what lets a mesh runtime slow its pace while nothing happens.
//
// A node that for a while has sent only keepalives (beacons, leases and
// audits) and received no news (a payload that changed nothing it knew,
// as every push/pull repeats the same state, is no news) has nothing to
// tell the others sooner than its keepalives go out: no consumption to
// report, no config or membership to spread, no rights to move. A runtime may then tick it far
// less often (gossip.Mesh does, see its quiet pace) and pay far fewer
// wakeups for an idle node. Decisions are the runtime's own business (it
// owns the clock they read); everything else that must go out at once is
// signalled on Changed.

// activity is the Node's record of the last non-keepalive traffic.
type activity struct {
	// busyAt is the mesh time of the last Tick that sent anything but
	// keepalives, of the last news received, or of the last local change.
	busyAt int64
	// changed has a value when something must go out at once: a local
	// config update, or news from a member.
	changed chan struct{}
}

// signal marks now busy and wakes the runtime (never blocks). n.mu held.
func (n *Node) signal(now int64) {
	n.act.busyAt = max(n.act.busyAt, now)
	select {
	case n.act.changed <- struct{}{}:
	default: // a wakeup is pending already
	}
}

// Changed is signalled (one value, never blocking the Node) when the Node
// has something that should go out before its next keepalive: a local
// config update, or news from a member (consumption, config, membership,
// rights, a repair request). A runtime ticking the Node slowly ticks it at
// once.
func (n *Node) Changed() <-chan struct{} { return n.act.changed }

// QuietFor reports how long, as of now on the Node's clock, the Node has
// sent only keepalives, received no news and seen no local config change
// (0 while anything else is happening). Called from any goroutine.
func (n *Node) QuietFor(now time.Time) time.Duration {
	n.mu.Lock()
	defer n.mu.Unlock()
	return time.Duration(max(0, now.UnixNano()+n.offset.Load()-n.act.busyAt))
}
