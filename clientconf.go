package fairmesh

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fairmesh/fairmesh/crdt"
)

// limitValue is a client's own limit: Rate requests per Period.
type limitValue struct {
	Rate   int
	Period time.Duration
}

// clientConf holds a configured client's registers. Weight and limit are
// separate LWW registers stamped by the HLC, so concurrent updates of the
// two through different nodes both survive.
type clientConf struct {
	id     string
	weight crdt.LWW[int]
	limit  crdt.LWW[limitValue]
}

// effConf is a client's effective configuration: its registers where set,
// the node's defaults elsewhere.
type effConf struct {
	weight     int
	rate       int
	period     int64 // window length, ns
	limited    bool
	configured bool
	ownWeight  bool
	ownLimit   bool
}

func (n *Node) effective(h uint64) effConf {
	c := effConf{weight: n.cfg.DefaultWeight}
	if n.cfg.DefaultRate > 0 {
		c.rate, c.period, c.limited = n.cfg.DefaultRate, int64(n.cfg.DefaultPeriod), true
	} else if n.cfg.Capacity > 0 {
		c.period = int64(n.cfg.CapacityPeriod)
	} else {
		c.period = int64(n.cfg.DefaultPeriod)
	}
	cc := n.conf[h]
	if cc == nil {
		return c
	}
	if cc.weightSet() {
		c.weight, c.configured, c.ownWeight = cc.weight.Value, true, true
	}
	if cc.limitSet() {
		c.rate, c.period, c.limited, c.configured, c.ownLimit = cc.limit.Value.Rate, int64(cc.limit.Value.Period), true, true, true
	}
	return c
}

// A deleted register keeps its stamp, so that the deletion wins over older
// writes wherever it meets them (a tombstone), and holds a value no write
// can make: weight unsetWeight, limit the zero limitValue (period 0).
const unsetWeight = -1

// weightSet and limitSet report whether a register holds a value: it was
// written and its latest write was not a deletion.
func (cc *clientConf) weightSet() bool {
	return !cc.weight.Stamp.IsZero() && cc.weight.Value != unsetWeight
}

func (cc *clientConf) limitSet() bool {
	return !cc.limit.Stamp.IsZero() && cc.limit.Value.Period != 0
}

func validWeight(w int) error {
	if w < 0 || w > MaxWeight {
		return fmt.Errorf("fairmesh: weight %d is outside [0, %d]", w, MaxWeight)
	}
	return nil
}

func validLimit(rate int, period time.Duration) error {
	if rate < 0 || rate > MaxRate {
		return fmt.Errorf("fairmesh: rate %d is outside [0, %d]", rate, MaxRate)
	}
	if period < MinPeriod || period > MaxPeriod {
		return fmt.Errorf("fairmesh: period %v is outside [%v, %v]", period, MinPeriod, MaxPeriod)
	}
	return nil
}

// UpdateClientWeight sets clientID's weight (0 makes it a scavenger that
// keeps the MinRate floor). It is refused, changing nothing, when the ID is
// invalid or the weight is negative or above MaxWeight. The update is
// stamped with the node's HLC and spread to the mesh by Tick; the newest
// stamp wins everywhere. It takes effect in this node's next allocation.
func (n *Node) UpdateClientWeight(clientID string, weight int) error {
	if err := ValidateClientID(clientID); err != nil {
		return err
	}
	if err := validWeight(weight); err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	h := n.hashID(clientID)
	cc, err := n.confFor(h, clientID)
	if err != nil {
		return err
	}
	cc.weight.Merge(crdt.LWW[int]{Value: weight, Stamp: n.hlc.Now(), Node: n.cfg.NodeID})
	n.configChanged(h, false)
	return nil
}

// UpdateClientRateLimit sets clientID's own limit to rate requests per
// period, mesh-wide; rate 0 blocks the client. It is refused, changing
// nothing, when the ID is invalid, the rate negative or above MaxRate, or
// the period outside [MinPeriod, MaxPeriod]. The new limit applies to this
// node's decisions at once (a decision sees the whole old or the whole new
// limit) and reaches the mesh through Tick.
func (n *Node) UpdateClientRateLimit(clientID string, rate int, period time.Duration) error {
	if err := ValidateClientID(clientID); err != nil {
		return err
	}
	if err := validLimit(rate, period); err != nil {
		return err
	}
	if err := n.grantsSomething(rate, period); err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	h := n.hashID(clientID)
	cc, err := n.confFor(h, clientID)
	if err != nil {
		return err
	}
	cc.limit.Merge(crdt.LWW[limitValue]{Value: limitValue{rate, period}, Stamp: n.hlc.Now(), Node: n.cfg.NodeID})
	n.configChanged(h, true)
	return nil
}

// ErrNotConfigured is returned by DeleteClient for a client that has
// neither a weight nor a limit of its own.
var ErrNotConfigured = errors.New("fairmesh: client is not configured")

// DeleteClient removes clientID's own weight and limit, mesh-wide: the
// client goes back to the node's defaults. The deletion is a write like any
// other (both registers stamped with the node's HLC, holding "unset"), so
// it wins over older updates and loses to newer ones wherever they meet,
// and it reaches the mesh through Tick. It returns ErrNotConfigured,
// changing nothing, when the client has neither register set, and refuses
// an invalid ID or one whose hash is another configured client's.
func (n *Node) DeleteClient(clientID string) error {
	if err := ValidateClientID(clientID); err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	h := n.hashID(clientID)
	cc := n.conf[h]
	if cc != nil && cc.id != clientID {
		return hashCollision(clientID, cc.id)
	}
	if cc == nil || (!cc.weightSet() && !cc.limitSet()) {
		return ErrNotConfigured
	}
	stamp := n.hlc.Now()
	cc.weight.Merge(crdt.LWW[int]{Value: unsetWeight, Stamp: stamp, Node: n.cfg.NodeID})
	cc.limit.Merge(crdt.LWW[limitValue]{Stamp: stamp, Node: n.cfg.NodeID})
	n.configChanged(h, true)
	return nil
}

