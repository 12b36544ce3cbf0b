package alert

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tributary-logs/tributary/shared/opsgenietest"
)

func TestNormalizeCutsToOpsgenieLimits(t *testing.T) {
	t.Parallel()
	longDetails := map[string]string{}
	for i := range 40 {
		longDetails[fmt.Sprintf("key%02d", i)] = strings.Repeat("v", 400)
	}
	manyTags := make([]string, 30)
	for i := range manyTags {
		manyTags[i] = fmt.Sprintf("tag-%d", i)
	}
	cases := []struct {
		name  string
		in    Alert
		cut   []string
		check func(t *testing.T, a Alert)
	}{
		{
			name: "fits",
			in:   Alert{Message: "Root account used", Alias: "a", Priority: P1},
			check: func(t *testing.T, a Alert) {
				if a.Message != "Root account used" || a.Priority != P1 || a.Action != Create {
					t.Errorf("changed a valid alert: %+v", a)
				}
			},
		},
		{
			name: "message of multibyte characters",
			in:   Alert{Message: strings.Repeat("é", 200), Alias: "a"},
			cut:  []string{"message"},
			check: func(t *testing.T, a Alert) {
				if n := utf8.RuneCountInString(a.Message); n != MaxMessage {
					t.Errorf("message has %d characters, want %d", n, MaxMessage)
				}
				if !strings.HasSuffix(a.Message, Ellipsis) {
					t.Errorf("message %q lacks the truncation mark", a.Message)
				}
			},
		},
		{
			name: "message with line breaks becomes one line",
			in:   Alert{Message: "line one\nline\ttwo\r\n", Alias: "a"},
			check: func(t *testing.T, a Alert) {
				if a.Message != "line one line two" {
					t.Errorf("message = %q", a.Message)
				}
			},
		},
		{
			name: "empty message",
			in:   Alert{Message: "  ", Alias: "a"},
			check: func(t *testing.T, a Alert) {
				if a.Message != "(no message)" {
					t.Errorf("message = %q", a.Message)
				}
			},
		},
		{
			name: "long alias keeps a hash",
			in:   Alert{Message: "m", Alias: strings.Repeat("a", 600) + "x"},
			cut:  []string{"alias"},
			check: func(t *testing.T, a Alert) {
				if n := utf8.RuneCountInString(a.Alias); n != MaxAlias {
					t.Errorf("alias has %d characters, want %d", n, MaxAlias)
				}
				other := Alert{Message: "m", Alias: strings.Repeat("a", 600) + "y"}
				other.Normalize(P3)
				if other.Alias == a.Alias {
					t.Error("two long aliases with the same prefix collapsed into one")
				}
				again := Alert{Message: "m", Alias: strings.Repeat("a", 600) + "x"}
				again.Normalize(P3)
				if again.Alias != a.Alias {
					t.Error("shortened alias is not stable")
				}
			},
		},
		{
			name: "description",
			in:   Alert{Message: "m", Alias: "a", Description: strings.Repeat("d", 20000)},
			cut:  []string{"description"},
			check: func(t *testing.T, a Alert) {
				if n := utf8.RuneCountInString(a.Description); n != MaxDescription {
					t.Errorf("description has %d characters, want %d", n, MaxDescription)
				}
				if !strings.HasSuffix(a.Description, descriptionCut) {
					t.Error("description lacks the truncation note")
				}
			},
		},
		{
			name: "tags",
			in:   Alert{Message: "m", Alias: "a", Tags: append([]string{"", "dup", "dup", strings.Repeat("t", 80), "a,b"}, manyTags...)},
			cut:  []string{"tags"},
			check: func(t *testing.T, a Alert) {
				if len(a.Tags) != MaxTags {
					t.Errorf("%d tags, want %d", len(a.Tags), MaxTags)
				}
				if a.Tags[0] != "dup" || a.Tags[1] != strings.Repeat("t", 49)+Ellipsis || a.Tags[2] != "a_b" {
					t.Errorf("tags = %q", a.Tags[:3])
				}
			},
		},
		{
			name: "details over 8000 characters",
			in:   Alert{Message: "m", Alias: "a", Details: longDetails},
			cut:  []string{"details"},
			check: func(t *testing.T, a Alert) {
				if n := DetailsChars(a.Details); n > MaxDetailsChars {
					t.Errorf("details have %d characters", n)
				}
				if _, ok := a.Details["key00"]; !ok {
					t.Error("first key (sorted) dropped")
				}
			},
		},
		{
			name: "invalid priority takes the default",
			in:   Alert{Message: "m", Alias: "a", Priority: "urgent"},
			check: func(t *testing.T, a Alert) {
				if a.Priority != P2 {
					t.Errorf("priority = %q, want the default P2", a.Priority)
				}
			},
		},
		{
			name: "lower-case priority",
			in:   Alert{Message: "m", Alias: "a", Priority: "p4"},
			check: func(t *testing.T, a Alert) {
				if a.Priority != P4 {
					t.Errorf("priority = %q", a.Priority)
				}
			},
		},
		{
			name: "invalid UTF-8",
			in:   Alert{Message: "bad \xff byte", Alias: "a\xfe"},
			cut:  []string{"message", "alias"},
			check: func(t *testing.T, a Alert) {
				if !utf8.ValidString(a.Message) || !utf8.ValidString(a.Alias) {
					t.Errorf("still invalid: %q %q", a.Message, a.Alias)
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := tc.in
			cut := a.Normalize(P2)
			if strings.Join(cut, ",") != strings.Join(tc.cut, ",") {
				t.Errorf("cut = %v, want %v", cut, tc.cut)
			}
			tc.check(t, a)
			assertValidForOpsgenie(t, &a)
		})
	}
}

// assertValidForOpsgenie checks the create body against the strict test
// server's validation: what Normalize produces is always accepted.
func assertValidForOpsgenie(t testing.TB, a *Alert) {
	t.Helper()
	s := &OpsgenieSink{user: "Tributary"}
	body, err := s.CreateBody(a)
	if err != nil {
		t.Fatal(err)
	}
	if errs := opsgenietest.Validate(body); len(errs) > 0 {
		t.Errorf("server would reject the normalized alert: %v", errs)
	}
}

func FuzzNormalize(f *testing.F) {
	f.Add("Root account used", "alias", "description", "tag", "key", "value", "P1")
	f.Add(strings.Repeat("é", 140), strings.Repeat("\xff", 600), "", ",", "", "\x00", "")
	f.Fuzz(func(t *testing.T, msg, alias, desc, tag, k, v, prio string) {
		a := Alert{Message: msg, Alias: alias, Description: desc, Tags: []string{tag, tag + "x"},
			Details: map[string]string{k: v, k + "2": strings.Repeat(v, 50)}, Priority: Priority(prio), Entity: desc, Source: msg, Note: desc}
		a.Normalize(P3)
		assertValidForOpsgenie(t, &a)
		if a.Alias == "" && alias != "" {
			t.Errorf("alias %q normalized to empty", alias)
		}
	})
}

func TestParsePriorityAndRank(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]Priority{"P1": P1, "p5": P5, " 3 ": P3, "P6": "", "": "", "high": ""} {
		got, ok := ParsePriority(in)
		if got != want || ok != (want != "") {
			t.Errorf("ParsePriority(%q) = %q, %v", in, got, ok)
		}
	}
	if P1.Rank() >= P2.Rank() || Priority("x").Rank() != 6 {
		t.Error("Rank order")
	}
}

