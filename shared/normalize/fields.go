package normalize

import (
	"encoding/binary"
	"unicode/utf8"
	"unsafe"

	"github.com/valyala/fastjson"

	"github.com/tributary-logs/tributary/shared/record"
)

// fieldWriter builds Record.Fields: one JSON object, appended into the
// caller's buffer, bounded by Limits. Every parser writes through it, so the
// bounds and the guarantees hold for all formats alike:
//
//   - the output is valid UTF-8 JSON (strings are escaped, and invalid UTF-8
//     repaired, as record.AppendString does; numbers are checked against the
//     JSON grammar and kept as strings when they are not JSON numbers, e.g.
//     NaN or 01);
//   - no object has the same key twice (the first one wins; OpenSearch
//     rejects documents with duplicate keys);
//   - no more than MaxFields keys and array elements in total;
//   - objects and arrays whose members would sit deeper than MaxDepth are
//     stored as their JSON text, as a string;
//   - strings (and keys) longer than MaxValueBytes are cut at a rune boundary.
//
// Every key or element left out, subtree stringified and string cut adds one
// to dropped.
type fieldWriter struct {
	buf     []byte
	lim     Limits
	used    int        // keys and array elements written so far
	dropped int        // see the type comment
	keys    [][2]int32 // [start, end) in buf of the escaped text (no quotes) of the open objects' keys
	bloom   uint64     // one bit per key hash of the innermost open object
	blooms  []uint64   // saved blooms of the enclosing objects
	tmp     []byte     // scratch for stringified subtrees
}

func (w *fieldWriter) reset(buf []byte, lim Limits) {
	w.buf = append(buf[:0], '{')
	w.lim = lim
	w.used = 0
	w.dropped = 0
	w.keys = w.keys[:0]
	w.bloom = 0
	w.blooms = w.blooms[:0]
}

// finish closes the root object and returns it, or an empty slice when no
// field was written.
func (w *fieldWriter) finish() []byte {
	if len(w.buf) <= 1 {
		return w.buf[:0]
	}
	return append(w.buf, '}')
}

// comma separates a member from the previous one. Every complete JSON value
// ends in a byte other than '{' or '[', so the last byte tells whether this is
// the first member of the enclosing object or array.
func (w *fieldWriter) comma() {
	if c := w.buf[len(w.buf)-1]; c != '{' && c != '[' {
		w.buf = append(w.buf, ',')
	}
}

// key writes `"k":` into the innermost open object and reports whether the
// caller should now write the value. It refuses (and counts) a key beyond
// MaxFields, an empty key, a key longer than MaxValueBytes, and a key the
// object already has (duplicates are dropped silently: they are not a limit).
// mark is the value openObject returned for the innermost object (0 for the
// root).
func (w *fieldWriter) key(k string, mark int) bool {
	if len(k) == 0 || len(k) > w.lim.MaxValueBytes || w.used >= w.lim.MaxFields {
		w.dropped++
		return false
	}
	if !isPlain(k) {
		return w.escapedKey(k, mark)
	}
	return w.plainKey(k, mark)
}

// plainKeyChecked is key for a k the caller knows needs no escaping.
// It is plainKey written out: the streaming path calls it for every key.
func (w *fieldWriter) plainKeyChecked(k string, mark int) bool {
	if len(k) == 0 || len(k) > w.lim.MaxValueBytes || w.used >= w.lim.MaxFields {
		w.dropped++
		return false
	}
	bit := keyBit(k)
	if w.bloom&bit != 0 && w.seen(k, mark) {
		return false
	}
	w.bloom |= bit
	w.appendKey(k)
	return true
}

