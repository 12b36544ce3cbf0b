package normalize

import (
	"strings"

	"github.com/tributary-logs/tributary/shared/record"
)

// parseText accepts any message: level and trace id from the text, no
// fields.
func parseText(n *Normalizer, rec *record.Record, msg string) bool {
	rec.Level = textLevel(msg)
	n.textTrace(rec, msg)
	return true
}

// parseLogfmt: a line made only of key=value pairs, at least two of them.
func parseLogfmt(n *Normalizer, rec *record.Record, msg string) bool {
	// cheap rejection: the first token must be key=
	for i := 0; i < len(msg); i++ {
		c := msg[i]
		if c == '=' {
			if i == 0 {
				return false
			}
			break
		}
		if !isKeyChar(c) {
			return false
		}
	}
	return n.logfmtFields(rec, msg)
}

// logfmtFields writes the pairs of a logfmt line into the fields and takes
// level and trace id from the keys that carry them. It reports false
// (leaving partial fields the caller must discard) when s is not logfmt.
func (n *Normalizer) logfmtFields(rec *record.Record, s string) bool {
	s = trimSpace(s)
	pairs := 0
	for s != "" {
		i := 0
		for i < len(s) && isKeyChar(s[i]) {
			i++
		}
		if i == 0 || i == len(s) || s[i] != '=' {
			return false
		}
		key := s[:i]
		s = s[i+1:]
		var val string
		quoted := false
		if len(s) > 0 && s[0] == '"' {
			end := -1
			for j := 1; j < len(s); j++ {
				if s[j] == '\\' {
					j++
					continue
				}
				if s[j] == '"' {
					end = j
					break
				}
			}
			if end < 0 {
				return false
			}
			val, s, quoted = s[1:end], s[end+1:], true
		} else {
			j := 0
			for j < len(s) && s[j] != ' ' {
				if c := s[j]; c == '"' || c == '=' || c == '\n' || c == '\t' {
					return false
				}
				j++
			}
			val, s = s[:j], s[j:]
		}
		if len(s) > 0 && s[0] != ' ' {
			return false
		}
		for len(s) > 0 && s[0] == ' ' {
			s = s[1:]
		}
		pairs++
		n.logfmtPair(rec, key, val, quoted)
	}
	return pairs >= 2
}

func (n *Normalizer) logfmtPair(rec *record.Record, key, val string, quoted bool) {
	w := &n.w
	if quoted {
		val = n.unescapeLogfmt(val)
	}
	switch role := classifyKey(key); {
	case role == roleLevel:
		if rec.Level == "" {
			rec.Level = levelWord(val)
		}
	case role.isTrace():
		if role.traceRank() < n.traceRank {
			if id := traceValue(role, val); id != "" {
				rec.TraceID = n.stable(id)
				n.traceRank = role.traceRank()
			}
		}
	}
	if !w.key(key, 0) {
		return
	}
	switch {
	case quoted:
		w.str(val)
	case val == "true" || val == "false":
		w.boolean(val == "true")
	default:
		w.num(val) // a string when it is not a number
	}
}

// unescapeLogfmt undoes the escapes of a quoted logfmt value (Go quoting:
// \" \\ \n \t \r); other escapes are kept as written. The result lives in
// n.unq until the next call.
func (n *Normalizer) unescapeLogfmt(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	b := n.unq[:0]
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b = append(b, c)
			continue
		}
		i++
		switch e := s[i]; e {
		case '"', '\\':
			b = append(b, e)
		case 'n':
			b = append(b, '\n')
		case 't':
			b = append(b, '\t')
		case 'r':
			b = append(b, '\r')
		default:
			b = append(b, '\\', e)
		}
	}
	n.unq = b
	return b2s(b)
}

// isKeyChar: letters, digits and _ - . @ / make up logfmt and text keys.
func isKeyChar(c byte) bool {
	return isLetter(c) || isDigit(c) || c == '_' || c == '-' || c == '.' || c == '@' || c == '/'
}

// maxLevelScan bounds how far into the first line textLevel looks.
const maxLevelScan = 256

// textLevel finds a level in free text:
//   - a line starting like a crash: Go "panic:" (ERROR) and "fatal error:"
//     (FATAL), Python "Traceback (most recent call last):", Java "Exception
//     in thread" or a first token naming an exception class
//     (java.lang.IllegalStateException: ..., ValueError: ...), all ERROR;
//   - glog/klog's one-letter prefix: E1122 04:24:48.123456 ... (I, W, E, F);
//   - the first level word in the first 256 bytes of the first line: an
//     upper-case word (ERROR, WARNING, SEVERE, ...), or any letter case when
//     it is bracketed ([error], <warn>, Apache's [core:error]), follows a
//     level key (level=error, "level": "warn") or starts the line before a
//     colon (error: ..., Warning: ...);
//   - otherwise, a multi-line message with a Java or Python stack trace is
//     ERROR.
func textLevel(s string) string {
	line, rest := s, ""
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		line, rest = s[:i], s[i+1:]
	}
	if lv := crashLevel(line); lv != "" {
		return lv
	}
	if lv := lineLevel(line); lv != "" {
		return lv
	}
	if rest == "" {
		return ""
	}
	// java.util.logging's default format puts the level on the second line
	// ("SEVERE: Context [/app] startup failed").
	second := rest
	if i := strings.IndexByte(second, '\n'); i >= 0 {
		second = second[:i]
	}
	if lv := lineLevel(second); lv != "" {
		return lv
	}
	if strings.Contains(rest, "\tat ") || strings.Contains(rest, "Caused by: ") ||
		strings.Contains(rest, "Traceback (most recent call last):") {
		return LevelError
	}
	return ""
}

