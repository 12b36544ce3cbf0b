package bulk

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tributary-logs/tributary/shared/record"
)

// Pattern names the index a record goes to from the record itself: its own
// timestamp (never the arrival time, so a retry lands in the same index)
// and optionally its owner and log group.
//
// A pattern is literal text with tokens in braces:
//
//	{yyyy.MM.dd}  date of @timestamp in UTC; the letters yyyy, MM, dd, HH
//	              may be combined with . - _ separators ({yyyy-MM}, {yyyy.MM.dd.HH})
//	{log_group}   the log group, sanitized (/aws/lambda/Api → aws-lambda-api)
//	{owner}       the AWS account id
//
// The result is always a valid OpenSearch index name: lower case, none of
// \ / * ? " < > | space , # :, not starting with - _ + or ., at most 255 bytes.
type Pattern struct {
	text  string
	parts []part
	hour  bool // a date token uses HH
	group bool // uses {log_group}
	owner bool // uses {owner}

	// cache of the last name built: records of one payload share it.
	lastHour  int64
	lastGroup string
	lastOwner string
	last      []byte
}

type partKind uint8

const (
	partLiteral partKind = iota
	partDate
	partGroup
	partOwner
)

type part struct {
	kind partKind
	text string // literal text, or the date layout in Go's notation
}

// MaxIndexNameBytes is OpenSearch's limit on an index name.
const MaxIndexNameBytes = 255

// ErrPattern is wrapped by every pattern error.
var ErrPattern = errors.New("invalid index pattern")

// ParsePattern compiles an index pattern such as cwl-{yyyy.MM.dd}.
func ParsePattern(s string) (*Pattern, error) {
	p := &Pattern{text: s, lastHour: -1 << 62}
	rest := s
	hasDate := false
	for rest != "" {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			p.parts = append(p.parts, part{kind: partLiteral, text: rest})
			break
		}
		if open > 0 {
			p.parts = append(p.parts, part{kind: partLiteral, text: rest[:open]})
		}
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			return nil, fmt.Errorf("%w %q: unclosed {", ErrPattern, s)
		}
		tok := rest[open+1 : open+end]
		rest = rest[open+end+1:]
		switch tok {
		case "log_group":
			p.parts = append(p.parts, part{kind: partGroup})
			p.group = true
		case "owner":
			p.parts = append(p.parts, part{kind: partOwner})
			p.owner = true
		default:
			layout, hour, err := dateLayout(tok)
			if err != nil {
				return nil, fmt.Errorf("%w %q: %v", ErrPattern, s, err)
			}
			p.parts = append(p.parts, part{kind: partDate, text: layout})
			p.hour = p.hour || hour
			hasDate = true
		}
	}
	for _, pt := range p.parts {
		if pt.kind == partLiteral && strings.ContainsAny(pt.text, "{}") {
			return nil, fmt.Errorf("%w %q: stray brace", ErrPattern, s)
		}
	}
	if len(p.parts) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrPattern)
	}
	if !hasDate {
		// Allowed (one index for everything, with ISM rollover elsewhere),
		// but the literal text must itself be a valid name.
		var r record.Record
		if name := string(p.AppendIndex(nil, &r)); name == "" {
			return nil, fmt.Errorf("%w %q: yields an empty index name", ErrPattern, s)
		}
	}
	return p, nil
}

// String returns the pattern as written.
func (p *Pattern) String() string { return p.text }

// TemplatePattern is the index_patterns entry that matches every index this
// pattern can produce: the literal prefix followed by *.
func (p *Pattern) TemplatePattern() string {
	var b strings.Builder
	for _, pt := range p.parts {
		if pt.kind != partLiteral {
			b.WriteByte('*')
			break
		}
		b.WriteString(pt.text)
	}
	s := sanitize(nil, b.String(), true)
	if len(s) == 0 || s[len(s)-1] != '*' {
		s = append(s, '*')
	}
	return string(s)
}

