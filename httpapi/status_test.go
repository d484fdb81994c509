package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fairmesh/fairmesh"
	"github.com/fairmesh/fairmesh/httpapi"
)

func TestStatusReportsConfigAndCounters(t *testing.T) {
	f := newFixture(t, fairmesh.Config{
		NodeID:         "edge-1",
		Capacity:       1000,
		CapacityPeriod: 2 * time.Second,
		DefaultRate:    2,
		DefaultPeriod:  500 * time.Millisecond,
		MaxClients:     5000,
	}, httpapi.Options{})
	for range 3 {
		f.do(t, "GET", "/v1/allow/a", "")
	}

	// The node folds its decisions into the counters as its clock
	// advances; a tick in the next window makes sure they are in.
	f.clock.Advance(time.Second)
	f.node.Tick(f.clock.Now())

	rec := f.do(t, "GET", "/v1/status", "")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	s := decode[httpapi.Status](t, rec)
	assert.Equal(t, "edge-1", s.NodeID)
	assert.Equal(t, 1000, s.Capacity)
	assert.Equal(t, "2s", s.CapacityPeriod)
	assert.Equal(t, 2, s.DefaultRate)
	assert.Equal(t, "500ms", s.DefaultPeriod)
	assert.Equal(t, 1, s.DefaultWeight)
	assert.Equal(t, 1, s.MinRate)
	assert.Equal(t, "lease", s.Partition)
	assert.Equal(t, 5000, s.MaxClients)
	assert.Equal(t, 1, s.TrackedClients)
	assert.Equal(t, uint64(2), s.Counters.Admitted)
	assert.Equal(t, uint64(1), s.Counters.Denied)
	tm, err := time.Parse(time.RFC3339Nano, s.Time)
	require.NoError(t, err)
	assert.WithinDuration(t, t0.Add(time.Second), tm, time.Millisecond)
	// A node alone has no peers: an empty array, never null.
	assert.Contains(t, rec.Body.String(), `"members":[]`)
	assert.Empty(t, s.Members)
}

func TestStatusListsPeers(t *testing.T) {
	f := newFixture(t, fairmesh.Config{NodeID: "a"}, httpapi.Options{})
	f.node.SetMember("c", fairmesh.MemberSuspect)
	f.node.SetMember("b", fairmesh.MemberAlive)
	s := decode[httpapi.Status](t, f.do(t, "GET", "/v1/status", ""))
	assert.Equal(t, []httpapi.Member{{ID: "b", State: "alive"}, {ID: "c", State: "suspect"}}, s.Members)
}
