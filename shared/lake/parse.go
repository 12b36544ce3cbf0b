package lake

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/bits"
	"strconv"
	"time"
	"unicode/utf8"
)

// A span locates one string in an arena.
type span struct{ off, n uint32 }

// slotRow is a row in the sort buffer: its strings live in the arena.
type slotRow struct {
	ts int64
	s  [numStr]span
}

// maxNesting bounds how deep the fields object (and unknown values) may nest.
const maxNesting = 256

// Sentinel reasons: a rejected line's reason starts with one of these.
var (
	ErrNotObject   = errors.New("not a JSON object")
	ErrSyntax      = errors.New("invalid JSON")
	ErrMissing     = errors.New("missing required key")
	ErrWrongType   = errors.New("wrong type")
	ErrBadTime     = errors.New("invalid timestamp")
	ErrLineTooLong = errors.New("line too long")
)

// lineError is why a line was rejected.
type lineError struct {
	err    error // one of the sentinels
	detail string
}

func (e *lineError) Error() string {
	if e.detail == "" {
		return e.err.Error()
	}
	return e.err.Error() + ": " + e.detail
}

func (e *lineError) Unwrap() error { return e.err }

func reject(err error, detail string) error { return &lineError{err: err, detail: detail} }

func syntaxAt(what string, i int) error {
	return reject(ErrSyntax, what+" at byte "+strconv.Itoa(i))
}

// parser decodes records. It keeps the previous row to store a repeating
// owner, log group, log stream, level or source type only once.
type parser struct {
	scratch []byte
	prev    slotRow
	hasPrev bool
}

// interned are the columns whose value usually equals the previous row's.
var interned = [numStr]bool{colOwner: true, colGroup: true, colStream: true, colLevel: true, colSource: true}

// parseRecord decodes the JSON object starting at or after b[i] (a
// normalized record, or the flattened {owner,log_group,log_stream,id,
// timestamp,message} shape) into row, appending its strings to arena. It
// returns the grown arena and the index after the object. On error the arena
// is returned at its original length.
//
// Keys: "@timestamp" (RFC 3339) or "timestamp" (ms since the epoch, or RFC
// 3339), "id" (both required), owner, log_group, log_stream, message, level,
// trace_id, source_type (strings or null) and fields (an object, kept as its
// JSON text). Unknown keys are skipped; a repeated key's last value wins.
func (p *parser) parseRecord(b []byte, i int, arena []byte, row *slotRow) ([]byte, int, error) {
	mark := len(arena)
	arena, i, err := p.parseObject(b, i, arena, row)
	if err != nil {
		return arena[:mark], i, err
	}
	p.prev, p.hasPrev = *row, true
	return arena, i, nil
}

