package gossip

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/fairmesh/fairmesh"
)

// TestEncryptionKeepsOutStrangers: a mesh with a gossip key refuses a node
// without it, and one with another key; a node with the key joins.
func TestEncryptionKeepsOutStrangers(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	c := newCluster(t, 3, func(i int) Config {
		cfg := testConfig("", fairmesh.Config{})
		cfg.SecretKey = key
		return cfg
	})
	for _, tc := range []struct {
		name string
		key  []byte
		ok   bool
	}{
		{"no key", nil, false},
		{"wrong key", bytes.Repeat([]byte{8}, 32), false},
		{"the key", key, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("x-"+tc.name, fairmesh.Config{})
			cfg.SecretKey = tc.key
			cfg.Join = c.addrs
			cfg.JoinTimeout = 1500 * time.Millisecond
			cfg.BindPort = 0
			m, err := New(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			err = m.WaitJoined(context.Background())
			if tc.ok {
				if err != nil {
					t.Fatalf("a node with the key could not join: %v", err)
				}
				poll(t, 5*time.Second, "the mesh to list the keyed node", func() bool { return len(c.meshes[0].Members()) == 4 })
				return
			}
			if err == nil {
				t.Fatalf("a node with %s joined an encrypted mesh", tc.name)
			}
			t.Logf("join refused: %v", err)
			for i, mm := range c.meshes {
				for _, mem := range mm.Members() {
					if mem.ID == cfg.NodeID {
						t.Errorf("%s lists %s", c.ids[i], mem.ID)
					}
				}
			}
			if got := len(m.Members()); got != 1 {
				t.Errorf("the stranger sees %d members, want only itself", got)
			}
		})
	}
}

// TestEncryptedMeshNamesClientsAlike: with a gossip key the client hash is
// keyed from it; every member derives the same key, so demand that one node
// measures is seen under the same client by the others.
func TestEncryptedMeshNamesClientsAlike(t *testing.T) {
	key := bytes.Repeat([]byte{9}, 32)
	c := newCluster(t, 3, func(i int) Config {
		cfg := testConfig("", fairmesh.Config{DefaultRate: 1000})
		cfg.SecretKey = key
		return cfg
	})
	// A different key per node would leave node 0 blind to the demand node 1
	// measures: its reports would name another client.
	poll(t, 10*time.Second, "node 0 to see node 1's demand for the client", func() bool {
		for range 20 {
			c.meshes[1].Allow("acme")
		}
		cs, err := c.meshes[0].Client("acme")
		return err == nil && cs.MeshDemand > 0
	})
}

func TestClientHashKey(t *testing.T) {
	a, b := ClientHashKey(bytes.Repeat([]byte{1}, 32)), ClientHashKey(bytes.Repeat([]byte{2}, 32))
	if a == 0 || b == 0 || a == b {
		t.Fatalf("keys %x and %x: want two different non-zero keys", a, b)
	}
	if ClientHashKey(bytes.Repeat([]byte{1}, 32)) != a {
		t.Fatal("the derivation is not deterministic")
	}
}
