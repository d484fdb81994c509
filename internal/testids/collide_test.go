package testids

import (
	"testing"

	"github.com/cespare/xxhash/v2"
)

func TestCollidingHasTheVictimsHash(t *testing.T) {
	for _, victim := range []string{"gold", "a", "client-00000042", string(make([]byte, 256))} {
		id := Colliding(victim, "evil")
		if id == victim || len(id) != 16 || id[:4] != "evil" || !printable([]byte(id)) {
			t.Fatalf("Colliding(%q) = %q: not a different printable 16-byte ID with the prefix", victim, id)
		}
		if xxhash.Sum64String(id) != xxhash.Sum64String(victim) {
			t.Fatalf("Colliding(%q) = %q: hash %x, want %x", victim, id, xxhash.Sum64String(id), xxhash.Sum64String(victim))
		}
	}
}