func TestParseResponders(t *testing.T) {
	t.Parallel()
	got, err := ParseResponders([]string{"team:SRE", "user:oncall@example.com", "schedule:Weekend", "escalation:0b8c9a44-0000-4b54-9a19-9d3c2f6c6a1e"})
	if err != nil {
		t.Fatal(err)
	}
	want := []Responder{{Type: "team", Name: "SRE"}, {Type: "user", Username: "oncall@example.com"},
		{Type: "schedule", Name: "Weekend"}, {Type: "escalation", ID: "0b8c9a44-0000-4b54-9a19-9d3c2f6c6a1e"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	for _, bad := range []string{"SRE", "group:x", "team:"} {
		if _, err := ParseResponders([]string{bad}); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("ParseResponders(%q) error = %v, want one naming it", bad, err)
		}
	}
}

func TestCollapse(t *testing.T) {
	t.Parallel()
	mk := func(alias string, act Action, p Priority) Alert {
		return Alert{Alias: alias, Action: act, Priority: p, Message: alias, Details: map[string]string{"k": "v"}}
	}
	in := []Alert{
		mk("a", Create, P3), mk("b", Create, P2), mk("a", Create, P1), mk("a", Create, P4),
		mk("c", Create, P3), mk("c", Close, ""), mk("c", Create, P3),
		mk("d", Close, ""), mk("d", Close, ""),
	}
	out, folded := Collapse(in)
	var got []string
	for _, a := range out {
		got = append(got, fmt.Sprintf("%s:%s:%s:%d:%s", a.Alias, a.Action, a.Priority, a.Count, a.Details["occurrences"]))
	}
	want := []string{"a:create:P1:3:3", "b:create:P2:1:", "c:create:P3:1:", "c:close::1:", "c:create:P3:1:", "d:close::2:2"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("Collapse =\n%v\nwant\n%v", got, want)
	}
	if folded != 3 {
		t.Errorf("folded = %d, want 3", folded)
	}
	if !strings.Contains(out[0].Description, "3 occurrences") {
		t.Errorf("description %q does not tell the count", out[0].Description)
	}
	if in[0].Details["occurrences"] != "" {
		t.Error("Collapse changed its input's details")
	}
}

func TestSecretIsNeverPrinted(t *testing.T) {
	t.Parallel()
	s := NewSecret("super-secret-genie-key")
	holder := struct {
		Key Secret
		N   int
	}{s, 1}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "key", s, "holder", holder)
	j, _ := json.Marshal(holder)
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%v %s %+v %#v %q", s, s, holder, holder, s), string(j), logs.String()} {
		if strings.Contains(out, "super-secret") {
			t.Errorf("secret leaked: %s", out)
		}
	}
	if s.Reveal() != "super-secret-genie-key" {
		t.Error("Reveal")
	}
}
