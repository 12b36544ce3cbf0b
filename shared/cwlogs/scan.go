package cwlogs

import (
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/tributary-logs/tributary/shared/record"
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
}

func (s *scanner) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format+" at byte %d", append([]any{ErrInvalidJSON}, append(args, s.i)...)...)
}

func (s *scanner) ws() {
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

func load64(b []byte, i int) uint64 {
	_ = b[i+7]
	return uint64(b[i]) | uint64(b[i+1])<<8 | uint64(b[i+2])<<16 | uint64(b[i+3])<<24 |
		uint64(b[i+4])<<32 | uint64(b[i+5])<<40 | uint64(b[i+6])<<48 | uint64(b[i+7])<<56
}

// str parses a JSON string at the cursor. It returns the value (pointing
// into the input when there were no escapes, else into the arena), the raw
// escaped body, and whether raw can be written verbatim into JSON output
// (valid UTF-8 and no raw control characters).
func (s *scanner) str() (val string, raw []byte, rawOK bool, err error) {
	if s.peek() != '"' {
		return "", nil, false, s.errorf("want a string")
	}
	s.i++
	start := s.i
	high, ctl := false, false
	b := s.b
	i := s.i
	for {
		for i+8 <= len(b) && !record.NeedsEscape(load64(b, i)) {
			i += 8
		}
		if i >= len(b) {
			s.i = i
			return "", nil, false, s.errorf("unterminated string")
		}
		c := b[i]
		switch {
		case c == '"':
			raw = b[start:i]
			s.i = i + 1
			if len(raw) > 0 {
				val = unsafe.String(&raw[0], len(raw))
			}
			return val, raw, !ctl && (!high || utf8.Valid(raw)), nil
		case c == '\\':
			s.i = i
			return s.escaped(start, high, ctl)
		case c < 0x20:
			ctl = true
		case c >= 0x80:
			high = true
		}
		i++
	}
}

// escaped continues str once an escape is seen: it copies the body into
// the arena, resolving escapes.
func (s *scanner) escaped(start int, high, ctl bool) (string, []byte, bool, error) {
	out := len(s.arena)
	s.arena = append(s.arena, s.b[start:s.i]...)
	b := s.b
	i := s.i
	for i < len(b) {
		// Copy plain runs in bulk, eight bytes at a time to find their end.
		j := i
		for j+8 <= len(b) && !record.NeedsEscape(load64(b, j)) {
			j += 8
		}
		for j < len(b) && b[j] >= 0x20 && b[j] < 0x80 && b[j] != '"' && b[j] != '\\' {
			j++
		}
		if j > i {
			s.arena = append(s.arena, b[i:j]...)
			i = j
			if i >= len(b) {
				break
			}
		}
		c := b[i]
		switch {
		case c == '"':
			raw := b[start:i]
			s.i = i + 1
			v := s.arena[out:]
			val := ""
			if len(v) > 0 {
				val = unsafe.String(&v[0], len(v))
			}
			return val, raw, !ctl && (!high || utf8.Valid(raw)), nil
		case c == '\\':
			if i+1 >= len(b) {
				s.i = i
				return "", nil, false, s.errorf("unterminated escape")
			}
			e := b[i+1]
			i += 2
			switch e {
			case '"', '\\', '/':
				s.arena = append(s.arena, e)
			case 'b':
				s.arena = append(s.arena, '\b')
			case 'f':
				s.arena = append(s.arena, '\f')
			case 'n':
				s.arena = append(s.arena, '\n')
			case 'r':
				s.arena = append(s.arena, '\r')
			case 't':
				s.arena = append(s.arena, '\t')
			case 'u':
				r, ok := hex4(b, i)
				if !ok {
					s.i = i
					return "", nil, false, s.errorf("bad \\u escape")
				}
				i += 4
				if utf16.IsSurrogate(r) {
					if r2, ok2 := lowSurrogate(b, i); ok2 {
						r = utf16.DecodeRune(r, r2)
						i += 6
					} else {
						r = utf8.RuneError
					}
				}
				s.arena = utf8.AppendRune(s.arena, r)
			default:
				s.i = i
				return "", nil, false, s.errorf("bad escape \\%c", e)
			}
		default:
			if c < 0x20 {
				ctl = true
			} else if c >= 0x80 {
				high = true
			}
			s.arena = append(s.arena, c)
			i++
		}
	}
	s.i = i
	return "", nil, false, s.errorf("unterminated string")
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
	for s.i < len(s.b) {
		c := s.b[s.i]
		if (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' {
			s.i++
			continue
		}
		break
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
