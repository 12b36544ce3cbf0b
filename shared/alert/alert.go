// Package alert is the one alert model of the alarm and opsgenie functions and
// the sinks that deliver it: the Opsgenie Alert API v2 (US and EU), its
// successor Jira Service Management Operations, and SNS. An Alert is created or
// closed by its alias, so a retried event never pages twice and a recovery
// closes exactly what the problem opened.
//
// Fields are cut to Opsgenie's documented limits (Normalize), never rejected:
// an alert that is too long still pages, with a visible truncation mark.
package alert

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Priority is Opsgenie's P1 (critical) .. P5 (informational).
type Priority string

// Priorities.
const (
	P1 Priority = "P1"
	P2 Priority = "P2"
	P3 Priority = "P3"
	P4 Priority = "P4"
	P5 Priority = "P5"
)

// ParsePriority accepts P1..P5 in any case, and 1..5.
func ParsePriority(s string) (Priority, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if len(s) == 1 {
		s = "P" + s
	}
	switch p := Priority(s); p {
	case P1, P2, P3, P4, P5:
		return p, true
	}
	return "", false
}

// Rank is 1 for P1 .. 5 for P5, 6 for anything else: lower is more urgent.
func (p Priority) Rank() int {
	if len(p) == 2 && p[0] == 'P' && p[1] >= '1' && p[1] <= '5' {
		return int(p[1] - '0')
	}
	return 6
}

// Action says whether an alert opens (or re-raises) or closes its alias.
type Action string

// Actions.
const (
	Create Action = "create"
	Close  Action = "close"
)

// Responder is a team, user, escalation or schedule to notify, by id or by
// name (username for users), as the Opsgenie API takes them.
type Responder struct {
	Type     string `json:"type"`
	ID       string `json:"id,omitempty"`
	Name     string `json:"name,omitempty"`
	Username string `json:"username,omitempty"`
}

