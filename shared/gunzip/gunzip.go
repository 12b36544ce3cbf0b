// Package gunzip decompresses a gzip stream (RFC 1952, DEFLATE of RFC 1951)
// that is wholly in memory, about 1.9 times as fast as the fastest streaming
// reader we measured (klauspost/compress: go test -bench Inflate).
//
// Every record Tributary decodes (a Firehose record, an awslogs payload) is
// already one byte slice, so the streaming design of compress/gzip and
// klauspost/compress buys nothing and costs their speed: they read input a
// byte at a time through an io.ByteReader and write output through a 32 KiB
// window that is copied out again. Inflater loads input 56 bits at a time
// and writes straight into the output slice.
//
// It is strict and reports failure rather than guess: anything it does not
// decode exactly (a malformed or truncated stream, a checksum or length
// mismatch, trailing bytes) is an error wrapping ErrFormat, and callers hand
// such input to klauspost/compress, whose verdict stands. Every member's
// output is checked against the CRC-32 and length in its trailer, so a
// decoding bug would show up as an error, not as wrong bytes. Output past
// the limit stops decoding at once with ErrLimit: a gzip bomb costs no more
// than the limit, in time and in memory.
package gunzip

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

var (
	// ErrFormat: the input is not a complete, well-formed gzip stream.
	ErrFormat = errors.New("gunzip: malformed gzip stream")
	// ErrLimit: the stream inflates to more than the limit.
	ErrLimit = errors.New("gunzip: inflated size exceeds the limit")
)

// Inflater decompresses gzip streams, reusing its Huffman tables. It is not
// safe for concurrent use. The zero value is ready.
type Inflater struct {
	lit    [litTableSize]uint32
	dist   [distTableSize]uint32
	codes  [1 << 7]uint32 // the code-length alphabet: codes of at most 7 bits
	sorted [288]uint16
}

// Append appends the decompressed content of src, one or more concatenated
// gzip members and nothing else, to dst. It fails with ErrLimit when that
// content would exceed limit bytes, and with an error wrapping ErrFormat
// when src is not a well-formed gzip stream; dst's contents beyond its
// original length are then unspecified.
func (z *Inflater) Append(dst, src []byte, limit int) (out []byte, err error) {
	defer func() {
		// The decoder indexes only checked slices, so a bug could at worst
		// panic on an index; that must fail one record, not the batch.
		if r := recover(); r != nil {
			out, err = dst, fmt.Errorf("%w: %v", ErrFormat, r)
		}
	}()
	// The buffer never reaches past the limit, spare capacity in dst
	// included: the decoding loops check only the buffer's length.
	d := decoder{z: z, in: src, out: dst[:min(cap(dst), len(dst)+limit)], op: len(dst), max: len(dst) + limit}
	// A hint over the limit is simply not reserved: decoding then stops
	// at the limit itself.
	_ = d.reserve(sizeHint(src, limit))
	for {
		if err := d.member(); err != nil {
			return dst, err
		}
		if d.pos == len(src) {
			return d.out[:d.op], nil
		}
	}
}

// sizeHint is how much output to make room for at once: the size the last
// member's trailer declares, unless that is implausible for the input.
func sizeHint(src []byte, limit int) int {
	if len(src) < 18 {
		return 0
	}
	n := int(binary.LittleEndian.Uint32(src[len(src)-4:]))
	// A bogus trailer must not make us allocate much: CloudWatch payloads
	// inflate 5–10×, repetitive logs more, and anything bigger grows.
	if n > limit || n > 32*len(src)+64<<10 {
		return 8 * len(src)
	}
	return n
}

type decoder struct {
	z   *Inflater
	in  []byte
	pos int // next byte of in to load; counts zero bytes loaded past the end
	// bits holds nbits unread input bits, first bit lowest. Bits above
	// nbits may hold the input that follows (refill loads whole words).
	bits  uint64
	nbits uint
	out   []byte // the output buffer; len(out) == cap(out)
	op    int    // bytes of out written
	max   int    // op may not exceed max
	start int    // where the current member's output starts
}

