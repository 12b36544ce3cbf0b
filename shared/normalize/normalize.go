// Package normalize turns one log message into the normalized parts of a
// record.Record: its level, its trace id, its source type and the fields the
// message carries (see DESIGN.md, "The normalized record").
//
// Formats are data: formats.go holds the table of parsers, each with the
// source type it yields, the first bytes a message of that format can start
// with, and a real-shaped example. Normalize tries, in table order, only the
// parsers whose first bytes match the message, so most messages are told
// apart by one table lookup; plain text is the last resort and always
// succeeds, so Normalize never fails.
//
// It runs once per log event on the Firehose transform's hot path: parsers
// scan bytes by hand (no regexps, fmt, maps or strings.Split), JSON objects
// and CloudTrail records are read and written into the fields in one pass
// (stream.go; one reused fastjson.Parser takes what that pass leaves to it),
// fields are appended into the caller's buffer, and ids are substrings of
// the message, so a call allocates nothing in the common case.
package normalize

import (
	"strings"
	"unsafe"

	"github.com/valyala/fastjson"

	"github.com/tributary-logs/tributary/shared/record"
)

// Limits bound Record.Fields. Zero or negative values take the defaults.
type Limits struct {
	MaxFields     int // keys and array elements in total (default 100)
	MaxDepth      int // nesting of objects and arrays (default 4; deeper subtrees are kept as JSON text)
	MaxValueBytes int // bytes of one string value or key (default 8192)
}

// Defaults of Limits.
const (
	DefaultMaxFields     = 100
	DefaultMaxDepth      = 4
	DefaultMaxValueBytes = 8192
)