// lineLevel returns the level of the first level word in the first
// maxLevelScan bytes of line.
func lineLevel(line string) string {
	if len(line) > maxLevelScan {
		line = line[:maxLevelScan]
	}
	prev := ""
	for i := 0; i < len(line); {
		if !isLetter(line[i]) {
			i++
			continue
		}
		j := i + 1
		for j < len(line) && isLetter(line[j]) {
			j++
		}
		word := line[i:j]
		before, after := byte(' '), byte(' ')
		if i > 0 {
			before = line[i-1]
		}
		if j < len(line) {
			after = line[j]
		}
		if len(word) >= 3 && len(word) <= 11 && !isDigit(before) && before != '_' && !isDigit(after) && after != '_' {
			if lv := textLevelWord(word, prev, before, after, i == 0); lv != "" {
				return lv
			}
		}
		prev = word
		i = j
	}
	return ""
}

// textLevelWord decides whether one word of free text is its level.
func textLevelWord(word, prev string, before, after byte, first bool) string {
	upper := true
	for i := 0; i < len(word); i++ {
		if word[i] >= 'a' {
			upper = false
			break
		}
	}
	if upper {
		return levelWord(word)
	}
	bracketed := (before == '[' || before == '<' || before == '(' || before == ':') &&
		(after == ']' || after == '>' || after == ')')
	switch {
	case bracketed:
	case first && after == ':':
	case (before == '=' || before == ':' || before == '"' || before == ' ') && isLevelKey(prev):
	default:
		return ""
	}
	return levelWord(word)
}

func isLevelKey(w string) bool {
	if len(w) < 3 || len(w) > 9 {
		return false
	}
	// Every level key a word of letters can spell (level, lvl, loglevel,
	// levelname, levelstr, severity) starts with l or s: most words of
	// free text are turned away here, before classifyKey.
	if c := w[0] | 0x20; c != 'l' && c != 's' {
		return false
	}
	return classifyKey(w) == roleLevel
}

// crashLevel recognizes the first line of a crash report.
func crashLevel(line string) string {
	switch {
	case strings.HasPrefix(line, "panic: "):
		return LevelError
	case strings.HasPrefix(line, "fatal error: "):
		return LevelFatal
	case strings.HasPrefix(line, "Traceback (most recent call last):"),
		strings.HasPrefix(line, "Exception in thread "):
		return LevelError
	}
	if len(line) >= 6 && isDigit(line[1]) && isDigit(line[2]) && isDigit(line[3]) && isDigit(line[4]) && line[5] == ' ' {
		switch line[0] {
		case 'I':
			return LevelInfo
		case 'W':
			return LevelWarn
		case 'E':
			return LevelError
		case 'F':
			return LevelFatal
		}
	}
	// an exception class name first: java.lang.IllegalStateException: ...
	i := 0
	for i < len(line) && i < 160 && (isLetter(line[i]) || isDigit(line[i]) || line[i] == '.' || line[i] == '_' || line[i] == '$') {
		i++
	}
	if i > 0 && (i == len(line) || line[i] == ':') {
		name := line[:i]
		if strings.HasSuffix(name, "Exception") || strings.HasSuffix(name, "Error") && len(name) > 5 {
			return LevelError
		}
	}
	return ""
}

// maxTraceScan bounds how much of a text message textTrace looks at.
const maxTraceScan = 2048

// textTrace finds a trace id in the first line of free text (at most
// maxTraceScan bytes; the lines after it are stack frames and the like): the
// value after a key with a trace role and '=' or ':' (trace_id=...,
// "traceId": "...", RequestId: ..., X-Amzn-Trace-Id: Root=...), or a bare
// X-Ray Root=1-... value.
func (n *Normalizer) textTrace(rec *record.Record, s string) {
	if len(s) > maxTraceScan {
		s = s[:maxTraceScan]
	}
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	for _, sep := range [...]byte{'=', ':'} {
		for off := 0; ; {
			i := strings.IndexByte(s[off:], sep)
			if i < 0 {
				break
			}
			i += off
			off = i + 1
			n.textTraceAt(rec, s, i)
		}
	}
}

// textTraceAt looks at the key before the separator at s[i].
func (n *Normalizer) textTraceAt(rec *record.Record, s string, i int) {
	k := i
	if k > 0 && s[k-1] == '"' { // "key": value
		k--
	}
	if k == 0 {
		return
	}
	if last := s[k-1] | 0x20; last != 'd' && last != 't' {
		return // every trace key ends in ...id, ...parent or Root
	}
	j := k
	for j > 0 && isKeyChar(s[j-1]) {
		j--
	}
	key := s[j:k]
	if len(key) < 4 {
		return
	}
	role := classifyKey(key)
	v := s[i+1:]
	if role == roleNone && key == "Root" && s[i] == '=' {
		role = roleXRay
		v = s[j:] // the header from Root= on
	}
	if !role.isTrace() || role.traceRank() >= n.traceRank {
		return
	}
	for len(v) > 0 && v[0] == ' ' {
		v = v[1:]
	}
	if len(v) > 0 && (v[0] == '"' || v[0] == '\'') {
		v = v[1:]
	}
	end := 0
	for end < len(v) && !idStop(v[end], role) {
		end++
	}
	n.setTrace(rec, role, v[:end])
}

// idStop reports whether c ends an id in text. X-Ray headers run through
// their ';'-separated parts; xrayRoot picks Root out of them.
func idStop(c byte, role keyRole) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '"', '\'', ',', ')', ']', '}', '>', '&':
		return true
	case ';':
		return role != roleXRay
	}
	return false
}
