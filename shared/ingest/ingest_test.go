package ingest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/tributary-logs/tributary/shared/config"
	"github.com/tributary-logs/tributary/shared/cwlogs"
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

// Envelope runs its stages over the whole payload in turn (filters and
// redaction for every event, then parsing); what it emits, and the counts,
// must be what normalizing each event on its own gives, in the payload's
// order or grouped by how the messages begin.
func TestEnvelopeMatchesEventByEvent(t *testing.T) {
	t.Parallel()
	settings := map[string]string{"EXCLUDE_MESSAGES": "^GET /health"}
	msgs := []string{
		`{"level":"error","msg":"login","password":"hunter2","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}`,
		"GET /health 200",
		"",
		`2 123456789012 eni-0a1b2c3d 10.0.0.1 10.0.0.2 443 49152 6 10 840 1620000000 1620000060 ACCEPT OK`,
		"Authorization: Bearer abc.def-ghi and mail kim@example.co.kr",
		"GET /health 503",
		`{"eventVersion":"1.09","eventSource":"iam.amazonaws.com","eventName":"CreateUser"}`,
		"card 4111 1111 1111 1111 paid",
		`2 123456789012 eni-0a1b2c3d 10.0.0.3 10.0.0.4 22 49153 6 1 40 1620000000 1620000060 REJECT OK`,
		"plain text line",
		`{"level":"info","msg":"second"}`,
		"GET /index.html 200",
		"ok",
	}
	env := &cwlogs.Envelope{MessageType: cwlogs.DataMessage, Owner: "123456789012", LogGroup: "/app", LogStream: "s"}
	for i, m := range msgs {
		raw := []byte(strings.ReplaceAll(m, `"`, `\"`))
		env.LogEvents = append(env.LogEvents, cwlogs.LogEvent{ID: fmt.Sprint(i), Timestamp: int64(1000 + i), Message: m, RawMessage: raw, RawOK: true})
	}

	one := processor(t, settings)
	var want []string
	for i, e := range env.LogEvents {
		r := record.Record{ID: e.ID, TimestampMillis: e.Timestamp, Owner: env.Owner, LogGroup: env.LogGroup, LogStream: env.LogStream, Message: e.Message}
		if one.Normalize(&r) {
			want = append(want, fmt.Sprintf("%d %s", i, r.AppendJSON(nil)))
		}
	}
	wantStats := one.TakeStats()

	for _, order := range []Order{PayloadOrder, GroupedOrder} {
		p := processor(t, settings)
		var got []string
		var seq []int
		var rec record.Record
		p.Envelope(env, &rec, order, func(i int) {
			if changed := rec.Message != env.LogEvents[i].Message; changed == (rec.MessageJSON != nil) {
				t.Errorf("order %d, event %d: message changed %v, raw form kept %v", order, i, changed, rec.MessageJSON != nil)
			}
			got = append(got, fmt.Sprintf("%d %s", i, rec.AppendJSON(nil)))
			seq = append(seq, i)
		})
		gotStats := p.TakeStats()
		if order == GroupedOrder {
			// The same records, each once; each group whole and in payload
			// order; and not simply the payload's order.
			groups := map[int]int{} // startKey -> last index seen
			for n, i := range seq {
				k := startKey(msgs[i])
				last, seen := groups[k]
				if seen && (last > i || startKey(msgs[seq[n-1]]) != k) {
					t.Errorf("grouped order %v: event %d (%q) is out of its group", seq, i, msgs[i])
				}
				groups[k] = i
			}
			if slices.IsSorted(seq) {
				t.Errorf("grouped order %v is the payload's order", seq)
			}
			slices.SortFunc(got, func(a, b string) int {
				var x, y int
				fmt.Sscan(a, &x)
				fmt.Sscan(b, &y)
				return x - y
			})
		}
		if !slices.Equal(got, want) {
			t.Errorf("order %d: Envelope emitted\n%s\nevent by event\n%s", order, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if gotStats != wantStats || gotStats.Filtered != 2 || gotStats.Redactions < 4 {
			t.Errorf("order %d: stats %+v, event by event %+v", order, gotStats, wantStats)
		}
	}
}
