package fairmesh_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fairmesh/fairmesh"
)

// A deletion through one node reaches every node of a 3-node mesh, and the
// client is limited by the defaults there again: its old limit no longer
// binds anywhere.
func TestDeleteClientConvergesOnEveryNode(t *testing.T) {
	h := newMesh(t, 3, fairmesh.Config{DefaultRate: 300, DefaultPeriod: time.Second})
	require.NoError(t, h.nodes["n1"].UpdateClientWeight("acme", 4))
	require.NoError(t, h.nodes["n2"].UpdateClientRateLimit("acme", 30, time.Second))
	for range 500 {
		h.step()
	}
	for _, id := range h.ids {
		c, err := h.nodes[id].Client("acme")
		require.NoError(t, err)
		require.Equal(t, fairmesh.ClientConfig{Weight: 4, Rate: 30, Period: time.Second, Limited: true, Configured: true, OwnWeight: true, OwnLimit: true}, c.Config, id)
	}

	require.NoError(t, h.nodes["n3"].DeleteClient("acme"))
	for range 500 {
		h.step()
	}
	for _, id := range h.ids {
		c, err := h.nodes[id].Client("acme")
		require.NoError(t, err)
		assert.Equal(t, fairmesh.ClientConfig{Weight: 1, Rate: 300, Period: time.Second, Limited: true}, c.Config, "%s: back to the defaults", id)
	}
	// The old limit (30) no longer binds: a window admits far more.
	got := 0
	for range 2 {
		got = h.window(map[string]map[string]float64{"n1": {"acme": 0.1}, "n2": {"acme": 0.1}, "n3": {"acme": 0.1}})["acme"]
	}
	assert.Greater(t, got, 200, "admitted in a window after the deletion")
	assert.ErrorIs(t, h.nodes["n1"].DeleteClient("acme"), fairmesh.ErrNotConfigured, "deleted already")
}

// The deletion is an LWW write: it wins over an older update that arrives
// after it and loses to a newer one, on every node alike.
func TestDeleteClientIsALastWriterWinsWrite(t *testing.T) {
	h := newMesh(t, 2, fairmesh.Config{})
	n1, n2 := h.nodes["n1"], h.nodes["n2"]
	require.NoError(t, n1.UpdateClientWeight("acme", 5))
	for range 300 {
		h.step()
	}
	// n2 sets a weight while cut off; n1 deletes later, then they meet.
	h.cut = true
	require.NoError(t, n2.UpdateClientWeight("acme", 9))
	h.clk.Advance(10 * time.Millisecond)
	require.NoError(t, n1.DeleteClient("acme"))
	h.cut = false
	for range 300 {
		h.step()
	}
	for _, n := range []*fairmesh.Node{n1, n2} {
		c, err := n.Client("acme")
		require.NoError(t, err)
		assert.False(t, c.Config.Configured, "the later deletion wins")
		assert.Equal(t, 1, c.Config.Weight)
	}
	// A newer write after the deletion wins in turn.
	require.NoError(t, n2.UpdateClientWeight("acme", 2))
	for range 300 {
		h.step()
	}
	c, err := n1.Client("acme")
	require.NoError(t, err)
	assert.Equal(t, fairmesh.ClientConfig{Weight: 2, Period: time.Second, Configured: true, OwnWeight: true}, c.Config)
}

// A deletion survives a save and load of the config registers (the data
// directory), and a stale file written before it cannot bring the client
// back.
func TestDeleteClientSurvivesTheConfigFile(t *testing.T) {
	a, clk := newNode(t, fairmesh.Config{NodeID: "a"})
	require.NoError(t, a.UpdateClientRateLimit("acme", 10, time.Second))
	stale, err := fairmesh.EncodeConfigFile(a.ConfigRegisters())
	require.NoError(t, err)
	clk.Advance(time.Millisecond)
	require.NoError(t, a.DeleteClient("acme"))
	saved, err := fairmesh.EncodeConfigFile(a.ConfigRegisters())
	require.NoError(t, err)

	b, _ := newNode(t, fairmesh.Config{NodeID: "b"})
	for _, file := range [][]byte{saved, stale} {
		rs, err := fairmesh.DecodeConfigFile(file)
		require.NoError(t, err)
		require.NoError(t, b.MergeConfigRegisters(rs))
	}
	c, err := b.Client("acme")
	require.NoError(t, err)
	assert.False(t, c.Config.Configured)
	assert.False(t, c.Config.Limited)
	assert.Equal(t, a.ConfigRegisters(), b.ConfigRegisters(), "the tombstones themselves are kept")
}

func TestDeleteClientRefusesBadIDsAndUnknownClients(t *testing.T) {
	a, _ := newNode(t, fairmesh.Config{NodeID: "a"})
	assert.ErrorIs(t, a.DeleteClient("nosuch"), fairmesh.ErrNotConfigured)
	assert.ErrorContains(t, a.DeleteClient("a\x1b[2J"), "control character")
	assert.Empty(t, a.ConfigRegisters(), "nothing written")
}
