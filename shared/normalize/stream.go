package normalize

import (
	"math/bits"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/valyala/fastjson/fastfloat"

	"github.com/tributary-logs/tributary/shared/record"
)

// objectStream writes a JSON object's members into the fields as it reads
// them, in one pass, without building fastjson's tree and visiting it again.
// Most JSON log lines are plain: short strings, numbers, a nested object or
// two. For those it gives exactly what the tree path (jsonFields) gives: the
// same fields, byte for byte, the same level and trace id, the same count of
// what was dropped; a subtree deep enough to be stored as text it writes
// as the tree path's appendJSON would (see stringify). At anything it does
// not handle the same way for sure (a number outside the JSON grammar, a
// surrogate escape, a deep subtree under a key whose members are inspected,
// a token fastjson might read differently) it gives up and the caller takes
// the tree path: giving up is always safe. FuzzStream checks the two paths
// against each other.
type objectStream struct {
	n   *Normalizer
	rec *record.Record
	s   string
	i   int
	// plain: give up at a top-level key that the CloudTrail and Lambda
	// platform parsers look for, so that whatever this path accepts is
	// exactly what the table would hand to the plain JSON parser.
	plain bool
	clef  uint8 // Serilog CLEF: bit 1 @t, bit 2 @m or @mt
	// keyPlain and strPlain: the last key and the last string read are
	// printable ASCII without escapes (see str).
	keyPlain, strPlain bool
	// dry: nothing is written, because the fields are to be the message
	// itself (see verbatim). stopped: something would not have been
	// written as it stands (a blank between tokens, an escape, a limit),
	// so the attempt ends and the caller writes.
	dry, stopped bool
}

// maxStreamDepth keeps the stream inside fastjson's own nesting limit (300),
// beyond which fastjson rejects the message.
const maxStreamDepth = 256

// streamFields writes the members of the JSON object s (surrounding blanks
// allowed) into the fields, with the level and trace id they carry, as
// jsonFields does. When it reports false it has left the fields, the level
// and the trace id as they were, and the caller must parse s with fastjson.
func (n *Normalizer) streamFields(rec *record.Record, s string, plain bool) bool {
	t, ok := n.openStream(rec, s)
	if !ok {
		return false
	}
	t.plain = plain
	w := &n.w
	mark := saveWriter(w)
	level, trace, rank := rec.Level, rec.TraceID, n.traceRank
	restore := func() {
		mark.restore(w)
		rec.Level, rec.TraceID, n.traceRank = level, trace, rank
	}
	// First without writing, for the common case where the fields would be
	// the message itself (see verbatim); a message that is not so is
	// streamed again, writing.
	t.dry = !n.noVerbatim && mark == (writerMark{buf: 1})
	ok = t.root() && t.i == len(t.s)
	if t.stopped {
		restore()
		t, _ = n.openStream(rec, s)
		t.plain = plain
		ok = t.root() && t.i == len(t.s)
	} else if ok && t.dry {
		t.verbatim()
	}
	if !ok {
		restore()
		return false
	}
	if rec.Level == "" && t.clef == 3 {
		rec.Level = LevelInfo
	}
	return true
}

// verbatim makes the message the fields, once root has read it without
// writing (dry) and never stopped: compact JSON whose keys and strings are
// printable ASCII without escapes, within the limits, with no duplicate key.
// That case, most structured logs, then costs one copy instead of writing
// each key and value (a quarter of the JSON parser's time). A dry read stops
// at the first thing that is not so; what it read up to there is the price,
// usually a few members. Where the stream gives up, it gives up at the same
// place dry or not.
func (t *objectStream) verbatim() {
	w := &t.n.w
	if w.used == 0 {
		w.buf = w.buf[:1] // no member: no fields
		return
	}
	// The writer's keys point into the message, which is now buf from its
	// first byte on: later fields are checked against them.
	w.buf = append(w.buf[:1], t.s[1:len(t.s)-1]...)
}

// stop ends a verbatim attempt: every read after it finds the end of the
// message, so the stream gives up at once.
func (t *objectStream) stop() bool {
	t.stopped = true
	t.i = len(t.s)
	return false
}

