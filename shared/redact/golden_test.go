package redact

import (
	"bufio"
	"encoding/json"
	"flag"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tributary-logs/tributary/shared/config"
)

// The golden file holds what every rule set made of 960 messages
// when the scanners were rewritten for speed, checked then against the
// previous implementation: the fixtures, the fuzz corpus and the rule cases,
// and each of those again with secrets and trigger bytes planted at random
// places, so the paths that find something are held too. Any change of
// output shows as a diff to review; `go test ./shared/redact -run GoldenOutputs
// -update-golden` rewrites the file after an intended one.

var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/golden.jsonl from the current scanners")

const goldenPath = "testdata/golden.jsonl"

// goldenLine is one message and, for each rule set whose output differs
// from the message or counts something, that output.
type goldenLine struct {
	In  string                    `json:"in"`
	Out map[string]goldenRedacted `json:"out,omitempty"`
}

type goldenRedacted struct {
	Text   string         `json:"text"`
	Counts map[string]int `json:"counts,omitempty"`
}

// secretsToPlant are inserted into messages at random byte offsets, without
// separating lines: whatever is next to them decides whether they match.
var secretsToPlant = append([]string{
	"kim@example.com", " kim@example.com ", "a.b@c.co", "git@github.com:org/repo.git",
	"AKIAIOSFODNN7EXAMPLE", " ASIAIOSFODNN7EXAMPLE ", "AKIAIOSFODNN7EXAMPL",
	"password=hunter2", " password: \"hunter2\"", `\"apiKey\":\"x1\"`, "token=", "pass",
	"secret_key: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY ", "aws_secret_access_key=",
	"Authorization: Bearer abc", "authorization=[basic QWxh==", " Bearer abcdefgh12345678 ", "bearer",
	"eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.c2ln", "eyJ", ".eyJ",
	"4111 1111 1111 1111", "4111-1111-1111-1111", "4111111111111111", " 378282246310005 ", "4111 111",
	"900101-1234567", "8001011000008", " 1763596800008 ", "1234567890123",
	"span_id=4111111111111111", `"requestId": 4111111111111111`,
	"https://u:p@h.io/x", `https:\/\/u:p@h`, "@", "://", ":", "=", "-", " ", "\"", "\\", "\n",
}, planted...)

// mutationBytes are what random single-byte edits write: the bytes that the
// scanners key on or stop at.
const mutationBytes = "0123456789 -_:=@.\"'\\/+AKISbBeEyYJjrdsntkoz[]{}\n\t"

// plantSecrets returns msg with a few secrets and byte edits at random places.
func plantSecrets(rng *rand.Rand, msg string) string {
	b := []byte(msg)
	for range 1 + rng.IntN(3) {
		p := rng.IntN(len(b) + 1)
		sec := secretsToPlant[rng.IntN(len(secretsToPlant))]
		b = append(b[:p:p], append([]byte(sec), b[p:]...)...)
	}
	for range rng.IntN(4) {
		if len(b) > 0 {
			b[rng.IntN(len(b))] = mutationBytes[rng.IntN(len(mutationBytes))]
		}
	}
	return string(b)
}

// goldenRedactors are the rule sets held: all, all with a custom expression,
// none, and each built-in alone (a scanner may skip work for rules that are
// off).
func goldenRedactors(t testing.TB) map[string]*Redactor {
	rs := map[string]*Redactor{"all": all(t)}
	custom, err := New(config.RedactRules, []*regexp.Regexp{regexp.MustCompile(`emp-\d{6}`)})
	if err != nil {
		t.Fatal(err)
	}
	rs["all+custom"] = custom
	for _, name := range append([]string{""}, config.RedactRules...) {
		var rules []string
		if name != "" {
			rules = []string{name}
		}
		r, err := New(rules, nil)
		if err != nil {
			t.Fatal(err)
		}
		rs["only "+name] = r
	}
	return rs
}

// goldenMessages are the fixtures, the rule cases and the fuzz corpus, then
// two planted variants of each.
func goldenMessages(t *testing.T) []string {
	msgs := append(readMessages(t, "testdata/clean.jsonl"), readMessages(t, "testdata/dirty.jsonl")...)
	msgs = append(msgs, planted...)
	for _, cases := range ruleCases {
		for _, c := range cases {
			msgs = append(msgs, c.in, c.want)
		}
	}
	corpus, err := filepath.Glob("testdata/fuzz/FuzzRedact/*")
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range corpus {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "string("); ok {
				s, err := strconv.Unquote(strings.TrimSuffix(v, ")"))
				if err != nil {
					t.Fatalf("%s: %v", path, err)
				}
				msgs = append(msgs, s)
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	fixed := len(msgs)
	for range 2 {
		for _, m := range msgs[:fixed] {
			msgs = append(msgs, plantSecrets(rng, m))
		}
	}
	return msgs
}

func redactedBy(rs map[string]*Redactor, msg string) goldenLine {
	line := goldenLine{In: msg}
	for _, name := range slices.Sorted(maps.Keys(rs)) {
		out, c := rs[name].Redact(msg)
		if out == msg && c.Total() == 0 {
			continue
		}
		if line.Out == nil {
			line.Out = map[string]goldenRedacted{}
		}
		line.Out[name] = goldenRedacted{Text: out, Counts: maps.Collect(c.All())}
	}
	return line
}

func TestGoldenOutputs(t *testing.T) {
	rs := goldenRedactors(t)
	if *updateGolden {
		f, err := os.Create(goldenPath)
		if err != nil {
			t.Fatal(err)
		}
		enc := json.NewEncoder(f)
		enc.SetEscapeHTML(false)
		for _, m := range goldenMessages(t) {
			if err := enc.Encode(redactedBy(rs, m)); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(goldenPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	n, failures := 0, 0
	for sc.Scan() {
		n++
		var want goldenLine
		if err := json.Unmarshal(sc.Bytes(), &want); err != nil {
			t.Fatalf("%s:%d: %v", goldenPath, n, err)
		}
		got := redactedBy(rs, want.In)
		for _, name := range slices.Sorted(maps.Keys(rs)) {
			g, w := got.Out[name], want.Out[name]
			if g.Text != w.Text || !maps.Equal(g.Counts, w.Counts) {
				failures++
				t.Errorf("%s:%d, rules %q: Redact(%q)\n got %q %v\nwant %q %v", goldenPath, n, name, want.In, g.Text, g.Counts, w.Text, w.Counts)
			}
		}
		if failures > 20 {
			t.Fatal("too many differences")
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 900 {
		t.Fatalf("%s holds %d messages: regenerate it", goldenPath, n)
	}
}
