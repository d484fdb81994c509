package fairmesh

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fairmesh/fairmesh/bucket"
)

// Client returns what this node knows of clientID: its agreed config (the
// defaults when never configured) and, when tracked here, its allowance,
// slice and this node's counts. It counts nothing.
func (n *Node) Client(clientID string) (ClientStatus, error) {
	if err := ValidateClientID(clientID); err != nil {
		return ClientStatus{}, err
	}
	now := n.meshNow()
	h := n.hashID(clientID)
	n.mu.Lock()
	defer n.mu.Unlock()
	if cc := n.conf[h]; cc != nil && cc.id != clientID {
		return ClientStatus{}, hashCollision(clientID, cc.id)
	}
	return n.clientStatus(h, clientID, n.table.Lookup(h, clientID), now), nil
}

func (n *Node) clientStatus(h uint64, id string, e *bucket.Entry, now int64) ClientStatus {
	c := n.effective(h)
	st := ClientStatus{ID: id, Config: ClientConfig{
		Weight: c.weight, Rate: c.rate, Period: time.Duration(c.period), Limited: c.limited, Configured: c.configured,
		OwnWeight: c.ownWeight, OwnLimit: c.ownLimit,
	}, Tracked: (e != nil && e != n.overflow) || n.peer[h] != nil}
	if !c.limited {
		st.Config.Rate = 0
	}
	var p *bucket.Policy
	if e != nil {
		p = e.Policy()
	} else {
		p = n.newClientPolicy(h, now)
	}
	st.Allowance, st.Slice = p.Limit, int64(p.Slice)
	if p.Unlimited {
		st.Allowance, st.Slice = -1, -1
	}
	w := now / c.period
	if e != nil {
		att, adm := e.Counts(w)
		st.Admitted, st.Denied = int64(adm), int64(att-adm)
		att, adm = e.Counts(w - 1)
		st.PrevAdmitted, st.PrevDenied = int64(adm), int64(att-adm)
	}
	_, total, _ := n.demandVector(e, n.peer[h], w-1, c.period)
	st.MeshDemand = int64(total / demandScale)
	return st
}

// Clients returns up to max clients (all when max <= 0) that are configured
// or tracked here, sorted by ID.
func (n *Node) Clients(max int) []ClientStatus {
	now := n.meshNow()
	n.mu.Lock()
	defer n.mu.Unlock()
	type idh struct {
		id string
		h  uint64
		e  *bucket.Entry
	}
	seen := map[uint64]bool{}
	var all []idh
	n.table.Range(func(e *bucket.Entry) bool {
		all = append(all, idh{e.ID(), e.Hash(), e})
		seen[e.Hash()] = true
		return true
	})
	for h, cc := range n.conf {
		if !seen[h] {
			all = append(all, idh{cc.id, h, nil})
		}
	}
	slices.SortFunc(all, func(a, b idh) int { return strings.Compare(a.id, b.id) })
	if max > 0 && len(all) > max {
		all = all[:max]
	}
	out := make([]ClientStatus, 0, len(all))
	for _, x := range all {
		out = append(out, n.clientStatus(x.h, x.id, x.e, now))
	}
	return out
}

// Fenced reports whether the node admits nothing: its lease ran out (it
// heard from too few of the members it knows for Lease), it has not yet
// reached any of the members it was told to join, or an operator removed
// it.
func (n *Node) Fenced() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.fenced
}

// Settled reports whether every member holding shares is reachable: no
// member the membership layer declared dead still holds its shares,
// waiting to be reclaimed (lease.go). While one does, its shares idle.
func (n *Node) Settled() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, id := range n.holders {
		if n.mem[id] == MemberDead {
			return false
		}
	}
	return true
}

