// Package rules decides which events page whom: a rule set, as data, of
// event patterns (EventBridge-style, see Pattern) with a priority, tags, an
// alias template for deduplication, suppressions and an on/off switch.
//
// The built-in set (builtin.yaml) covers every monitoring control of the CIS
// AWS Foundations Benchmark, GuardDuty and Security Hub findings (priority
// from the finding's severity, with a configurable minimum) and AWS Config
// compliance changes. Users add rules, or change built-in ones by id, from a
// JSON or YAML file or SSM parameter, checked at cold start with errors that
// name the rule and the field.
package rules

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/valyala/fastjson"
	"gopkg.in/yaml.v3"

	"github.com/tributary-logs/tributary/shared/alert"
)

// Rule is one rule as written in a rules file.
type Rule struct {
	// ID names the rule in alerts, metrics, DISABLED_RULES and overrides.
	ID string `json:"id"`
	// Title is the alert's headline.
	Title string `json:"title,omitempty"`
	// Description says why this matters; it goes into the alert.
	Description string `json:"description,omitempty"`
	// Enabled switches the rule off when false; default true.
	Enabled *bool `json:"enabled,omitempty"`
	// Match is the event pattern (see Pattern).
	Match json.RawMessage `json:"match,omitempty"`
	// Priority is P1..P5, or "severity" to take it from a GuardDuty or
	// Security Hub finding's severity. Default: DEFAULT_PRIORITY.
	Priority string `json:"priority,omitempty"`
	// Action is "create" (default) or "close": a close rule closes the alias
	// it renders (a finding resolved, a resource compliant again).
	Action string `json:"action,omitempty"`
	// Alias is the deduplication key template; default "{rule}:{id}" (the
	// rule and the EventBridge event id, so only retries dedupe).
	Alias string `json:"alias,omitempty"`
	// Message is an optional template for the alert's message; default: the
	// title and a summary of the event.
	Message string `json:"message,omitempty"`
	// Tags go on the alert.
	Tags []string `json:"tags,omitempty"`
	// Responders to notify: "team:Name", "user:name@example.com", ...
	Responders []string `json:"responders,omitempty"`
	// Suppress lists patterns that silence the rule, with the reason.
	Suppress []Suppression `json:"suppress,omitempty"`
	// Controls are the benchmark controls the rule implements.
	Controls []string `json:"controls,omitempty"`
	// Runbook is a link for the responder.
	Runbook string `json:"runbook,omitempty"`
}

// Suppression silences matching events: known automation, allow-listed
// principals, test accounts.
type Suppression struct {
	Reason string          `json:"reason"`
	Match  json.RawMessage `json:"match"`
	// Rules limits a file-level suppression to these rule ids (default all).
	Rules []string `json:"rules,omitempty"`
}

// File is a rules file: rules (new ones, or changes to built-in ones by id)
// and suppressions for every rule.
type File struct {
	Rules        []Rule        `json:"rules,omitempty"`
	Suppressions []Suppression `json:"suppressions,omitempty"`
}

// IsEnabled reports whether the rule is on.
func (r *Rule) IsEnabled() bool { return r.Enabled == nil || *r.Enabled }

// Error names the rule and field that are wrong.
type Error struct {
	Source string // file name, parameter name, "built-in", "DISABLED_RULES"
	Rule   string // rule id, or "#3" when the rule has none
	Field  string
	Reason string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("rules")
	if e.Source != "" {
		b.WriteString(" from " + e.Source)
	}
	if e.Rule != "" {
		fmt.Fprintf(&b, ": rule %q", e.Rule)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, ": field %q", e.Field)
	}
	return b.String() + ": " + e.Reason
}

//go:embed builtin.yaml
var builtinYAML []byte

// Builtin returns the built-in rules.
func Builtin() ([]Rule, error) {
	f, err := Parse(builtinYAML, "built-in")
	if err != nil {
		return nil, err
	}
	return f.Rules, nil
}

