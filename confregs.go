package fairmesh

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/fairmesh/fairmesh/crdt"
)

// ConfigKind says which of a client's two registers a ConfigRegister is.
type ConfigKind uint8

// The kinds of config register. Their values are those of the wire format.
const (
	ConfigWeight ConfigKind = kindWeight
	ConfigLimit  ConfigKind = kindLimit
)

// String returns "weight", "limit", or "kind(N)" for any other value.
func (k ConfigKind) String() string {
	switch k {
	case ConfigWeight:
		return "weight"
	case ConfigLimit:
		return "limit"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// ConfigRegister is one of a client's config registers as a node holds it:
// the client's weight or its limit, with the HLC Stamp and the Node ID of
// the write that set it, so that it merges anywhere exactly as the original
// write would (last writer wins by Stamp, then Node). It is a plain value.
//
// A weight register has Weight set and Rate and Period zero; a limit
// register has Rate and Period set and Weight zero. A register whose latest
// write was a deletion (Node.DeleteClient) has Deleted set and Weight,
// Rate and Period zero: it still carries its Stamp, so that the deletion
// wins over older writes wherever it is merged.
type ConfigRegister struct {
	ClientID string
	Kind     ConfigKind
	Weight   int
	Rate     int
	Period   time.Duration
	Deleted  bool
	Stamp    crdt.Timestamp
	Node     string
}

func (r ConfigRegister) wire() (wireConfig, error) {
	c := wireConfig{id: r.ClientID, kind: uint64(r.Kind), stamp: r.Stamp, node: r.Node}
	if r.Deleted {
		if r.Weight != 0 || r.Rate != 0 || r.Period != 0 {
			return c, errors.New("fairmesh: deleted register with a value")
		}
		if r.Kind == ConfigWeight {
			c.v1 = unsetWeight
		}
		return c, c.validate()
	}
	switch r.Kind {
	case ConfigWeight:
		if r.Weight < 0 {
			// unsetWeight is how the wire says Deleted, never a weight.
			return c, fmt.Errorf("fairmesh: weight %d is outside [0, %d]", r.Weight, MaxWeight)
		}
		if r.Rate != 0 || r.Period != 0 {
			return c, errors.New("fairmesh: weight register with a rate or period")
		}
		c.v1 = int64(r.Weight)
	case ConfigLimit:
		if r.Weight != 0 {
			return c, errors.New("fairmesh: limit register with a weight")
		}
		if r.Period == 0 {
			// A zero period is how the wire says Deleted, never a limit.
			return c, fmt.Errorf("fairmesh: period 0 is outside [%v, %v]", MinPeriod, MaxPeriod)
		}
		c.v1, c.v2 = int64(r.Rate), int64(r.Period)
	}
	return c, c.validate()
}

func registerOf(c wireConfig) ConfigRegister {
	r := ConfigRegister{ClientID: c.id, Kind: ConfigKind(c.kind), Stamp: c.stamp, Node: c.node}
	switch {
	case r.Kind == ConfigWeight && c.v1 == unsetWeight, r.Kind == ConfigLimit && c.v2 == 0:
		r.Deleted = true
	case r.Kind == ConfigWeight:
		r.Weight = int(c.v1)
	default:
		r.Rate, r.Period = int(c.v1), time.Duration(c.v2)
	}
	return r
}

// compareRegisters orders registers by client ID, then weight before limit:
// the order of ConfigRegisters and of a config file.
func compareRegisters(a, b ConfigRegister) int {
	return cmp.Or(cmp.Compare(a.ClientID, b.ClientID), cmp.Compare(a.Kind, b.Kind))
}

// ConfigVersion counts the changes to this node's config registers: it
// grows by at least one each time a register takes a new value, whether
// through UpdateClientWeight, UpdateClientRateLimit, Receive or
// MergeConfigRegisters, and never otherwise. It starts at 0.
//
// It lets a runtime that saves the registers poll for changes cheaply:
// read ConfigVersion, then ConfigRegisters; the snapshot holds at least the
// changes counted, and any later change shows as a greater version. Safe
// for concurrent use; it takes no lock.
func (n *Node) ConfigVersion() uint64 { return n.confVersion.Load() }

// ConfigRegisters returns a snapshot of every config register this node
// holds, set here or merged from the mesh, sorted by client ID and then
// kind (weight first). Clients with neither register set are left out.
// The result is the caller's to keep. Safe for concurrent use.
func (n *Node) ConfigRegisters() []ConfigRegister {
	n.mu.Lock()
	cs := make([]wireConfig, 0, 2*len(n.conf))
	for _, cc := range n.conf {
		cs = n.appendConf(cs, cc)
	}
	n.mu.Unlock()
	rs := make([]ConfigRegister, len(cs))
	for i, c := range cs {
		rs[i] = registerOf(c)
	}
	slices.SortFunc(rs, compareRegisters)
	return rs
}

// MergeConfigRegisters merges rs into this node's registers as if a peer
// had sent them: each register replaces the node's only if it is newer
// (by Stamp, then Node), so merging what ConfigRegisters returned, in any
// order and any number of times, converges. Registers that win are spread
// to the mesh by Tick, and the node's HLC moves past every stamp merged, so
// that a later local update wins over them.
//
// It first checks every register, and refuses the whole of rs, changing
// nothing, when one is invalid as a peer's would be (client ID, node ID,
// value out of range, zero stamp, unknown kind), is stamped more than
// MaxClockOffset ahead of the node's mesh time (it would win every race
// for that client), names a client whose 64-bit hash is another's
// (ErrHashCollision), or when the clients would exceed MaxClients. The
// error names the offending register's index and client. Safe for
// concurrent use.
func (n *Node) MergeConfigRegisters(rs []ConfigRegister) error {
	cs := make([]wireConfig, len(rs))
	for i, r := range rs {
		c, err := r.wire()
		if err != nil {
			return fmt.Errorf("%w (config register %d, client %q)", err, i, r.ClientID)
		}
		cs[i] = c
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	limit := n.meshNow() + int64(n.cfg.MaxClockOffset)
	ids := make(map[uint64]string, len(cs))
	added := 0
	for i, c := range cs {
		if c.stamp.WallTime > limit {
			return fmt.Errorf("fairmesh: config register %d (client %q) is stamped %s, more than MaxClockOffset (%v) ahead of this node's clock",
				i, c.id, c.stamp, n.cfg.MaxClockOffset)
		}
		h := n.hashID(c.id)
		other, seen := ids[h]
		if !seen {
			ids[h] = c.id
			if cc := n.conf[h]; cc == nil {
				added++
			} else {
				other = cc.id
			}
		}
		if other != "" && other != c.id {
			return fmt.Errorf("%w (config register %d)", hashCollision(c.id, other), i)
		}
	}
	if len(n.conf)+added > n.cfg.MaxClients {
		return fmt.Errorf("fairmesh: %d new clients would exceed MaxClients (%d, %d configured)", added, n.cfg.MaxClients, len(n.conf))
	}
	for _, c := range cs {
		if n.mergeConfig(c) {
			n.pendingConf[n.hashID(c.id)] = resends
			n.signal(n.meshNow())
		}
		n.observeStamp(c.stamp)
	}
	return nil
}