func (p *parser) parseObject(b []byte, i int, arena []byte, row *slotRow) ([]byte, int, error) {
	i = skipWS(b, i)
	if i >= len(b) || b[i] != '{' {
		return arena, i, reject(ErrNotObject, "")
	}
	i++
	*row = slotRow{}
	const (
		haveAtTS = 1 << iota
		haveTS
		haveID
	)
	var have int
	i = skipWS(b, i)
	if i < len(b) && b[i] == '}' {
		return arena, i + 1, reject(ErrMissing, "@timestamp")
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return arena, i, syntaxAt("expected a key", i)
		}
		var key []byte
		var err error
		key, i, err = p.readKey(b, i)
		if err != nil {
			return arena, i, err
		}
		i = skipWS(b, i)
		if i >= len(b) || b[i] != ':' {
			return arena, i, syntaxAt("expected ':'", i)
		}
		i = skipWS(b, i+1)
		if i >= len(b) {
			return arena, i, syntaxAt("expected a value", i)
		}
		col := -1
		switch string(key) {
		case "@timestamp":
			if b[i] != '"' {
				return arena, i, reject(ErrWrongType, "@timestamp: want an RFC 3339 string")
			}
			p.scratch, i, err = appendString(p.scratch[:0], b, i)
			if err != nil {
				return arena, i, err
			}
			ts, ok := parseTime(p.scratch)
			if !ok {
				return arena, i, reject(ErrBadTime, "@timestamp "+strconv.Quote(clip(p.scratch, 64)))
			}
			row.ts = ts
			have |= haveAtTS
		case "timestamp":
			if have&haveAtTS != 0 { // @timestamp wins
				i, err = skipValue(b, i, 0)
				if err != nil {
					return arena, i, err
				}
				break
			}
			var ts int64
			var ok bool
			switch {
			case b[i] == '"':
				p.scratch, i, err = appendString(p.scratch[:0], b, i)
				if err != nil {
					return arena, i, err
				}
				ts, ok = parseTime(p.scratch)
			case b[i] == '-' || (b[i] >= '0' && b[i] <= '9'):
				start := i
				i, err = skipNumber(b, i)
				if err != nil {
					return arena, i, err
				}
				ts, ok = parseMillis(b[start:i])
			default:
				return arena, i, reject(ErrWrongType, "timestamp: want milliseconds since the epoch")
			}
			if !ok {
				return arena, i, reject(ErrBadTime, "timestamp")
			}
			row.ts = ts
			have |= haveTS
		case "id":
			col = colID
		case "owner":
			col = colOwner
		case "log_group":
			col = colGroup
		case "log_stream":
			col = colStream
		case "message":
			col = colMessage
		case "level":
			col = colLevel
		case "trace_id":
			col = colTrace
		case "source_type":
			col = colSource
		case "fields":
			switch b[i] {
			case 'n':
				i, err = skipLiteral(b, i, "null")
				if err != nil {
					return arena, i, err
				}
				row.s[colFields] = span{}
			case '{':
				start := i
				i, err = skipValue(b, i, 0)
				if err != nil {
					return arena, i, err
				}
				off := len(arena)
				raw := b[start:i]
				if utf8.Valid(raw) {
					arena = append(arena, raw...)
				} else {
					arena = append(arena, bytes.ToValidUTF8(raw, []byte("\uFFFD"))...)
				}
				row.s[colFields] = span{uint32(off), uint32(len(arena) - off)}
			default:
				return arena, i, reject(ErrWrongType, "fields: want an object")
			}
		default:
			i, err = skipValue(b, i, 0)
			if err != nil {
				return arena, i, err
			}
		}
		if col >= 0 {
			switch b[i] {
			case '"':
				off := len(arena)
				arena, i, err = appendString(arena, b, i)
				if err != nil {
					return arena, i, err
				}
				sp := span{uint32(off), uint32(len(arena) - off)}
				if interned[col] && p.hasPrev {
					if ps := p.prev.s[col]; ps.n == sp.n && bytes.Equal(arena[ps.off:ps.off+ps.n], arena[off:]) {
						arena, sp = arena[:off], ps
					}
				}
				row.s[col] = sp
				if col == colID {
					have |= haveID
				}
			case 'n':
				i, err = skipLiteral(b, i, "null")
				if err != nil {
					return arena, i, err
				}
				row.s[col] = span{}
			default:
				return arena, i, reject(ErrWrongType, strColumnNames[col]+": want a string")
			}
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return arena, i, syntaxAt("unexpected end of line", i)
		}
		if b[i] == ',' {
			i = skipWS(b, i+1)
			continue
		}
		if b[i] == '}' {
			i++
			break
		}
		return arena, i, syntaxAt("expected ',' or '}'", i)
	}
	switch {
	case have&(haveAtTS|haveTS) == 0:
		return arena, i, reject(ErrMissing, "@timestamp")
	case have&haveID == 0 || row.s[colID].n == 0:
		return arena, i, reject(ErrMissing, "id")
	}
	return arena, i, nil
}

// readKey returns an object key; keys with escapes are decoded into scratch.
func (p *parser) readKey(b []byte, i int) ([]byte, int, error) {
	start := i + 1
	q := bytes.IndexByte(b[start:], '"')
	if q < 0 {
		return nil, len(b), syntaxAt("unterminated string", i)
	}
	if bytes.IndexByte(b[start:start+q], '\\') < 0 {
		return b[start : start+q], start + q + 1, nil
	}
	var err error
	p.scratch, i, err = appendString(p.scratch[:0], b, i)
	return p.scratch, i, err
}