// Parse reads a rules file: a JSON or YAML document that is either
// {"rules": [...], "suppressions": [...]} or a list of rules.
func Parse(data []byte, source string) (File, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return File{}, nil
	}
	var doc any
	if err := yaml.Unmarshal(data, &doc); err != nil { // YAML is a superset of JSON
		return File{}, &Error{Source: source, Reason: "not valid JSON or YAML: " + err.Error()}
	}
	var top struct {
		Rules        []any `json:"rules"`
		Suppressions []any `json:"suppressions"`
	}
	switch d := doc.(type) {
	case nil:
		return File{}, nil
	case []any:
		top.Rules = d
	case map[string]any:
		for k := range d {
			if k != "rules" && k != "suppressions" {
				return File{}, &Error{Source: source, Field: k, Reason: "unknown top-level key; want rules and suppressions"}
			}
		}
		if err := roundTrip(d, &top, false); err != nil {
			return File{}, &Error{Source: source, Reason: "rules and suppressions must be lists: " + err.Error()}
		}
	default:
		return File{}, &Error{Source: source, Reason: "want an object with rules, or a list of rules"}
	}
	var f File
	for i, raw := range top.Rules {
		name := fmt.Sprintf("#%d", i+1)
		if m, ok := raw.(map[string]any); ok {
			if id, ok := m["id"].(string); ok && id != "" {
				name = id
			}
		} else {
			return File{}, &Error{Source: source, Rule: name, Reason: "a rule must be an object"}
		}
		var r Rule
		if err := roundTrip(raw, &r, true); err != nil {
			return File{}, &Error{Source: source, Rule: name, Field: fieldOf(err), Reason: err.Error()}
		}
		f.Rules = append(f.Rules, r)
	}
	for i, raw := range top.Suppressions {
		var s Suppression
		if err := roundTrip(raw, &s, true); err != nil {
			return File{}, &Error{Source: source, Rule: fmt.Sprintf("suppressions[%d]", i), Field: fieldOf(err), Reason: err.Error()}
		}
		f.Suppressions = append(f.Suppressions, s)
	}
	return f, nil
}

// roundTrip converts a decoded YAML/JSON value into v through JSON, so JSON
// tags and strict field checks apply to both formats.
func roundTrip(in any, v any, strict bool) error {
	b, err := json.Marshal(normalizeYAML(in))
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if strict {
		dec.DisallowUnknownFields()
	}
	return dec.Decode(v)
}

// normalizeYAML turns map[any]any (possible in YAML) into map[string]any.
func normalizeYAML(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeYAML(e)
		}
		return x
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = normalizeYAML(e)
		}
		return m
	case []any:
		for i, e := range x {
			x[i] = normalizeYAML(e)
		}
		return x
	}
	return v
}

// fieldOf extracts the field name from encoding/json's errors.
func fieldOf(err error) string {
	var ute *json.UnmarshalTypeError
	if errors.As(err, &ute) {
		return ute.Field
	}
	msg := err.Error()
	if _, after, ok := strings.Cut(msg, "unknown field "); ok {
		return strings.Trim(after, `"`)
	}
	return ""
}

// LoadFile reads a rules file from disk.
func LoadFile(path string) (File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return File{}, &Error{Source: "RULES_FILE " + path, Reason: err.Error()}
	}
	return Parse(b, "RULES_FILE "+path)
}

type parameterGetter interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, optFns ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

// LoadParameter reads rules from an SSM parameter (name or ARN; String or
// SecureString).
func LoadParameter(ctx context.Context, client parameterGetter, name string) (File, error) {
	out, err := client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
	if err != nil {
		return File{}, &Error{Source: "RULES_PARAMETER " + name, Reason: err.Error()}
	}
	if out.Parameter == nil || out.Parameter.Value == nil {
		return File{}, &Error{Source: "RULES_PARAMETER " + name, Reason: "parameter has no value"}
	}
	return Parse([]byte(*out.Parameter.Value), "RULES_PARAMETER "+name)
}