// isPlain reports whether k needs no escaping in a JSON string.
func isPlain(k string) bool {
	switch {
	case len(k) >= 8:
		// eight bytes at a time; the last load overlaps the one before it
		for i := 0; ; i += 8 {
			if i+8 > len(k) {
				i = len(k) - 8
			}
			if record.NeedsEscape(load64(k, i)) {
				return false
			}
			if i+8 == len(k) {
				return true
			}
		}
	case len(k) >= 4:
		// two overlapping four-byte words, checked as one
		return !record.NeedsEscape(uint64(load32(k, 0)) | uint64(load32(k, len(k)-4))<<32)
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// load64 reads s[i:i+8] as a little-endian word.
func load64(s string, i int) uint64 {
	return binary.LittleEndian.Uint64(unsafe.Slice(unsafe.StringData(s[i:]), 8))
}

// load32 reads s[i:i+4] as a little-endian word.
func load32(s string, i int) uint32 {
	return binary.LittleEndian.Uint32(unsafe.Slice(unsafe.StringData(s[i:]), 4))
}

// plainKey writes a key that needs no escaping.
func (w *fieldWriter) plainKey(k string, mark int) bool {
	// The hash reads k, not the bytes just appended to buf: reading those
	// back right after the copy stalls on store forwarding.
	bit := keyBit(k)
	if w.bloom&bit != 0 && w.seen(k, mark) {
		return false
	}
	w.bloom |= bit
	w.appendKey(k)
	return true
}

// fixedKey writes one of a parser's own field names at the root: plain
// ASCII, and (the caller guarantees) distinct from every key written before
// it, so it needs neither the escape scan nor the duplicate search. It is
// still recorded, so keys taken from the message and written after it
// (access-log key=value extras) are checked against it.
func (w *fieldWriter) fixedKey(k string) bool {
	if w.used >= w.lim.MaxFields {
		w.dropped++
		return false
	}
	w.bloom |= keyBit(k)
	w.appendKey(k)
	return true
}

// appendKey appends `,"k":` (no comma for a first member) with one capacity
// check, and records the key.
func (w *fieldWriter) appendKey(k string) {
	n := len(w.buf)
	if cap(w.buf)-n < len(k)+4 {
		w.buf = append(w.buf, make([]byte, len(k)+4)...)[:n]
	}
	b := w.buf[:n+len(k)+4]
	if c := b[n-1]; c != '{' && c != '[' {
		b[n] = ','
		n++
	}
	b[n] = '"'
	n++
	copy(b[n:], k)
	w.addKey(n, n+len(k))
	n += len(k)
	b[n] = '"'
	b[n+1] = ':'
	w.buf = b[:n+2]
	w.used++
}

// escapedKey writes a key that needs escaping (or UTF-8 repair), comparing
// its escaped form with the object's other keys.
func (w *fieldWriter) escapedKey(k string, mark int) bool {
	before := len(w.buf)
	w.comma()
	start := len(w.buf) + 1
	w.buf = record.AppendString(w.buf, k)
	end := len(w.buf) - 1
	content := b2s(w.buf[start:end])
	bit := keyBit(content)
	if w.bloom&bit != 0 && w.seen(content, mark) {
		w.buf = w.buf[:before]
		return false
	}
	w.keys = append(w.keys, [2]int32{int32(start), int32(end)})
	w.buf = append(w.buf, ':')
	w.bloom |= bit
	w.used++
	return true
}

// keyBit hashes a key's escaped text (never empty) to one bit of the
// object's bloom filter, so the search for a duplicate runs only when one is
// likely.
func keyBit(c string) uint64 {
	return 1 << ((uint(len(c)) ^ uint(c[0])<<1 ^ uint(c[len(c)-1])<<2 ^ uint(c[len(c)/2])<<3) & 63)
}

// addKey records that a key's escaped text is at [start, end) of buf. It is
// stored element by element: appending a [2]int32 literal builds it on the
// stack with two 4-byte stores and reloads it as one word, which stalls on
// store forwarding (a tenth of the JSON path's time).
func (w *fieldWriter) addKey(start, end int) {
	if len(w.keys) == cap(w.keys) {
		w.keys = append(w.keys, [2]int32{})[:len(w.keys)]
	}
	w.keys = w.keys[:len(w.keys)+1]
	r := &w.keys[len(w.keys)-1]
	r[0], r[1] = int32(start), int32(end)
}

// seen reports whether the innermost object (keys from mark on) already has
// the key whose escaped text is c.
func (w *fieldWriter) seen(c string, mark int) bool { return w.seenIn(b2s(w.buf), c, mark) }

// seenIn is seen for keys recorded as positions in text rather than in buf
// (a verbatim attempt records them where the message has them).
func (w *fieldWriter) seenIn(text, c string, mark int) bool {
	for _, o := range w.keys[mark:] {
		if int(o[1]-o[0]) == len(c) && text[o[0]:o[1]] == c {
			return true
		}
	}
	return false
}

// element prepares the next array element and reports whether to write it.
func (w *fieldWriter) element() bool {
	if w.used >= w.lim.MaxFields {
		w.dropped++
		return false
	}
	w.comma()
	w.used++
	return true
}

// openObject starts a nested object value; pass the result to key and to
// closeObject.
func (w *fieldWriter) openObject() int {
	w.buf = append(w.buf, '{')
	w.blooms = append(w.blooms, w.bloom)
	w.bloom = 0
	return len(w.keys)
}

func (w *fieldWriter) closeObject(mark int) {
	w.keys = w.keys[:mark]
	w.bloom = w.blooms[len(w.blooms)-1]
	w.blooms = w.blooms[:len(w.blooms)-1]
	w.buf = append(w.buf, '}')
}

// str writes a string value, cut to MaxValueBytes.
func (w *fieldWriter) str(s string) {
	if len(s) > w.lim.MaxValueBytes {
		s = truncateUTF8(s, w.lim.MaxValueBytes)
		w.dropped++
	}
	w.buf = appendString(w.buf, s)
}

// appendString appends s as a JSON string: directly when it needs no
// escaping (most values), else through record.AppendString, which escapes
// and repairs invalid UTF-8. The output is the same either way.
func appendString(dst []byte, s string) []byte {
	if !isPlain(s) {
		return record.AppendString(dst, s)
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// num writes raw as a JSON number when it is one, else as a string.
func (w *fieldWriter) num(raw string) {
	if validNumber(raw) {
		w.buf = append(w.buf, raw...)
		return
	}
	w.str(raw)
}

func (w *fieldWriter) boolean(b bool) {
	if b {
		w.buf = append(w.buf, "true"...)
	} else {
		w.buf = append(w.buf, "false"...)
	}
}

// strField, numField and boolField write a root-level member.
func (w *fieldWriter) strField(k, v string) {
	if w.key(k, 0) {
		w.str(v)
	}
}

func (w *fieldWriter) numField(k, raw string) {
	if w.key(k, 0) {
		w.num(raw)
	}
}

func (w *fieldWriter) boolField(k string, v bool) {
	if w.key(k, 0) {
		w.boolean(v)
	}
}

// fixedStr and fixedNum write a root-level member under one of the parser's
// own field names (see fixedKey). Only for keys that are distinct from
// every key written before them in the object.
func (w *fieldWriter) fixedStr(k, v string) {
	if w.fixedKey(k) {
		w.str(v)
	}
}

func (w *fieldWriter) fixedNum(k, raw string) {
	if w.fixedKey(k) {
		w.num(raw)
	}
}

// value writes a parsed JSON value whose key sits at depth (the root object's
// keys are at depth 1).
func (w *fieldWriter) value(v *fastjson.Value, depth int) {
	switch v.Type() {
	case fastjson.TypeString:
		sb, _ := v.StringBytes()
		w.str(b2s(sb))
	case fastjson.TypeNumber:
		start := len(w.buf)
		w.buf = v.MarshalTo(w.buf) // fastjson keeps the number's text
		w.checkNumber(start)
	case fastjson.TypeTrue:
		w.buf = append(w.buf, "true"...)
	case fastjson.TypeFalse:
		w.buf = append(w.buf, "false"...)
	case fastjson.TypeNull:
		w.buf = append(w.buf, "null"...)
	case fastjson.TypeObject:
		if depth >= w.lim.MaxDepth {
			w.stringify(v)
			return
		}
		o, _ := v.Object()
		mark := w.openObject()
		o.Visit(func(k []byte, c *fastjson.Value) {
			if w.key(b2s(k), mark) {
				w.value(c, depth+1)
			}
		})
		w.closeObject(mark)
	case fastjson.TypeArray:
		if depth >= w.lim.MaxDepth {
			w.stringify(v)
			return
		}
		w.buf = append(w.buf, '[')
		for _, c := range v.GetArray() {
			if w.element() {
				w.value(c, depth+1)
			}
		}
		w.buf = append(w.buf, ']')
	}
}

// checkNumber validates the number just appended at buf[start:] and rewrites
// it as a string when it is not valid JSON (fastjson accepts NaN, Inf, 01,
// 1.2.3, ...).
func (w *fieldWriter) checkNumber(start int) {
	raw := w.buf[start:]
	if validNumber(b2s(raw)) {
		return
	}
	w.tmp = append(w.tmp[:0], raw...)
	w.buf = w.buf[:start]
	w.str(b2s(w.tmp))
}

// stringify stores a subtree that is too deep as its JSON text.
func (w *fieldWriter) stringify(v *fastjson.Value) {
	w.dropped++
	w.tmp = appendJSON(w.tmp[:0], v, w.lim.MaxValueBytes+1)
	w.str(b2s(w.tmp))
}

// appendJSON appends v as valid JSON, stopping early once dst holds more than
// limit bytes (the caller cuts the text to the limit anyway).
func appendJSON(dst []byte, v *fastjson.Value, limit int) []byte {
	if len(dst) > limit {
		return dst
	}
	switch v.Type() {
	case fastjson.TypeString:
		return record.AppendString(dst, b2s(v.GetStringBytes()))
	case fastjson.TypeNumber:
		start := len(dst)
		dst = v.MarshalTo(dst)
		if !validNumber(b2s(dst[start:])) {
			// NaN, 01, 1.2.3...: fastjson only lets [0-9a-zA-Z.+-] into a
			// number's text, so quoting it makes it a valid string.
			dst = append(dst, 0)
			copy(dst[start+1:], dst[start:len(dst)-1])
			dst[start] = '"'
			dst = append(dst, '"')
		}
		return dst
	case fastjson.TypeTrue:
		return append(dst, "true"...)
	case fastjson.TypeFalse:
		return append(dst, "false"...)
	case fastjson.TypeNull:
		return append(dst, "null"...)
	case fastjson.TypeObject:
		o, _ := v.Object()
		dst = append(dst, '{')
		first := true
		o.Visit(func(k []byte, c *fastjson.Value) {
			if len(dst) > limit {
				return
			}
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = record.AppendString(dst, b2s(k))
			dst = append(dst, ':')
			dst = appendJSON(dst, c, limit)
		})
		return append(dst, '}')
	case fastjson.TypeArray:
		dst = append(dst, '[')
		for i, c := range v.GetArray() {
			if len(dst) > limit {
				break
			}
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSON(dst, c, limit)
		}
		return append(dst, ']')
	}
	return dst
}

// truncateUTF8 cuts s to at most n bytes without splitting a rune.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for i := 0; i < utf8.UTFMax-1 && cut > 0 && !utf8.RuneStart(s[cut]); i++ {
		cut--
	}
	if !utf8.RuneStart(s[cut]) { // invalid UTF-8 anyway: cut where asked
		cut = n
	}
	return s[:cut]
}

// validNumber reports whether s is a number by the JSON grammar:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func validNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	if i >= len(s) {
		return false
	}
	if s[i] == '0' {
		i++
	} else if s[i] >= '1' && s[i] <= '9' {
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	} else {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		d := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		d := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	return i == len(s)
}

// b2s views b as a string without copying. The string must not outlive the
// next change to b (fastjson's buffers, our scratch buffers).
func b2s(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}
