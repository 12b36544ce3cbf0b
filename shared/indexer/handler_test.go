package indexer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tributary-logs/tributary/shared/bulktest"
	"github.com/tributary-logs/tributary/shared/cwlogs"
	"github.com/tributary-logs/tributary/shared/record"
)

const dayIndex = "cwl-2025.11.22" // the fixture's events are from 2025-11-22

func TestSubscriptionIndexedOnceNormalizedAndRedacted(t *testing.T) {
	t.Parallel()
	r := newRig(t, true, nil)
	ev := awslogsEvent(t, fixture(t, "subscription.json"))
	sum := r.invoke(t, ev)
	want := Summary{Kind: KindSubscription, Events: 6, Indexed: 6, Requests: 1}
	if sum.Kind != want.Kind || sum.Events != 6 || sum.Indexed != 6 || sum.DeadLettered != 0 || sum.Requests != 1 {
		t.Fatalf("summary = %+v, want %+v", sum, want)
	}
	docs := r.srv.Docs(dayIndex)
	if len(docs) != 6 {
		t.Fatalf("index %s has %d docs (indices %v)", dayIndex, len(docs), r.srv.Indices())
	}
	var doc map[string]any
	if err := json.Unmarshal(docs["38615093584093839562438217009815419917138437462736896003"], &doc); err != nil {
		t.Fatal(err)
	}
	if msg, _ := doc["message"].(string); strings.Contains(msg, "AKIAIOSFODNN7EXAMPLE") {
		t.Errorf("access key reached OpenSearch: %q", msg)
	}
	if err := json.Unmarshal(docs["38615093584093839562438217009815419917138437462736896002"], &doc); err != nil {
		t.Fatal(err)
	}
	if doc["level"] != "WARN" || doc["source_type"] != record.SourceJSON || doc["log_group"] != "/aws/lambda/checkout-api" || doc["owner"] != "123456789012" {
		t.Errorf("normalized doc = %v", doc)
	}
	if _, ok := r.srv.Template("tributary-logs"); !ok {
		t.Error("index template not installed before the first documents")
	}

	// A second delivery of the same payload adds nothing.
	sum = r.invoke(t, ev)
	if sum.Indexed != 0 || sum.AlreadyPresent != 6 || r.srv.Count() != 6 {
		t.Fatalf("re-delivery: %+v, %d docs", sum, r.srv.Count())
	}
}