// dryKey is writeKey in a verbatim attempt: it keeps the key as fieldWriter
// would (same limits, same duplicate check, recorded where the message has
// it) when writing it would copy it as it stands, and stops otherwise.
func (t *objectStream) dryKey(k string, mark int) bool {
	w := &t.n.w
	if !t.keyPlain || len(k) == 0 || len(k) > w.lim.MaxValueBytes || w.used >= w.lim.MaxFields {
		return t.stop()
	}
	bit := keyBit(k)
	if w.bloom&bit != 0 && w.seenIn(t.s, k, mark) {
		return t.stop()
	}
	w.bloom |= bit
	at := offsetIn(k, t.s)
	w.addKey(at, at+len(k))
	w.used++
	return true
}

// offsetIn is where sub, a substring of s, starts in s.
func offsetIn(sub, s string) int {
	return int(uintptr(unsafe.Pointer(unsafe.StringData(sub))) - uintptr(unsafe.Pointer(unsafe.StringData(s))))
}

// openStream starts an objectStream on s, a JSON object with blanks around
// it, just after its '{'; false when s cannot be one (or in tests that
// want the tree path only).
func (n *Normalizer) openStream(rec *record.Record, s string) (objectStream, bool) {
	if n.noStream {
		return objectStream{}, false
	}
	s = trimSpace(s)
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		return objectStream{}, false
	}
	n.arena = n.arena[:0]
	return objectStream{n: n, rec: rec, s: s, i: 1}, true
}

// writerMark is what streamFields restores when it gives up half way.
type writerMark struct {
	buf, keys, blooms, used, dropped int
	bloom                            uint64
}

func saveWriter(w *fieldWriter) writerMark {
	return writerMark{len(w.buf), len(w.keys), len(w.blooms), w.used, w.dropped, w.bloom}
}

func (m writerMark) restore(w *fieldWriter) {
	w.buf, w.keys, w.blooms = w.buf[:m.buf], w.keys[:m.keys], w.blooms[:m.blooms]
	w.used, w.dropped, w.bloom = m.used, m.dropped, m.bloom
}

func (t *objectStream) ws() {
	// Most messages are compact: one compare settles the common case.
	for t.i < len(t.s) && t.s[t.i] <= ' ' && isSpace(t.s[t.i]) {
		if t.dry {
			t.stop() // blanks are not copied to the fields
			return
		}
		t.i++
	}
}

// root reads the top-level object: each member is inspected for a level or
// trace id, then written under depth 1, as jsonFields does.
func (t *objectStream) root() bool {
	w := &t.n.w
	t.ws()
	if t.i < len(t.s) && t.s[t.i] == '}' {
		t.i++
		return true
	}
	for {
		k, ok := t.key()
		if !ok {
			return false
		}
		if t.plain && shapeKey(k) {
			return false
		}
		if len(k) == 2 && k[0] == '@' {
			switch k[1] {
			case 't':
				t.clef |= 1
			case 'm':
				t.clef |= 2
			}
		} else if k == "@mt" {
			t.clef |= 2
		}
		role := classifyKey(k)
		if t.i >= len(t.s) {
			return false
		}
		switch c := t.s[t.i]; {
		case c == '"':
			v, ok := t.str()
			if !ok {
				return false
			}
			if t.plain && k == "type" && strings.HasPrefix(v, "platform.") {
				return false
			}
			switch {
			case role == roleLevel:
				if t.rec.Level == "" {
					t.rec.Level = levelWord(v)
				}
			case role.isTrace():
				t.trace(role, v)
			}
			if t.writeKey(k, 0) {
				t.writeStr(v)
			}
		case c == '-' || isDigit(c):
			v, ok := t.number()
			if !ok {
				return false
			}
			switch {
			case role == roleLevel:
				if t.rec.Level == "" {
					if f, err := fastfloat.Parse(v); err == nil {
						t.rec.Level = levelNumber(f)
					}
				}
			case role.isTrace():
				t.trace(role, v)
			}
			if t.writeKey(k, 0) {
				w.buf = append(w.buf, v...)
			}
		case c == '{' && role == roleNone && nestedParent(k):
			if !t.value(t.writeKey(k, 0), 1, k) {
				return false
			}
		default:
			if !t.value(t.writeKey(k, 0), 1, "") {
				return false
			}
		}
		if done, ok := t.next('}'); !ok || done {
			return ok
		}
	}
}

// shapeKey reports whether a top-level key is one that makes the message a
// candidate for the CloudTrail or EventBridge parsers (see shapeOf).
func shapeKey(k string) bool {
	switch k {
	case "eventVersion", "eventSource", "eventName", "detail-type":
		return true
	}
	return false
}

