package fairmesh

// hashID is the 64-bit name of a client on this node and in the mesh:
// xxhash64 of its ID, seeded with Config.HashKey (0, the default, is plain
// xxhash64, the same value as xxhash.Sum64String). Without a key the hash is
// public and can be collided at will; with one, a colliding ID must be found
// without knowing the key.
func (n *Node) hashID(id string) uint64 { return keyedHash(n.cfg.HashKey, id) }

// xxhash64's primes.
const (
	xxPrime1 uint64 = 11400714785074694791
	xxPrime2 uint64 = 14029467366897019727
	xxPrime3 uint64 = 1609587929392839161
	xxPrime4 uint64 = 9650029242287828579
	xxPrime5 uint64 = 2870177450012600261
)

// keyedHash is xxhash64 of s seeded with key: the value
// xxhash.NewWithSeed(key) gives (with key 0, xxhash.Sum64String's), computed
// in one pass over a string. The library's seeded form goes through a
// Digest that copies the input and cost the fast path ~30 ns; this one,
// inlined pieces and single-load words, costs no more than the library's
// unseeded assembly (measured: BenchmarkAllow/fairmesh/hot and hot-keyed).
func keyedHash(key uint64, s string) uint64 {
	n := len(s)
	var h uint64
	if n >= 32 {
		v1, v2, v3, v4 := key+xxPrime1+xxPrime2, key+xxPrime2, key, key-xxPrime1
		for ; len(s) >= 32; s = s[32:] {
			v1 = xxRound(v1, le64(s))
			v2 = xxRound(v2, le64(s[8:]))
			v3 = xxRound(v3, le64(s[16:]))
			v4 = xxRound(v4, le64(s[24:]))
		}
		h = rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)
		h = xxMerge(h, v1)
		h = xxMerge(h, v2)
		h = xxMerge(h, v3)
		h = xxMerge(h, v4)
	} else {
		h = key + xxPrime5
	}
	h += uint64(n)
	for ; len(s) >= 8; s = s[8:] {
		h ^= xxRound(0, le64(s))
		h = rotl(h, 27)*xxPrime1 + xxPrime4
	}
	if len(s) >= 4 {
		h ^= uint64(le32(s)) * xxPrime1
		h = rotl(h, 23)*xxPrime2 + xxPrime3
		s = s[4:]
	}
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i]) * xxPrime5
		h = rotl(h, 11) * xxPrime1
	}
	h ^= h >> 33
	h *= xxPrime2
	h ^= h >> 29
	h *= xxPrime3
	h ^= h >> 32
	return h
}

func xxRound(acc, lane uint64) uint64 { return rotl(acc+lane*xxPrime2, 31) * xxPrime1 }

func xxMerge(acc, v uint64) uint64 { return (acc^xxRound(0, v))*xxPrime1 + xxPrime4 }

func rotl(x uint64, r uint) uint64 { return x<<r | x>>(64-r) }

// le64 and le32 read little-endian words from the head of s; the compiler
// turns each into a single load.
func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

func le32(s string) uint32 {
	_ = s[3]
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
}