// grantsSomething refuses a limit whose window is so short that the
// capacity holds less than one request in it (100 per second and a limit per
// millisecond): the client's allowance, its fair share of the capacity in
// each of its windows, would round to nothing in every window. Rate 0 is
// meant to block and is always accepted.
func (n *Node) grantsSomething(rate int, period time.Duration) error {
	if rate == 0 || n.cfg.Capacity <= 0 {
		return nil
	}
	if int64(n.cfg.Capacity)*int64(period) < int64(n.cfg.CapacityPeriod) {
		least := (n.cfg.CapacityPeriod + time.Duration(n.cfg.Capacity) - 1) / time.Duration(n.cfg.Capacity)
		return fmt.Errorf("fairmesh: a window of %v holds less than one request of the capacity (%d per %v), so the limit would grant nothing; use a period of at least %v",
			period, n.cfg.Capacity, n.cfg.CapacityPeriod, least)
	}
	return nil
}

// confFor returns the client's registers, creating them. It refuses when
// MaxClients clients are configured already, and when another client with
// the same 64-bit hash is configured: registers are keyed by hash, and an
// update for one ID must never land in another's. A client with the same
// hash that is only tracked gives way: configuration is the operator's word,
// so the tracked client is dropped and lands in the overflow bucket from
// its next request (see track).
func (n *Node) confFor(h uint64, id string) (*clientConf, error) {
	cc := n.conf[h]
	if cc != nil {
		if cc.id != id {
			n.counters.Collisions++
			return nil, hashCollision(id, cc.id)
		}
		return cc, nil
	}
	if len(n.conf) >= n.cfg.MaxClients {
		return nil, errTooManyConfigured
	}
	if e := n.table.LookupHash(h); e != nil && e.ID() != id {
		n.table.Delete(e)
		// Its queued reports would speak for the configured client.
		delete(n.pendingReports, h)
		n.counters.Collisions++
	}
	cc = &clientConf{id: strings.Clone(id)}
	n.conf[h] = cc
	return cc, nil
}

// ErrHashCollision is wrapped by the errors that refuse a client ID whose
// 64-bit hash is that of another client this node knows. Two such IDs are
// never equal and never share state; the mesh names clients by hash, so
// the one that came second is refused or served by the overflow bucket.
var ErrHashCollision = errors.New("fairmesh: client ID hash collision")

func hashCollision(id, other string) error {
	return fmt.Errorf("%w: %q has the same 64-bit hash as %q, which this node knows already; use another ID", ErrHashCollision, id, other)
}

// errTooManyConfigured refuses a config update past the bound.
var errTooManyConfigured = errors.New("fairmesh: MaxClients clients are configured already")

// configChanged queues the client's registers for gossip and re-derives
// its policy now, so that a lowered limit binds from the next decision.
func (n *Node) configChanged(h uint64, limit bool) {
	n.counters.ConfigUpdatesLocal++
	n.confVersion.Add(1)
	n.pendingConf[h] = resends
	n.signal(n.meshNow())
	n.alloc.dirty = true
	if limit {
		n.unpin(h)
	}
	n.refreshClient(h)
}

// unpin marks the client's claimed rights stale after its limit changed,
// so that they are claimed again from the same views (what others counted
// does not change) under the new limit. A weight changes nothing already
// claimed: it enters the next fair-share run.
func (n *Node) unpin(h uint64) {
	if cc := n.conf[h]; cc != nil {
		if e := n.table.Lookup(h, cc.id); e != nil {
			for i := range e.Cold.Pins {
				if p := &e.Cold.Pins[i]; p.Window1 > 0 {
					p.Window1 = -p.Window1
				}
			}
		}
	}
}

// validate checks a config entry from outside the node, a peer's or a
// saved file's, past what decoding checked already: every source of
// registers refuses the same entries.
func (c wireConfig) validate() error {
	if err := ValidateClientID(c.id); err != nil {
		return err
	}
	if len(c.node) > MaxClientIDLen {
		return fmt.Errorf("fairmesh: node ID is longer than %d bytes", MaxClientIDLen)
	}
	if c.stamp.IsZero() {
		return errors.New("fairmesh: config entry without a stamp")
	}
	switch c.kind {
	case kindWeight:
		if (c.v1 < 0 && c.v1 != unsetWeight) || c.v1 > MaxWeight || c.v2 != 0 {
			return fmt.Errorf("fairmesh: weight %d is outside [0, %d]", c.v1, MaxWeight)
		}
	case kindLimit:
		if c.v1 == 0 && c.v2 == 0 {
			break // deleted
		}
		if c.v1 < 0 || c.v1 > MaxRate || c.v2 < int64(MinPeriod) || c.v2 > int64(MaxPeriod) {
			return fmt.Errorf("fairmesh: limit %d per %dns is out of range", c.v1, c.v2)
		}
	default:
		return fmt.Errorf("fairmesh: unknown config kind %d", c.kind)
	}
	return nil
}
