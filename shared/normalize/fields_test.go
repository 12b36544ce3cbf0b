package normalize

import (
	"bytes"
	"strings"
	"testing"

	"github.com/tributary-logs/tributary/shared/record"
)

// TestIsPlain checks the word-at-a-time escape test against the plain
// definition for every length up to 24 and every position of a byte that
// needs escaping.
func TestIsPlain(t *testing.T) {
	t.Parallel()
	slow := func(s string) bool {
		for i := 0; i < len(s); i++ {
			if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
				return false
			}
		}
		return true
	}
	special := []byte{0x00, 0x09, 0x1f, '"', '\\', 0x80, 0xc3, 0xff}
	ordinary := []byte{' ', '!', '#', 'a', '[', ']', '~', 0x7f}
	for n := 0; n <= 24; n++ {
		for _, o := range ordinary {
			s := strings.Repeat(string(o), n)
			if isPlain(s) != slow(s) {
				t.Fatalf("isPlain(%q) = %v", s, isPlain(s))
			}
			for i := 0; i < n; i++ {
				for _, c := range special {
					b := []byte(s)
					b[i] = c
					if got := isPlain(string(b)); got != slow(string(b)) {
						t.Fatalf("isPlain(%q) = %v", b, got)
					}
				}
			}
		}
	}
}

func TestValidNumber(t *testing.T) {
	t.Parallel()
	tests := map[string]bool{
		"0": true, "-0": true, "12": true, "1.5": true, "-1.5e+10": true, "1E3": true, "0.000": true,
		"": false, "-": false, "01": false, "1.": false, ".5": false, "+1": false, "1e": false,
		"1e+": false, "NaN": false, "Inf": false, "1.2.3": false, "0x10": false, "1_000": false,
	}
	for in, want := range tests {
		if got := validNumber(in); got != want {
			t.Errorf("validNumber(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestTruncateUTF8(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		in   string
		n    int
		want string
	}{
		"short":             {"abc", 8, "abc"},
		"ascii":             {"abcdef", 4, "abcd"},
		"before 3-byte":     {"ab가", 3, "ab"},
		"inside 3-byte":     {"ab가나", 4, "ab"},
		"after rune":        {"가나", 3, "가"},
		"emoji":             {"a😀b", 3, "a"},
		"invalid bytes cut": {"\xff\xff\xff\xff", 2, "\xff\xff"},
	}
	for name, tc := range tests {
		if got := truncateUTF8(tc.in, tc.n); got != tc.want {
			t.Errorf("%s: truncateUTF8(%q, %d) = %q, want %q", name, tc.in, tc.n, got, tc.want)
		}
	}
}

// FuzzAppendString: the fast path must write exactly what
// record.AppendString writes.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "tab\there", `q"uote`, "가나다", "\xff", "a\u2028b", strings.Repeat("x", 17)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := appendString(nil, s), record.AppendString(nil, s); !bytes.Equal(got, want) {
			t.Errorf("appendString(%q) = %s, record.AppendString = %s", s, got, want)
		}
	})
}
