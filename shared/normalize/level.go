package normalize

// The six levels Record.Level takes (or it stays empty).
const (
	LevelTrace = "TRACE"
	LevelDebug = "DEBUG"
	LevelInfo  = "INFO"
	LevelWarn  = "WARN"
	LevelError = "ERROR"
	LevelFatal = "FATAL"
)

// levelWord maps a level as loggers spell it, in any letter case, to one of
// the six levels, or "" when s is not a level. It covers log4j/logback,
// java.util.logging (SEVERE, FINE...), Python logging (WARNING, CRITICAL),
// syslog (emerg, alert, crit, err, notice), Serilog and .NET (Verbose,
// Information, three-letter forms such as WRN), zap (dpanic), logrus, winston
// (silly) and slog's offsets such as "ERROR+2" or "INFO-4".
func levelWord(s string) string {
	for len(s) > 0 && s[0] == ' ' {
		s = s[1:]
	}
	for len(s) > 0 && s[len(s)-1] == ' ' {
		s = s[:len(s)-1]
	}
	// slog writes levels between the named ones as NAME+n / NAME-n.
	for i := 1; i < len(s); i++ {
		if s[i] == '+' || s[i] == '-' {
			s = s[:i]
			break
		}
	}
	if len(s) < 3 || len(s) > 13 {
		return ""
	}
	var b [13]byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	switch string(b[:len(s)]) {
	case "trace", "trc", "verbose", "vrb", "finest", "finer", "silly":
		return LevelTrace
	case "debug", "dbg", "dbug", "fine", "config":
		return LevelDebug
	case "info", "inf", "information", "informational", "notice":
		return LevelInfo
	case "warn", "warning", "wrn":
		return LevelWarn
	case "error", "err", "eror", "severe", "dpanic":
		return LevelError
	case "fatal", "ftl", "critical", "crit", "emerg", "emergency", "alert", "panic":
		return LevelFatal
	}
	return ""
}

// levelNumber maps the numeric levels of pino and bunyan (10 trace, 20 debug,
// 30 info, 40 warn, 50 error, 60 fatal; values between round down) to a
// level. Other numbers (syslog 0-7, OpenTelemetry 1-24) are ambiguous and
// give no level.
func levelNumber(f float64) string {
	switch {
	case !(f >= 10 && f < 100): // also rejects NaN
		return ""
	case f < 20:
		return LevelTrace
	case f < 30:
		return LevelDebug
	case f < 40:
		return LevelInfo
	case f < 50:
		return LevelWarn
	case f < 60:
		return LevelError
	}
	return LevelFatal
}

// keyRole says what a key (JSON or logfmt) tells about the record. The trace
// roles are ordered by precedence: a real trace id beats a transaction id,
// which beats a correlation id, which beats a request id, so a record that
// carries both a trace id and a request id gets the one that follows the
// request across services.
type keyRole uint8

const (
	roleNone keyRole = iota
	roleTrace
	roleTraceParent // W3C traceparent: 00-<trace id>-<span id>-<flags>
	roleXRay        // X-Amzn-Trace-Id header or bare X-Ray id: take Root=
	roleTransaction
	roleCorrelation
	roleRequest
	roleLevel
)

// isTrace reports whether r names a trace-like id.
func (r keyRole) isTrace() bool { return r >= roleTrace && r <= roleRequest }

// traceRank orders trace roles: lower wins. traceparent and X-Ray ids are
// trace ids as much as trace_id is.
func (r keyRole) traceRank() int {
	switch r {
	case roleTrace, roleTraceParent, roleXRay:
		return 1
	case roleTransaction:
		return 2
	case roleCorrelation:
		return 3
	case roleRequest:
		return 4
	}
	return 99
}

// maxCanonKey bounds the keys classifyKey looks at; longer keys have no role.
const maxCanonKey = 24

// canonKey lowers k and drops '_', '-', '.' and spaces into b, so trace_id,
// traceId, trace.id, Trace-Id and TRACE_ID all read "traceid".
func canonKey(b *[maxCanonKey]byte, n int, k string) (int, bool) {
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		case c == '_' || c == '-' || c == '.' || c == ' ':
			continue
		}
		if n == len(b) {
			return n, false
		}
		b[n] = c
		n++
	}
	return n, true
}

// roleLast marks the bytes a key with a role can end with (in any case):
// l(evel), (severit)y, (levelnam)e, (traceparen)t, (levelst)r, (...i)d.
var roleLast = func() (t [256]bool) {
	for _, c := range "lyetrd" {
		t[c], t[c-'a'+'A'] = true, true
	}
	return t
}()

