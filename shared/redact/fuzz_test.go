package redact

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// planted are secrets the fuzz target plants into random text, each on a line
// of its own: whatever surrounds it, it must not survive.
var planted = []string{
	"AKIAIOSFODNN7EXAMPLE",
	`{"SecretAccessKey":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}`,
	"Authorization: Bearer mF_9.B5f-4.1JqM",
	"Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==",
	"bearer 9f8e7d6c5b4a39281706",
	"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
	"password=Hunter2x9",
	`{"client_secret":"Hunter2x9"}`,
	`\"api_key\":\"Hunter2x9\"`,
	"postgres://app:Hunter2x9@db.internal:5432/orders",
	"jane.doe+shop@example.co.kr",
	"4111111111111111",
	"4111 1111 1111 1111",
	"3782-822463-10005",
	"900101-1234567",
	"8001011000008",
}

// FuzzRedact checks, for any input: no panic; valid UTF-8 stays valid;
// redacting the output again changes nothing; counts agree with what changed;
// and a secret planted on its own line never survives.
func FuzzRedact(f *testing.F) {
	for _, m := range readMessages(f, "testdata/clean.jsonl") {
		f.Add(m, uint8(0), uint16(len(m)/2))
	}
	for i, m := range readMessages(f, "testdata/dirty.jsonl") {
		f.Add(m, uint8(i), uint16(len(m)/3))
	}
	for i, c := range ruleCases["password"] {
		f.Add(c.in, uint8(len(i)), uint16(0))
	}
	r := all(f)
	alone := make([]string, len(planted))
	for i, p := range planted {
		alone[i], _ = r.Redact(p)
		if alone[i] == p || strings.Contains(alone[i], "Hunter2x9") {
			f.Fatalf("planted secret %q is not redacted on its own: %q", p, alone[i])
		}
	}
	f.Fuzz(func(t *testing.T, in string, which uint8, at uint16) {
		out, c := r.Redact(in)
		if utf8.ValidString(in) && !utf8.ValidString(out) {
			t.Errorf("invalid UTF-8 out of valid input %q: %q", in, out)
		}
		if (out != in) != (c.Total() > 0) {
			t.Errorf("Redact(%q) = %q with %d counted", in, out, c.Total())
		}
		if again, c2 := r.Redact(out); again != out || c2.Total() != 0 {
			t.Errorf("not idempotent:\n in %q\nout %q\nagain %q", in, out, again)
		}

		k := int(which) % len(planted)
		p := int(at) % (len(in) + 1)
		in2 := in[:p] + "\n" + planted[k] + "\n" + in[p:]
		out2, _ := r.Redact(in2)
		if !strings.Contains(out2, "\n"+alone[k]+"\n") {
			t.Errorf("planted %q survives in %q:\n%q", planted[k], in2, out2)
		}
	})
}
