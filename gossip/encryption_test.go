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