// ParseResponders turns "team:SRE", "user:a@example.com", "escalation:Name",
// "schedule:Name" (or "team:<uuid>") into responders.
func ParseResponders(specs []string) ([]Responder, error) {
	var out []Responder
	for _, s := range specs {
		typ, v, ok := strings.Cut(strings.TrimSpace(s), ":")
		typ = strings.ToLower(typ)
		if !ok || v == "" {
			return nil, fmt.Errorf("responder %q: want type:name", s)
		}
		r := Responder{Type: typ}
		switch {
		case typ != "team" && typ != "user" && typ != "escalation" && typ != "schedule":
			return nil, fmt.Errorf("responder %q: type %q is not team, user, escalation or schedule", s, typ)
		case isUUID(v):
			r.ID = v
		case typ == "user":
			r.Username = v
		default:
			r.Name = v
		}
		out = append(out, r)
	}
	return out, nil
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// Alert is one alert to open or close. Message, Alias, Description,
// Priority, Tags, Details, Entity, Source, Responders and Note map to the
// Opsgenie fields of the same name; Rule, Account, Region and Time are routing
// metadata (SNS message attributes, logs); Count is how many occurrences storm
// control folded into this one.
type Alert struct {
	Action      Action            `json:"action"`
	Message     string            `json:"message"`
	Alias       string            `json:"alias"`
	Description string            `json:"description,omitempty"`
	Priority    Priority          `json:"priority,omitempty"`
	Tags        []string          `json:"tags,omitempty"`
	Details     map[string]string `json:"details,omitempty"`
	Entity      string            `json:"entity,omitempty"`
	Source      string            `json:"source,omitempty"`
	Responders  []Responder       `json:"responders,omitempty"`
	Note        string            `json:"note,omitempty"`

	Rule    string `json:"rule,omitempty"`
	Account string `json:"account,omitempty"`
	Region  string `json:"region,omitempty"`
	Time    string `json:"time,omitempty"` // RFC 3339, when it happened
	Count   int    `json:"count,omitempty"`

	// Event names the event that raised the alert (an EventBridge event id,
	// a CloudTrail eventID, an alarm and its state change time): the same
	// when Lambda retries that event, different for any other. Empty when
	// unknown. The dispatcher uses it to deliver a retried event's alerts
	// only to the sinks that missed them.
	Event string `json:"-"`
}

// Opsgenie's documented field limits, in characters.
const (
	MaxMessage      = 130
	MaxAlias        = 512
	MaxDescription  = 15000
	MaxTags         = 20
	MaxTagLen       = 50
	MaxDetailsChars = 8000 // keys and values together
	MaxEntity       = 512
	MaxSource       = 100
	MaxUser         = 100
	MaxNote         = 25000
	MaxResponders   = 50
)

// Ellipsis marks a field that was cut.
const Ellipsis = "…"

const descriptionCut = "\n… (truncated to Opsgenie's 15,000-character limit)"

// Normalize makes a valid Opsgenie alert out of a: it cuts every field to
// its limit, repairs invalid UTF-8, drops empty and duplicate tags, defaults
// an invalid priority to def (P3 when def is invalid too), and makes sure the
// message is not empty. An alias longer than 512 characters keeps a prefix
// and a hash of the whole, so it stays unique and stable. It returns the
// names of the fields it cut.
func (a *Alert) Normalize(def Priority) []string {
	var cut []string
	mark := func(name string, changed bool) {
		if changed {
			cut = append(cut, name)
		}
	}
	if a.Action == "" {
		a.Action = Create
	}
	if _, ok := ParsePriority(string(a.Priority)); !ok {
		if _, ok := ParsePriority(string(def)); ok {
			a.Priority = def
		} else {
			a.Priority = P3
		}
	} else {
		a.Priority, _ = ParsePriority(string(a.Priority))
	}
	var ch bool
	a.Message, ch = Truncate(singleLine(a.Message), MaxMessage)
	mark("message", ch)
	if strings.TrimSpace(a.Message) == "" {
		a.Message = "(no message)"
	}
	a.Alias, ch = shortenAlias(a.Alias)
	mark("alias", ch)
	a.Description, ch = truncateWith(a.Description, MaxDescription, descriptionCut)
	mark("description", ch)
	a.Entity, ch = Truncate(a.Entity, MaxEntity)
	mark("entity", ch)
	a.Source, ch = Truncate(a.Source, MaxSource)
	mark("source", ch)
	a.Note, ch = Truncate(a.Note, MaxNote)
	mark("note", ch)
	a.Tags, ch = normalizeTags(a.Tags)
	mark("tags", ch)
	a.Details, ch = normalizeDetails(a.Details)
	mark("details", ch)
	if len(a.Responders) > MaxResponders {
		a.Responders = a.Responders[:MaxResponders]
		mark("responders", true)
	}
	return cut
}

// Truncate cuts s to at most n characters (runes), ending with Ellipsis when
// it cut, and repairs invalid UTF-8. It reports whether it changed s.
func Truncate(s string, n int) (string, bool) {
	return truncateWith(s, n, Ellipsis)
}

func truncateWith(s string, n int, mark string) (string, bool) {
	changed := false
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
		changed = true
	}
	if utf8.RuneCountInString(s) <= n {
		return s, changed
	}
	keep := n - utf8.RuneCountInString(mark)
	if keep < 0 {
		keep = 0
	}
	i, count := 0, 0
	for i = range s {
		if count == keep {
			break
		}
		count++
	}
	return s[:i] + mark, true
}

// singleLine turns line breaks and tabs into spaces: a message is a title.
func singleLine(s string) string {
	if !strings.ContainsAny(s, "\r\n\t") {
		return strings.TrimSpace(s)
	}
	return strings.Join(strings.Fields(s), " ")
}

// shortenAlias keeps aliases unique when they must be cut: the first part
// stays readable, the hash tells long aliases with the same prefix apart.
func shortenAlias(s string) (string, bool) {
	changed := false
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
		changed = true
	}
	if utf8.RuneCountInString(s) <= MaxAlias {
		return s, changed
	}
	sum := sha256.Sum256([]byte(s))
	suffix := "#" + hex.EncodeToString(sum[:8])
	head, _ := truncateWith(s, MaxAlias-len(suffix), "")
	return head + suffix, true
}