func (l Limits) withDefaults() Limits {
	if l.MaxFields <= 0 {
		l.MaxFields = DefaultMaxFields
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxValueBytes <= 0 {
		l.MaxValueBytes = DefaultMaxValueBytes
	}
	return l
}

// Stats tells what one Normalize call did.
type Stats struct {
	// FieldsDropped counts what Limits cut from Fields: each key or array
	// element left out, each subtree stored as JSON text because it was too
	// deep, and each string shortened.
	FieldsDropped int
	// Parser names the parser that recognized the message (see formats.go),
	// e.g. "json", "lambda_platform", "access_log" or "text".
	Parser string
}

// Normalizer normalizes records. It holds a fastjson.Parser and scratch
// buffers that it reuses from call to call, so it is NOT safe for concurrent
// use: give each goroutine its own.
type Normalizer struct {
	lim    Limits
	parser fastjson.Parser
	w      fieldWriter

	// state of the current call
	msg        string // rec.Message
	traceRank  int    // rank of rec.TraceID's source, see keyRole.traceRank
	jsonState  uint8  // whether the whole message was parsed as JSON yet
	jsonObj    *fastjson.Object
	shape      jsonShape // of jsonObj
	scratch    []byte    // keys built on the fly, numbers' text
	unq        []byte    // unescaped quoted values
	arena      []byte    // unescaped strings of objectStream
	noStream   bool      // tests: always take the fastjson tree path
	noVerbatim bool      // tests: always write the fields of a streamed object
}

const (
	jsonUntried uint8 = iota
	jsonObject
	jsonInvalid
)

// New returns a Normalizer with the given limits (zero values take the
// defaults).
func New(l Limits) *Normalizer {
	return &Normalizer{lim: l.withDefaults()}
}

// Normalize reads rec.Message and sets rec.Level, rec.TraceID,
// rec.SourceType and rec.Fields. Fields is appended into rec.Fields[:0], so a
// caller that reuses records reuses its capacity; it ends up empty or holding
// one valid JSON object. rec.TraceID, when set, shares memory with
// rec.Message. rec.Message itself is never modified, and Normalize never
// fails: a message no parser understands becomes source type "text" with the
// level and trace id found in the text.
func (n *Normalizer) Normalize(rec *record.Record) Stats {
	msg := rec.Message
	n.msg = msg
	n.jsonState = jsonUntried
	n.jsonObj = nil
	idx := len(dispatch) - 1 // the empty message
	if len(msg) > 0 {
		idx = int(msg[0])
		if isJSONFirst[idx] {
			// The table would parse the message with fastjson and try
			// CloudTrail, Lambda platform JSON and plain JSON in turn;
			// streamFields and streamCloudTrail know in one pass when
			// it ends at plain JSON or at CloudTrail, and write the
			// fields on the way.
			for _, sc := range streamShortcuts {
				rec.Level, rec.TraceID = "", ""
				n.traceRank = noTrace
				n.w.reset(rec.Fields, n.lim)
				if sc.stream(n, rec, msg) {
					rec.SourceType = sc.format.source
					rec.Fields = n.w.finish()
					n.msg = ""
					return Stats{FieldsDropped: n.w.dropped, Parser: sc.format.name}
				}
				rec.Fields = n.w.buf[:0]
			}
		}
	}
	for _, f := range dispatch[idx] {
		rec.Level = ""
		rec.TraceID = ""
		n.traceRank = noTrace
		n.w.reset(rec.Fields, n.lim)
		if f.parse(n, rec, msg) {
			rec.SourceType = f.source
			rec.Fields = n.w.finish()
			n.msg = ""
			n.jsonObj = nil
			if len(msg) > releaseAfter {
				// fastjson keeps its copy of the message and one value per
				// JSON value parsed; let an outsized message's go.
				n.parser = fastjson.Parser{}
			}
			return Stats{FieldsDropped: n.w.dropped, Parser: f.name}
		}
		rec.Fields = n.w.buf[:0] // keep any capacity the failed attempt grew
	}
	panic("normalize: the text format must accept every message") // unreachable
}

const noTrace = 100

// streamShortcuts are the one-pass readers Normalize tries on a message that
// may be JSON, each standing in for the format it names.
var streamShortcuts = [...]struct {
	format *format
	stream func(n *Normalizer, rec *record.Record, msg string) bool
}{
	{jsonFormat, func(n *Normalizer, rec *record.Record, msg string) bool { return n.streamFields(rec, msg, true) }},
	{cloudTrailFormat, (*Normalizer).streamCloudTrail},
}

// releaseAfter is the message size above which Normalize drops the JSON
// parser's buffers instead of keeping them for the next message.
const releaseAfter = 1 << 20

// setTrace offers id (a substring of the message, or any string that stays
// valid) found under a key of the given role; it becomes rec.TraceID when
// no better-ranked id was seen before.
func (n *Normalizer) setTrace(rec *record.Record, role keyRole, id string) {
	r := role.traceRank()
	if r >= n.traceRank {
		return
	}
	if id = traceValue(role, id); id != "" {
		rec.TraceID = id
		n.traceRank = r
	}
}

// stable returns s, which may point into a scratch buffer, as a string that
// stays valid: the same bytes inside the message when they occur there (ids
// almost always do), else a copy.
func (n *Normalizer) stable(s string) string {
	if within(s, n.msg) {
		return s // a substring already: no search
	}
	if i := strings.Index(n.msg, s); i >= 0 {
		return n.msg[i : i+len(s)]
	}
	return strings.Clone(s)
}

// within reports whether s lies in msg's memory.
func within(s, msg string) bool {
	if len(s) == 0 || len(msg) == 0 {
		return false
	}
	p, m := uintptr(unsafe.Pointer(unsafe.StringData(s))), uintptr(unsafe.Pointer(unsafe.StringData(msg)))
	return p >= m && p+uintptr(len(s)) <= m+uintptr(len(msg))
}

// messageObject parses the whole message as a JSON object once per call and
// returns it, or nil when the message is not one.
func (n *Normalizer) messageObject(msg string) *fastjson.Object {
	switch n.jsonState {
	case jsonObject:
		return n.jsonObj
	case jsonInvalid:
		return nil
	}
	o := n.parseObject(msg)
	if o == nil {
		n.jsonState = jsonInvalid
		return nil
	}
	n.jsonState = jsonObject
	n.jsonObj = o
	n.shape = shapeOf(o)
	return o
}

// jsonShape is what the JSON parsers need to know about the top-level keys
// of a message, found in one pass so that each parser does not scan them
// again.
type jsonShape struct {
	cloudTrail      uint8 // bits: eventVersion (string), eventSource, eventName
	eventBridge     bool  // has detail-type and an object detail
	platformType    string
	platformPresent bool // "type" is a string starting with "platform."
}

func shapeOf(o *fastjson.Object) (s jsonShape) {
	hasDetailType, hasDetail := false, false
	o.Visit(func(k []byte, v *fastjson.Value) {
		s.cloudTrail |= cloudTrailBit(b2s(k), v.Type() == fastjson.TypeString)
		switch b2s(k) {
		case "detail-type":
			hasDetailType = true
		case "detail":
			hasDetail = v.Type() == fastjson.TypeObject
		case "type":
			if v.Type() == fastjson.TypeString {
				t := b2s(v.GetStringBytes())
				if len(t) > len("platform.") && t[:len("platform.")] == "platform." {
					s.platformType, s.platformPresent = t, true
				}
			}
		}
	})
	s.eventBridge = hasDetailType && hasDetail
	return s
}

// cloudTrailBit is the jsonShape.cloudTrail bit a top-level key sets:
// eventVersion (a string), eventSource, eventName.
func cloudTrailBit(k string, isString bool) uint8 {
	switch k {
	case "eventVersion":
		if isString {
			return 1
		}
	case "eventSource":
		return 2
	case "eventName":
		return 4
	}
	return 0
}

// parseObject parses s as one JSON object (surrounding whitespace allowed).
// The result is valid until the next parse.
func (n *Normalizer) parseObject(s string) *fastjson.Object {
	s = trimSpace(s)
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		return nil
	}
	n.jsonState = jsonUntried // the memo, if any, is gone with this parse
	v, err := n.parser.Parse(s)
	if err != nil {
		return nil
	}
	o, err := v.Object()
	if err != nil {
		return nil
	}
	return o
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func trimSpace(s string) string {
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

func trimRightSpace(s string) string {
	for len(s) > 0 && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

func allDigits(s string) bool {
	if len(s) == 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}
