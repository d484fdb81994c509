package gossip

import (
	"crypto/rand"
	"encoding/binary"
)

// randomSeed returns 64 secret random bits for a Node's TableSeed. The Node
// never reads randomness itself (it must stay deterministic under the
// simulator), so the runtime that owns it draws the seed; a seed that
// callers cannot learn is what keeps crafted client IDs out of shared
// probe chains.
func randomSeed() uint64 {
	var b [8]byte
	rand.Read(b[:]) // never fails: crypto/rand aborts the program instead
	return binary.LittleEndian.Uint64(b[:])
}
