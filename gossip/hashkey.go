package gossip

import (
	"crypto/sha256"
	"encoding/binary"
)

// ClientHashKey derives the key of the client hash (fairmesh.Config.HashKey)
// from the gossip key, so that every member of an encrypted mesh names
// clients alike without a second secret to distribute, and a client who
// does not know the gossip key cannot craft an ID with another's hash. It
// never returns 0 (which means "no key").
func ClientHashKey(secret []byte) uint64 {
	sum := sha256.Sum256(append([]byte("fairmesh client hash key v1\x00"), secret...))
	if k := binary.LittleEndian.Uint64(sum[:8]); k != 0 {
		return k
	}
	return 1
}