// The indexer must store exactly what transform writes to S3 for the same
// event: one normalizing path.
func TestDocumentsMatchTransformRecords(t *testing.T) {
	t.Parallel()
	r := newRig(t, true, nil)
	r.invoke(t, awslogsEvent(t, fixture(t, "subscription.json")))
	// Normalize the same payload as transform does and compare.
	h2 := newRig(t, true, nil).h
	env, err := cwlogs.NewDecoder(cwlogs.Limits{}).Parse(fixture(t, "subscription.json"))
	if err != nil {
		t.Fatal(err)
	}
	docs := r.srv.Docs(dayIndex)
	for i := range env.LogEvents {
		e := &env.LogEvents[i]
		rec := record.Record{TimestampMillis: e.Timestamp, ID: e.ID, Owner: env.Owner, LogGroup: env.LogGroup, LogStream: env.LogStream, Message: e.Message}
		if !h2.proc.Normalize(&rec) {
			t.Fatalf("event %d filtered", i)
		}
		if got, want := string(docs[e.ID]), string(rec.AppendJSON(nil)); got != want {
			t.Errorf("event %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

func TestFiltersApplyAsInTransform(t *testing.T) {
	t.Parallel()
	r := newRig(t, true, map[string]string{"EXCLUDE_MESSAGES": "^healthcheck", "EXCLUDE_LOG_GROUPS": "^/aws/lambda/noisy"})
	sum := r.invoke(t, awslogsEvent(t, fixture(t, "subscription.json")))
	if sum.Events != 6 || sum.Filtered != 1 || sum.Indexed != 5 {
		t.Errorf("summary = %+v", sum)
	}
	noisy := bytes.Replace(fixture(t, "subscription.json"), []byte("/aws/lambda/checkout-api"), []byte("/aws/lambda/noisy-cron"), 1)
	sum = r.invoke(t, awslogsEvent(t, noisy))
	if sum.Events != 6 || sum.Filtered != 6 || sum.Indexed != 0 || sum.Requests != 0 {
		t.Errorf("excluded group: %+v", sum)
	}
}

func TestControlMessageSendsNothing(t *testing.T) {
	t.Parallel()
	r := newRig(t, true, nil)
	sum := r.invoke(t, awslogsEvent(t, fixture(t, "control.json")))
	if sum.Events != 0 || sum.Requests != 0 || len(r.srv.Requests()) != 0 {
		t.Errorf("summary %+v, %d requests", sum, len(r.srv.Requests()))
	}
}

// deadLetters returns the parsed lines of every dead-letter object.
func deadLetters(t *testing.T, m *memS3) []map[string]any {
	t.Helper()
	var out []map[string]any
	for key, body := range m.get("dlq-bucket", "dlq/") {
		if !strings.HasSuffix(key, ".ndjson") {
			t.Errorf("dead-letter key %q", key)
		}
		for _, line := range strings.Split(strings.TrimSuffix(string(body), "\n"), "\n") {
			var v map[string]any
			if err := json.Unmarshal([]byte(line), &v); err != nil {
				t.Fatalf("dead-letter line %q: %v", line, err)
			}
			out = append(out, v)
		}
	}
	return out
}

func TestMappingConflictDeadLetteredThenReplayed(t *testing.T) {
	t.Parallel()
	r := newRig(t, true, nil)
	// An index whose fields.status is a long (an old template, or a cluster
	// without flat_object): one event's status is text.
	req, _ := json.Marshal(map[string]any{"mappings": map[string]any{"properties": map[string]any{
		"fields": map[string]any{"properties": map[string]any{"status": map[string]any{"type": "long"}}}}}})
	putIndex(t, r.srv.URL, dayIndex, req)
	payload := bytes.Replace(fixture(t, "subscription.json"), []byte(`\"status\":402`), []byte(`\"status\":\"declined\"`), 1)
	sum := r.invoke(t, awslogsEvent(t, payload))
	if sum.Indexed != 5 || sum.DeadLettered != 1 || len(sum.DeadLetterKeys) != 1 {
		t.Fatalf("summary = %+v", sum)
	}
	dl := deadLetters(t, r.s3)
	if len(dl) != 1 {
		t.Fatalf("%d dead letters", len(dl))
	}
	d := dl[0]
	errObj, _ := d["error"].(map[string]any)
	rec, _ := d["record"].(map[string]any)
	if d["status"] != float64(400) || errObj["type"] != "mapper_parsing_exception" || !strings.Contains(errObj["reason"].(string), "fields.status") ||
		d["attempts"] != float64(1) || d["index"] != dayIndex || d["source"] != "awslogs" ||
		rec["id"] != "38615093584093839562438217009815419917138437462736896001" || rec["message"] == nil {
		t.Fatalf("dead letter = %v", d)
	}

	// Fix the cluster (drop the bad index), then replay the dead-letter
	// object by direct invocation: the rejected event is indexed, and the
	// five others, indexed before, would only be 409s.
	deleteIndex(t, r.srv.URL, dayIndex)
	replay := fmt.Sprintf(`{"objects":[{"bucket":"dlq-bucket","key":%q}]}`, sum.DeadLetterKeys[0])
	sum = r.invoke(t, []byte(replay))
	if sum.Kind != KindReplay || sum.Events != 1 || sum.Indexed != 1 || sum.Objects != 1 || sum.DeadLettered != 0 {
		t.Fatalf("replay summary = %+v", sum)
	}
	got := r.srv.Docs(dayIndex)["38615093584093839562438217009815419917138437462736896001"]
	var doc map[string]any
	if err := json.Unmarshal(got, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(doc["message"].(string), "payment declined") {
		t.Errorf("replayed doc = %s", got)
	}
}

func TestRetryableLeftAtDeadline(t *testing.T) {
	t.Parallel()
	t.Run("dead-lettered with a target", func(t *testing.T) {
		t.Parallel()
		r := newRig(t, true, nil)
		r.srv.SetFaults(bulktest.Faults{FailRequests: 1 << 30})
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		sum, err := r.h.Process(ctx, awslogsEvent(t, fixture(t, "subscription.json")))
		if err != nil || sum.DeadLettered != 6 || sum.Retried == 0 {
			t.Fatalf("summary %+v, err %v", sum, err)
		}
		d := deadLetters(t, r.s3)[0]
		e := d["error"].(map[string]any)
		// The last answer was a 503, or, on a loaded machine, no answer
		// before the deadline.
		lastOK := d["status"] == float64(503) || e["type"] == "connection_error"
		if !lastOK || !strings.Contains(e["reason"].(string), "deadline") || d["attempts"].(float64) < 2 {
			t.Errorf("dead letter = %v", d)
		}
	})
	t.Run("invocation fails without one", func(t *testing.T) {
		t.Parallel()
		r := newRig(t, false, nil)
		r.srv.SetFaults(bulktest.Faults{ThrottleRequests: 1 << 30})
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := r.h.Process(ctx, awslogsEvent(t, fixture(t, "subscription.json")))
		if !errors.Is(err, ErrUnindexed) || !strings.Contains(err.Error(), "6 documents") {
			t.Fatalf("err = %v", err)
		}
		// Lambda retries; the cluster recovered: everything lands once. The
		// first invocation's last request may still be in the server when
		// the faults are lifted and store the documents itself; the retry
		// then finds them there (409), which is as good: once, either way.
		r.srv.SetFaults(bulktest.Faults{})
		sum := r.invoke(t, awslogsEvent(t, fixture(t, "subscription.json")))
		if sum.Indexed+sum.AlreadyPresent != 6 || r.srv.Count() != 6 {
			t.Errorf("retry: %+v, %d stored", sum, r.srv.Count())
		}
	})
}

func TestDeadLetterWriteFailureFailsInvocation(t *testing.T) {
	t.Parallel()
	r := newRig(t, true, nil)
	r.s3.putErr = errors.New("AccessDenied")
	req, _ := json.Marshal(map[string]any{"mappings": map[string]any{"properties": map[string]any{"level": map[string]any{"type": "long"}}}})
	putIndex(t, r.srv.URL, dayIndex, req)
	_, err := r.h.Process(context.Background(), awslogsEvent(t, fixture(t, "subscription.json")))
	if err == nil || !strings.Contains(err.Error(), "AccessDenied") || !strings.Contains(err.Error(), "dead-letter") {
		t.Fatalf("err = %v", err)
	}
}

func TestPermanentFailureWithoutTargetIsCountedNotRetried(t *testing.T) {
	t.Parallel()
	r := newRig(t, false, nil)
	req, _ := json.Marshal(map[string]any{"mappings": map[string]any{"properties": map[string]any{"level": map[string]any{"type": "long"}}}})
	putIndex(t, r.srv.URL, dayIndex, req)
	sum, err := r.h.Process(context.Background(), awslogsEvent(t, fixture(t, "subscription.json")))
	if err != nil || sum.Rejected == 0 || sum.Rejected+sum.Indexed != 6 || sum.DeadLettered != 0 {
		t.Fatalf("summary %+v, err %v", sum, err)
	}
}

func TestUndecodablePayloadDeadLettered(t *testing.T) {
	t.Parallel()
	r := newRig(t, true, nil)
	sum := r.invoke(t, []byte(`{"awslogs":{"data":"H4sIAAAAAAAA/wMAAAAAAAAAAAA="}}`))
	dl := deadLetters(t, r.s3)
	if sum.DeadLettered != 1 || len(dl) != 1 || dl[0]["payload"] != "H4sIAAAAAAAA/wMAAAAAAAAAAAA=" || dl[0]["error"].(map[string]any)["type"] != "decode_error" {
		t.Fatalf("summary %+v, dead letters %v", sum, dl)
	}
	r2 := newRig(t, false, nil)
	if _, err := r2.h.Process(context.Background(), []byte(`{"awslogs":{"data":"not base64!"}}`)); err == nil {
		t.Error("undecodable payload without a dead-letter target did not fail")
	}
}

func TestS3ReplayOfRawHistory(t *testing.T) {
	t.Parallel()
	r := newRig(t, true, nil)
	// Firehose's raw/ objects: transform's NDJSON, gzip'd. The same records
	// a subscription delivered are already there: replay only adds the new.
	r.invoke(t, awslogsEvent(t, fixture(t, "subscription.json")))
	var ndjson []byte
	for _, id := range []string{"38615093584093839562438217009815419917138437462736896000", "38615093584093839562438217009815419917138437462736896004"} {
		ndjson = append(ndjson, r.srv.Docs(dayIndex)[id]...)
		ndjson = append(ndjson, '\n')
	}
	ndjson = append(ndjson, `{"@timestamp":"2025-11-22T05:00:00.000Z","id":"n1","owner":"1","log_group":"/g","log_stream":"s","message":"new","source_type":"text","fields":{"k":"v"}}`+"\n"...)
	ndjson = append(ndjson, "this is not a record\n"...)
	// The notification URL-encodes the key: '+' is a space.
	r.s3.put("tributary-logs", "raw/2026/11/22/04/tributary-1-2026-11-22-04-24-48 abc.gz", gz(t, ndjson))
	sum := r.invoke(t, fixture(t, "s3-put.json"))
	if sum.Kind != KindS3 || sum.Events != 4 || sum.AlreadyPresent != 2 || sum.Indexed != 1 || sum.DeadLettered != 1 {
		t.Fatalf("summary = %+v", sum)
	}
	var doc map[string]any
	_ = json.Unmarshal(r.srv.Docs(dayIndex)["n1"], &doc)
	// The handler's record was last filled from the subscription payload:
	// nothing of it (its pre-encoded source) may leak into a replayed one.
	if doc["message"] != "new" || doc["fields"].(map[string]any)["k"] != "v" ||
		doc["owner"] != "1" || doc["log_group"] != "/g" || doc["log_stream"] != "s" {
		t.Errorf("replayed doc = %v", doc)
	}
	bad := deadLetters(t, r.s3)[0]
	if bad["line"] != "this is not a record" || bad["error"].(map[string]any)["type"] != "invalid_record" {
		t.Errorf("dead letter = %v", bad)
	}
}

func TestSetupFailureFailsAndIsRetried(t *testing.T) {
	t.Parallel()
	r := newRig(t, true, nil)
	calls := 0
	real := r.h.o.Setup
	r.h.o.Setup = func(ctx context.Context) error {
		calls++
		if calls == 1 {
			return errors.New("403 security_exception")
		}
		return real(ctx)
	}
	ev := awslogsEvent(t, fixture(t, "subscription.json"))
	if _, err := r.h.Process(context.Background(), ev); err == nil || !strings.Contains(err.Error(), "set-up") {
		t.Fatalf("err = %v", err)
	}
	r.invoke(t, ev)
	r.invoke(t, ev)
	if calls != 2 {
		t.Errorf("setup ran %d times, want 2", calls)
	}
}

func TestParseEvent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		event   string
		kind    string
		objects []ObjectRef
		err     string
	}{
		{"s3", string(fixture(t, "s3-put.json")), KindS3, []ObjectRef{{"tributary-logs", "raw/2026/11/22/04/tributary-1-2026-11-22-04-24-48 abc.gz"}}, ""},
		{"sqs wrapping s3", string(fixture(t, "sqs-s3.json")), KindS3, []ObjectRef{{"tributary-logs", "dlq/2026/11/22/04/a b.ndjson"}}, ""},
		{"direct", `{"objects":[{"bucket":"b","key":"dlq/x.ndjson"}]}`, KindReplay, []ObjectRef{{"b", "dlq/x.ndjson"}}, ""},
		{"s3 delete ignored", `{"Records":[{"eventSource":"aws:s3","eventName":"ObjectRemoved:Delete","s3":{"bucket":{"name":"b"},"object":{"key":"k"}}}]}`, KindS3, nil, ""},
		{"direct without key", `{"objects":[{"bucket":"b"}]}`, "", nil, "needs bucket and key"},
		{"awslogs without data", `{"awslogs":{}}`, "", nil, "lacks data"},
		{"kinesis", `{"Records":[{"eventSource":"aws:kinesis"}]}`, "", nil, "not aws:s3"},
		{"unknown", `{"hello":"world"}`, "", nil, "unrecognised event"},
		{"not json", `{`, "", nil, "unrecognised event"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var h Handler
			ev, err := parseEvent(&h.parser, []byte(tc.event))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ev.kind != tc.kind || fmt.Sprint(ev.objects) != fmt.Sprint(tc.objects) {
				t.Errorf("got %s %v, want %s %v", ev.kind, ev.objects, tc.kind, tc.objects)
			}
		})
	}
}

func FuzzParseEvent(f *testing.F) {
	f.Add([]byte(`{"awslogs":{"data":"H4sI"}}`))
	f.Add([]byte(`{"objects":[{"bucket":"b","key":"k"}]}`))
	f.Add([]byte(`{"Records":[{"eventSource":"aws:sqs","body":"{\"Records\":[]}"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var h Handler
		ev, err := parseEvent(&h.parser, b)
		if err == nil && ev.kind == "" {
			t.Fatal("no kind and no error")
		}
	})
}

// FuzzReplayLine feeds arbitrary stored lines to the replay path: each
// becomes a record or a dead letter, never a panic or a silent drop.
func FuzzReplayLine(f *testing.F) {
	f.Add([]byte(`{"@timestamp":"2025-11-22T05:00:00.000Z","id":"n1","log_group":"/g","message":"m","fields":{"a":1}}`))
	f.Add([]byte(`{"failed_at":"x","record":{"@timestamp":1,"message":"m"}}`))
	f.Add([]byte(`{"line":"{\"@timestamp\":\"2025-11-22T05:00:00Z\",\"message\":\"m\"}"}`))
	f.Add([]byte(`{"payload":"H4sI"}`))
	r := newRig(f, true, nil)
	f.Fuzz(func(t *testing.T, line []byte) {
		h := r.h
		h.inv = invocation{ctx: context.Background(), source: "fuzz"}
		h.batch.Reset()
		h.replayLine(line)
		if h.batch.Len()+h.inv.sum.DeadLettered == 0 && h.inv.sum.Events >= 0 && !bytes.Contains(line, []byte(`"payload"`)) {
			t.Fatalf("line %q neither indexed nor dead-lettered", line)
		}
	})
}
