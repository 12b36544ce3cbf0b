package rules

import (
	"fmt"
	"strings"

	"github.com/valyala/fastjson"
)

// Template is an alias or message template: text with {path} placeholders
// resolved against the event, e.g. "guardduty:{detail.id}" or
// "{rule}:{account}:{detail.userIdentity.arn}". A path is dotted field
// names, with list indexes as numbers ({detail.findings.0.Id}); {rule} is
// the rule's id. "{{" and "}}" are literal braces. A placeholder with no
// value becomes "-".
type Template struct {
	src   string
	parts []tmplPart
}

type tmplPart struct {
	lit  string
	path []string // nil for a literal
	rule bool
}

// Missing is what a placeholder without a value renders as.
const Missing = "-"

// ParseTemplate compiles a template.
func ParseTemplate(s string) (*Template, error) {
	t := &Template{src: s}
	var lit strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '{' && i+1 < len(s) && s[i+1] == '{':
			lit.WriteByte('{')
			i++
		case c == '}' && i+1 < len(s) && s[i+1] == '}':
			lit.WriteByte('}')
			i++
		case c == '}':
			return nil, fmt.Errorf("unmatched } at offset %d (write }} for a brace)", i)
		case c == '{':
			end := strings.IndexByte(s[i+1:], '}')
			if end < 0 {
				return nil, fmt.Errorf("unterminated { at offset %d", i)
			}
			name := strings.TrimSpace(s[i+1 : i+1+end])
			if name == "" || strings.ContainsAny(name, "{ ") || strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") || strings.Contains(name, "..") {
				return nil, fmt.Errorf("bad placeholder {%s} at offset %d: want a dotted path such as {detail.eventID}", s[i+1:i+1+end], i)
			}
			if lit.Len() > 0 {
				t.parts = append(t.parts, tmplPart{lit: lit.String()})
				lit.Reset()
			}
			if name == "rule" {
				t.parts = append(t.parts, tmplPart{rule: true})
			} else {
				t.parts = append(t.parts, tmplPart{path: strings.Split(name, ".")})
			}
			i += end + 1
		default:
			lit.WriteByte(c)
		}
	}
	if lit.Len() > 0 {
		t.parts = append(t.parts, tmplPart{lit: lit.String()})
	}
	return t, nil
}

// String returns the template's source.
func (t *Template) String() string { return t.src }

// Render resolves the template against event v for the rule ruleID.
func (t *Template) Render(v *fastjson.Value, ruleID string) string {
	var b strings.Builder
	for _, p := range t.parts {
		switch {
		case p.rule:
			b.WriteString(ruleID)
		case p.path != nil:
			b.WriteString(Lookup(v, p.path...))
		default:
			b.WriteString(p.lit)
		}
	}
	return b.String()
}

// Lookup returns the value at path as text: strings as they are, numbers and
// booleans as JSON, objects and lists as compact JSON, and Missing for none.
func Lookup(v *fastjson.Value, path ...string) string {
	if v == nil {
		return Missing
	}
	x := v.Get(path...)
	if x == nil {
		return Missing
	}
	switch x.Type() {
	case fastjson.TypeString:
		s := string(x.GetStringBytes())
		if s == "" {
			return Missing
		}
		return s
	case fastjson.TypeNull:
		return Missing
	default:
		return string(x.MarshalTo(nil))
	}
}
