package redact

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/tributary-logs/tributary/shared/config"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.jsonl from the current output")

func all(t testing.TB) *Redactor {
	t.Helper()
	r, err := New(config.RedactRules, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// readMessages reads a file of JSON strings, one a line.
func readMessages(t testing.TB, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m string
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestBuiltinNamesMatchConfig(t *testing.T) {
	t.Parallel()
	if got := BuiltinNames(); !slices.Equal(got, config.RedactRules) {
		t.Errorf("BuiltinNames() = %q; config.RedactRules = %q", got, config.RedactRules)
	}
	for i, r := range Builtins() {
		if r.Name != config.RedactRules[i] || r.Description == "" || r.Example == "" || r.Pattern != nil {
			t.Errorf("Builtins()[%d] = %+v", i, r)
		}
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	_, err := New([]string{"email", "ssn"}, nil)
	if !errors.Is(err, ErrUnknownRule) {
		t.Fatalf("New(ssn) error = %v; want ErrUnknownRule", err)
	}
	want := `redact: unknown rule "ssn"; known: aws_access_key_id, aws_secret_access_key, bearer_token, jwt, password, email, card_number, kr_rrn`
	if err.Error() != want {
		t.Errorf("error = %q\nwant    %q", err, want)
	}
	if _, err := New(nil, []*regexp.Regexp{nil}); err == nil || err.Error() != "redact: custom rule 0 is nil" {
		t.Errorf("New(nil regexp) error = %v", err)
	}

	r, err := New([]string{"EMAIL", "jwt", "email"}, []*regexp.Regexp{regexp.MustCompile(`x-\d+`)})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, rule := range r.Rules() {
		names = append(names, rule.Name)
	}
	if want := []string{"jwt", "email", "custom"}; !slices.Equal(names, want) {
		t.Errorf("Rules() names = %q; want %q", names, want)
	}

	none, err := New(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, c := none.Redact("mail kim@example.com"); got != "mail kim@example.com" || c.Total() != 0 {
		t.Errorf("no rules: Redact = %q, %d", got, c.Total())
	}
	var nilR *Redactor
	if got, c := nilR.Redact("mail kim@example.com"); got != "mail kim@example.com" || c.Total() != 0 || nilR.Rules() != nil {
		t.Errorf("nil Redactor: Redact = %q, %d", got, c.Total())
	}
}

// TestExamples checks that each built-in rule redacts its own example.
func TestExamples(t *testing.T) {
	t.Parallel()
	for _, b := range Builtins() {
		r, err := New([]string{b.Name}, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, c := r.Redact(b.Example)
		if c.Of(b.Name) == 0 || !strings.Contains(got, "[REDACTED:"+b.Name+"]") {
			t.Errorf("%s does not redact its example %q: got %q", b.Name, b.Example, got)
		}
	}
}

// TestClean checks that messages without secrets come back as they were: the
// same string, no counts, no allocation.
func TestClean(t *testing.T) { // not parallel: it counts allocations
	r := all(t)
	msgs := readMessages(t, "testdata/clean.jsonl")
	for _, m := range msgs {
		got, c := r.Redact(m)
		if got != m || c.Total() != 0 {
			t.Errorf("Redact changed a clean message (%v):\n in %q\nout %q", maps.Collect(c.All()), m, got)
		}
		if unsafe.StringData(got) != unsafe.StringData(m) {
			t.Errorf("Redact copied a clean message %.40q", m)
		}
	}
	allocs := testing.AllocsPerRun(20, func() {
		for _, m := range msgs {
			r.Redact(m)
		}
	})
	if allocs != 0 {
		t.Errorf("Redact allocates %v times per pass over clean messages; want 0", allocs)
	}
}

type golden struct {
	Out    string         `json:"out"`
	Counts map[string]int `json:"counts"`
}

// TestGolden runs every rule over realistic messages with secrets and compares
// the result with testdata/dirty.golden.jsonl (go test -update rewrites it).
func TestGolden(t *testing.T) {
	t.Parallel()
	r := all(t)
	msgs := readMessages(t, "testdata/dirty.jsonl")
	var got []byte
	for _, m := range msgs {
		out, c := r.Redact(m)
		var line bytes.Buffer
		enc := json.NewEncoder(&line)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(golden{out, maps.Collect(c.All())}); err != nil {
			t.Fatal(err)
		}
		got = append(got, line.Bytes()...)
		if again, c2 := r.Redact(out); again != out || c2.Total() != 0 {
			t.Errorf("not idempotent: %q -> %q", out, again)
		}
	}
	path := filepath.Join("testdata", "dirty.golden.jsonl")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	gotLines, wantLines := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	if len(gotLines) != len(wantLines) {
		t.Fatalf("%d lines; golden has %d", len(gotLines), len(wantLines))
	}
	for i := range gotLines {
		if gotLines[i] != wantLines[i] {
			t.Errorf("line %d:\n got %s\nwant %s", i+1, gotLines[i], wantLines[i])
		}
	}
}

func TestCounts(t *testing.T) {
	t.Parallel()
	r := all(t)
	out, c := r.Redact("a@b.io c@d.io password=x AKIAIOSFODNN7EXAMPLE")
	if want := "[REDACTED:email] [REDACTED:email] password=[REDACTED:password] [REDACTED:aws_access_key_id]"; out != want {
		t.Fatalf("Redact = %q; want %q", out, want)
	}
	if c.Total() != 4 || c.Of("email") != 2 || c.Of("password") != 1 || c.Of("aws_access_key_id") != 1 || c.Of("jwt") != 0 || c.Of("nonsense") != 0 {
		t.Errorf("counts = %v", maps.Collect(c.All()))
	}
	var sum Counts
	sum.Add(c)
	sum.Add(c)
	if want := map[string]int{"aws_access_key_id": 2, "password": 2, "email": 4}; !maps.Equal(maps.Collect(sum.All()), want) {
		t.Errorf("sum = %v; want %v", maps.Collect(sum.All()), want)
	}
	var names []string
	for name := range sum.All() {
		names = append(names, name)
		break
	}
	if len(names) != 1 || names[0] != "aws_access_key_id" {
		t.Errorf("All stops early and goes in rule order: %q", names)
	}
}

// TestOverlap checks that overlapping matches of different rules become one
// placeholder named after the match that starts first.
func TestOverlap(t *testing.T) {
	t.Parallel()
	r := all(t)
	for _, c := range []struct{ in, want string }{
		{"password=kim@example.com rest", "password=[REDACTED:password] rest"},
		{"Authorization: Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.c2ln", "Authorization: Bearer [REDACTED:bearer_token]"},
		{`{"token":"eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.c2ln"}`, `{"token":"[REDACTED:jwt]"}`}, // same span: the rule listed first
		{"secret=AKIAIOSFODNN7EXAMPLE", "secret=[REDACTED:aws_access_key_id]"},
		{"secret=AKIAIOSFODNN7EXAMPLE/x", "secret=[REDACTED:password]"}, // the longer span
		{"id AKIAIOSFODNN7EXAMPLE", "id [REDACTED:aws_access_key_id]"},
		{"password=abc bearer 12345678abc", "password=[REDACTED:password] bearer [REDACTED:bearer_token]"},
	} {
		if got, _ := r.Redact(c.in); got != c.want {
			t.Errorf("Redact(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

func TestCustom(t *testing.T) {
	t.Parallel()
	r, err := New([]string{"email"}, []*regexp.Regexp{
		regexp.MustCompile(`emp-\d{6}`),
		regexp.MustCompile(`session=(?P<secret>[0-9a-f]{8})\b`),
		regexp.MustCompile(`x*`), // matches the empty string everywhere: ignored
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		in, want string
		n        int
	}{
		{"employee emp-123456 and emp-654321", "employee [REDACTED:custom] and [REDACTED:custom]", 2},
		{"session=deadbeef user=kim@example.com", "session=[REDACTED:custom] user=[REDACTED:email]", 1},
		{"session=deadbeef0 emp-12345", "session=deadbeef0 emp-12345", 0},
		{"xx", "[REDACTED:custom]", 1},
	} {
		got, counts := r.Redact(c.in)
		if got != c.want || counts.Of(CustomName) != c.n {
			t.Errorf("Redact(%q) = %q, %d custom; want %q, %d", c.in, got, counts.Of(CustomName), c.want, c.n)
		}
	}
	if got := r.Rules()[1]; got.Pattern.String() != `emp-\d{6}` || got.literal != "emp-" {
		t.Errorf("custom rule %+v: want the literal emp-", got)
	}
}

// TestCustomLiteral checks the literal that a custom rule searches for
// before it runs its expression: every match must contain it.
func TestCustomLiteral(t *testing.T) {
	t.Parallel()
	for expr, want := range map[string]string{
		`emp-\d{6}`:                          "emp-",
		`\bemp-\d{6}\b`:                      "emp-",
		`(?P<secret>\d{4})-(KEY|key)-[a-z]+`: "-",
		`[0-9]+_internal_token=\w+`:          "_internal_token=",
		`(?i)secret=\w+`:                     "",
		`a|b`:                                "",
		`(abc)+x?`:                           "abc",
		`x*yz`:                               "yz",
		`\d{3}(-\d{4}){2}`:                   "-",
	} {
		c := newCustom(regexp.MustCompile(expr))
		if c.literal != want {
			t.Errorf("%s: literal %q; want %q", expr, c.literal, want)
		}
		for _, s := range []string{"", "emp-123456", "x 1234-KEY-abc y", "9_internal_token=abc", "abcabcx", "xxyz", "555-1234-5678", "-"} {
			if c.literal != "" && c.Pattern.MatchString(s) && !c.contains(s) {
				t.Errorf("%s matches %q, which does not contain %q", expr, s, c.literal)
			}
			if c.literal != "" && c.contains(s) != strings.Contains(s, c.literal) {
				t.Errorf("%s: contains(%q) = %v", expr, s, c.contains(s))
			}
		}
	}
}

// TestManyMatches goes past the matches kept on the stack.
func TestManyMatches(t *testing.T) {
	t.Parallel()
	r := all(t)
	in := strings.Repeat("kim@example.com password=x ", 40)
	want := strings.Repeat("[REDACTED:email] password=[REDACTED:password] ", 40)
	got, c := r.Redact(in)
	if got != want || c.Of("email") != 40 || c.Of("password") != 40 {
		t.Errorf("Redact = %q, %v", got, maps.Collect(c.All()))
	}
}

// TestConcurrent shares one Redactor between goroutines; run with -race.
func TestConcurrent(t *testing.T) {
	t.Parallel()
	r := all(t)
	msgs := append(readMessages(t, "testdata/clean.jsonl"), readMessages(t, "testdata/dirty.jsonl")...)
	want := make([]string, len(msgs))
	for i, m := range msgs {
		want[i], _ = r.Redact(m)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				for i, m := range msgs {
					if got, _ := r.Redact(m); got != want[i] {
						t.Errorf("concurrent Redact(%q) = %q; want %q", m, got, want[i])
						return
					}
				}
			}
		})
	}
	wg.Wait()
}
