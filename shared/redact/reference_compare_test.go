package redact

import (
	"bufio"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/tributary-logs/tributary/shared/config"
)

// The differential tests hold the fast scanners to the reference copy in
// reference_test.go: on the same message and the same rules, both must give
// the same output and the same counts. The messages are the fixtures, the
// fuzz corpus, the rule cases, the shared workload when TRIBUTARY_WORKLOAD is
// set, and all of those again with secrets and trigger bytes planted at
// random places, so that the paths that find something are compared too.

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

// referenceRedactors are the rule sets compared: all, all with a custom
// expression, none, and each built-in alone (a scanner may skip work for the
// rules that are off).
func referenceRedactors(t testing.TB) map[string]*Redactor {
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

// compareWithReference reports where r and the reference disagree on msg.
func compareWithReference(t *testing.T, name string, r *Redactor, msg string) bool {
	t.Helper()
	got, gc := r.Redact(msg)
	want, wc := refRedact(r, msg)
	if got != want || gc != wc {
		t.Errorf("%s: Redact(%q)\n got %q %v\nwant %q %v", name, msg, got, gc.n, want, wc.n)
		return false
	}
	return true
}

// referenceMessages gathers the fixed messages: fixtures, fuzz corpus and
// rule cases.
func referenceMessages(t *testing.T) []string {
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
	return msgs
}

// workloadLines reads the messages of the first lines of the shared workload,
// or returns nil when TRIBUTARY_WORKLOAD is not set.
func workloadLines(t *testing.T, lines int) []string {
	dir := os.Getenv("TRIBUTARY_WORKLOAD")
	if dir == "" {
		return nil
	}
	f, err := os.Open(filepath.Join(dir, "events-200.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 4<<20)
	for len(out) < lines && sc.Scan() {
		var ev struct {
			Message string `json:"message"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatal(err)
		}
		out = append(out, ev.Message)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestMatchesReference(t *testing.T) {
	t.Parallel()
	rs := referenceRedactors(t)
	msgs := referenceMessages(t)
	rng := rand.New(rand.NewPCG(1, 2))
	planted := make([]string, 0, 20*len(msgs))
	for range 20 {
		for _, m := range msgs {
			planted = append(planted, plantSecrets(rng, m))
		}
	}
	for name, r := range rs {
		for _, m := range append(msgs, planted...) {
			if !compareWithReference(t, name, r, m) {
				break // one message per rule set is enough to go on
			}
		}
	}
}

// TestMatchesReferenceWorkload compares on the first 50,000 messages of the
// shared workload, as they are and with secrets planted into one in four.
func TestMatchesReferenceWorkload(t *testing.T) {
	msgs := workloadLines(t, 50_000)
	if msgs == nil {
		t.Skip("TRIBUTARY_WORKLOAD is not set")
	}
	t.Parallel()
	rs := referenceRedactors(t)
	rng := rand.New(rand.NewPCG(3, 4))
	for i, m := range msgs {
		if i%4 == 0 {
			msgs = append(msgs, plantSecrets(rng, m))
		}
	}
	for name, r := range rs {
		if testing.Short() && name != "all" {
			continue
		}
		for _, m := range msgs {
			if !compareWithReference(t, name, r, m) {
				break
			}
		}
	}
}

// FuzzMatchesReference compares on any input, as it is and with a secret
// planted at a place the fuzzer picks.
func FuzzMatchesReference(f *testing.F) {
	for _, m := range readMessages(f, "testdata/clean.jsonl") {
		f.Add(m, uint8(0), uint16(len(m)/2))
	}
	for i, m := range readMessages(f, "testdata/dirty.jsonl") {
		f.Add(m, uint8(i), uint16(len(m)/3))
	}
	rs := referenceRedactors(f)
	f.Fuzz(func(t *testing.T, in string, which uint8, at uint16) {
		sec := secretsToPlant[int(which)%len(secretsToPlant)]
		p := int(at) % (len(in) + 1)
		for name, r := range rs {
			compareWithReference(t, name, r, in)
			compareWithReference(t, name, r, in[:p]+sec+in[p:])
		}
	})
}
