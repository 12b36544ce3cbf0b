package rules

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"sort"
	"strings"

	"github.com/valyala/fastjson"
)

// Pattern is a compiled event pattern in the style of EventBridge's:
//
//	{"detail-type": ["AWS API Call via CloudTrail"],
//	 "detail": {"eventName": ["CreateVpc", "DeleteVpc"],
//	            "userIdentity": {"type": ["Root"], "invokedBy": [{"exists": false}]},
//	            "errorCode": [{"prefix": "AccessDenied"}, {"suffix": "UnauthorizedOperation"}]}}
//
// Every key must match (AND); the values in a key's list are alternatives
// (OR). A key may be a dotted path ("detail.userIdentity.type"). An array in
// the event matches when one of its elements does. Matchers: exact strings,
// numbers, booleans and null; {"prefix"}, {"suffix"}, {"equals-ignore-case"},
// {"wildcard"} (only * is special), {"exists": true|false}, {"numeric":
// [">=", 4, "<", 7]}, {"cidr": "10.0.0.0/8"}, {"anything-but": value, list,
// {"prefix"} or {"suffix"}}. "$or": [pattern, ...] needs one of its patterns
// to match.
type Pattern struct {
	fields []field
	ors    [][]*Pattern
}

type field struct {
	key      string
	sub      *Pattern  // nested object pattern, or
	matchers []matcher // leaf alternatives
}

type matchKind int

const (
	mExact matchKind = iota
	mPrefix
	mSuffix
	mIgnoreCase
	mWildcard
	mExists
	mNumeric
	mCIDR
	mAnythingBut
)

type matcher struct {
	kind   matchKind
	str    string // exact string, prefix, suffix, ignore-case (lowered), wildcard
	num    float64
	typ    fastjson.Type // for exact: the JSON type to compare
	exists bool
	ranges []numRange
	prefix netip.Prefix
	not    []matcher // anything-but alternatives
}

type numRange struct {
	op string
	v  float64
}

// PatternError names the place in a pattern that is wrong.
type PatternError struct {
	Path   string
	Reason string
}

func (e *PatternError) Error() string {
	if e.Path == "" {
		return e.Reason
	}
	return fmt.Sprintf("%s: %s", e.Path, e.Reason)
}

// CompilePattern compiles a JSON pattern.
func CompilePattern(raw []byte) (*Pattern, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, &PatternError{Reason: "not valid JSON: " + err.Error()}
	}
	return compileValue(v, "")
}

func compileValue(v any, path string) (*Pattern, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, &PatternError{Path: path, Reason: fmt.Sprintf("want an object of field names, got %s", typeName(v))}
	}
	if len(obj) == 0 {
		return nil, &PatternError{Path: path, Reason: "empty pattern object matches nothing useful"}
	}
	p := &Pattern{}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys) // stable errors
	for _, k := range keys {
		val := obj[k]
		kp := join(path, k)
		if k == "$or" {
			arr, ok := val.([]any)
			if !ok || len(arr) < 2 {
				return nil, &PatternError{Path: kp, Reason: "want a list of at least two patterns"}
			}
			var alts []*Pattern
			for i, a := range arr {
				sub, err := compileValue(a, fmt.Sprintf("%s[%d]", kp, i))
				if err != nil {
					return nil, err
				}
				alts = append(alts, sub)
			}
			p.ors = append(p.ors, alts)
			continue
		}
		if k == "" || strings.HasPrefix(k, ".") || strings.HasSuffix(k, ".") || strings.Contains(k, "..") {
			return nil, &PatternError{Path: kp, Reason: "empty field name"}
		}
		f, err := compileField(strings.Split(k, "."), val, kp)
		if err != nil {
			return nil, err
		}
		p.fields = append(p.fields, f)
	}
	return p, nil
}

// compileField builds the field for a (possibly dotted) key: a.b.c becomes
// a -> {b -> {c -> val}}.
func compileField(keys []string, val any, path string) (field, error) {
	if len(keys) > 1 {
		inner, err := compileField(keys[1:], val, path)
		if err != nil {
			return field{}, err
		}
		return field{key: keys[0], sub: &Pattern{fields: []field{inner}}}, nil
	}
	switch x := val.(type) {
	case map[string]any:
		sub, err := compileValue(x, path)
		if err != nil {
			return field{}, err
		}
		return field{key: keys[0], sub: sub}, nil
	case []any:
		if len(x) == 0 {
			return field{}, &PatternError{Path: path, Reason: "empty list matches nothing"}
		}
		f := field{key: keys[0]}
		for i, item := range x {
			m, err := compileMatcher(item, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return field{}, err
			}
			f.matchers = append(f.matchers, m)
		}
		return f, nil
	default:
		return field{}, &PatternError{Path: path, Reason: fmt.Sprintf("want a list of values or a nested object, got %s (write [%s])", typeName(val), jsonText(val))}
	}
}

