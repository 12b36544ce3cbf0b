package lake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tributary-logs/tributary/shared/emf"
)

// fakeService records what the handler asks for; keys containing "fail"
// fail to convert.
type fakeService struct {
	converted []ObjectRef
	compacts  int
	lag       float64
}

func (f *fakeService) ConvertObject(_ context.Context, ref ObjectRef) (ObjectResult, error) {
	f.converted = append(f.converted, ref)
	if strings.Contains(ref.Key, "fail") {
		return ObjectResult{}, errors.New("boom")
	}
	f.lag = 12
	return ObjectResult{Bucket: ref.Bucket, Key: ref.Key, Status: StatusConverted, Rows: 3}, nil
}

func (f *fakeService) Compact(context.Context) (CompactReport, error) {
	f.compacts++
	return CompactReport{Partitions: 47}, nil
}

func (f *fakeService) Layout() Layout { return Layout{RawPrefix: "raw/"} }

func (f *fakeService) takeLag() (float64, bool) {
	lag := f.lag
	f.lag = 0
	return lag, lag > 0
}

func newTestHandler() (*Handler, *fakeService, *bytes.Buffer) {
	f := &fakeService{}
	var metrics bytes.Buffer
	return &Handler{svc: f, log: quietLog(), metrics: emf.New("lake"), out: &metrics}, f, &metrics
}

func readEvent(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "events", "lake", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHandlerRoutes(t *testing.T) {
	t.Parallel()
	s3Event := func(keys ...string) string {
		var ev events.S3Event
		for _, k := range keys {
			r := events.S3EventRecord{EventSource: "aws:s3", EventName: "ObjectCreated:Put"}
			r.S3.Bucket.Name = "raw-bucket"
			r.S3.Object.Key = k
			ev.Records = append(ev.Records, r)
		}
		b, _ := json.Marshal(ev)
		return string(b)
	}
	sqsEvent := func(bodies ...string) string {
		var ev events.SQSEvent
		for i, b := range bodies {
			ev.Records = append(ev.Records, events.SQSMessage{MessageId: "m" + string(rune('0'+i)), EventSource: "aws:sqs", Body: b})
		}
		b, _ := json.Marshal(ev)
		return string(b)
	}
	snsWrapped := func(body string) string {
		b, _ := json.Marshal(map[string]string{"Type": "Notification", "Message": body})
		return string(b)
	}
	eb := `{"version":"0","detail-type":"Object Created","source":"aws.s3","detail":{"bucket":{"name":"raw-bucket"},"object":{"key":"raw/a b.gz","version-id":"v1"}}}`
	tests := []struct {
		name      string
		event     string
		want      string // JSON response
		err       string
		converted []string // bucket/key[@version]
		compacts  int
	}{
		{
			name: "direct S3, URL-encoded key", event: s3Event("raw/dt%3D2025-11-20/a+b.gz"),
			want:      `{"objects":[{"bucket":"raw-bucket","key":"raw/dt=2025-11-20/a b.gz","status":"converted","rows":3}]}`,
			converted: []string{"raw-bucket/raw/dt=2025-11-20/a b.gz"},
		},
		{
			name: "direct S3, outside the raw prefix", event: s3Event("lake/logs/x.parquet"),
			want: `{"objects":[{"bucket":"raw-bucket","key":"lake/logs/x.parquet","status":"skipped"}]}`,
		},
		{
			name: "direct S3, one object fails", event: s3Event("raw/ok.gz", "raw/fail.gz"),
			err:       "lake: 1 of 2 objects failed: s3://raw-bucket/raw/fail.gz",
			converted: []string{"raw-bucket/raw/ok.gz", "raw-bucket/raw/fail.gz"},
		},
		{
			name:      "SQS: partial batch failure",
			event:     sqsEvent(s3Event("raw/ok.gz"), s3Event("raw/fail.gz"), `not json`, `{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"raw-bucket"}`, snsWrapped(s3Event("raw/sns.gz")), eb),
			want:      `{"batchItemFailures":[{"itemIdentifier":"m1"},{"itemIdentifier":"m2"}]}`,
			converted: []string{"raw-bucket/raw/ok.gz", "raw-bucket/raw/fail.gz", "raw-bucket/raw/sns.gz", "raw-bucket/raw/a b.gz@v1"},
		},
		{
			name: "SQS: all fine", event: sqsEvent(s3Event("raw/ok.gz")),
			want: `{"batchItemFailures":[]}`, converted: []string{"raw-bucket/raw/ok.gz"},
		},
		{
			name: "EventBridge Object Created", event: eb,
			want:      `{"objects":[{"bucket":"raw-bucket","key":"raw/a b.gz","status":"converted","rows":3}]}`,
			converted: []string{"raw-bucket/raw/a b.gz@v1"},
		},
		{name: "compact action", event: `{"action":"compact"}`, want: `{"partitions":47}`, compacts: 1},
		{name: "scheduled event", event: `{"version":"0","detail-type":"Scheduled Event","source":"aws.events","detail":{}}`, want: `{"partitions":47}`, compacts: 1},
		{name: "unknown action", event: `{"action":"vacuum"}`, err: `lake: unrecognized event: unknown action "vacuum" (want "compact")`},
		{name: "unknown event", event: `{"hello":"world"}`, err: "lake: unrecognized event"},
		{name: "not JSON", event: `[1,2]`, err: "lake: unrecognized event: json: cannot unmarshal array into Go value of type struct"},
		{name: "EventBridge from elsewhere", event: `{"detail-type":"Object Created","source":"custom","detail":{}}`, err: "lake: unrecognized event: Object Created event without source aws.s3, bucket and key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, f, _ := newTestHandler()
			resp, err := h.Handle(context.Background(), json.RawMessage(tc.event))
			if tc.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				got, _ := json.Marshal(resp)
				if string(got) != tc.want {
					t.Errorf("response %s\n          want %s", got, tc.want)
				}
			}
			var conv []string
			for _, r := range f.converted {
				s := r.Bucket + "/" + r.Key
				if r.VersionID != "" {
					s += "@" + r.VersionID
				}
				conv = append(conv, s)
			}
			if !slices.Equal(conv, tc.converted) {
				t.Errorf("converted %q, want %q", conv, tc.converted)
			}
			if f.compacts != tc.compacts {
				t.Errorf("compactions %d, want %d", f.compacts, tc.compacts)
			}
		})
	}
}

