package fairmesh

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fairmesh/fairmesh/crdt"
)

// ClientSpec is one client's config as a config file states it: the
// client's own weight and limit, each absent (nil Weight, nil Rate) when
// the client should run on the node's default.
type ClientSpec struct {
	ID     string
	Weight *int
	Rate   *int
	Period time.Duration // with Rate
}

// ClientSetting is a client's own weight and limit, each nil when the
// client runs on the default.
type ClientSetting struct {
	Weight *int
	Rate   *int
	Period time.Duration
}

// ClientChange is what ApplyClients does, or would do, to one client.
type ClientChange struct {
	ID            string
	Before, After ClientSetting
}

// MaxApplyClients bounds the clients of one ApplyClients call.
const MaxApplyClients = 100_000

// ApplyClients makes the listed clients' own config what specs say, all
// of it or none: every spec is checked first (client ID, duplicates,
// weight, limit, as UpdateClientWeight and UpdateClientRateLimit check
// them), and one bad spec refuses the whole call, changing nothing. A spec
// without a weight (or limit) removes the client's own weight (or limit):
// the file is the whole truth about the clients it lists. With prune, the
// configured clients the specs do not list lose their config too (the file
// is the whole truth about every client). With dryRun nothing changes.
//
// It returns the changes, sorted by client ID, one per client whose config
// differs (or would differ). The writes are stamped and spread like any
// other update; they are applied under one hold of the node's lock, so no
// decision here sees half of them.
func (n *Node) ApplyClients(specs []ClientSpec, prune, dryRun bool) ([]ClientChange, error) {
	if len(specs) > MaxApplyClients {
		return nil, fmt.Errorf("fairmesh: %d clients in one apply, more than %d", len(specs), MaxApplyClients)
	}
	seen := make(map[string]int, len(specs))
	for i, s := range specs {
		if err := ValidateClientID(s.ID); err != nil {
			return nil, fmt.Errorf("%w (client %d)", err, i)
		}
		if j, dup := seen[s.ID]; dup {
			return nil, fmt.Errorf("fairmesh: client %q is listed twice (clients %d and %d)", s.ID, j, i)
		}
		seen[s.ID] = i
		if s.Weight != nil {
			if err := validWeight(*s.Weight); err != nil {
				return nil, fmt.Errorf("%w (client %q)", err, s.ID)
			}
		}
		switch {
		case s.Rate != nil:
			if err := validLimit(*s.Rate, s.Period); err != nil {
				return nil, fmt.Errorf("%w (client %q)", err, s.ID)
			}
			if err := n.grantsSomething(*s.Rate, s.Period); err != nil {
				return nil, fmt.Errorf("%w (client %q)", err, s.ID)
			}
		case s.Period != 0:
			return nil, fmt.Errorf("fairmesh: client %q has a period but no rate", s.ID)
		}
	}

	n.mu.Lock()
	defer n.mu.Unlock()
	type target struct {
		h    uint64
		spec ClientSpec
	}
	targets := make([]target, 0, len(specs))
	added := 0
	for _, s := range specs {
		h := n.hashID(s.ID)
		cc := n.conf[h]
		if cc != nil && cc.id != s.ID {
			return nil, hashCollision(s.ID, cc.id)
		}
		if cc == nil {
			added++
		}
		targets = append(targets, target{h, s})
	}
	if len(n.conf)+added > n.cfg.MaxClients {
		return nil, fmt.Errorf("fairmesh: %d new clients would exceed MaxClients (%d, %d configured)", added, n.cfg.MaxClients, len(n.conf))
	}
	if prune {
		for h, cc := range n.conf {
			if _, listed := seen[cc.id]; !listed && (cc.weightSet() || cc.limitSet()) {
				targets = append(targets, target{h, ClientSpec{ID: cc.id}})
			}
		}
	}

	var changes []ClientChange
	for _, t := range targets {
		before := n.settingOf(t.h)
		after := ClientSetting{Weight: t.spec.Weight, Rate: t.spec.Rate, Period: t.spec.Period}
		if sameSetting(before, after) {
			continue
		}
		changes = append(changes, ClientChange{ID: t.spec.ID, Before: before, After: after})
		if dryRun {
			continue
		}
		cc, err := n.confFor(t.h, t.spec.ID)
		if err != nil {
			// Checked above, under this same lock: cannot happen.
			return changes, errors.Join(errors.New("fairmesh: apply stopped part-way"), err)
		}
		stamp := n.hlc.Now()
		if !sameInt(before.Weight, after.Weight) {
			w := unsetWeight
			if after.Weight != nil {
				w = *after.Weight
			}
			cc.weight.Merge(crdt.LWW[int]{Value: w, Stamp: stamp, Node: n.cfg.NodeID})
		}
		limitChanged := !sameInt(before.Rate, after.Rate) || before.Period != after.Period
		if limitChanged {
			var v limitValue
			if after.Rate != nil {
				v = limitValue{*after.Rate, after.Period}
			}
			cc.limit.Merge(crdt.LWW[limitValue]{Value: v, Stamp: stamp, Node: n.cfg.NodeID})
		}
		n.configChanged(t.h, limitChanged)
	}
	slices.SortFunc(changes, func(a, b ClientChange) int { return strings.Compare(a.ID, b.ID) })
	return changes, nil
}

// settingOf is client h's own config, nil where it runs on the default.
func (n *Node) settingOf(h uint64) ClientSetting {
	var s ClientSetting
	cc := n.conf[h]
	if cc == nil {
		return s
	}
	if cc.weightSet() {
		w := cc.weight.Value
		s.Weight = &w
	}
	if cc.limitSet() {
		r := cc.limit.Value.Rate
		s.Rate, s.Period = &r, cc.limit.Value.Period
	}
	return s
}

func sameInt(a, b *int) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func sameSetting(a, b ClientSetting) bool {
	return sameInt(a.Weight, b.Weight) && sameInt(a.Rate, b.Rate) && (a.Rate == nil || a.Period == b.Period)
}
