package gossip

import (
	"time"

	"github.com/fairmesh/fairmesh"
)

// The Node's Go API, so that a service can embed a mesh member. Each is the
// Node method of the same name: safe for concurrent use from any goroutine;
// Allow, AllowN and Decide never block and allocate nothing on a known
// client; the others take the Node's lock briefly. A config update is
// gossiped by the next tick (GossipInterval) and reaches every member within
// about two intervals; a lost packet is repaired by push/pull.

// Allow reports whether clientID may make one request now, and counts it.
func (m *Mesh) Allow(clientID string) bool { return m.node.Allow(clientID) }

// AllowN reports whether clientID may make k requests now: all or none.
func (m *Mesh) AllowN(clientID string, k int) bool { return m.node.AllowN(clientID, k) }

// Decide is AllowN with the details an API reports to its callers.
func (m *Mesh) Decide(clientID string, k int) fairmesh.Decision { return m.node.Decide(clientID, k) }

// UpdateClientWeight sets clientID's weight mesh-wide.
func (m *Mesh) UpdateClientWeight(clientID string, weight int) error {
	return m.node.UpdateClientWeight(clientID, weight)
}

// UpdateClientRateLimit sets clientID's own limit mesh-wide: rate requests
// per period.
func (m *Mesh) UpdateClientRateLimit(clientID string, rate int, period time.Duration) error {
	return m.node.UpdateClientRateLimit(clientID, rate, period)
}

// Client returns what this node knows of clientID.
func (m *Mesh) Client(clientID string) (fairmesh.ClientStatus, error) {
	return m.node.Client(clientID)
}

// Clients returns up to max clients (all when max <= 0), sorted by ID.
func (m *Mesh) Clients(max int) []fairmesh.ClientStatus { return m.node.Clients(max) }

// Status summarises the Node, its members as it last heard of them
// included.
func (m *Mesh) Status() fairmesh.Status { return m.node.Status() }
