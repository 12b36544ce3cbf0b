package gunzip

import (
	"errors"
	"math/bits"
)

// A table entry is one uint32, looked up by the next root bits of input
// (DEFLATE packs Huffman codes starting from their first bit, so a table is
// indexed by the bit-reversed code):
//
//	bits 0–7   bits to consume: the code and the extra bits after it (for
//	           a subtable pointer: the root bits)
//	bits 8–11  the code's length, so extra bits are read from the bits
//	           before consuming; for a subtable pointer, its bits
//	bits 12–15 flags
//	bits 16–31 literal byte, length or distance base, or subtable offset
const (
	flagLiteral = 1 << 12
	flagEnd     = 1 << 13 // end of block
	flagSub     = 1 << 14 // the entry points at a subtable for longer codes
	flagInvalid = 1 << 15 // no code, or a symbol DEFLATE does not allow
)

const (
	litRoot  = 10 // most literal/length codes are shorter than this
	distRoot = 8
	maxCode  = 15 // DEFLATE's longest code

	// Table sizes: the root table plus room for every subtable a complete
	// code can need (zlib's "enough" bound is 1332 and 402 for these roots).
	litTableSize  = 2048
	distTableSize = 1024
)

var (
	errOversubscribed = errors.New("over-subscribed Huffman code")
	errIncomplete     = errors.New("incomplete Huffman code")
	errTableFull      = errors.New("Huffman code needs more table than DEFLATE allows")
)

var lengthBase = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
var lengthExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
var distBase = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
var distExtra = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}

// litInfo and distInfo are each symbol's entry with its extra bits in the
// low byte, before build adds the code length; codeLenInfo is the
// code-length alphabet's (the symbol is the value).
var litInfo, distInfo, codeLenInfo = func() (lit [288]uint32, dist [32]uint32, cl [19]uint32) {
	for s := range 256 {
		lit[s] = uint32(s)<<16 | flagLiteral
	}
	lit[256] = flagEnd
	for i := range lengthBase {
		lit[257+i] = uint32(lengthBase[i])<<16 | uint32(lengthExtra[i])
	}
	lit[286], lit[287] = flagInvalid, flagInvalid
	for i := range distBase {
		dist[i] = uint32(distBase[i])<<16 | uint32(distExtra[i])
	}
	dist[30], dist[31] = flagInvalid, flagInvalid
	for s := range cl {
		cl[s] = uint32(s) << 16
	}
	return
}()

// fixedLit and fixedDist are the tables of DEFLATE's fixed codes (block
// type 1), built once.
var fixedLit, fixedDist = func() (*[litTableSize]uint32, *[distTableSize]uint32) {
	var lengths [288]uint8
	for s := range lengths {
		switch {
		case s < 144:
			lengths[s] = 8
		case s < 256:
			lengths[s] = 9
		case s < 280:
			lengths[s] = 7
		default:
			lengths[s] = 8
		}
	}
	lit, dist := new([litTableSize]uint32), new([distTableSize]uint32)
	var sorted [288]uint16
	if err := build(lit[:], lengths[:], litInfo[:], litRoot, &sorted); err != nil {
		panic(err)
	}
	var dl [32]uint8
	for s := range dl {
		dl[s] = 5
	}
	if err := build(dist[:], dl[:], distInfo[:], distRoot, &sorted); err != nil {
		panic(err)
	}
	return lit, dist
}()

// build fills table with the canonical Huffman code of lengths (one code
// length per symbol, 0 for unused symbols): a root table of 1<<root entries
// followed by subtables for longer codes. A code must be complete, except
// for the two cases DEFLATE decoders accept: no code at all (a block without
// distances) and a single code of one bit. sorted is scratch space.
func build(table []uint32, lengths []uint8, info []uint32, root uint, sorted *[288]uint16) error {
	var count [maxCode + 1]int
	for _, l := range lengths {
		count[l]++
	}
	count[0] = 0
	left := 1
	for l := 1; l <= maxCode; l++ {
		left = left<<1 - count[l]
		if left < 0 {
			return errOversubscribed
		}
	}
	rootSize := 1 << root
	if left > 0 {
		// Only an incomplete code leaves entries unwritten; a complete one
		// writes every root and subtable entry below.
		for i := range table[:rootSize] {
			table[i] = flagInvalid
		}
		total := 0
		for _, c := range count {
			total += c
		}
		if total > 1 || (total == 1 && count[1] != 1) {
			return errIncomplete
		}
	}
	// Symbols ordered by code length, then by value: canonical code order.
	var offs [maxCode + 2]int
	for l := 1; l <= maxCode; l++ {
		offs[l+1] = offs[l] + count[l]
	}
	for s, l := range lengths {
		if l != 0 {
			sorted[offs[l]] = uint16(s)
			offs[l]++
		}
	}
	code, i := 0, 0
	next := rootSize // where the next subtable goes
	prefix, subBits, subStart := -1, uint(0), 0
	for l := 1; l <= maxCode; l++ {
		for c := 0; c < count[l]; c++ {
			sym := sorted[i]
			i++
			rev := int(bits.Reverse16(uint16(code)) >> (16 - l))
			code++
			if uint(l) <= root {
				e := entry(info[sym], uint32(l))
				for j := rev; j < rootSize; j += 1 << l {
					table[j] = e
				}
				continue
			}
			if p := rev & (rootSize - 1); p != prefix {
				// A new subtable: as wide as the codes that share this
				// prefix need, given the codes not yet placed.
				prefix = p
				subBits = uint(l) - root
				room := 1 << subBits
				for int(subBits+root) < maxCode {
					remaining := count[int(subBits+root)]
					if int(subBits+root) == l {
						remaining -= c
					}
					room -= remaining
					if room <= 0 {
						break
					}
					subBits++
					room <<= 1
				}
				subStart = next
				next += 1 << subBits
				if next > len(table) {
					return errTableFull
				}
				if left > 0 {
					for k := subStart; k < next; k++ {
						table[k] = flagInvalid
					}
				}
				table[p] = uint32(subStart)<<16 | flagSub | uint32(subBits)<<8 | uint32(root)
			}
			e := entry(info[sym], uint32(uint(l)-root))
			step := 1 << (uint(l) - root)
			for j := rev >> root; j < 1<<subBits; j += step {
				table[subStart+j] = e
			}
		}
		code <<= 1
	}
	return nil
}

// entry completes a symbol's info with the length of its code.
func entry(info, codeLen uint32) uint32 {
	return info&^0xff | (info&0xff + codeLen) | codeLen<<8
}
