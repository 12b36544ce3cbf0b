package ingest

import (
	"strings"
	"testing"

	"github.com/tributary-logs/tributary/shared/config"
	"github.com/tributary-logs/tributary/shared/record"
)

func processor(t *testing.T, env map[string]string) *Processor {
	t.Helper()
	env["AWS_REGION"] = "us-east-1"
	cfg, err := config.LoadTransform(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(cfg.Normalize)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Redaction runs before parsing, so no secret reaches fields either.
func TestRedactionBeforeParsing(t *testing.T) {
	t.Parallel()
	p := processor(t, map[string]string{})
	rec := &record.Record{ID: "1", LogGroup: "/app", Message: `{"level":"warn","user":"kim@example.co.kr","password":"hunter2","key":"AKIAIOSFODNN7EXAMPLE"}`}
	if !p.Normalize(rec) {
		t.Fatal("dropped")
	}
	all := rec.Message + string(rec.Fields)
	for _, secret := range []string{"kim@example.co.kr", "hunter2", "AKIAIOSFODNN7EXAMPLE"} {
		if strings.Contains(all, secret) {
			t.Errorf("%q survived: message %s fields %s", secret, rec.Message, rec.Fields)
		}
	}
	if rec.Level != "WARN" || rec.SourceType != record.SourceJSON {
		t.Errorf("level %q source %q", rec.Level, rec.SourceType)
	}
	if st := p.TakeStats(); st.Redactions < 3 || st.EventsIn != 1 || st.EventsOut != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestFilters(t *testing.T) {
	t.Parallel()
	p := processor(t, map[string]string{
		"INCLUDE_LOG_GROUPS": "^/prod/", "EXCLUDE_LOG_GROUPS": "^/prod/noisy", "EXCLUDE_MESSAGES": "^GET /health", "REDACT": "none",
	})
	for group, want := range map[string]bool{"/prod/api": true, "/prod/noisy-batch": false, "/dev/api": false} {
		if got := p.KeepLogGroup(group); got != want {
			t.Errorf("KeepLogGroup(%q) = %v", group, got)
		}
	}
	if p.Normalize(&record.Record{Message: "GET /health 200"}) {
		t.Error("excluded message kept")
	}
	if !p.Normalize(&record.Record{Message: "mail bob@example.com"}) {
		t.Error("message dropped")
	}
	p.CountFiltered(3)
	if st := p.TakeStats(); st.EventsIn != 5 || st.Filtered != 4 || st.EventsOut != 1 || st.Redactions != 0 {
		t.Errorf("stats %+v (REDACT=none must redact nothing)", st)
	}
	if st := p.TakeStats(); st != (Stats{}) {
		t.Errorf("TakeStats must reset: %+v", st)
	}
}