func TestHandlerMetrics(t *testing.T) {
	t.Parallel()
	h, _, out := newTestHandler()
	ev := readEvent(t, "sqs-s3-object-created.json")
	if _, err := h.Handle(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("metrics line %q: %v", out.String(), err)
	}
	if doc["Function"] != "lake" || doc[emf.LakeLagSeconds] != 12.0 {
		t.Errorf("metrics %v", doc)
	}
}

// TestSampleEvents: every sample event under events/lake parses to the
// trigger it is named for.
func TestSampleEvents(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob(filepath.Join("..", "..", "events", "lake", "*.json"))
	var n int
	for _, path := range files {
		name := filepath.Base(path)
		if strings.HasSuffix(name, ".expected.json") {
			continue
		}
		n++
		h, f, _ := newTestHandler()
		_, _ = h.Handle(context.Background(), readEvent(t, name))
		switch {
		case strings.HasPrefix(name, "schedule"):
			if f.compacts != 1 {
				t.Errorf("%s: no compaction", name)
			}
		default:
			if len(f.converted) == 0 {
				t.Errorf("%s: converted nothing", name)
			}
			for _, r := range f.converted {
				if !strings.HasPrefix(r.Key, "raw/") || strings.ContainsAny(r.Key, "%+") {
					t.Errorf("%s: key %q", name, r.Key)
				}
			}
		}
		if _, err := os.Stat(strings.TrimSuffix(path, ".json") + ".expected.json"); err != nil {
			t.Errorf("%s has no expected response: %v", name, err)
		}
	}
	if n < 4 {
		t.Errorf("found %d sample events, want S3, SQS, EventBridge and schedule", n)
	}
}

// TestHandlerSQSDeadline: with too little time left, the rest of the batch
// goes back to the queue untouched.
func TestHandlerSQSDeadline(t *testing.T) {
	t.Parallel()
	h, f, _ := newTestHandler()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := h.Handle(ctx, readEvent(t, "sqs-s3-object-created.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.(events.SQSEventResponse); len(got.BatchItemFailures) != 3 || len(f.converted) != 0 {
		t.Errorf("response %+v, converted %v; want all 3 messages returned, none converted", got, f.converted)
	}
}
