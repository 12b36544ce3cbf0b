package bulk

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tributary-logs/tributary/shared/record"
)

func TestPatternIndex(t *testing.T) {
	t.Parallel()
	ts := time.Date(2026, 11, 22, 4, 24, 48, 0, time.UTC).UnixMilli()
	tests := []struct {
		name, pattern, owner, group, want string
	}{
		{"daily default", "cwl-{yyyy.MM.dd}", "123456789012", "/aws/lambda/api", "cwl-2026.11.22"},
		{"hourly", "logs-{yyyy.MM.dd.HH}", "", "g", "logs-2026.11.22.04"},
		{"monthly with dash", "logs-{yyyy-MM}", "", "g", "logs-2026-11"},
		{"log group token", "cwl-{log_group}-{yyyy.MM.dd}", "", "/aws/lambda/My-Func", "cwl-aws-lambda-my-func-2026.11.22"},
		{"owner token", "{owner}-{yyyy.MM.dd}", "123456789012", "g", "123456789012-2026.11.22"},
		{"group of odd characters", "x-{log_group}", "", `API Gateway/Exec "Logs" #1:*?`, "x-api-gateway-exec-logs-1"},
		{"empty group", "x-{log_group}", "", "", "x-unknown"},
		{"upper-case literal", "CWL-{yyyy}", "", "g", "cwl-2026"},
		{"leading dash trimmed", "-_{log_group}", "", "/a", "a"},
		{"korean group kept out", "k-{log_group}", "", "/앱/서비스", "k-unknown"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := ParsePattern(tc.pattern)
			if err != nil {
				t.Fatal(err)
			}
			r := record.Record{TimestampMillis: ts, Owner: tc.owner, LogGroup: tc.group}
			if got := p.Index(&r); got != tc.want {
				t.Errorf("Index = %q, want %q", got, tc.want)
			}
			// Cached second call gives the same.
			if got := p.Index(&r); got != tc.want {
				t.Errorf("cached Index = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPatternCacheFollowsRecord(t *testing.T) {
	t.Parallel()
	p, err := ParsePattern("cwl-{log_group}-{yyyy.MM.dd}")
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 11, 22, 23, 59, 59, 999e6, time.UTC).UnixMilli()
	a := record.Record{TimestampMillis: day, LogGroup: "/a"}
	b := record.Record{TimestampMillis: day + 1, LogGroup: "/a"}
	c := record.Record{TimestampMillis: day + 1, LogGroup: "/b"}
	got := []string{p.Index(&a), p.Index(&b), p.Index(&c), p.Index(&a)}
	want := []string{"cwl-a-2026.11.22", "cwl-a-2026.11.23", "cwl-b-2026.11.23", "cwl-a-2026.11.22"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("call %d = %q, want %q", i, got[i], want[i])
		}
	}
}

func TestPatternLongNameTruncated(t *testing.T) {
	t.Parallel()
	p, _ := ParsePattern("{log_group}")
	r := record.Record{LogGroup: strings.Repeat("a", 400)}
	if got := p.Index(&r); len(got) != MaxIndexNameBytes {
		t.Errorf("len = %d, want %d", len(got), MaxIndexNameBytes)
	}
}

func TestParsePatternErrors(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "cwl-{yyyy.MM.dd", "cwl-{date}", "cwl-{}", "a}b", "{mm}"} {
		if _, err := ParsePattern(s); !errors.Is(err, ErrPattern) {
			t.Errorf("ParsePattern(%q) error = %v, want ErrPattern", s, err)
		}
	}
}

func TestTemplatePattern(t *testing.T) {
	t.Parallel()
	for pat, want := range map[string]string{
		"cwl-{yyyy.MM.dd}":             "cwl-*",
		"cwl-{log_group}-{yyyy.MM.dd}": "cwl-*",
		"Logs":                         "logs*",
	} {
		p, err := ParsePattern(pat)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.TemplatePattern(); got != want {
			t.Errorf("%s: TemplatePattern = %q, want %q", pat, got, want)
		}
	}
}

func FuzzPattern(f *testing.F) {
	f.Add("cwl-{yyyy.MM.dd}", "/aws/lambda/x", "123", int64(0))
	f.Add("{log_group}-{owner}", "A B C", "", int64(-1))
	f.Fuzz(func(t *testing.T, pat, group, owner string, ts int64) {
		p, err := ParsePattern(pat)
		if err != nil {
			return
		}
		r := record.Record{TimestampMillis: ts, LogGroup: group, Owner: owner}
		name := p.Index(&r)
		if name == "" || len(name) > MaxIndexNameBytes || name != strings.ToLower(name) ||
			strings.ContainsAny(name, "\\/*?\"<>| ,#:") || strings.ContainsAny(name[:1], "-_+.") {
			t.Fatalf("pattern %q group %q: invalid index name %q", pat, group, name)
		}
	})
}