// dateLayout converts yyyy/MM/dd/HH with . - _ separators to a Go layout.
func dateLayout(tok string) (string, bool, error) {
	var b strings.Builder
	hour := false
	for i := 0; i < len(tok); {
		switch {
		case strings.HasPrefix(tok[i:], "yyyy"):
			b.WriteString("2006")
			i += 4
		case strings.HasPrefix(tok[i:], "MM"):
			b.WriteString("01")
			i += 2
		case strings.HasPrefix(tok[i:], "dd"):
			b.WriteString("02")
			i += 2
		case strings.HasPrefix(tok[i:], "HH"):
			b.WriteString("15")
			hour = true
			i += 2
		case tok[i] == '.' || tok[i] == '-' || tok[i] == '_':
			b.WriteByte(tok[i])
			i++
		default:
			return "", false, fmt.Errorf("unknown token {%s}; want {log_group}, {owner} or a date such as {yyyy.MM.dd}", tok)
		}
	}
	if b.Len() == 0 {
		return "", false, errors.New("empty {}")
	}
	return b.String(), hour, nil
}

// AppendIndex appends the index name for r. Consecutive calls for records of
// the same hour, owner and log group reuse the last name. A Pattern is not
// safe for concurrent use.
func (p *Pattern) AppendIndex(dst []byte, r *record.Record) []byte {
	h := floorDiv(r.TimestampMillis, int64(time.Hour/time.Millisecond))
	if p.last != nil && h == p.lastHour && (!p.group || r.LogGroup == p.lastGroup) && (!p.owner || r.Owner == p.lastOwner) {
		return append(dst, p.last...)
	}
	name := p.build(p.last[:0], r)
	p.last, p.lastHour = name, h
	if p.group {
		p.lastGroup = strings.Clone(r.LogGroup)
	}
	if p.owner {
		p.lastOwner = strings.Clone(r.Owner)
	}
	return append(dst, name...)
}

// Index returns the index name for r.
func (p *Pattern) Index(r *record.Record) string { return string(p.AppendIndex(nil, r)) }

func (p *Pattern) build(dst []byte, r *record.Record) []byte {
	start := len(dst)
	t := time.UnixMilli(r.TimestampMillis).UTC()
	for _, pt := range p.parts {
		switch pt.kind {
		case partLiteral:
			dst = sanitize(dst, pt.text, false)
		case partDate:
			dst = t.AppendFormat(dst, pt.text)
		case partGroup:
			dst = appendToken(dst, r.LogGroup)
		case partOwner:
			dst = appendToken(dst, r.Owner)
		}
	}
	return finishName(dst, start)
}

// appendToken appends a record value as a name fragment: lower case, runs of
// characters not allowed in index names become one '-', no '-' at the ends.
func appendToken(dst []byte, s string) []byte {
	start := len(dst)
	dash := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' {
			if dash && len(dst) > start {
				dst = append(dst, '-')
			}
			dash = false
			dst = append(dst, c)
			continue
		}
		dash = true
	}
	if len(dst) == start {
		dst = append(dst, "unknown"...)
	}
	return dst
}

// sanitize appends literal pattern text with invalid characters replaced.
func sanitize(dst []byte, s string, keepStar bool) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		case c == '*' && keepStar:
		case c == '\\' || c == '/' || c == '*' || c == '?' || c == '"' || c == '<' || c == '>' ||
			c == '|' || c == ' ' || c == ',' || c == '#' || c == ':' || c < 0x20 || c >= 0x80:
			c = '-'
		}
		dst = append(dst, c)
	}
	return dst
}

// finishName enforces the rules on the whole name built at dst[start:].
func finishName(dst []byte, start int) []byte {
	name := dst[start:]
	trim := 0
	for trim < len(name) && (name[trim] == '-' || name[trim] == '_' || name[trim] == '+' || name[trim] == '.') {
		trim++
	}
	if trim > 0 {
		n := copy(name, name[trim:])
		dst = dst[:start+n]
		name = dst[start:]
	}
	if len(name) > MaxIndexNameBytes {
		dst = dst[:start+MaxIndexNameBytes]
	}
	if len(dst) == start {
		dst = append(dst, "logs"...)
	}
	return dst
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