// writeKey is fieldWriter.key for the key just read, skipping its escape
// check when str found none to make.
func (t *objectStream) writeKey(k string, mark int) bool {
	if t.dry {
		return t.dryKey(k, mark)
	}
	if t.keyPlain {
		return t.n.w.plainKeyChecked(k, mark)
	}
	return t.n.w.key(k, mark)
}

// writeStr is fieldWriter.str for the string just read, likewise.
func (t *objectStream) writeStr(v string) {
	w := &t.n.w
	if t.dry {
		if !t.strPlain || len(v) > w.lim.MaxValueBytes {
			t.stop()
		}
		return
	}
	if t.strPlain && len(v) <= w.lim.MaxValueBytes {
		w.buf = append(w.buf, '"')
		w.buf = append(w.buf, v...)
		w.buf = append(w.buf, '"')
		return
	}
	w.str(v)
}

// trace offers v, the text of a string or number under a trace key, as
// jsonTrace does.
func (t *objectStream) trace(role keyRole, v string) {
	if role.traceRank() >= t.n.traceRank {
		return
	}
	if id := traceValue(role, v); id != "" {
		t.rec.TraceID = t.n.stable(id)
		t.n.traceRank = role.traceRank()
	}
}

// key reads `"name"` and the colon after it.
func (t *objectStream) key() (string, bool) {
	if t.i >= len(t.s) || t.s[t.i] != '"' {
		return "", false
	}
	k, ok := t.str()
	if !ok {
		return "", false
	}
	t.keyPlain = t.strPlain
	// The colon nearly always follows the key's quote directly.
	if t.i >= len(t.s) || t.s[t.i] != ':' {
		t.ws()
		if t.i >= len(t.s) || t.s[t.i] != ':' {
			return "", false
		}
	}
	t.i++
	t.ws()
	return k, true
}

// begin reads the blanks after an object's or array's opening byte and
// reports whether members or elements follow; when the closing byte follows
// it consumes it. The loop over them is
//
//	for more := t.begin('}'); more; { ...read one...; more, ok = t.more('}') }
//
// written out at each use: a closure per member costs 7 % on the workload.
func (t *objectStream) begin(closing byte) bool {
	t.ws()
	if t.i < len(t.s) && t.s[t.i] == closing {
		t.i++
		return false
	}
	return true
}

// more reads what follows a member or element: a ',' and another one
// (more), or the closing byte.
func (t *objectStream) more(closing byte) (more, ok bool) {
	done, ok := t.next(closing)
	return !done, ok
}

// next reads the blanks and the ',' or the closing byte after a member or
// element; done reports the closing byte.
func (t *objectStream) next(closing byte) (done, ok bool) {
	t.ws()
	if t.i >= len(t.s) {
		return false, false
	}
	switch t.s[t.i] {
	case ',':
		t.i++
		t.ws()
		return false, true
	case closing:
		t.i++
		return true, true
	}
	return false, false
}

// value reads one value whose key sits at depth and, when write is set,
// writes it as fieldWriter.value would. A value not written is still read
// (fastjson rejects the whole message when any part is malformed). parent,
// when set, names the top-level key of an object whose members are looked
// at for a level or trace id (see inspect).
func (t *objectStream) value(write bool, depth int, parent string) bool {
	w := &t.n.w
	if t.i >= len(t.s) {
		return false
	}
	switch c := t.s[t.i]; c {
	case '"':
		v, ok := t.str()
		if ok && write {
			t.writeStr(v)
		}
		return ok
	case '{':
		if depth >= maxStreamDepth {
			return false
		}
		if write && depth >= w.lim.MaxDepth {
			if t.dry {
				return t.stop() // stored as text: not as it stands
			}
			// stored as text; the tree path inspects a nested parent's
			// members first, so that case stays its work
			return parent == "" && t.stringify(depth)
		}
		t.i++
		t.ws()
		mark := 0
		if write {
			mark = w.openObject()
		}
		for more := t.begin('}'); more; {
			k, ok := t.key()
			if !ok || parent != "" && !t.nested(parent, k) || !t.value(write && t.writeKey(k, mark), depth+1, "") {
				return false
			}
			if more, ok = t.more('}'); !ok {
				return false
			}
		}
		if write {
			w.closeObject(mark)
		}
		return true
	case '[':
		if depth >= maxStreamDepth {
			return false
		}
		if write && depth >= w.lim.MaxDepth {
			if t.dry {
				return t.stop()
			}
			return t.stringify(depth)
		}
		t.i++
		t.ws()
		if write {
			w.buf = append(w.buf, '[')
		}
		for more := t.begin(']'); more; {
			var ok bool
			if !t.value(write && t.element(), depth+1, "") {
				return false
			}
			if more, ok = t.more(']'); !ok {
				return false
			}
		}
		if write {
			w.buf = append(w.buf, ']')
		}
		return true
	case 't':
		return t.literal("true", write)
	case 'f':
		return t.literal("false", write)
	case 'n':
		return t.literal("null", write)
	}
	v, ok := t.number()
	if ok && write {
		w.buf = append(w.buf, v...)
	}
	return ok
}

