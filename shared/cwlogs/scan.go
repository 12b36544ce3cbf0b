package cwlogs

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// The subscription payload has one fixed shape, and its log messages are
// most of its bytes, so it is parsed by hand: strings are found eight bytes
// at a time, unescaped once into an arena, and each message keeps a view of
// its original escaped form, which the encoder can copy verbatim instead of
// escaping the message again.

const maxDepth = 64

type scanner struct {
	b     []byte
	i     int
	arena []byte // unescaped strings; sized up front so it never moves
	// escaped's rawFlags of the blocks up to and before the current one,
	// kept here rather than in registers its inner loop needs.
	flags, prev [2]uint64
	// plain reports whether the last string str read is printable ASCII
	// without escapes, quotes or backslashes: its value is its JSON form.
	plain bool
}

func (s *scanner) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format+" at byte %d", append([]any{ErrInvalidJSON}, append(args, s.i)...)...)
}

func (s *scanner) ws() {
	// The payload is compact JSON: one compare settles the common case.
	if s.i < len(s.b) && s.b[s.i] > ' ' {
		return
	}
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) peek() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *scanner) consume(c byte) bool {
	if s.peek() == c {
		s.i++
		return true
	}
	return false
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

func load64(b []byte, i int) uint64 { return binary.LittleEndian.Uint64(b[i:]) }

// stopMask has the high bit set in each byte of x that ends a plain run
// inside a string: '"', '\\' or a control character. Only its lowest set
// bit is exact (a borrow may flag bytes above a true match), which is all
// str uses. Bytes >= 0x80 do not stop a run: they only decide whether the
// raw form needs a UTF-8 check, which the callers track by OR-ing the
// words they pass over.
func stopMask(x uint64) uint64 {
	ctl := (x - lsb*0x20) &^ x
	q := x ^ (lsb * '"')
	quote := (q - lsb) &^ q
	bs := x ^ (lsb * '\\')
	back := (bs - lsb) &^ bs
	return (ctl | quote | back) & msb
}

// quoteOrBackslash has the high bit set in exactly the bytes of x that are
// '"' or '\\'. Unlike stopMask it is exact in every byte (no carry crosses
// a byte: each is reduced to 7 bits before the add), so escaped can walk
// all the stops of a block from one mask.
func quoteOrBackslash(x uint64) uint64 {
	q := x ^ (lsb * '"')
	bs := x ^ (lsb * '\\')
	return ^((((q &^ msb) + lsb*0x7f) | q) & (((bs &^ msb) + lsb*0x7f) | bs)) & msb
}

// isStop is stopMask for one byte, for the tail shorter than a word.
var isStop = func() (t [256]bool) {
	for c := range 0x20 {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

// unescape maps the byte after a backslash to what the escape stands for;
// 0 for 'u' and for invalid escapes, which take the slow path.
var unescape = [256]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}

// str parses a JSON string at the cursor. It returns the value (pointing
// into the input when there were no escapes, else into the arena), the raw
// escaped body, and whether raw can be written verbatim into JSON output
// (valid UTF-8 and no raw control characters).
func (s *scanner) str() (val string, raw []byte, rawOK bool, err error) {
	if s.peek() != '"' {
		return "", nil, false, s.errorf("want a string")
	}
	b := s.b
	start := s.i + 1
	i := start
	var high uint64 // OR of the bytes passed; its msb bits flag non-ASCII
	ctl := false
	for {
		if i+8 <= len(b) {
			x := load64(b, i)
			m := stopMask(x)
			if m == 0 {
				high |= x
				i += 8
				continue
			}
			high |= x & (m ^ (m - 1)) // only the bytes before the stop
			i += bits.TrailingZeros64(m) >> 3
		} else {
			for i < len(b) && !isStop[b[i]] {
				high |= uint64(b[i])
				i++
			}
			if i >= len(b) {
				s.i = i
				return "", nil, false, s.errorf("unterminated string")
			}
		}
		switch b[i] {
		case '"':
			raw = b[start:i]
			s.i = i + 1
			if len(raw) > 0 {
				val = unsafe.String(&raw[0], len(raw))
			}
			s.plain = !ctl && high&msb == 0
			return val, raw, !ctl && (high&msb == 0 || utf8.Valid(raw)), nil
		case '\\':
			// Start over from the opening quote: rescanning the prefix
			// costs less than a separate copy of it.
			s.plain = false
			return s.escaped(start)
		}
		ctl = true
		i++
	}
}

// escaped parses the body of a string, starting at start, that holds an
// escape: it copies the body into the arena, resolving escapes.
//
// Messages that are JSON logs have an escape every few bytes, at no
// predictable place, so a loop that branches per word on how many stops
// ('"' and '\\') the word holds mispredicts about once per word. Instead
// the stops of 64 bytes are gathered into one bitmask, with no branch on
// the data, and then visited in order (the byte after an
// escaping backslash is dropped from the mask as its escape is resolved);
// the plain bytes between two stops are copied 16 at a time, which covers
// most gaps with one unconditional load and store. The arena has room
// because unescaping never lengthens a string (the longest output, 4 bytes
// of UTF-8, comes from a 12-byte surrogate pair): the output is never ahead
// of the input, so a 16-byte store, made only with 16 bytes of input left,
// stays within len(b)-start bytes of out.
func (s *scanner) escaped(start int) (string, []byte, bool, error) {
	b := s.b
	out := len(s.arena)
	if need := len(b) - start; cap(s.arena)-out < need {
		s.arena = append(make([]byte, 0, out+need), s.arena...)
	}
	dst := s.arena[:cap(s.arena)]
	o := out
	i := start // the next input byte to copy
	s.flags = [2]uint64{}
	var err error
	base := start
	// The blocks stop 16 bytes short of the input's end, so that the byte
	// after a backslash and a 16-byte load at any stop are always there;
	// the bytes past them, the end of the payload, take the byte loop.
	for ; base+64+16 <= len(b); base += 64 {
		s.prev = s.flags
		m, bh, bc := block((*[64]byte)(b[base:]))
		s.flags[0] |= bh
		s.flags[1] |= bc
		if i > base {
			// Bytes an escape at the end of the last block consumed.
			m &^= below64(i - base)
		}
		for m != 0 {
			k := bits.TrailingZeros64(m)
			p := base + k
			// Drop this stop and the next byte's: whatever the escape
			// stands for, the byte after its backslash is not a stop.
			m &^= 3 << (k & 63) // k < 64: m has a bit set
			if p-i <= 16 {
				*(*[16]byte)(dst[o:]) = *(*[16]byte)(b[i:])
			} else if p-i <= 32 {
				// Both loads end before b[base+80]: i+32 <= p+15.
				*(*[32]byte)(dst[o:]) = *(*[32]byte)(b[i:])
			} else {
				copy(dst[o:], b[i:p])
			}
			o += p - i
			if b[p] == '"' {
				// The whole block's flags do when they flag nothing, as for
				// most messages; else the bytes past the quote must not count.
				high, ctl := s.flags[0], s.flags[1]
				if (high|ctl)&msb != 0 {
					h, c := rawFlags(b[base:p])
					high, ctl = s.prev[0]|h, s.prev[1]|c
				}
				return s.endEscaped(start, p, dst[:o], out, high, ctl)
			}
			if v := unescape[b[p+1]]; v != 0 {
				dst[o] = v
				i, o = p+2, o+1
				continue
			}
			if i, o, err = s.escape(dst, p, o); err != nil {
				return "", nil, false, err
			}
			// A surrogate pair consumes the backslash of its second half.
			m &^= below64(i - base)
		}
	}
	// The tail, shorter than a block: byte at a time.
	for {
		if i >= len(b) {
			s.i = i
			return "", nil, false, s.errorf("unterminated string")
		}
		switch c := b[i]; c {
		case '"':
			h, c := rawFlags(b[base:i])
			return s.endEscaped(start, i, dst[:o], out, s.flags[0]|h, s.flags[1]|c)
		case '\\':
			if i, o, err = s.escape(dst, i, o); err != nil {
				return "", nil, false, err
			}
		default:
			dst[o] = c
			o++
			i++
		}
	}
}

// block returns the stops of a 64-byte block, bit k set when w[k] is '"'
// or '\\', and its rawFlags. It is unrolled by hand: the compiler does
// not, and a loop costs a counter and variable shifts per word.
func block(w *[64]byte) (m, high, ctl uint64) {
	x0 := binary.LittleEndian.Uint64(w[0:8])
	x1 := binary.LittleEndian.Uint64(w[8:16])
	x2 := binary.LittleEndian.Uint64(w[16:24])
	x3 := binary.LittleEndian.Uint64(w[24:32])
	x4 := binary.LittleEndian.Uint64(w[32:40])
	x5 := binary.LittleEndian.Uint64(w[40:48])
	x6 := binary.LittleEndian.Uint64(w[48:56])
	x7 := binary.LittleEndian.Uint64(w[56:64])
	high = x0 | x1 | x2 | x3 | x4 | x5 | x6 | x7
	ctl = (x0-lsb*0x20)&^x0 | (x1-lsb*0x20)&^x1 | (x2-lsb*0x20)&^x2 | (x3-lsb*0x20)&^x3 |
		(x4-lsb*0x20)&^x4 | (x5-lsb*0x20)&^x5 | (x6-lsb*0x20)&^x6 | (x7-lsb*0x20)&^x7
	m = movemask(quoteOrBackslash(x0)) | movemask(quoteOrBackslash(x1))<<8 |
		movemask(quoteOrBackslash(x2))<<16 | movemask(quoteOrBackslash(x3))<<24 |
		movemask(quoteOrBackslash(x4))<<32 | movemask(quoteOrBackslash(x5))<<40 |
		movemask(quoteOrBackslash(x6))<<48 | movemask(quoteOrBackslash(x7))<<56
	return m, high, ctl
}

// movemask gathers the high bits of the bytes of x into the low 8 bits,
// byte k's into bit k: the multiply moves each to the top byte, where no
// two partial products collide or carry.
func movemask(x uint64) uint64 { return (x & msb) * 0x0002040810204081 >> 56 }

// below64 is a mask of the first k bits, k >= 0 (all of them from 64 on).
func below64(k int) uint64 { return uint64(1)<<uint(k) - 1 }

// endEscaped finishes a string whose closing quote is at b[i] and whose
// unescaped bytes are v[out:]; high and ctl are rawFlags of its raw form.
func (s *scanner) endEscaped(start, i int, v []byte, out int, high, ctl uint64) (string, []byte, bool, error) {
	raw := s.b[start:i]
	s.i = i + 1
	s.arena = v
	v = v[out:]
	val := ""
	if len(v) > 0 {
		val = unsafe.String(&v[0], len(v))
	}
	return val, raw, ctl&msb == 0 && (high&msb == 0 || utf8.Valid(raw)), nil
}

// rawFlags returns the OR of the bytes of raw, whose msb bits flag
// non-ASCII, and a word whose msb bits are nonzero exactly when a byte of
// raw is below 0x20 (inexact per byte: a borrow may flag the byte above a
// match, but it only starts at one).
func rawFlags(raw []byte) (high, ctl uint64) {
	i := 0
	for ; i+8 <= len(raw); i += 8 {
		x := load64(raw, i)
		high |= x
		ctl |= (x - lsb*0x20) &^ x
	}
	for ; i < len(raw); i++ {
		c := uint64(raw[i])
		high |= c
		if c < 0x20 {
			ctl = msb
		}
	}
	return high, ctl
}

// escape resolves the escape at b[i] into dst[o:], returning the positions
// after it.
func (s *scanner) escape(dst []byte, i, o int) (int, int, error) {
	b := s.b
	if i+1 >= len(b) {
		s.i = i
		return i, o, s.errorf("unterminated escape")
	}
	e := b[i+1]
	i += 2
	if v := unescape[e]; v != 0 {
		dst[o] = v
		return i, o + 1, nil
	}
	if e != 'u' {
		s.i = i
		return i, o, s.errorf("bad escape \\%c", e)
	}
	r, ok := hex4(b, i)
	if !ok {
		s.i = i
		return i, o, s.errorf("bad \\u escape")
	}
	i += 4
	if utf16.IsSurrogate(r) {
		// Only a high surrogate pairs with a following low one; a lone low
		// surrogate is U+FFFD on its own, as encoding/json has it.
		if r2, ok2 := lowSurrogate(b, i); ok2 && r < 0xDC00 {
			r = utf16.DecodeRune(r, r2)
			i += 6
		} else {
			r = utf8.RuneError
		}
	}
	return i, o + utf8.EncodeRune(dst[o:], r), nil
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return r, true
}

func lowSurrogate(b []byte, i int) (rune, bool) {
	if i+6 > len(b) || b[i] != '\\' || b[i+1] != 'u' {
		return 0, false
	}
	r, ok := hex4(b, i+2)
	return r, ok && r >= 0xDC00 && r <= 0xDFFF
}

// number parses an integer (a float is accepted and truncated).
func (s *scanner) number() (int64, error) {
	s.ws()
	start := s.i
	// Every event has a timestamp: an integer of at most 18 digits, which
	// cannot overflow, is read here without strconv. Anything else (a plus
	// sign, a fraction, an exponent, more digits) takes the general path.
	b := s.b
	i := start
	if i < len(b) && b[i] == '-' {
		i++
	}
	var n int64
	j := i
	for ; j < len(b) && j-i <= 18 && b[j]-'0' <= 9; j++ {
		n = n*10 + int64(b[j]-'0')
	}
	if j > i && j-i <= 18 && (j == len(b) || !isNumberByte(b[j])) {
		s.i = j
		if i > start {
			n = -n
		}
		return n, nil
	}
	for s.i < len(s.b) && isNumberByte(s.b[s.i]) {
		s.i++
	}
	lit := unsafe.String(unsafe.SliceData(s.b[start:s.i]), s.i-start)
	if n, err := strconv.ParseInt(lit, 10, 64); err == nil {
		return n, nil
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil || start == s.i {
		s.i = start
		return 0, s.errorf("want a number")
	}
	return int64(f), nil
}

func isNumberByte(c byte) bool {
	return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

// skip passes over any JSON value.
func (s *scanner) skip(depth int) error {
	if depth > maxDepth {
		return s.errorf("nested too deeply")
	}
	switch c := s.peek(); c {
	case '"':
		_, _, _, err := s.str()
		return err
	case '{':
		s.i++
		if s.consume('}') {
			return nil
		}
		for {
			if _, _, _, err := s.str(); err != nil {
				return err
			}
			if !s.consume(':') {
				return s.errorf("want ':'")
			}
			if err := s.skip(depth + 1); err != nil {
				return err
			}
			if s.consume(',') {
				continue
			}
			if s.consume('}') {
				return nil
			}
			return s.errorf("want ',' or '}'")
		}
	case '[':
		s.i++
		if s.consume(']') {
			return nil
		}
		for {
			if err := s.skip(depth + 1); err != nil {
				return err
			}
			if s.consume(',') {
				continue
			}
			if s.consume(']') {
				return nil
			}
			return s.errorf("want ',' or ']'")
		}
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			_, err := s.number()
			return err
		}
		return s.errorf("unexpected %q", c)
	}
}

// lit consumes lit when the input continues with it.
func (s *scanner) lit(lit string) bool {
	if len(s.b)-s.i >= len(lit) && string(s.b[s.i:s.i+len(lit)]) == lit {
		s.i += len(lit)
		return true
	}
	return false
}

func (s *scanner) literal(lit string) error {
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		return s.errorf("want %s", lit)
	}
	s.i += len(lit)
	return nil
}

// kind names the JSON type at the cursor, for error messages.
func (s *scanner) kind() string {
	switch c := s.peek(); {
	case c == '"':
		return "string"
	case c == '{':
		return "object"
	case c == '[':
		return "array"
	case c == 't' || c == 'f':
		return "bool"
	case c == 'n':
		return "null"
	case c == '-' || (c >= '0' && c <= '9'):
		return "number"
	default:
		return "invalid"
	}
}

// object calls field for each key of the object at the cursor; field must
// consume the value.
func (s *scanner) object(field func(key string) error) error {
	if !s.consume('{') {
		return s.errorf("want an object")
	}
	if s.consume('}') {
		return nil
	}
	for {
		key, _, _, err := s.str()
		if err != nil {
			return err
		}
		if !s.consume(':') {
			return s.errorf("want ':'")
		}
		if err := field(key); err != nil {
			return err
		}
		if s.consume(',') {
			continue
		}
		if s.consume('}') {
			return nil
		}
		return s.errorf("want ',' or '}'")
	}
}

// array calls elem for each element of the array at the cursor.
func (s *scanner) array(elem func(i int) error) error {
	if !s.consume('[') {
		return s.errorf("want an array")
	}
	if s.consume(']') {
		return nil
	}
	for i := 0; ; i++ {
		if err := elem(i); err != nil {
			return err
		}
		if s.consume(',') {
			continue
		}
		if s.consume(']') {
			return nil
		}
		return s.errorf("want ',' or ']'")
	}
}