// member decodes one gzip member: header, DEFLATE stream, trailer.
func (d *decoder) member() error {
	p, err := header(d.in[d.pos:])
	if err != nil {
		return err
	}
	d.pos += p
	d.bits, d.nbits = 0, 0
	d.start = d.op
	for final := false; !final; {
		if err := d.need(3); err != nil {
			return err
		}
		final = d.bits&1 == 1
		kind := d.bits >> 1 & 3
		d.drop(3)
		switch kind {
		case 0:
			err = d.stored()
		case 1:
			err = d.huffman(fixedLit, fixedDist)
		case 2:
			if err = d.dynamicTables(); err == nil {
				err = d.huffman(&d.z.lit, &d.z.dist)
			}
		default:
			err = fmt.Errorf("%w: reserved block type", ErrFormat)
		}
		if err != nil {
			return err
		}
	}
	p, err = d.alignedPos()
	if err != nil {
		return err
	}
	if p+8 > len(d.in) {
		return fmt.Errorf("%w: truncated trailer", ErrFormat)
	}
	content := d.out[d.start:d.op]
	if crc32.ChecksumIEEE(content) != binary.LittleEndian.Uint32(d.in[p:]) {
		return fmt.Errorf("%w: CRC-32 mismatch", ErrFormat)
	}
	if uint32(len(content)) != binary.LittleEndian.Uint32(d.in[p+4:]) {
		return fmt.Errorf("%w: length mismatch", ErrFormat)
	}
	d.pos = p + 8
	d.bits, d.nbits = 0, 0
	return nil
}

// header returns the length of the gzip member header at the start of b.
func header(b []byte) (int, error) {
	if len(b) < 10 || b[0] != 0x1f || b[1] != 0x8b || b[2] != 8 {
		return 0, fmt.Errorf("%w: no gzip header", ErrFormat)
	}
	flags := b[3]
	if flags&0xe0 != 0 {
		return 0, fmt.Errorf("%w: reserved header flags", ErrFormat)
	}
	p := 10
	if flags&0x04 != 0 { // FEXTRA
		if p+2 > len(b) {
			return 0, fmt.Errorf("%w: truncated header", ErrFormat)
		}
		p += 2 + int(binary.LittleEndian.Uint16(b[p:]))
	}
	for _, f := range []byte{0x08, 0x10} { // FNAME, FCOMMENT: zero-terminated
		if flags&f == 0 {
			continue
		}
		from := p
		for ; p < len(b) && b[p] != 0; p++ {
		}
		// klauspost/compress (like compress/gzip) reads these into 512
		// bytes and refuses longer ones; so must we, to accept nothing
		// it would not.
		if p-from >= 512 {
			return 0, fmt.Errorf("%w: header name or comment of 512 bytes or more", ErrFormat)
		}
		p++
	}
	if flags&0x02 != 0 { // FHCRC: the low 16 bits of the header's CRC-32
		if p+2 > len(b) || uint16(crc32.ChecksumIEEE(b[:p])) != binary.LittleEndian.Uint16(b[p:]) {
			return 0, fmt.Errorf("%w: header checksum", ErrFormat)
		}
		p += 2
	}
	if p > len(b) {
		return 0, fmt.Errorf("%w: truncated header", ErrFormat)
	}
	return p, nil
}

var errTruncated = fmt.Errorf("%w: truncated DEFLATE stream", ErrFormat)

// need makes at least n ≤ 56 bits available, failing at the end of input.
func (d *decoder) need(n uint) error {
	for d.nbits < n {
		if d.pos >= len(d.in) {
			return errTruncated
		}
		d.bits |= uint64(d.in[d.pos]) << d.nbits
		d.pos++
		d.nbits += 8
	}
	return nil
}

func (d *decoder) drop(n uint) {
	d.bits >>= n
	d.nbits -= n
}