func normalizeTags(tags []string) ([]string, bool) {
	if len(tags) == 0 {
		return nil, false
	}
	changed := false
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		t = strings.TrimSpace(strings.ReplaceAll(t, ",", "_"))
		var ch bool
		t, ch = Truncate(t, MaxTagLen)
		changed = changed || ch
		if t == "" || slices.Contains(out, t) {
			continue
		}
		if len(out) == MaxTags {
			changed = true
			break
		}
		out = append(out, t)
	}
	return out, changed
}

// normalizeDetails keeps keys in sorted order (so the result is stable) and
// cuts values, then drops whole entries, until keys and values fit 8,000
// characters together.
func normalizeDetails(d map[string]string) (map[string]string, bool) {
	if len(d) == 0 {
		return nil, false
	}
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	total := 0
	for _, k := range keys {
		total += utf8.RuneCountInString(k) + utf8.RuneCountInString(d[k])
	}
	changed := false
	out := make(map[string]string, len(d))
	if total <= MaxDetailsChars {
		for _, k := range keys {
			kk, c1 := Truncate(k, MaxDetailsChars)
			v, c2 := Truncate(d[k], MaxDetailsChars)
			changed = changed || c1 || c2
			if strings.TrimSpace(kk) != "" {
				out[kk] = v
			} else {
				changed = true
			}
		}
		return out, changed
	}
	// Too large: give each value a fair share, then fill in order.
	const perValue = 500
	budget := MaxDetailsChars
	for _, k := range keys {
		kk, _ := Truncate(k, 100)
		if strings.TrimSpace(kk) == "" {
			continue
		}
		v, _ := Truncate(d[k], perValue)
		need := utf8.RuneCountInString(kk) + utf8.RuneCountInString(v)
		if need > budget {
			room := budget - utf8.RuneCountInString(kk)
			if room < 16 {
				break
			}
			v, _ = Truncate(v, room)
			need = utf8.RuneCountInString(kk) + utf8.RuneCountInString(v)
		}
		out[kk] = v
		budget -= need
	}
	return out, true
}

// DetailsChars is the size Opsgenie counts for the details map.
func DetailsChars(d map[string]string) int {
	n := 0
	for k, v := range d {
		n += utf8.RuneCountInString(k) + utf8.RuneCountInString(v)
	}
	return n
}

// Collapse is storm control within one invocation: alerts with the same
// alias and action that follow each other (for that alias) become one, with
// Count the number folded in, the most urgent priority, and an "occurrences"
// detail. The order of first appearance is kept, and so is the order of
// opposite actions on one alias (open, close, open stays three requests).
// It returns the collapsed alerts and how many were folded away.
func Collapse(in []Alert) ([]Alert, int) {
	out := make([]Alert, 0, len(in))
	last := make(map[string]int, len(in))
	folded := 0
	for _, a := range in {
		if a.Count < 1 {
			a.Count = 1
		}
		if i, ok := last[a.Alias]; ok && out[i].Action == a.Action {
			o := &out[i]
			o.Count += a.Count
			o.Event += "+" + a.Event // a retry folds the same events again
			if a.Priority.Rank() < o.Priority.Rank() {
				o.Priority = a.Priority
			}
			folded++
			continue
		}
		last[a.Alias] = len(out)
		out = append(out, a)
	}
	for i := range out {
		if out[i].Count > 1 {
			d := make(map[string]string, len(out[i].Details)+1)
			for k, v := range out[i].Details {
				d[k] = v
			}
			d["occurrences"] = strconv.Itoa(out[i].Count)
			out[i].Details = d
			if out[i].Action == Create {
				out[i].Description += fmt.Sprintf("\n\n(%d occurrences with this alias in one delivery: the first is shown.)", out[i].Count)
			}
		}
	}
	return out, folded
}