// strSafe[c] is true for bytes that stand for themselves inside a string.
var strSafe = func() (t [256]bool) {
	for c := range t {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendString decodes the JSON string at b[i] (a '"') onto dst and returns
// the index after its closing quote. Invalid UTF-8 is replaced by U+FFFD,
// so every string we write is valid UTF-8 as Parquet's STRING requires.
// Raw control characters are kept rather than rejected: a log line is not
// lost for a stray byte.
func appendString(dst, b []byte, i int) ([]byte, int, error) {
	start := i + 1
	d0 := len(dst)
	q := bytes.IndexByte(b[start:], '"')
	if q < 0 {
		return dst, len(b), syntaxAt("unterminated string", i)
	}
	if bytes.IndexByte(b[start:start+q], '\\') < 0 {
		dst = append(dst, b[start:start+q]...)
		i = start + q + 1
	} else {
		var err error
		dst, i, err = appendEscaped(dst, b, start)
		if err != nil {
			return dst[:d0], i, err
		}
	}
	if !utf8.Valid(dst[d0:]) {
		fixed := bytes.ToValidUTF8(dst[d0:], []byte("\uFFFD"))
		dst = append(dst[:d0], fixed...)
	}
	return dst, i, nil
}

func appendEscaped(dst, b []byte, i int) ([]byte, int, error) {
	for {
		j := scanString(b, i)
		dst = append(dst, b[i:j]...)
		if j >= len(b) {
			return dst, j, syntaxAt("unterminated string", j)
		}
		if b[j] == '"' {
			return dst, j + 1, nil
		}
		// a backslash
		if j+1 >= len(b) {
			return dst, j, syntaxAt("unterminated string", j)
		}
		c := b[j+1]
		i = j + 2
		switch c {
		case '"', '\\', '/':
			dst = append(dst, c)
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, ok := hex4(b, i)
			if !ok {
				return dst, j, syntaxAt("invalid \\u escape", j)
			}
			i += 4
			if r >= 0xD800 && r < 0xDC00 {
				// a high surrogate: a low one must follow
				if i+6 <= len(b) && b[i] == '\\' && b[i+1] == 'u' {
					if r2, ok := hex4(b, i+2); ok && r2 >= 0xDC00 && r2 < 0xE000 {
						r = 0x10000 + (r-0xD800)<<10 + (r2 - 0xDC00)
						i += 6
					} else {
						r = utf8.RuneError
					}
				} else {
					r = utf8.RuneError
				}
			} else if r >= 0xDC00 && r < 0xE000 {
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
		default:
			return dst, j, syntaxAt("invalid escape", j)
		}
	}
}

// scanString returns the index of the first '"' or '\\' at or after i, or
// len(b): eight bytes at a time (SWAR), since messages are long.
func scanString(b []byte, i int) int {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		q := x ^ (lo * '"')
		s := x ^ (lo * '\\')
		// a byte of q or s is zero where x has a quote or a backslash; the
		// lowest flagged byte is always a true match
		if m := ((q-lo)&^q | (s-lo)&^s) & hi; m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for i < len(b) && strSafe[b[i]] {
		i++
	}
	return i
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

func isWS(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipWS(b []byte, i int) int {
	for i < len(b) && isWS(b[i]) {
		i++
	}
	return i
}

// skipValue validates and skips one JSON value.
func skipValue(b []byte, i, depth int) (int, error) {
	if i >= len(b) {
		return i, syntaxAt("expected a value", i)
	}
	switch c := b[i]; {
	case c == '"':
		return skipString(b, i)
	case c == '{' || c == '[':
		if depth >= maxNesting {
			return i, syntaxAt("nested too deeply", i)
		}
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		i = skipWS(b, i+1)
		if i < len(b) && b[i] == closer {
			return i + 1, nil
		}
		for {
			var err error
			if c == '{' {
				if i >= len(b) || b[i] != '"' {
					return i, syntaxAt("expected a key", i)
				}
				if i, err = skipString(b, i); err != nil {
					return i, err
				}
				i = skipWS(b, i)
				if i >= len(b) || b[i] != ':' {
					return i, syntaxAt("expected ':'", i)
				}
				i = skipWS(b, i+1)
			}
			if i, err = skipValue(b, i, depth+1); err != nil {
				return i, err
			}
			i = skipWS(b, i)
			if i >= len(b) {
				return i, syntaxAt("unexpected end of line", i)
			}
			if b[i] == ',' {
				i = skipWS(b, i+1)
				continue
			}
			if b[i] == closer {
				return i + 1, nil
			}
			return i, syntaxAt("expected ',' or '"+string(closer)+"'", i)
		}
	case c == 't':
		return skipLiteral(b, i, "true")
	case c == 'f':
		return skipLiteral(b, i, "false")
	case c == 'n':
		return skipLiteral(b, i, "null")
	case c == '-' || (c >= '0' && c <= '9'):
		return skipNumber(b, i)
	default:
		return i, syntaxAt("unexpected character "+strconv.QuoteRune(rune(c)), i)
	}
}

func skipString(b []byte, i int) (int, error) {
	j := i + 1
	for {
		q := bytes.IndexByte(b[j:], '"')
		if q < 0 {
			return len(b), syntaxAt("unterminated string", i)
		}
		seg := b[j : j+q]
		k := bytes.IndexByte(seg, '\\')
		if k < 0 {
			return j + q + 1, nil
		}
		// validate escapes up to the next unescaped quote
		j += k
		if j+1 >= len(b) {
			return len(b), syntaxAt("unterminated string", i)
		}
		switch b[j+1] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			j += 2
		case 'u':
			if _, ok := hex4(b, j+2); !ok {
				return j, syntaxAt("invalid \\u escape", j)
			}
			j += 6
		default:
			return j, syntaxAt("invalid escape", j)
		}
	}
}

func skipLiteral(b []byte, i int, lit string) (int, error) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return i, syntaxAt("invalid literal", i)
	}
	return i + len(lit), nil
}

// skipNumber skips a number following JSON's grammar.
func skipNumber(b []byte, i int) (int, error) {
	start := i
	if i < len(b) && b[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(b) && b[i] == '0' {
		i++
	} else if digits() == 0 {
		return i, syntaxAt("invalid number", start)
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return i, syntaxAt("invalid number", start)
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return i, syntaxAt("invalid number", start)
		}
	}
	return i, nil
}

// maxMillis is 9999-12-31T23:59:59.999Z, the last instant RFC 3339 writes.
const maxMillis = 253402300799999

// parseMillis reads a JSON number as milliseconds since the epoch.
func parseMillis(b []byte) (int64, bool) {
	if n, err := strconv.ParseInt(string(b), 10, 64); err == nil {
		return n, n >= 0 && n <= maxMillis
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || f < 0 || f > maxMillis {
		return 0, false
	}
	return int64(f), true
}

// parseTime reads RFC 3339; the form record.AppendTimestamp writes
// (2026-11-22T04:24:48.123Z) takes a fast path.
func parseTime(s []byte) (int64, bool) {
	if len(s) == 24 && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' && s[16] == ':' && s[19] == '.' && s[23] == 'Z' {
		y, ok1 := digitsN(s[0:4])
		mo, ok2 := digitsN(s[5:7])
		d, ok3 := digitsN(s[8:10])
		h, ok4 := digitsN(s[11:13])
		mi, ok5 := digitsN(s[14:16])
		sec, ok6 := digitsN(s[17:19])
		ms, ok7 := digitsN(s[20:23])
		if ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7 && y >= 1970 && mo >= 1 && mo <= 12 &&
			d >= 1 && d <= daysIn(y, mo) && h < 24 && mi < 60 && sec < 60 {
			return (daysFromCivil(y, mo, d)*86400+int64(h*3600+mi*60+sec))*1000 + int64(ms), true
		}
	}
	t, err := time.Parse(time.RFC3339Nano, string(s))
	if err != nil {
		return 0, false
	}
	ms := t.UnixMilli()
	return ms, ms >= 0 && ms <= maxMillis
}

func digitsN(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns days since 1970-01-01 (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era*146097 + doe - 719468)
}

// clip returns at most n bytes of b as a string, for error messages.
func clip(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return string(b)
}