// element is fieldWriter.element, which in a verbatim attempt may not drop
// an element.
func (t *objectStream) element() bool {
	if t.dry && t.n.w.used >= t.n.w.lim.MaxFields {
		return t.stop()
	}
	return t.n.w.element()
}

// stringify reads the object or array at t.i, too deep to be written as
// one, and writes it as fieldWriter.stringify writes the tree path's value:
// its JSON text, as appendJSON builds it, stored as a string. This keeps
// messages with one deep member (CloudTrail requestParameters, say) on the
// one-pass path instead of parsing them again with fastjson.
func (t *objectStream) stringify(depth int) bool {
	w := &t.n.w
	var ok bool
	if w.tmp, ok = t.appendJSON(w.tmp[:0], w.lim.MaxValueBytes+1, depth); !ok {
		return false
	}
	w.dropped++
	w.str(b2s(w.tmp))
	return true
}

// appendJSON reads one value whose key sits at depth and appends it to dst
// as appendJSON appends the parsed value: the same text, cut off at the same
// points once dst holds more than limit bytes. What is cut off is still
// read, to be checked.
func (t *objectStream) appendJSON(dst []byte, limit, depth int) ([]byte, bool) {
	if len(dst) > limit {
		return dst, t.value(false, depth, "")
	}
	if t.i >= len(t.s) {
		return dst, false
	}
	var ok bool
	switch t.s[t.i] {
	case '"':
		var v string
		if v, ok = t.str(); ok {
			dst = record.AppendString(dst, v)
		}
		return dst, ok
	case '{':
		if depth >= maxStreamDepth {
			return dst, false
		}
		t.i++
		t.ws()
		dst = append(dst, '{')
		first := true
		for more := t.begin('}'); more; {
			var k string
			if k, ok = t.key(); !ok {
				return dst, false
			}
			if len(dst) > limit {
				ok = t.value(false, depth+1, "")
			} else {
				if !first {
					dst = append(dst, ',')
				}
				first = false
				dst = record.AppendString(dst, k)
				dst = append(dst, ':')
				dst, ok = t.appendJSON(dst, limit, depth+1)
			}
			if !ok {
				return dst, false
			}
			if more, ok = t.more('}'); !ok {
				return dst, false
			}
		}
		return append(dst, '}'), true
	case '[':
		if depth >= maxStreamDepth {
			return dst, false
		}
		t.i++
		t.ws()
		dst = append(dst, '[')
		first := true
		for more := t.begin(']'); more; {
			if len(dst) > limit {
				ok = t.value(false, depth+1, "")
			} else {
				if !first {
					dst = append(dst, ',')
				}
				first = false
				dst, ok = t.appendJSON(dst, limit, depth+1)
			}
			if !ok {
				return dst, false
			}
			if more, ok = t.more(']'); !ok {
				return dst, false
			}
		}
		return append(dst, ']'), true
	}
	// a number or a literal: its text, as the tree path writes it
	from := t.i
	if !t.value(false, depth, "") {
		return dst, false
	}
	return append(dst, t.s[from:t.i]...), true
}

// nested looks at a member k of the top-level object under parent for a
// level or trace id, as inspect does, without consuming it.
func (t *objectStream) nested(parent, k string) bool {
	r := classifyNested(parent, k)
	if r != roleLevel && !r.isTrace() {
		return true
	}
	save := t.i
	defer func() { t.i = save }()
	if t.i >= len(t.s) {
		return false
	}
	var v string
	var ok bool
	switch c := t.s[t.i]; {
	case c == '"':
		v, ok = t.str()
		if ok && r == roleLevel && t.rec.Level == "" {
			t.rec.Level = levelWord(v)
		}
	case c == '-' || isDigit(c):
		v, ok = t.number()
		if ok && r == roleLevel && t.rec.Level == "" {
			if f, err := fastfloat.Parse(v); err == nil {
				t.rec.Level = levelNumber(f)
			}
		}
	default:
		return true // neither a string nor a number: not a level or an id
	}
	if ok && r.isTrace() {
		t.trace(r, v)
	}
	return ok
}

