package normalize

import (
	"github.com/valyala/fastjson"

	"github.com/tributary-logs/tributary/shared/record"
)

// Lambda platform lines carry the invocation's request id; it becomes the
// trace id (rather than the X-Ray trace id of a REPORT line) so the
// platform lines line up with the function's own lines of the same
// invocation, which the runtimes prefix with the same request id. The X-Ray
// id stays in fields.xray_trace_id.

// platformKind is one kind of Lambda platform text line.
type platformKind struct {
	keyword string // the line's first word
	typ     string // fields.type
	first   string // the label that must come first
}

var platformKinds = [...]platformKind{
	{"START", "start", "RequestId"},
	{"END", "end", "RequestId"},
	{"REPORT", "report", "RequestId"},
	{"INIT_START", "init_start", "Runtime Version"},
	{"INIT_REPORT", "init_report", "Init Duration"},
	{"RESTORE_START", "restore_start", "Runtime Version"},
	{"RESTORE_REPORT", "restore_report", "Restore Duration"},
	{"EXTENSION", "extension", "Name"},
	{"TELEMETRY", "telemetry", "Name"},
}

// platformLabels maps the labels of platform lines to field names. A value
// with a unit ("102.25 ms", "128 MB") gets the unit as a suffix
// (duration_ms, memory_size_mb) and is stored as a number. Labels not listed
// become snake_case.
var platformLabels = [...]struct{ label, key string }{
	{"RequestId", "request_id"},
	{"Version", "version"},
	{"Duration", "duration"},
	{"Billed Duration", "billed_duration"},
	{"Memory Size", "memory_size"},
	{"Max Memory Used", "max_memory_used"},
	{"Init Duration", "init_duration"},
	{"Restore Duration", "restore_duration"},
	{"Billed Restore Duration", "billed_restore_duration"},
	{"Runtime Version", "runtime_version"},
	{"Runtime Version ARN", "runtime_version_arn"},
	{"XRAY TraceId", "xray_trace_id"},
	{"SegmentId", "xray_segment_id"},
	{"Sampled", "xray_sampled"},
	{"Phase", "phase"},
	{"Status", "status"},
	{"Error Type", "error_type"},
	{"Name", "name"},
	{"State", "state"},
	{"Events", "events"},
	{"Types", "types"},
}

// parseLambdaPlatformText: START/END/REPORT/INIT_START/... lines. Level INFO,
// ERROR when a Status is error/timeout/failure or an Error Type is given.
func parseLambdaPlatformText(n *Normalizer, rec *record.Record, msg string) bool {
	if len(msg) > 11 && msg[:11] == "RequestId: " {
		return n.lambdaRequestError(rec, msg)
	}
	var kind *platformKind
	for i := range platformKinds {
		k := &platformKinds[i]
		if len(msg) > len(k.keyword) && msg[:len(k.keyword)] == k.keyword &&
			(msg[len(k.keyword)] == ' ' || msg[len(k.keyword)] == '\t') {
			kind = k
			break
		}
	}
	if kind == nil {
		return false
	}
	w := &n.w
	w.fixedStr("type", kind.typ)
	rec.Level = LevelInfo
	rest := msg[len(kind.keyword)+1:]
	pairs := 0
	for {
		rest = skipSpace(rest)
		if rest == "" {
			break
		}
		label, value, unit, next, ok := platformPair(rest)
		if !ok {
			break // lenient about an unexpected tail once the head matched
		}
		if pairs == 0 && label != kind.first {
			return false
		}
		pairs++
		rest = next
		n.platformField(rec, label, value, unit)
	}
	return pairs > 0
}

// platformField writes one "Label: value" of a platform line.
func (n *Normalizer) platformField(rec *record.Record, label, value, unit string) {
	w := &n.w
	key := ""
	for i := range platformLabels {
		if platformLabels[i].label == label {
			key = platformLabels[i].key
			break
		}
	}
	n.scratch = n.scratch[:0]
	if key == "" {
		n.scratch = appendSnake(n.scratch, label)
	} else {
		n.scratch = append(n.scratch, key...)
	}
	switch {
	case unit != "":
		n.scratch = append(n.scratch, '_')
		n.scratch = appendLower(n.scratch, unit)
		w.numField(b2s(n.scratch), value)
		return
	case value == "true" || value == "false":
		w.boolField(b2s(n.scratch), value == "true")
		return
	}
	w.strField(b2s(n.scratch), value)
	switch label {
	case "RequestId":
		n.setTrace(rec, roleRequest, value)
	case "Status":
		if failedStatus(value) {
			rec.Level = LevelError
		}
	case "Error Type":
		rec.Level = LevelError
	}
}