// alignedPos discards the bits up to the next byte boundary and returns the
// position of the first unread input byte.
func (d *decoder) alignedPos() (int, error) {
	p := d.pos - int(d.nbits/8)
	if p > len(d.in) {
		return 0, errTruncated // the stream ended inside the zeros past the end
	}
	return p, nil
}

// stored copies a stored (uncompressed) block.
func (d *decoder) stored() error {
	p, err := d.alignedPos()
	if err != nil {
		return err
	}
	if p+4 > len(d.in) {
		return errTruncated
	}
	n := int(binary.LittleEndian.Uint16(d.in[p:]))
	if uint16(n) != ^binary.LittleEndian.Uint16(d.in[p+2:]) {
		return fmt.Errorf("%w: stored block length check", ErrFormat)
	}
	p += 4
	if p+n > len(d.in) {
		return errTruncated
	}
	if err := d.reserve(n); err != nil {
		return err
	}
	d.op += copy(d.out[d.op:], d.in[p:p+n])
	d.pos = p + n
	d.bits, d.nbits = 0, 0
	return nil
}

// reserve makes room for n more output bytes, within the limit. Kept out of
// line: inlined, its growth code would sit in the decoding loop.
//
//go:noinline
func (d *decoder) reserve(n int) error {
	if d.op+n <= len(d.out) {
		return nil
	}
	if d.op+n > d.max {
		return ErrLimit
	}
	size := min(max(2*len(d.out), d.op+n, 4096), d.max)
	grown := make([]byte, size)
	copy(grown, d.out[:d.op])
	d.out = grown
	return nil
}

// codeLenOrder is the order in which a dynamic block lists the code lengths
// of the code-length alphabet.
var codeLenOrder = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

// dynamicTables reads a dynamic block's code descriptions and builds its
// literal/length and distance tables.
func (d *decoder) dynamicTables() error {
	if err := d.need(14); err != nil {
		return err
	}
	nlit := int(d.bits&0x1f) + 257
	ndist := int(d.bits>>5&0x1f) + 1
	nclen := int(d.bits>>10&0xf) + 4
	d.drop(14)
	if nlit > 286 || ndist > 30 {
		return fmt.Errorf("%w: %d literal/length or %d distance codes", ErrFormat, nlit, ndist)
	}
	var clen [19]uint8
	for i := range nclen {
		if err := d.need(3); err != nil {
			return err
		}
		clen[codeLenOrder[i]] = uint8(d.bits & 7)
		d.drop(3)
	}
	codes := &d.z.codes
	if err := build(codes[:], clen[:], codeLenInfo[:], 7, &d.z.sorted); err != nil {
		return fmt.Errorf("%w: code lengths: %v", ErrFormat, err)
	}
	// The lengths are read like the block's symbols, from a local bit
	// buffer refilled a word at a time: a block has up to 316 of them, and
	// a byte-wise read per code was a tenth of inflating a small record.
	var lengths [286 + 30]uint8
	pos, bits, nbits := d.pos, d.bits, d.nbits
	for i := 0; i < nlit+ndist; {
		if nbits < 14 { // a code (at most 7 bits) and its extra bits (at most 7)
			pos, bits, nbits = refill(d.in, pos, bits, nbits)
		}
		e := codes[bits&0x7f]
		if e&flagInvalid != 0 {
			return fmt.Errorf("%w: invalid code-length code", ErrFormat)
		}
		bits >>= e & 63
		nbits -= uint(e & 63)
		sym := e >> 16
		if sym < 16 {
			lengths[i] = uint8(sym)
			i++
			continue
		}
		var rep int
		var val uint8
		switch sym {
		case 16:
			if i == 0 {
				return fmt.Errorf("%w: repeat with no previous length", ErrFormat)
			}
			rep, val = 3+int(bits&3), lengths[i-1]
			bits >>= 2
			nbits -= 2
		case 17:
			rep = 3 + int(bits&7)
			bits >>= 3
			nbits -= 3
		default:
			rep = 11 + int(bits&0x7f)
			bits >>= 7
			nbits -= 7
		}
		if i+rep > nlit+ndist {
			return fmt.Errorf("%w: code lengths overrun", ErrFormat)
		}
		for ; rep > 0; rep-- {
			lengths[i] = val
			i++
		}
	}
	d.pos, d.bits, d.nbits = pos, bits, nbits
	// refill supplies zeros past the end of the input; a description that
	// used them was cut off.
	if _, err := d.alignedPos(); err != nil {
		return err
	}
	if lengths[256] == 0 {
		return fmt.Errorf("%w: no end-of-block code", ErrFormat)
	}
	if err := build(d.z.lit[:], lengths[:nlit], litInfo[:], litRoot, &d.z.sorted); err != nil {
		return fmt.Errorf("%w: literal/length code: %v", ErrFormat, err)
	}
	if err := build(d.z.dist[:], lengths[nlit:nlit+ndist], distInfo[:], distRoot, &d.z.sorted); err != nil {
		return fmt.Errorf("%w: distance code: %v", ErrFormat, err)
	}
	return nil
}