// classifyKey tells the role of a top-level key.
func classifyKey(k string) keyRole {
	if len(k) == 0 || len(k) > maxCanonKey+8 || !roleLast[k[len(k)-1]] {
		return roleNone
	}
	var b [maxCanonKey]byte
	n, ok := canonKey(&b, 0, k)
	if !ok {
		return roleNone
	}
	return roleOf(b[:n])
}

// classifyNested tells the role of child inside the object under parent,
// as in {"trace":{"id":..}}, {"dd":{"trace_id":..}} or {"log":{"level":..}}.
func classifyNested(parent, child string) keyRole {
	var b [maxCanonKey]byte
	n, ok := canonKey(&b, 0, parent)
	if !ok {
		return roleNone
	}
	n, ok = canonKey(&b, n, child)
	if !ok {
		return roleNone
	}
	return roleOf(b[:n])
}

// nestedParent reports whether children of the object under k are worth
// classifying (only a few parents hold levels and ids in practice; checking
// every nested object would cost time on every JSON message).
func nestedParent(k string) bool {
	if len(k) > 12 {
		return false
	}
	var b [maxCanonKey]byte
	n, _ := canonKey(&b, 0, k)
	switch string(b[:n]) {
	case "trace", "dd", "log", "transaction", "req", "request", "correlation", "xray", "span":
		return true
	}
	return false
}

func roleOf(c []byte) keyRole {
	switch string(c) {
	case "level", "severity", "loglevel", "lvl", "levelname", "@l", "@level",
		"severitytext", "levelstr":
		return roleLevel
	case "traceid", "ddtraceid", "oteltraceid", "@tr":
		return roleTrace
	case "traceparent":
		return roleTraceParent
	case "xamzntraceid", "xraytraceid", "xraytraceheader", "awsxraytraceid":
		return roleXRay
	case "transactionid":
		return roleTransaction
	case "correlationid", "xcorrelationid":
		return roleCorrelation
	case "requestid", "xrequestid", "awsrequestid", "functionrequestid", "reqid":
		return roleRequest
	}
	return roleNone
}

// traceValue extracts the id from the value of a key with a trace role, or
// "" when it does not look like an id.
func traceValue(role keyRole, v string) string {
	switch role {
	case roleXRay:
		v = xrayRoot(v)
	case roleTraceParent:
		v = traceParentID(v)
	}
	return cleanID(v)
}

// cleanID trims spaces and rejects values that cannot be ids: empty, longer
// than 128 bytes, or with anything but printable ASCII inside.
func cleanID(v string) string {
	for len(v) > 0 && (v[0] == ' ' || v[0] == '\t') {
		v = v[1:]
	}
	for len(v) > 0 && (v[len(v)-1] == ' ' || v[len(v)-1] == '\t') {
		v = v[:len(v)-1]
	}
	if len(v) == 0 || len(v) > 128 {
		return ""
	}
	for i := 0; i < len(v); i++ {
		if v[i] <= ' ' || v[i] == '"' || v[i] >= 0x7f {
			return ""
		}
	}
	switch v {
	case "-", "null", "undefined", "None", "nil":
		return ""
	}
	return v
}

// xrayRoot returns the Root= value of an X-Ray trace header
// (Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1),
// or the header itself when it is a bare id.
func xrayRoot(h string) string {
	for i := 0; i+5 <= len(h); i++ {
		if h[i] == 'R' && h[i+1:i+5] == "oot=" && (i == 0 || h[i-1] == ';' || h[i-1] == ' ' || h[i-1] == '"') {
			v := h[i+5:]
			for j := 0; j < len(v); j++ {
				if c := v[j]; c == ';' || c == ' ' || c == '"' || c == ',' || c == '\t' || c == '\n' {
					return v[:j]
				}
			}
			return v
		}
	}
	return h
}

// traceParentID returns the trace id of a W3C traceparent header
// (00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01), or "".
func traceParentID(h string) string {
	if len(h) < 55 || h[2] != '-' || h[35] != '-' {
		return ""
	}
	id := h[3:35]
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return ""
		}
	}
	return id
}

// levelFromStatus maps an HTTP status code to a level: 5xx ERROR, 4xx WARN,
// anything else INFO.
func levelFromStatus(code string) string {
	if len(code) == 3 {
		switch code[0] {
		case '5':
			return LevelError
		case '4':
			return LevelWarn
		}
	}
	return LevelInfo
}
