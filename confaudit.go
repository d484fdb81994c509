package fairmesh

import "time"

// Config that arrives from a peer changes how this node limits its
// clients, so an operator must be able to see it: which member sent it,
// for which client, and what. Every change is logged, up to
// auditBurst lines per auditPeriod of mesh time; past that, lines are
// counted and the count is logged with the next line that goes out, so a
// config storm cannot flood the log yet nothing goes unmentioned.
const (
	auditBurst  = 20
	auditPeriod = int64(time.Second)
)

// configAudit is the rate limiter of those lines, under the node's lock.
type configAudit struct {
	windowStart int64
	logged      int
	suppressed  int
}

// logRemoteConfig logs a register that a peer's message changed here.
func (n *Node) logRemoteConfig(from string, c wireConfig) {
	now := n.meshNow()
	a := &n.confLog
	if now-a.windowStart >= auditPeriod {
		a.windowStart, a.logged = now, 0
	}
	if a.logged >= auditBurst {
		a.suppressed++
		return
	}
	a.logged++
	r := registerOf(c)
	attrs := []any{"from", from, "client", c.id, "register", r.Kind.String()}
	switch {
	case r.Deleted:
		attrs = append(attrs, "value", "deleted")
	case r.Kind == ConfigWeight:
		attrs = append(attrs, "weight", r.Weight)
	default:
		attrs = append(attrs, "rate", r.Rate, "period", r.Period)
	}
	attrs = append(attrs, "written_by", c.node)
	if a.suppressed > 0 {
		attrs = append(attrs, "not_logged_before", a.suppressed)
		a.suppressed = 0
	}
	n.log.Info("fairmesh: config from a peer applied", attrs...)
}