// failedStatus reports whether a platform status means the phase failed.
func failedStatus(s string) bool {
	switch s {
	case "error", "timeout", "failure", "Error", "Timeout", "Failure":
		return true
	}
	return false
}

// platformPair reads `Label: value` from the start of s. A value that is a
// number followed by " ms" or " MB" ends there (so lines whose tabs were
// turned into spaces still parse), a request id ends at whitespace, and any
// other value ends at a tab or a line break.
func platformPair(s string) (label, value, unit, rest string, ok bool) {
	i := 0
	for ; i < len(s) && i < 40; i++ {
		c := s[i]
		if c == ':' {
			break
		}
		if !isLetter(c) && c != ' ' {
			return
		}
	}
	if i == 0 || i+1 >= len(s) || s[i] != ':' || s[i+1] != ' ' || s[0] == ' ' || s[i-1] == ' ' {
		return
	}
	label = s[:i]
	s = s[i+2:]
	if j := numberEnd(s); j > 0 && j+3 <= len(s) && s[j] == ' ' &&
		(s[j+1:j+3] == "ms" || s[j+1:j+3] == "MB") && (j+3 == len(s) || s[j+3] == '\t' || s[j+3] == ' ' || s[j+3] == '\n' || s[j+3] == '\r') {
		return label, s[:j], s[j+1 : j+3], s[j+3:], true
	}
	end := 0
	for end < len(s) && s[end] != '\t' && s[end] != '\n' && s[end] != '\r' &&
		(label != "RequestId" || s[end] != ' ') {
		end++
	}
	value = s[:end]
	for len(value) > 0 && value[len(value)-1] == ' ' {
		value = value[:len(value)-1]
	}
	return label, value, "", s[end:], true
}

// numberEnd returns the length of the decimal number at the start of s.
func numberEnd(s string) int {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	if i > 0 && i+1 < len(s) && s[i] == '.' && isDigit(s[i+1]) {
		i++
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	return i
}

// lambdaRequestError: "RequestId: <id> Error: Runtime exited with error:
// exit status 1" and "RequestId: <id> Process exited before completing
// request", which Lambda writes when the runtime fails.
func (n *Normalizer) lambdaRequestError(rec *record.Record, msg string) bool {
	s := msg[len("RequestId: "):]
	end := 0
	for end < len(s) && s[end] != ' ' && s[end] != '\t' && s[end] != '\n' {
		end++
	}
	id := s[:end]
	if !looksLikeRequestID(id) {
		return false
	}
	text := trimSpace(s[end:])
	if len(text) > 7 && text[:7] == "Error: " {
		text = text[7:]
	}
	w := &n.w
	w.fixedStr("type", "error")
	w.fixedStr("request_id", id)
	if text != "" {
		w.fixedStr("error_message", text)
	}
	rec.Level = LevelError
	n.setTrace(rec, roleRequest, id)
	return true
}

// looksLikeRequestID accepts Lambda request ids (UUIDs; examples in AWS's
// documentation use letters such as "xmpl" in them) and little else.
func looksLikeRequestID(s string) bool {
	if len(s) < 8 || len(s) > 64 {
		return false
	}
	dashes := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '-':
			dashes++
		case isDigit(c) || isLetter(c):
		default:
			return false
		}
	}
	return dashes >= 1
}