func compileMatcher(item any, path string) (matcher, error) {
	switch x := item.(type) {
	case string:
		return matcher{kind: mExact, typ: fastjson.TypeString, str: x}, nil
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return matcher{}, &PatternError{Path: path, Reason: "bad number " + x.String()}
		}
		return matcher{kind: mExact, typ: fastjson.TypeNumber, num: f}, nil
	case bool:
		t := fastjson.TypeFalse
		if x {
			t = fastjson.TypeTrue
		}
		return matcher{kind: mExact, typ: t}, nil
	case nil:
		return matcher{kind: mExact, typ: fastjson.TypeNull}, nil
	case map[string]any:
		if len(x) != 1 {
			return matcher{}, &PatternError{Path: path, Reason: "a matcher object has exactly one key (prefix, suffix, equals-ignore-case, wildcard, exists, numeric, cidr, anything-but)"}
		}
		for k, v := range x {
			return compileOp(k, v, path+"."+k)
		}
	}
	return matcher{}, &PatternError{Path: path, Reason: fmt.Sprintf("unsupported value %s", typeName(item))}
}

func compileOp(op string, v any, path string) (matcher, error) {
	str := func() (string, error) {
		s, ok := v.(string)
		if !ok {
			return "", &PatternError{Path: path, Reason: fmt.Sprintf("want a string, got %s", typeName(v))}
		}
		return s, nil
	}
	switch op {
	case "prefix", "suffix", "equals-ignore-case", "wildcard":
		s, err := str()
		if err != nil {
			return matcher{}, err
		}
		switch op {
		case "prefix":
			return matcher{kind: mPrefix, str: s}, nil
		case "suffix":
			return matcher{kind: mSuffix, str: s}, nil
		case "equals-ignore-case":
			return matcher{kind: mIgnoreCase, str: strings.ToLower(s)}, nil
		default:
			return matcher{kind: mWildcard, str: s}, nil
		}
	case "exists":
		b, ok := v.(bool)
		if !ok {
			return matcher{}, &PatternError{Path: path, Reason: "want true or false"}
		}
		return matcher{kind: mExists, exists: b}, nil
	case "numeric":
		arr, ok := v.([]any)
		if !ok || len(arr) == 0 || len(arr)%2 != 0 || len(arr) > 4 {
			return matcher{}, &PatternError{Path: path, Reason: `want one or two comparisons such as [">=", 4, "<", 7]`}
		}
		m := matcher{kind: mNumeric}
		for i := 0; i < len(arr); i += 2 {
			opStr, ok := arr[i].(string)
			num, ok2 := arr[i+1].(json.Number)
			if !ok || !ok2 {
				return matcher{}, &PatternError{Path: path, Reason: `want operator, number pairs such as [">=", 4, "<", 7]`}
			}
			switch opStr {
			case "=", "<", "<=", ">", ">=":
			default:
				return matcher{}, &PatternError{Path: path, Reason: fmt.Sprintf("operator %q is not one of =, <, <=, >, >=", opStr)}
			}
			f, err := num.Float64()
			if err != nil || math.IsInf(f, 0) {
				return matcher{}, &PatternError{Path: path, Reason: "bad number " + num.String()}
			}
			m.ranges = append(m.ranges, numRange{opStr, f})
		}
		return m, nil
	case "cidr":
		s, err := str()
		if err != nil {
			return matcher{}, err
		}
		pfx, perr := netip.ParsePrefix(s)
		if perr != nil {
			return matcher{}, &PatternError{Path: path, Reason: "not a CIDR block: " + perr.Error()}
		}
		return matcher{kind: mCIDR, prefix: pfx.Masked()}, nil
	case "anything-but":
		m := matcher{kind: mAnythingBut}
		var items []any
		switch x := v.(type) {
		case []any:
			items = x
		default:
			items = []any{x}
		}
		if len(items) == 0 {
			return matcher{}, &PatternError{Path: path, Reason: "empty list"}
		}
		for i, it := range items {
			inner, err := compileMatcher(it, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return matcher{}, err
			}
			switch inner.kind {
			case mExact, mPrefix, mSuffix, mIgnoreCase, mWildcard:
			default:
				return matcher{}, &PatternError{Path: path, Reason: "anything-but takes values, prefix, suffix, equals-ignore-case or wildcard"}
			}
			m.not = append(m.not, inner)
		}
		return m, nil
	}
	return matcher{}, &PatternError{Path: path, Reason: fmt.Sprintf("unknown matcher %q", op)}
}