// Merge combines files in order: a rule whose id is already known changes
// that rule (the fields it sets replace the old ones; suppressions add up),
// a new id adds a rule. sources name each file for errors.
func Merge(base []Rule, files []File, sources []string) ([]Rule, []Suppression, []string, error) {
	rules := slices.Clone(base)
	origin := make([]string, len(rules))
	for i := range origin {
		origin[i] = "built-in"
	}
	index := map[string]int{}
	for i, r := range rules {
		index[r.ID] = i
	}
	var global []Suppression
	for fi, f := range files {
		src := sources[fi]
		for _, u := range f.Rules {
			if strings.TrimSpace(u.ID) == "" {
				return nil, nil, nil, &Error{Source: src, Rule: "(no id)", Field: "id", Reason: "every rule needs an id"}
			}
			i, ok := index[u.ID]
			if !ok {
				index[u.ID] = len(rules)
				rules = append(rules, u)
				origin = append(origin, src)
				continue
			}
			r := &rules[i]
			origin[i] = src
			if u.Title != "" {
				r.Title = u.Title
			}
			if u.Description != "" {
				r.Description = u.Description
			}
			if u.Enabled != nil {
				r.Enabled = u.Enabled
			}
			if u.Match != nil {
				r.Match = u.Match
			}
			if u.Priority != "" {
				r.Priority = u.Priority
			}
			if u.Action != "" {
				r.Action = u.Action
			}
			if u.Alias != "" {
				r.Alias = u.Alias
			}
			if u.Message != "" {
				r.Message = u.Message
			}
			if u.Tags != nil {
				r.Tags = u.Tags
			}
			if u.Responders != nil {
				r.Responders = u.Responders
			}
			if u.Controls != nil {
				r.Controls = u.Controls
			}
			if u.Runbook != "" {
				r.Runbook = u.Runbook
			}
			r.Suppress = append(slices.Clone(r.Suppress), u.Suppress...)
		}
		global = append(global, f.Suppressions...)
	}
	return rules, global, origin, nil
}

// Options tune compilation.
type Options struct {
	DefaultPriority    alert.Priority
	MinFindingSeverity float64  // findings scoring below are dropped
	Disabled           []string // rule ids switched off (DISABLED_RULES)
}

// Set is a compiled rule set, safe for concurrent use.
type Set struct {
	rules    []*compiled
	minScore float64
}

type compiled struct {
	Rule
	match        *Pattern
	alias        *Template
	message      *Template
	priority     alert.Priority
	fromSeverity bool
	action       alert.Action
	responders   []alert.Responder
	suppress     []compiledSuppression
}

type compiledSuppression struct {
	reason string
	match  *Pattern
}

// Compile merges the built-in rules with files (in order) and compiles the
// result. sources names each file for error messages.
func Compile(files []File, sources []string, opts Options) (*Set, error) {
	base, err := Builtin()
	if err != nil {
		return nil, err
	}
	return CompileRules(base, files, sources, opts)
}

// CompileRules is Compile over a given base set (tests, tools).
func CompileRules(base []Rule, files []File, sources []string, opts Options) (*Set, error) {
	if len(sources) < len(files) {
		sources = append(sources, make([]string, len(files)-len(sources))...)
	}
	rules, global, origin, err := Merge(base, files, sources)
	if err != nil {
		return nil, err
	}
	if _, ok := alert.ParsePriority(string(opts.DefaultPriority)); !ok {
		opts.DefaultPriority = alert.P3
	}
	ids := map[string]bool{}
	set := &Set{minScore: opts.MinFindingSeverity}
	for i := range rules {
		c, err := compileRule(rules[i], origin[i], opts)
		if err != nil {
			return nil, err
		}
		ids[c.ID] = true
		set.rules = append(set.rules, c)
	}
	for i, s := range global {
		cs, err := compileSuppression(s, fmt.Sprintf("suppressions[%d]", i))
		if err != nil {
			var re *Error
			if errors.As(err, &re) {
				re.Source = "user rules"
			}
			return nil, err
		}
		for _, id := range s.Rules {
			if !ids[id] {
				return nil, &Error{Source: "user rules", Rule: fmt.Sprintf("suppressions[%d]", i), Field: "rules", Reason: fmt.Sprintf("names unknown rule %q", id)}
			}
		}
		for _, c := range set.rules {
			if len(s.Rules) == 0 || slices.Contains(s.Rules, c.ID) {
				c.suppress = append(c.suppress, cs)
			}
		}
	}
	for _, id := range opts.Disabled {
		if !ids[id] {
			known := make([]string, 0, len(ids))
			for _, c := range set.rules {
				known = append(known, c.ID)
			}
			return nil, &Error{Source: "DISABLED_RULES", Rule: id, Reason: "no such rule; known: " + strings.Join(known, ", ")}
		}
		for _, c := range set.rules {
			if c.ID == id {
				off := false
				c.Enabled = &off
			}
		}
	}
	return set, nil
}

