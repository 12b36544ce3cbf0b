package redact

// Eight bytes at a time in a uint64 ("SIMD within a register"): the dense
// scan for separators tests a whole word with a few arithmetic operations and
// no branch per byte. See triggerBytes.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// load8 returns s[i:i+8] as a little-endian word; the compiler makes it one
// load.
func load8(s string, i int) uint64 {
	b := s[i : i+8]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}