func (t *objectStream) literal(lit string, write bool) bool {
	if !strings.HasPrefix(t.s[t.i:], lit) {
		return false
	}
	t.i += len(lit)
	if write {
		t.n.w.buf = append(t.n.w.buf, lit...)
	}
	return true
}

// number reads a run of number bytes that is a number by the JSON grammar
// (validNumber) and is followed by a blank or a structural byte. Other
// runs (01, 1.2.3, NaN) the tree path turns into strings, so this path
// leaves them to it.
func (t *objectStream) number() (string, bool) {
	s, start := t.s, t.i
	i := start
	for i < len(s) && (isDigit(s[i]) || s[i] == '-' || s[i] == '+' || s[i] == '.' || s[i]|0x20 == 'e') {
		i++
	}
	if !validNumber(s[start:i]) {
		return "", false
	}
	if i < len(s) {
		switch s[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
		default:
			return "", false
		}
	}
	t.i = i
	return s[start:i], true
}

// str reads a string and returns its value: a substring of the message when
// it holds no escape (most do), else its unescaped text in the arena.
// It sets t.strPlain when the value is plain, printable ASCII that a JSON
// writer copies as it is, so the writer need not look at it again.
func (t *objectStream) str() (string, bool) {
	start := t.i + 1
	q, plain := stringStop(t.s, start)
	t.strPlain = false
	if q >= len(t.s) {
		return "", false
	}
	if t.s[q] == '"' {
		t.i = q + 1
		t.strPlain = plain
		return t.s[start:q], true
	}
	return t.escaped(start)
}

// stringStop returns the index of the first '"' or '\\' in s from i on (or
// len(s)), and whether every byte before it is printable ASCII: one pass
// for both, eight bytes at a time.
func stringStop(s string, i int) (int, bool) {
	const quotes, backslashes, controls = ones * '"', ones * '\\', ones * 0x20
	plain := true
	for ; i+8 <= len(s); i += 8 {
		w := load64(s, i)
		// record.NeedsEscape's tests, kept as marks (bit 7 of a byte), so
		// that the stop and whether the bytes before it are plain come out
		// of one pass over the word. A false mark only sits above a true
		// one of its test: the lowest stop mark is a true '"' or '\\', and
		// a mark below it is a true control or non-ASCII byte.
		a, b := w^quotes, w^backslashes
		stops := ((a-ones)&^a | (b-ones)&^b) & highs
		marks := stops | ((w-controls)|w)&highs
		if marks == 0 {
			continue
		}
		if stops == 0 {
			plain = false // a control or non-ASCII byte, no stop
			continue
		}
		below := stops&-stops - 1 // the bits under the lowest stop mark
		return i + bits.TrailingZeros64(stops)>>3, plain && marks&below == 0
	}
	for ; i < len(s); i++ {
		c := s[i]
		if c == '"' || c == '\\' {
			return i, plain
		}
		if c < 0x20 || c >= 0x80 {
			plain = false
		}
	}
	return i, plain
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// escaped unescapes the string whose body starts at start. It handles the
// escapes fastjson resolves the same way for sure; a surrogate or a
// malformed escape makes the stream give up.
func (t *objectStream) escaped(start int) (string, bool) {
	n := t.n
	from := len(n.arena)
	s := t.s
	i := start
	for {
		j, _ := stringStop(s, i)
		n.arena = append(n.arena, s[i:j]...)
		if j+1 >= len(s) {
			return "", false
		}
		if s[j] == '"' {
			t.i = j + 1
			return b2s(n.arena[from:]), true
		}
		c := s[j+1]
		i = j + 2
		switch c {
		case '"', '\\', '/':
			n.arena = append(n.arena, c)
		case 'b':
			n.arena = append(n.arena, '\b')
		case 'f':
			n.arena = append(n.arena, '\f')
		case 'n':
			n.arena = append(n.arena, '\n')
		case 'r':
			n.arena = append(n.arena, '\r')
		case 't':
			n.arena = append(n.arena, '\t')
		case 'u':
			if j+6 > len(s) {
				return "", false
			}
			r := rune(0)
			for _, h := range []byte(s[j+2 : j+6]) {
				d := hexValue[h]
				if d < 0 {
					return "", false
				}
				r = r<<4 | rune(d)
			}
			if r >= 0xD800 && r <= 0xDFFF {
				return "", false
			}
			n.arena = utf8.AppendRune(n.arena, r)
			i = j + 6
		default:
			return "", false
		}
	}
}

// hexValue is the value of a hex digit, -1 for any other byte.
var hexValue = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = int8(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = int8(c - 'a' + 10)
		t[c-'a'+'A'] = int8(c - 'a' + 10)
	}
	return t
}()