var (
	errBadSymbol   = fmt.Errorf("%w: invalid Huffman code", ErrFormat)
	errBadDistance = fmt.Errorf("%w: distance before the start of the output", ErrFormat)
)

// huffman decodes one Huffman-coded block with the given tables. It keeps
// the decoder's state in locals: this loop is where the time goes.
func (d *decoder) huffman(lt *[litTableSize]uint32, dt *[distTableSize]uint32) error {
	in, pos, bits, nbits := d.in, d.pos, d.bits, d.nbits
	out, op, start := d.out, d.op, d.start
	var err error
	// Each pass starts with at least 50 bits in hand and the next code's
	// entry loaded: enough for a length and a distance (at most
	// 15+5+15+13 bits), and for four literals from the root table (10 bits
	// each at most) with a whole root index still counted after them.
	pos, bits, nbits = refill(in, pos, bits, nbits)
	e := lt[bits&(1<<litRoot-1)]
	for {
		if pos > len(in)+8 {
			// Past the zeros refill supplies after the end: truncated.
			err = errTruncated
			break
		}
		if e&flagLiteral != 0 && op+4 <= len(out) {
			// Up to four literals per refill (literal runs average four
			// bytes in log payloads). A literal entry of the root table
			// takes at most litRoot bits.
			out[op] = byte(e >> 16)
			bits >>= e & 63
			nbits -= uint(e & 63)
			op++
			e = lt[bits&(1<<litRoot-1)]
			if e&flagLiteral != 0 {
				out[op] = byte(e >> 16)
				bits >>= e & 63
				nbits -= uint(e & 63)
				op++
				e = lt[bits&(1<<litRoot-1)]
				if e&flagLiteral != 0 {
					out[op] = byte(e >> 16)
					bits >>= e & 63
					nbits -= uint(e & 63)
					op++
					e = lt[bits&(1<<litRoot-1)]
					if e&flagLiteral != 0 {
						out[op] = byte(e >> 16)
						bits >>= e & 63
						nbits -= uint(e & 63)
						op++
						e = lt[bits&(1<<litRoot-1)]
					}
				}
			}
			if nbits < 50 {
				// Refill only adds bits above nbits (≥ 50-4*litRoot, a
				// whole root index, here), so the entry looked up stays
				// right.
				pos, bits, nbits = refill(in, pos, bits, nbits)
			}
			continue
		}
		if e&flagSub != 0 {
			bits >>= litRoot
			nbits -= litRoot
			e = lt[int(e>>16)+int(bits&(1<<(e>>8&0xf)-1))]
		}
		saved := bits
		bits >>= e & 63
		nbits -= uint(e & 63)
		if e&(flagLiteral|flagEnd|flagInvalid) != 0 {
			if e&flagLiteral == 0 {
				if e&flagInvalid != 0 {
					err = errBadSymbol
				}
				break
			}
			if op >= len(out) {
				d.out, d.op = out, op
				if err = d.reserve(1); err != nil {
					break
				}
				out = d.out
			}
			out[op] = byte(e >> 16)
			op++
			if nbits < 50 {
				pos, bits, nbits = refill(in, pos, bits, nbits)
			}
			e = lt[bits&(1<<litRoot-1)]
			continue
		}
		// A length: its base plus the extra bits after the code.
		length := int(e>>16) + int(saved&(1<<(e&63)-1)>>(e>>8&0xf))

		de := dt[bits&(1<<distRoot-1)]
		if de&flagSub != 0 {
			bits >>= distRoot
			nbits -= distRoot
			de = dt[int(de>>16)+int(bits&(1<<(de>>8&0xf)-1))]
		}
		if de&flagInvalid != 0 {
			err = errBadSymbol
			break
		}
		saved = bits
		bits >>= de & 63
		nbits -= uint(de & 63)
		dist := int(de>>16) + int(saved&(1<<(de&63)-1)>>(de>>8&0xf))
		if dist > op-start {
			err = errBadDistance
			break
		}
		// Load the next entry now, so the lookup overlaps the copy.
		if nbits < 50 {
			pos, bits, nbits = refill(in, pos, bits, nbits)
		}
		e = lt[bits&(1<<litRoot-1)]

		if op+length+40 > len(out) {
			if op+length > len(out) {
				d.out, d.op = out, op
				if err = d.reserve(length); err != nil {
					break
				}
				out = d.out
			}
			// Too near the end of the buffer for word copies.
			for i := range length {
				out[op+i] = out[op+i-dist]
			}
			op += length
			continue
		}
		src := op - dist
		if dist >= 8 {
			// A word reads only bytes written before it when dist ≥ 8.
			// Writing past the match is harmless: the next symbols
			// overwrite those bytes. Most matches are under 32 bytes,
			// so four words go unconditionally and the loop's exit,
			// which depends on the length, is rarely reached.
			o, s := out[op:op+40], out[src:src+40]
			binary.LittleEndian.PutUint64(o[0:], binary.LittleEndian.Uint64(s[0:]))
			binary.LittleEndian.PutUint64(o[8:], binary.LittleEndian.Uint64(s[8:]))
			binary.LittleEndian.PutUint64(o[16:], binary.LittleEndian.Uint64(s[16:]))
			binary.LittleEndian.PutUint64(o[24:], binary.LittleEndian.Uint64(s[24:]))
			if length > 32 {
				if dist >= length {
					copy(out[op+32:op+length], out[src+32:src+length])
				} else {
					for i := 32; i < length; i += 8 {
						binary.LittleEndian.PutUint64(out[op+i:], binary.LittleEndian.Uint64(out[src+i:]))
					}
				}
			}
		} else if dist == 1 {
			b := out[src]
			for i := range length {
				out[op+i] = b
			}
		} else {
			for i := range length {
				out[op+i] = out[src+i]
			}
		}
		op += length
	}
	d.pos, d.bits, d.nbits, d.out, d.op = pos, bits, nbits, out, op
	return err
}

// refill tops the bit buffer up to at least 56 bits. Near the end of the
// input it supplies zero bytes; a stream that really ends there never uses
// them, which alignedPos and the loop's position check verify.
func refill(in []byte, pos int, bits uint64, nbits uint) (int, uint64, uint) {
	if pos+8 <= len(in) {
		// Load a whole word; the bytes beyond the ones counted are
		// loaded again, to the same place, next time.
		bits |= binary.LittleEndian.Uint64(in[pos:]) << (nbits & 63)
		return pos + int(63-nbits)>>3, bits, nbits | 56
	}
	return refillBytes(in, pos, bits, nbits)
}

func refillBytes(in []byte, pos int, bits uint64, nbits uint) (int, uint64, uint) {
	for nbits <= 56 {
		if pos < len(in) {
			bits |= uint64(in[pos]) << nbits
		}
		pos++
		nbits += 8
	}
	return pos, bits, nbits
}