// Match reports whether the event v matches the pattern.
func (p *Pattern) Match(v *fastjson.Value) bool {
	if p == nil {
		return true
	}
	for i := range p.fields {
		if !p.fields[i].match(v) {
			return false
		}
	}
	for _, alts := range p.ors {
		ok := false
		for _, a := range alts {
			if a.Match(v) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func (f *field) match(v *fastjson.Value) bool {
	var buf [8]*fastjson.Value
	vals := children(v, f.key, buf[:0])
	if f.sub != nil {
		for _, c := range vals {
			if c.Type() == fastjson.TypeArray {
				arr, _ := c.Array()
				for _, e := range arr {
					if f.sub.Match(e) {
						return true
					}
				}
				continue
			}
			if f.sub.Match(c) {
				return true
			}
		}
		return false
	}
	// Leaves: arrays are matched element by element.
	var lbuf [8]*fastjson.Value
	leaves := lbuf[:0]
	for _, c := range vals {
		if c.Type() == fastjson.TypeArray {
			arr, _ := c.Array()
			leaves = append(leaves, arr...)
			continue
		}
		leaves = append(leaves, c)
	}
	for i := range f.matchers {
		m := &f.matchers[i]
		if m.kind == mExists {
			if m.exists == (len(vals) > 0) {
				return true
			}
			continue
		}
		for _, l := range leaves {
			if m.match(l) {
				return true
			}
		}
	}
	return false
}

// children returns v[key], or for an array v, key of each element.
func children(v *fastjson.Value, key string, dst []*fastjson.Value) []*fastjson.Value {
	if v == nil {
		return dst
	}
	switch v.Type() {
	case fastjson.TypeObject:
		if c := v.Get(key); c != nil {
			dst = append(dst, c)
		}
	case fastjson.TypeArray:
		arr, _ := v.Array()
		for _, e := range arr {
			if e.Type() == fastjson.TypeObject {
				if c := e.Get(key); c != nil {
					dst = append(dst, c)
				}
			}
		}
	}
	return dst
}

func (m *matcher) match(v *fastjson.Value) bool {
	switch m.kind {
	case mExact:
		if v.Type() != m.typ {
			return false
		}
		switch m.typ {
		case fastjson.TypeString:
			return string(v.GetStringBytes()) == m.str
		case fastjson.TypeNumber:
			return v.GetFloat64() == m.num
		}
		return true
	case mPrefix, mSuffix, mIgnoreCase, mWildcard, mCIDR:
		if v.Type() != fastjson.TypeString {
			return false
		}
		s := string(v.GetStringBytes())
		switch m.kind {
		case mPrefix:
			return strings.HasPrefix(s, m.str)
		case mSuffix:
			return strings.HasSuffix(s, m.str)
		case mIgnoreCase:
			return strings.ToLower(s) == m.str
		case mWildcard:
			return wildcard(m.str, s)
		default:
			addr, err := netip.ParseAddr(s)
			return err == nil && m.prefix.Contains(addr.Unmap())
		}
	case mNumeric:
		if v.Type() != fastjson.TypeNumber {
			return false
		}
		x := v.GetFloat64()
		for _, r := range m.ranges {
			ok := false
			switch r.op {
			case "=":
				ok = x == r.v
			case "<":
				ok = x < r.v
			case "<=":
				ok = x <= r.v
			case ">":
				ok = x > r.v
			case ">=":
				ok = x >= r.v
			}
			if !ok {
				return false
			}
		}
		return true
	case mAnythingBut:
		for i := range m.not {
			if m.not[i].match(v) {
				return false
			}
		}
		return true
	}
	return false
}

// wildcard matches s against pattern where * is any run of characters.
func wildcard(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return s == pattern
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(s, mid)
		if i < 0 {
			return false
		}
		s = s[i+len(mid):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