// streamCloudTrail is parseCloudTrail for a bare CloudTrail record, in one
// pass: the members cloudTrailFields names are written as project writes
// them, the rest is read and left out. Like streamFields, it reports false
// having changed nothing when the tree path must decide (an EventBridge
// envelope, a record it does not read the same way for sure).
func (n *Normalizer) streamCloudTrail(rec *record.Record, s string) bool {
	t, ok := n.openStream(rec, s)
	if !ok {
		return false
	}
	w := &n.w
	mark := saveWriter(w)
	var ct cloudTrailFacts
	if !t.project(cloudTrailFields, 0, 1, &ct) || t.i != len(t.s) || ct.shape != 7 {
		mark.restore(w)
		return false
	}
	rec.Level = LevelInfo
	if ct.errorCode != "" || ct.errorMessage != "" {
		rec.Level = LevelError
	}
	rec.TraceID = ""
	for _, id := range [...]string{ct.requestID, ct.eventID} {
		if id = cleanID(id); id != "" {
			rec.TraceID = n.stable(id)
			break
		}
	}
	return true
}

// cloudTrailFacts is what parseCloudTrail reads from the top level: the
// shapeOf bits, and the first value of each key that o.Get would return
// (a string, or "" for any other type).
type cloudTrailFacts struct {
	shape                                       uint8
	seen                                        uint8 // bits: errorCode, errorMessage, requestID, eventID
	errorCode, errorMessage, requestID, eventID string
}

// note records a top-level member for cloudTrailFacts; v is its value when
// that is a string.
func (ct *cloudTrailFacts) note(k, v string, isString bool) {
	first := func(bit uint8, dst *string) {
		if ct.seen&bit == 0 {
			ct.seen |= bit
			if isString {
				*dst = v
			}
		}
	}
	ct.shape |= cloudTrailBit(k, isString)
	switch k {
	case "errorCode":
		first(1, &ct.errorCode)
	case "errorMessage":
		first(2, &ct.errorMessage)
	case "requestID":
		first(4, &ct.requestID)
	case "eventID":
		first(8, &ct.eventID)
	case "detail-type", "detail":
		ct.shape |= 8 // maybe an EventBridge envelope: the tree path's
	}
}

// project reads the members of an object (t.i just after its '{') and
// writes those keep names into the object opened with mark, at depth, as
// Normalizer.project does. At the top level ct collects cloudTrailFacts.
func (t *objectStream) project(keep []projection, mark, depth int, ct *cloudTrailFacts) bool {
	w := &t.n.w
	for more := t.begin('}'); more; {
		k, ok := t.key()
		if !ok || t.i >= len(t.s) {
			return false
		}
		var p *projection
		for i := range keep {
			if keep[i].key == k {
				p = &keep[i]
				break
			}
		}
		isString := t.s[t.i] == '"'
		if ct != nil && !isString {
			ct.note(k, "", false)
		}
		switch {
		case ct != nil && isString:
			// a top-level string: read once, for the facts and the fields
			var v string
			if v, ok = t.str(); ok {
				ct.note(k, v, true)
				if p != nil && t.writeKey(k, mark) {
					t.writeStr(v)
				}
			}
		case p == nil:
			ok = t.value(false, depth, "")
		case p.keep == nil || t.s[t.i] != '{':
			ok = t.value(t.writeKey(k, mark), depth, "")
		case depth >= w.lim.MaxDepth:
			if t.writeKey(k, mark) {
				ok = t.stringify(depth)
			} else {
				ok = t.value(false, depth, "")
			}
		case !t.writeKey(k, mark):
			ok = t.value(false, depth, "")
		default:
			t.i++
			m := w.openObject()
			ok = t.project(p.keep, m, depth+1, nil)
			w.closeObject(m)
		}
		if !ok {
			return false
		}
		if more, ok = t.more('}'); !ok {
			return false
		}
	}
	return true
}