// Status summarises the node.
func (n *Node) Status() Status {
	now := n.meshNow()
	n.mu.Lock()
	defer n.mu.Unlock()
	st := Status{
		NodeID: n.cfg.NodeID, Time: time.Unix(0, now).UTC(), ClockOffset: time.Duration(n.offset.Load()),
		Capacity: n.cfg.Capacity, CapacityPeriod: n.cfg.CapacityPeriod,
		DefaultRate: n.cfg.DefaultRate, DefaultPeriod: n.cfg.DefaultPeriod, DefaultWeight: n.cfg.DefaultWeight,
		MinRate: n.cfg.MinRate, Partition: n.cfg.Partition, Fenced: n.fenced,
		TrackedClients: n.table.Len(), MaxClients: n.table.Max(),
		Counters: n.counters,
	}
	st.Counters.Overflowed = n.overflowed.Load()
	st.Counters.Returned = n.returned.Load()
	for _, id := range sortedKeys(n.mem) {
		st.Members = append(st.Members, Member{ID: id, State: n.mem[id]})
	}
	return st
}

// CheckInvariants returns an error describing the first broken internal
// invariant, or nil. The simulator calls it as it runs.
func (n *Node) CheckInvariants() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.table.Len() > n.table.Max() {
		return fmt.Errorf("fairmesh: %d tracked clients exceed the bound %d", n.table.Len(), n.table.Max())
	}
	if n.selfIdx < 0 || n.selfIdx >= len(n.holders) || n.holders[n.selfIdx] != n.cfg.NodeID {
		return fmt.Errorf("fairmesh: this node is not among the slice holders %v", n.holders)
	}
	var err error
	n.table.Range(func(e *bucket.Entry) bool {
		p := e.Policy()
		switch {
		case p.Period <= 0:
			err = fmt.Errorf("fairmesh: client %q has window length %d", e.ID(), p.Period)
		case n.overClaimed(e):
			err = fmt.Errorf("fairmesh: client %q claimed more than its limit %d in a window", e.ID(), n.effective(e.Hash()).rate)
		case n.cfg.Capacity > 0 && !p.Unlimited && p.Slice > uint64(n.capacityIn(p.Period)):
			err = fmt.Errorf("fairmesh: client %q reserves %d, more than the capacity", e.ID(), p.Slice)
		case e.Cold.PrevReported.Window >= 0 && e.Cold.PrevReported.Window >= e.Cold.Reported.Window:
			err = fmt.Errorf("fairmesh: client %q reports out of order (%d then %d)", e.ID(), e.Cold.PrevReported.Window, e.Cold.Reported.Window)
		case n.table.LookupHash(e.Hash()) != e:
			err = fmt.Errorf("fairmesh: client %q shares its hash with %q", e.ID(), n.table.LookupHash(e.Hash()).ID())
		}
		return err == nil
	})
	return err
}

// overClaimed reports whether a window's claim of a limited client, or this
// node's reservation for it, exceeds its limit (what it borrowed on top may
// not: that was another's claim).
func (n *Node) overClaimed(e *bucket.Entry) bool {
	c := n.effective(e.Hash())
	if !c.limited {
		return false
	}
	for _, p := range e.Cold.Pins {
		if p.Window1 > 0 && (int64(p.Slice) > int64(c.rate) || int64(p.Limit) > int64(c.rate)) {
			return true
		}
	}
	return false
}

// ErrNotReady is wrapped by every reason Ready gives.
var ErrNotReady = errors.New("fairmesh: not ready")

// Ready reports why this node should not be sent traffic yet, or nil when
// it should: it admits nothing while it is fenced (started with seeds and
// has reached none of them, or its lease ran out: too few members confirm
// hearing it), and a node whose clock is further behind the mesh's than
// MaxClockOffset has had to jump to the mesh's time, which an operator
// should fix (its time sync is broken). Load balancers and orchestrators
// read it through /readyz.
func (n *Node) Ready() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.fenced {
		if n.cfg.Seeds > 0 && len(n.mem) == 0 {
			return fmt.Errorf("%w: has not reached any of the %d members it was told to join", ErrNotReady, n.cfg.Seeds)
		}
		return fmt.Errorf("%w: fenced: fewer than half the members it knows confirm hearing it within its lease (%v)", ErrNotReady, n.cfg.Lease)
	}
	if off := time.Duration(n.offset.Load()); off > n.cfg.MaxClockOffset {
		return fmt.Errorf("%w: this host's clock is %v behind the mesh's (the guard is %v): fix its time sync", ErrNotReady, off, n.cfg.MaxClockOffset)
	}
	return nil
}
