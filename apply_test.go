package fairmesh_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fairmesh/fairmesh"
)

func ip(v int) *int { return &v }

func TestApplyClientsMakesTheListedClientsWhatTheFileSays(t *testing.T) {
	n, _ := newNode(t, fairmesh.Config{NodeID: "a"})
	require.NoError(t, n.UpdateClientWeight("keep", 5))
	require.NoError(t, n.UpdateClientRateLimit("keep", 9, time.Second))
	require.NoError(t, n.UpdateClientWeight("drop-limit", 2))
	require.NoError(t, n.UpdateClientRateLimit("drop-limit", 50, time.Second))
	require.NoError(t, n.UpdateClientWeight("unlisted", 7))

	specs := []fairmesh.ClientSpec{
		{ID: "new", Weight: ip(3), Rate: ip(100), Period: time.Minute},
		{ID: "keep", Weight: ip(5), Rate: ip(9), Period: time.Second},
		{ID: "drop-limit", Weight: ip(2)},
	}
	before := n.ConfigRegisters()
	dry, err := n.ApplyClients(specs, false, true)
	require.NoError(t, err)
	assert.Equal(t, before, n.ConfigRegisters(), "a dry run changes nothing")
	require.Len(t, dry, 2, "keep is unchanged")
	assert.Equal(t, "drop-limit", dry[0].ID)
	assert.Equal(t, 50, *dry[0].Before.Rate)
	assert.Nil(t, dry[0].After.Rate)
	assert.Equal(t, "new", dry[1].ID)
	assert.Nil(t, dry[1].Before.Weight)

	got, err := n.ApplyClients(specs, false, false)
	require.NoError(t, err)
	assert.Equal(t, dry, got, "the dry run said what the apply did")
	cfg := func(id string) fairmesh.ClientConfig {
		c, err := n.Client(id)
		require.NoError(t, err)
		return c.Config
	}
	assert.Equal(t, fairmesh.ClientConfig{Weight: 3, Rate: 100, Period: time.Minute, Limited: true, Configured: true, OwnWeight: true, OwnLimit: true}, cfg("new"))
	assert.False(t, cfg("drop-limit").Limited, "a limit the file leaves out is removed")
	assert.Equal(t, 7, cfg("unlisted").Weight, "unlisted clients are left alone")

	pruned, err := n.ApplyClients(specs, true, false)
	require.NoError(t, err)
	require.Len(t, pruned, 1)
	assert.Equal(t, "unlisted", pruned[0].ID)
	assert.False(t, cfg("unlisted").Configured, "pruned")
	again, err := n.ApplyClients(specs, true, false)
	require.NoError(t, err)
	assert.Empty(t, again, "applying the same file twice changes nothing")
}

func TestApplyClientsIsAllOrNothing(t *testing.T) {
	n, _ := newNode(t, fairmesh.Config{NodeID: "a", Capacity: 100})
	require.NoError(t, n.UpdateClientWeight("x", 1))
	before := n.ConfigRegisters()
	for name, specs := range map[string][]fairmesh.ClientSpec{
		"bad weight":    {{ID: "ok", Weight: ip(2)}, {ID: "bad", Weight: ip(-1)}},
		"bad period":    {{ID: "ok", Weight: ip(2)}, {ID: "bad", Rate: ip(5), Period: 25 * time.Hour}},
		"grants none":   {{ID: "ok", Weight: ip(2)}, {ID: "bad", Rate: ip(5), Period: time.Millisecond}},
		"period alone":  {{ID: "ok", Weight: ip(2)}, {ID: "bad", Period: time.Second}},
		"listed twice":  {{ID: "ok", Weight: ip(2)}, {ID: "ok", Weight: ip(3)}},
		"control bytes": {{ID: "ok", Weight: ip(2)}, {ID: "b\nad", Weight: ip(3)}},
	} {
		_, err := n.ApplyClients(specs, true, false)
		assert.Error(t, err, name)
		assert.Equal(t, before, n.ConfigRegisters(), "%s: nothing changed", name)
	}
}

// What one node applies reaches every node, deletions included.
func TestApplyClientsConvergesOnTheMesh(t *testing.T) {
	h := newMesh(t, 3, fairmesh.Config{})
	require.NoError(t, h.nodes["n2"].UpdateClientWeight("old", 4))
	for range 300 {
		h.step()
	}
	_, err := h.nodes["n1"].ApplyClients([]fairmesh.ClientSpec{{ID: "a", Weight: ip(2), Rate: ip(10), Period: time.Second}}, true, false)
	require.NoError(t, err)
	for range 300 {
		h.step()
	}
	for _, id := range h.ids {
		a, _ := h.nodes[id].Client("a")
		old, _ := h.nodes[id].Client("old")
		assert.Equal(t, 10, a.Config.Rate, id)
		assert.False(t, old.Config.Configured, "%s: pruned everywhere", id)
	}
}