// parseLambdaPlatformJSON: {"time":..,"type":"platform.<event>","record":{..}}.
// The record is flattened into the field names of the text lines (type,
// request_id, duration_ms, billed_duration_ms, memory_size_mb,
// max_memory_used_mb, init_duration_ms, status, xray_trace_id, ...), so a
// query works the same whichever log format a function uses. Metrics stay
// numbers.
func parseLambdaPlatformJSON(n *Normalizer, rec *record.Record, msg string) bool {
	o := n.messageObject(msg)
	if o == nil {
		return false
	}
	if !n.shape.platformPresent {
		return false
	}
	typ := n.shape.platformType
	w := &n.w
	n.scratch = appendSnake(n.scratch[:0], typ[len("platform."):])
	w.strField("type", b2s(n.scratch))
	rec.Level = LevelInfo
	if typ == "platform.logsDropped" {
		rec.Level = LevelWarn
	}
	r := getObject(o, "record")
	if r == nil {
		return true
	}
	r.Visit(func(k []byte, v *fastjson.Value) {
		ks := b2s(k)
		switch ks {
		case "metrics":
			if m := objectOf(v); m != nil {
				m.Visit(func(mk []byte, mv *fastjson.Value) {
					n.scratch = appendSnake(n.scratch[:0], b2s(mk))
					if w.key(b2s(n.scratch), 0) {
						w.value(mv, 1)
					}
				})
				return
			}
		case "tracing":
			if t := objectOf(v); t != nil {
				if h := jsonString(t, "value"); h != "" {
					w.strField("xray_trace_id", xrayRoot(h))
				}
				if s := jsonString(t, "spanId"); s != "" {
					w.strField("xray_segment_id", s)
				}
				return
			}
		case "requestId":
			if v.Type() == fastjson.TypeString {
				id := b2s(v.GetStringBytes())
				w.strField("request_id", id)
				if n.traceRank > roleRequest.traceRank() {
					if id = cleanID(id); id != "" {
						rec.TraceID = n.stable(id)
						n.traceRank = roleRequest.traceRank()
					}
				}
				return
			}
		case "status":
			if v.Type() == fastjson.TypeString && failedStatus(b2s(v.GetStringBytes())) {
				rec.Level = LevelError
			}
		case "errorType":
			rec.Level = LevelError
		}
		n.scratch = appendSnake(n.scratch[:0], ks)
		if w.key(b2s(n.scratch), 0) {
			w.value(v, 1)
		}
	})
	return true
}

func objectOf(v *fastjson.Value) *fastjson.Object {
	if v.Type() != fastjson.TypeObject {
		return nil
	}
	o, _ := v.Object()
	return o
}

