// Package testids builds client IDs for tests: here, IDs whose xxhash64 is
// another ID's, which an attacker who chooses client IDs can compute.
package testids

import (
	"encoding/binary"
	"math/bits"

	"github.com/cespare/xxhash/v2"
)

// xxhash64's constants.
const (
	prime1 uint64 = 11400714785074694791
	prime2 uint64 = 14029467366897019727
	prime3 uint64 = 1609587929392839161
	prime4 uint64 = 9650029242287828579
	prime5 uint64 = 2870177450012600261
)

// inverse returns x⁻¹ mod 2⁶⁴ for odd x (Newton's iteration doubles the
// correct low bits each step: 6 steps cover 64).
func inverse(x uint64) uint64 {
	y := x
	for range 6 {
		y *= 2 - x*y
	}
	return y
}

// unshift inverts v ^= v >> s.
func unshift(v uint64, s uint) uint64 {
	x := v
	for i := s; i < 64; i += s {
		x = v ^ x>>s
	}
	return x
}

func round(lane uint64) uint64 { return bits.RotateLeft64(lane*prime2, 31) * prime1 }

// Colliding returns a 16-byte ID of printable ASCII that starts with
// prefix (at most 4 bytes) and whose xxhash64 equals victim's: a valid
// client ID, as an attacker would choose one. xxhash64 is not a keyed hash
// and every step of it on a 16-byte input can be run backwards: for each
// choice of the first 8 bytes the last 8 follow, and about one choice in
// 2 800 makes them printable, which takes a few milliseconds to find. The
// result differs from victim unless victim is itself such a string, which
// the caller can check.
func Colliding(victim, prefix string) string {
	// Undo the avalanche: h becomes the state after the second lane.
	h := xxhash.Sum64String(victim)
	h = unshift(h, 32)
	h *= inverse(prime3)
	h = unshift(h, 29)
	h *= inverse(prime2)
	h = unshift(h, 33)
	var lane [8]byte
	copy(lane[:], prefix)
	for try := uint64(0); ; try++ {
		// The bytes after the prefix count through printable ASCII.
		t := try
		for i := len(prefix); i < 8; i++ {
			lane[i] = byte('!' + t%94)
			t /= 94
		}
		// Run the chosen first lane forwards, and solve for the second.
		first := binary.LittleEndian.Uint64(lane[:])
		h1 := bits.RotateLeft64((prime5+16)^round(first), 27)*prime1 + prime4
		k2 := bits.RotateLeft64((h-prime4)*inverse(prime1), -27) ^ h1
		second := bits.RotateLeft64(k2*inverse(prime1), -31) * inverse(prime2)
		b := binary.LittleEndian.AppendUint64(lane[:0:0], first)
		b = binary.LittleEndian.AppendUint64(b, second)
		if printable(b[8:]) {
			return string(b)
		}
	}
}

func printable(b []byte) bool {
	for _, c := range b {
		if c < '!' || c > '~' {
			return false
		}
	}
	return true
}