func compileRule(r Rule, source string, opts Options) (*compiled, error) {
	fail := func(field, format string, args ...any) error {
		return &Error{Source: source, Rule: r.ID, Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	if strings.TrimSpace(r.ID) == "" || strings.ContainsAny(r.ID, " \t\n,{}") {
		return nil, fail("id", "want a non-empty id without spaces, commas or braces")
	}
	if strings.TrimSpace(r.Title) == "" {
		return nil, fail("title", "is required")
	}
	if len(r.Match) == 0 || string(r.Match) == "null" {
		return nil, fail("match", "is required (an event pattern)")
	}
	c := &compiled{Rule: r}
	var err error
	if c.match, err = CompilePattern(r.Match); err != nil {
		return nil, fail("match", "%v", err)
	}
	switch strings.ToLower(r.Priority) {
	case "":
		c.priority = opts.DefaultPriority
	case "severity":
		c.fromSeverity = true
	default:
		p, ok := alert.ParsePriority(r.Priority)
		if !ok {
			return nil, fail("priority", "%q is not P1..P5 or severity", r.Priority)
		}
		c.priority = p
	}
	switch strings.ToLower(r.Action) {
	case "", "create":
		c.action = alert.Create
	case "close":
		c.action = alert.Close
	default:
		return nil, fail("action", "%q is not create or close", r.Action)
	}
	alias := r.Alias
	if alias == "" {
		alias = "{rule}:{id}"
	}
	if c.alias, err = ParseTemplate(alias); err != nil {
		return nil, fail("alias", "%v", err)
	}
	if r.Message != "" {
		if c.message, err = ParseTemplate(r.Message); err != nil {
			return nil, fail("message", "%v", err)
		}
	}
	if c.responders, err = alert.ParseResponders(r.Responders); err != nil {
		return nil, fail("responders", "%v", err)
	}
	for i, t := range r.Tags {
		if strings.TrimSpace(t) == "" || len([]rune(t)) > alert.MaxTagLen {
			return nil, fail(fmt.Sprintf("tags[%d]", i), "want a tag of 1..%d characters", alert.MaxTagLen)
		}
	}
	for i, s := range r.Suppress {
		cs, err := compileSuppression(s, fmt.Sprintf("suppress[%d]", i))
		if err != nil {
			var re *Error
			if errors.As(err, &re) {
				re.Source, re.Rule = source, r.ID
			}
			return nil, err
		}
		c.suppress = append(c.suppress, cs)
	}
	return c, nil
}

func compileSuppression(s Suppression, field string) (compiledSuppression, error) {
	if strings.TrimSpace(s.Reason) == "" {
		return compiledSuppression{}, &Error{Field: field + ".reason", Reason: "is required: say why these events are silenced"}
	}
	if len(s.Match) == 0 || string(s.Match) == "null" {
		return compiledSuppression{}, &Error{Field: field + ".match", Reason: "is required"}
	}
	p, err := CompilePattern(s.Match)
	if err != nil {
		return compiledSuppression{}, &Error{Field: field + ".match", Reason: err.Error()}
	}
	return compiledSuppression{reason: s.Reason, match: p}, nil
}

// Rules returns the effective rules, in evaluation order.
func (s *Set) Rules() []Rule {
	out := make([]Rule, len(s.rules))
	for i, c := range s.rules {
		out[i] = c.Rule
	}
	return out
}

// Severity is a finding's severity on GuardDuty's 0-10 scale, with its label.
type Severity struct {
	Score float64 `json:"score"`
	Label string  `json:"label"`
}

// Match is one rule that matched an event.
type Match struct {
	Rule       *Rule
	Action     alert.Action
	Priority   alert.Priority
	Alias      string
	Message    string // rendered message template; empty when the rule has none
	Responders []alert.Responder
	Severity   *Severity
	// Suppressed is the reason when a suppression silenced the match.
	Suppressed string
	// BelowMinimum is true for findings under MIN_FINDING_SEVERITY.
	BelowMinimum bool
}

// Alerts reports whether the match should become an alert.
func (m *Match) Alerts() bool { return m.Suppressed == "" && !m.BelowMinimum }

// Evaluate returns the matches of every enabled rule for the event
// (EventBridge-shaped: detail-type, source, account, region, detail),
// including suppressed ones and findings below the minimum, so callers can
// count them.
func (s *Set) Evaluate(ev *fastjson.Value) []Match {
	var out []Match
	for _, c := range s.rules {
		if !c.IsEnabled() || !c.match.Match(ev) {
			continue
		}
		m := Match{Rule: &c.Rule, Action: c.action, Priority: c.priority, Responders: c.responders}
		if c.fromSeverity {
			sev, ok := FindingSeverity(ev)
			if ok {
				m.Severity = &sev
				m.Priority = SeverityPriority(sev.Label)
				if c.action == alert.Create && sev.Score < s.minScore {
					m.BelowMinimum = true
				}
			} else {
				m.Priority = alert.P3
			}
		}
		m.Alias = c.alias.Render(ev, c.ID)
		if c.message != nil {
			m.Message = c.message.Render(ev, c.ID)
		}
		for _, sup := range c.suppress {
			if sup.match.Match(ev) {
				m.Suppressed = sup.reason
				break
			}
		}
		out = append(out, m)
	}
	return out
}

// Severity labels, most severe first.
const (
	Critical      = "CRITICAL"
	High          = "HIGH"
	Medium        = "MEDIUM"
	Low           = "LOW"
	Informational = "INFORMATIONAL"
)

// LabelScore is the lowest 0-10 score of each label (GuardDuty's bands;
// Security Hub's labels map onto them).
var LabelScore = map[string]float64{Critical: 9, High: 7, Medium: 4, Low: 1, Informational: 0}

// ScoreLabel returns the band of a GuardDuty 0-10 severity score.
func ScoreLabel(score float64) string {
	switch {
	case score >= 9:
		return Critical
	case score >= 7:
		return High
	case score >= 4:
		return Medium
	case score >= 1:
		return Low
	}
	return Informational
}

// SeverityPriority maps a severity label to a priority: CRITICAL P1,
// HIGH P2, MEDIUM P3, LOW P4, INFORMATIONAL (and unknown) P5.
func SeverityPriority(label string) alert.Priority {
	switch label {
	case Critical:
		return alert.P1
	case High:
		return alert.P2
	case Medium:
		return alert.P3
	case Low:
		return alert.P4
	}
	return alert.P5
}

// FindingSeverity reads a finding's severity: GuardDuty's numeric
// detail.severity, or Security Hub's detail.findings[0].Severity (Label,
// else Normalized/10).
func FindingSeverity(ev *fastjson.Value) (Severity, bool) {
	if v := ev.Get("detail", "severity"); v != nil && v.Type() == fastjson.TypeNumber {
		s := v.GetFloat64()
		return Severity{Score: s, Label: ScoreLabel(s)}, true
	}
	sev := ev.Get("detail", "findings", "0", "Severity")
	if sev == nil {
		return Severity{}, false
	}
	if l := strings.ToUpper(string(sev.GetStringBytes("Label"))); l != "" {
		if score, ok := LabelScore[l]; ok {
			return Severity{Score: score, Label: l}, true
		}
	}
	if n := sev.Get("Normalized"); n != nil && n.Type() == fastjson.TypeNumber {
		s := n.GetFloat64() / 10
		return Severity{Score: s, Label: ScoreLabel(s)}, true
	}
	return Severity{}, false
}