// appendSnake appends s in snake_case: "memorySizeMB" -> "memory_size_mb",
// "Max Memory Used" -> "max_memory_used", "initStart" -> "init_start".
func appendSnake(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z':
			if i > 0 && len(dst) > 0 && dst[len(dst)-1] != '_' {
				p := s[i-1]
				nextLower := i+1 < len(s) && s[i+1] >= 'a' && s[i+1] <= 'z'
				if p >= 'a' && p <= 'z' || isDigit(p) || (p >= 'A' && p <= 'Z' && nextLower) {
					dst = append(dst, '_')
				}
			}
			dst = append(dst, c+'a'-'A')
		case c == ' ' || c == '-' || c == '.':
			if len(dst) > 0 && dst[len(dst)-1] != '_' {
				dst = append(dst, '_')
			}
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

func appendLower(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// runtimeLine is a line the Node.js or Python runtime prefixed.
type runtimeLine struct {
	level, requestID, body string
}

// splitRuntimeLine recognizes the runtimes' text prefixes:
// Node.js "2026-11-22T04:24:48.123Z\t<request id>\tINFO\t<body>" and
// Python "[INFO]\t2026-11-22T04:24:48.123Z\t<request id>\t<body>".
func splitRuntimeLine(msg string) (runtimeLine, bool) {
	var l runtimeLine
	if len(msg) < 30 {
		return l, false
	}
	if msg[0] == '[' {
		end := 1
		for end < len(msg) && end < 12 && msg[end] != ']' {
			end++
		}
		if end >= len(msg)-1 || msg[end] != ']' || msg[end+1] != '\t' {
			return l, false
		}
		l.level = levelWord(msg[1:end])
		s := msg[end+2:]
		ts, s, ok := cutTab(s, 40)
		if !ok || !isISOTime(ts) {
			return l, false
		}
		l.requestID, l.body, ok = cutTab(s, 64)
		if !ok || l.level == "" {
			return l, false
		}
		return l, true
	}
	ts, s, ok := cutTab(msg, 40)
	if !ok || !isISOTime(ts) {
		return l, false
	}
	if l.requestID, s, ok = cutTab(s, 64); !ok {
		return l, false
	}
	lv, body, ok := cutTab(s, 8)
	if !ok {
		return l, false
	}
	if l.level = levelWord(lv); l.level == "" {
		return l, false
	}
	l.body = body
	return l, true
}

// cutTab splits s at its first tab, which must come within max bytes; the
// part before it may not hold spaces or line breaks.
func cutTab(s string, max int) (before, after string, ok bool) {
	for i := 0; i < len(s) && i <= max; i++ {
		switch s[i] {
		case '\t':
			return s[:i], s[i+1:], true
		case ' ', '\n', '\r':
			return "", "", false
		}
	}
	return "", "", false
}

// isISOTime accepts an RFC 3339 UTC time such as 2026-11-22T04:24:48.123Z.
func isISOTime(s string) bool {
	return len(s) >= 20 && len(s) <= 35 && isDigit(s[0]) && s[4] == '-' && s[7] == '-' &&
		s[10] == 'T' && s[13] == ':' && s[16] == ':' && s[len(s)-1] == 'Z'
}

// parseLambdaRuntimeJSON: a runtime-prefixed line whose body is a JSON
// object, possibly after a short text such as Node's "Invoke Error \t{..}".
// Fields are the object's members. The level is the object's own when it has
// one (console.log writes every line as INFO, whatever the application
// meant), else the prefix's; the trace id is the object's when it has one,
// else the request id.
func parseLambdaRuntimeJSON(n *Normalizer, rec *record.Record, msg string) bool {
	l, ok := splitRuntimeLine(msg)
	if !ok {
		return false
	}
	body := trimSpace(l.body)
	if len(body) == 0 || body[0] != '{' {
		i := prefixedObjectStart(body)
		if i <= 0 {
			return false
		}
		body = body[i:]
	}
	if !n.streamFields(rec, body, false) {
		o := n.parseObject(body)
		if o == nil {
			return false
		}
		n.jsonFields(rec, o)
	}
	if rec.Level == "" {
		rec.Level = l.level
	}
	n.setTrace(rec, roleRequest, l.requestID)
	return true
}

// parseLambdaRuntimeText: a runtime-prefixed line with a text body. The
// trace id is the body's when it names one, else the request id. A logfmt
// body gives the fields, and its own level when it has one (as a JSON body
// does); otherwise the level is the prefix's.
func parseLambdaRuntimeText(n *Normalizer, rec *record.Record, msg string) bool {
	l, ok := splitRuntimeLine(msg)
	if !ok {
		return false
	}
	if n.logfmtFields(rec, l.body) {
		if rec.Level == "" {
			rec.Level = l.level
		}
	} else {
		n.w.reset(n.w.buf, n.lim)
		rec.Level, rec.TraceID, n.traceRank = l.level, "", noTrace
		n.textTrace(rec, l.body)
	}
	n.setTrace(rec, roleRequest, l.requestID)
	return true
}

// parseLambdaTimeout: "2026-11-22T04:24:51.123Z <request id> Task timed out
// after 3.00 seconds". Level ERROR.
func parseLambdaTimeout(n *Normalizer, rec *record.Record, msg string) bool {
	sp := indexByteWithin(msg, ' ', 36)
	if sp < 0 || !isISOTime(msg[:sp]) {
		return false
	}
	s := msg[sp+1:]
	sp = indexByteWithin(s, ' ', 65)
	if sp < 0 || !looksLikeRequestID(s[:sp]) {
		return false
	}
	id := s[:sp]
	s = s[sp+1:]
	const lead = "Task timed out after "
	if len(s) <= len(lead) || s[:len(lead)] != lead {
		return false
	}
	s = s[len(lead):]
	j := numberEnd(s)
	if j == 0 {
		return false
	}
	w := &n.w
	w.fixedStr("type", "timeout")
	w.fixedStr("request_id", id)
	w.fixedNum("timeout_seconds", s[:j])
	rec.Level = LevelError
	n.setTrace(rec, roleRequest, id)
	return true
}

func indexByteWithin(s string, c byte, max int) int {
	for i := 0; i < len(s) && i <= max; i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

func skipSpace(s string) string {
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	return s
}
