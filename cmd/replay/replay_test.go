package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/klauspost/compress/gzip"

	"github.com/tributary-logs/tributary/shared/cwlogs"
)

var t0 = time.Date(2026, 11, 22, 13, 0, 0, 0, time.UTC)

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func fixture(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "processing-failed.json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixtureRecords are the original records of the fixture, decoded.
func fixtureRecords(t testing.TB) [][]byte {
	t.Helper()
	var out [][]byte
	for _, line := range bytes.Split(bytes.TrimSpace(fixture(t)), []byte("\n")) {
		var d errorDocument
		if err := json.Unmarshal(line, &d); err != nil {
			t.Fatal(err)
		}
		raw, err := base64.StdEncoding.DecodeString(d.RawData)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, raw)
	}
	return out
}

func TestObjectsToIndexer(t *testing.T) {
	t.Parallel()
	s3 := &fakeS3{bucket: "logs", objects: map[string]fakeObject{
		"dlq/2026/11/22/12/req-1.ndjson": {[]byte("x\n"), t0.Add(-90 * time.Minute)}, // before -since
		"dlq/2026/11/22/13/req-2.ndjson": {[]byte("x\n"), t0.Add(5 * time.Minute)},
		"dlq/2026/11/22/13/req-3.ndjson": {[]byte("x\n"), t0.Add(6 * time.Minute)},
		"dlq/2026/11/22/13/":             {nil, t0},                                 // folder marker
		"dlq/2026/11/22/14/req-4.ndjson": {[]byte("x\n"), t0.Add(70 * time.Minute)}, // at -until
		"dlq/2026/11/22/13/req-5.ndjson": {[]byte("x\n"), t0.Add(7 * time.Minute)},
		"raw/other.gz":                   {[]byte("x\n"), t0},
	}}
	lam := &fakeLambda{fail: map[int]bool{1: true}}
	var out bytes.Buffer
	rp := &Replayer{S3: s3, Lambda: lam, Out: &out}
	rep, err := rp.Objects(context.Background(), ObjectsOptions{
		Selection: Selection{Bucket: "logs", Prefix: "dlq/", Since: t0.Add(-time.Hour), Until: t0.Add(70 * time.Minute)},
		To:        "indexer", Function: "tributary-IndexerFunction-X", Batch: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []invocation{
		{"tributary-IndexerFunction-X", `{"objects":[{"bucket":"logs","key":"dlq/2026/11/22/13/req-2.ndjson"},{"bucket":"logs","key":"dlq/2026/11/22/13/req-3.ndjson"}]}`, false},
		{"tributary-IndexerFunction-X", `{"objects":[{"bucket":"logs","key":"dlq/2026/11/22/13/req-5.ndjson"}]}`, false},
	}
	if !reflect.DeepEqual(lam.calls, want) {
		t.Errorf("invocations:\n got  %+v\n want %+v", lam.calls, want)
	}
	if rep.Objects != 3 || rep.Calls != 2 || rep.Records != 2 || rep.Failed != 1 {
		t.Errorf("report %+v", rep)
	}
	err = rep.Err()
	if err == nil || !strings.Contains(err.Error(), "s3://logs/dlq/2026/11/22/13/req-5.ndjson: invoke tributary-IndexerFunction-X: function error Unhandled: {\"errorMessage\":\"boom\"") {
		t.Errorf("Err() = %v", err)
	}
	if !strings.Contains(out.String(), `tributary-IndexerFunction-X: 2 object(s) from s3://logs/dlq/2026/11/22/13/req-2.ndjson: {"ok":true}`) {
		t.Errorf("progress: %s", out.String())
	}
}

// TestObjectsToLake: the lake receives the S3 notification it is built for; keys come back exactly
// after the URL decoding the lake applies.
func TestObjectsToLake(t *testing.T) {
	t.Parallel()
	key := "raw/owner=123456789012/log_group=_aws_lambda_orders api/dt=2026-11-22/hour=13/tributary-1-2026-11-22-13-05-00+x.gz"
	s3 := &fakeS3{bucket: "logs", objects: map[string]fakeObject{key: {[]byte("gz"), t0}}}
	lam := &fakeLambda{}
	rp := &Replayer{S3: s3, Lambda: lam}
	rep, err := rp.Objects(context.Background(), ObjectsOptions{Selection: Selection{Bucket: "logs", Prefix: "raw/"}, To: "lake", Function: "lake-fn", Region: "eu-west-1"})
	if err != nil || rep.Err() != nil {
		t.Fatal(err, rep.Err())
	}
	if len(lam.calls) != 1 {
		t.Fatalf("%d invocations", len(lam.calls))
	}
	var ev events.S3Event
	if err := json.Unmarshal([]byte(lam.calls[0].payload), &ev); err != nil {
		t.Fatal(err)
	}
	r := ev.Records[0]
	got, err := url.QueryUnescape(r.S3.Object.Key)
	if err != nil || got != key || r.EventSource != "aws:s3" || !strings.HasPrefix(r.EventName, "ObjectCreated:") ||
		r.S3.Bucket.Name != "logs" || r.AWSRegion != "eu-west-1" || r.S3.Object.Size != 2 || r.S3.Object.ETag != "etag-2" {
		t.Errorf("record %+v (key %q, %v)", r, got, err)
	}
	if strings.Contains(r.S3.Object.Key, "%2F") || !strings.Contains(r.S3.Object.Key, "orders+api") || !strings.Contains(r.S3.Object.Key, "%2Bx") {
		t.Errorf("key %q is not encoded the way S3 encodes keys", r.S3.Object.Key)
	}
}

func TestObjectsOptionsRejected(t *testing.T) {
	t.Parallel()
	rp := &Replayer{S3: &fakeS3{bucket: "logs"}, Lambda: &fakeLambda{}}
	for _, tc := range []struct {
		o    ObjectsOptions
		want string
	}{
		{ObjectsOptions{Selection: Selection{Bucket: "logs"}, To: "indexer"}, "-function is required"},
		{ObjectsOptions{Selection: Selection{Bucket: "logs"}, To: "opensearch", Function: "f"}, `-to is "opensearch"; want indexer or lake`},
		{ObjectsOptions{To: "lake", Function: "f"}, "a bucket is required"},
		{ObjectsOptions{Selection: Selection{Bucket: "other"}, To: "lake", Function: "f"}, "list s3://other/: NoSuchBucket"},
	} {
		if _, err := rp.Objects(context.Background(), tc.o); err == nil || err.Error() != tc.want {
			t.Errorf("%+v: error %v; want %q", tc.o, err, tc.want)
		}
	}
}

func TestFailedToFirehose(t *testing.T) {
	t.Parallel()
	doc := fixture(t)
	s3 := &fakeS3{bucket: "logs", objects: map[string]fakeObject{
		"processing-failed/processing-failed/2026/11/22/tributary-1-2026-11-22-13-00-00-a": {doc, t0},
		// Firehose compresses its error output like the rest when GZIP is on: both are read.
		"processing-failed/processing-failed/2026/11/22/tributary-1-2026-11-22-13-05-00-b.gz": {gz(t, doc), t0},
	}}
	records := fixtureRecords(t)
	fh := &fakeFirehose{rejectFirst: map[string]int{string(records[1]): 2}}
	rp := &Replayer{S3: s3, Firehose: fh, sleep: func(time.Duration) {}}
	rep, err := rp.Failed(context.Background(), FailedOptions{Selection: Selection{Bucket: "logs", Prefix: "processing-failed/"}, To: "firehose", Stream: "tributary-stream"})
	if err != nil || rep.Err() != nil {
		t.Fatal(err, rep.Err())
	}
	var got [][]byte
	for _, b := range fh.batches {
		got = append(got, b...)
	}
	want := [][]byte{records[0], records[0], records[1], records[1]}
	slices.SortFunc(got, bytes.Compare)
	slices.SortFunc(want, bytes.Compare)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("records put:\n got  %q\n want %q", got, want)
	}
	if rep.Objects != 2 || rep.Records != 4 || rep.Failed != 0 ||
		!reflect.DeepEqual(rep.ErrorCodes, map[string]int{"Lambda.ProcessingFailedStatus": 2, "Lambda.FunctionError": 2}) {
		t.Errorf("report %+v", rep)
	}
	// The CloudWatch Logs payload put back is exactly what the transform decodes.
	env, err := cwlogs.NewDecoder(cwlogs.Limits{}).Decode(records[0])
	if err != nil || env.LogGroup != "/aws/lambda/orders-api" || len(env.LogEvents) == 0 {
		t.Errorf("decode replayed payload: %v %+v", err, env)
	}
}

func TestFailedPutGivesUp(t *testing.T) {
	t.Parallel()
	records := fixtureRecords(t)
	s3 := &fakeS3{bucket: "logs", objects: map[string]fakeObject{"processing-failed/a": {fixture(t), t0}}}
	fh := &fakeFirehose{rejectFirst: map[string]int{string(records[0]): 100}}
	var slept []time.Duration
	rp := &Replayer{S3: s3, Firehose: fh, sleep: func(d time.Duration) { slept = append(slept, d) }}
	rep, err := rp.Failed(context.Background(), FailedOptions{Selection: Selection{Bucket: "logs"}, To: "firehose", Stream: "s"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Records != 1 || rep.Failed != 1 || len(rep.Failures) != 1 ||
		rep.Failures[0] != "1 record(s) not accepted by s after 5 attempts: ServiceUnavailableException: Slow down." {
		t.Errorf("report %+v", rep)
	}
	if want := []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, 1600 * time.Millisecond}; !slices.Equal(slept, want) {
		t.Errorf("backoff %v; want %v", slept, want)
	}
}

// TestFailedBatchLimits: PutRecordBatch takes at most 500 records and 4 MiB per call.
func TestFailedBatchLimits(t *testing.T) {
	t.Parallel()
	var doc bytes.Buffer
	small := base64.StdEncoding.EncodeToString([]byte("line\n"))
	for range 1201 {
		fmt.Fprintf(&doc, `{"errorCode":"Lambda.FunctionError","rawData":%q}`+"\n", small)
	}
	big := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("b"), 900<<10))
	for range 6 {
		fmt.Fprintf(&doc, `{"errorCode":"Lambda.FunctionError","rawData":%q}`, big) // no newline between documents
	}
	tooBig := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("c"), maxRecordBytes+1))
	fmt.Fprintf(&doc, `{"errorCode":"Lambda.FunctionError","rawData":%q}`, tooBig)
	s3 := &fakeS3{bucket: "logs", objects: map[string]fakeObject{"processing-failed/x": {doc.Bytes(), t0}}}
	fh := &fakeFirehose{}
	rp := &Replayer{S3: s3, Firehose: fh}
	rep, err := rp.Failed(context.Background(), FailedOptions{Selection: Selection{Bucket: "logs"}, To: "firehose", Stream: "s"})
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	for _, b := range fh.batches {
		n := 0
		for _, r := range b {
			n += len(r)
		}
		if len(b) > maxBatchRecords || n > maxBatchBytes {
			t.Errorf("batch of %d records, %d bytes", len(b), n)
		}
		sizes = append(sizes, len(b))
	}
	if want := []int{500, 500, 205, 2}; !slices.Equal(sizes, want) {
		t.Errorf("batch sizes %v; want %v", sizes, want)
	}
	if rep.Records != 1207 || rep.Failed != 1 || !strings.Contains(rep.Failures[0], "document 1208: record of 1024001 bytes exceeds Firehose's 1024000") {
		t.Errorf("report records %d failed %d %q", rep.Records, rep.Failed, rep.Failures)
	}
}

func TestFailedToIndexer(t *testing.T) {
	t.Parallel()
	s3 := &fakeS3{bucket: "logs", objects: map[string]fakeObject{"processing-failed/a": {fixture(t), t0}}}
	lam := &fakeLambda{}
	var out bytes.Buffer
	rp := &Replayer{S3: s3, Lambda: lam, Out: &out}
	rep, err := rp.Failed(context.Background(), FailedOptions{Selection: Selection{Bucket: "logs"}, To: "indexer", Function: "idx"})
	if err != nil || rep.Err() != nil {
		t.Fatal(err, rep.Err())
	}
	if len(lam.calls) != 1 || rep.Records != 1 || rep.Skipped != 1 {
		t.Fatalf("calls %+v report %+v", lam.calls, rep)
	}
	// The payload is a CloudWatch Logs subscription event the indexer decodes.
	var ev events.CloudwatchLogsEvent
	if err := json.Unmarshal([]byte(lam.calls[0].payload), &ev); err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(ev.AWSLogs.Data)
	if err != nil {
		t.Fatal(err)
	}
	if env, err := cwlogs.NewDecoder(cwlogs.Limits{}).Decode(raw); err != nil || env.LogGroup != "/aws/lambda/orders-api" {
		t.Errorf("indexer payload does not decode: %v", err)
	}
	if !strings.Contains(out.String(), "s3://logs/processing-failed/a document 2: skipped, not a CloudWatch Logs payload (replay it with -to firehose)") {
		t.Errorf("progress: %s", out.String())
	}
}

func TestFailedCodesAndBadDocuments(t *testing.T) {
	t.Parallel()
	s3 := &fakeS3{bucket: "logs", objects: map[string]fakeObject{
		"processing-failed/a": {fixture(t), t0},
		"processing-failed/b": {[]byte(`{"errorCode":"Lambda.FunctionError","rawData":"***"}` + "\n" + `{"errorCode":"Lambda.FunctionError"}` + "\n" + `{"rawData":`), t0},
		"processing-failed/c": {[]byte{0x1f, 0x8b, 0, 1, 2}, t0},
	}}
	fh := &fakeFirehose{}
	rp := &Replayer{S3: s3, Firehose: fh}
	rep, err := rp.Failed(context.Background(), FailedOptions{Selection: Selection{Bucket: "logs"}, To: "firehose", Stream: "s", Codes: []string{"Lambda.FunctionError"}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Records != 1 || rep.Skipped != 1 || rep.Failed != 4 {
		t.Errorf("report %+v", rep)
	}
	want := []string{
		"s3://logs/processing-failed/b document 1: rawData is not base64: illegal base64 data at input byte 0",
		"s3://logs/processing-failed/b document 2: no rawData",
		"s3://logs/processing-failed/b document 3: not a Firehose error document: unexpected EOF",
		"s3://logs/processing-failed/c: gunzip: unexpected EOF",
	}
	if !slices.Equal(rep.Failures, want) {
		t.Errorf("failures:\n got  %q\n want %q", rep.Failures, want)
	}
}

func TestFailedDryRun(t *testing.T) {
	t.Parallel()
	s3 := &fakeS3{bucket: "logs", objects: map[string]fakeObject{"processing-failed/a": {fixture(t), t0}}}
	var out bytes.Buffer
	rp := &Replayer{S3: s3, Firehose: &fakeFirehose{}, Lambda: &fakeLambda{}, Out: &out, DryRun: true}
	rep, err := rp.Failed(context.Background(), FailedOptions{Selection: Selection{Bucket: "logs"}, To: "firehose", Stream: "s"})
	if err != nil || rep.Records != 2 || len(rp.Firehose.(*fakeFirehose).batches) != 0 || !strings.Contains(out.String(), "would put 2 record(s) into s") {
		t.Errorf("dry run: %v %+v %q", err, rep, out.String())
	}
}

func message(id, body string) sqstypes.Message {
	return sqstypes.Message{MessageId: aws.String(id), ReceiptHandle: aws.String("rh-" + id), Body: aws.String(body)}
}

func TestQueue(t *testing.T) {
	t.Parallel()
	destination := `{"version":"1.0","timestamp":"2026-11-22T13:00:00.000Z","requestContext":{"requestId":"r1","functionArn":"arn:aws:lambda:eu-west-1:123456789012:function:tributary-AlarmFunction-X:$LATEST","condition":"RetriesExhausted","approximateInvokeCount":3},"requestPayload":{"Records":[{"EventSource":"aws:sns"}]},"responseContext":{"statusCode":200,"executedVersion":"$LATEST","functionError":"Unhandled"},"responsePayload":{"errorMessage":"boom"}}`
	dlq := `{"awslogs":{"data":"H4sI"}}`
	newQueue := func() *fakeSQS {
		var ms []sqstypes.Message
		ms = append(ms, message("m1", destination), message("m2", dlq), message("m3", "not json"))
		for i := range 12 {
			ms = append(ms, message(fmt.Sprintf("n%02d", i), dlq))
		}
		return &fakeSQS{messages: ms}
	}
	t.Run("replay and delete", func(t *testing.T) {
		t.Parallel()
		q, lam := newQueue(), &fakeLambda{fail: map[int]bool{2: true}}
		rp := &Replayer{SQS: q, Lambda: lam}
		rep, err := rp.Queue(context.Background(), QueueOptions{QueueURL: "https://sqs/q", Function: "tributary-IndexerFunction-X"})
		if err != nil {
			t.Fatal(err)
		}
		if len(lam.calls) != 14 || rep.Records != 13 || rep.Failed != 1 || rep.Skipped != 1 || rep.Deleted != 13 {
			t.Errorf("report %+v, %d calls", rep, len(lam.calls))
		}
		first := lam.calls[0]
		if first.function != "arn:aws:lambda:eu-west-1:123456789012:function:tributary-AlarmFunction-X" || first.payload != `{"Records":[{"EventSource":"aws:sns"}]}` || !first.async {
			t.Errorf("destination record replayed as %+v", first)
		}
		if c := lam.calls[1]; c.function != "tributary-IndexerFunction-X" || c.payload != dlq || !c.async {
			t.Errorf("dead-letter message replayed as %+v", c)
		}
		if q.deleted["rh-n00"] || !q.deleted["rh-m1"] || q.deleted["rh-m3"] {
			t.Errorf("deleted %v: the failed (n00) and skipped (m3) messages must stay", q.deleted)
		}
	})
	t.Run("without -function plain events are skipped", func(t *testing.T) {
		t.Parallel()
		q, lam := newQueue(), &fakeLambda{}
		rep, err := (&Replayer{SQS: q, Lambda: lam}).Queue(context.Background(), QueueOptions{QueueURL: "q", Max: 3})
		if err != nil {
			t.Fatal(err)
		}
		if len(lam.calls) != 1 || rep.Records != 1 || rep.Skipped != 2 {
			t.Errorf("report %+v", rep)
		}
	})
	t.Run("keep and dry run delete nothing", func(t *testing.T) {
		t.Parallel()
		for _, rp := range []*Replayer{{Lambda: &fakeLambda{}}, {Lambda: &fakeLambda{}, DryRun: true}} {
			q := newQueue()
			rp.SQS = q
			rep, err := rp.Queue(context.Background(), QueueOptions{QueueURL: "q", Function: "f", Keep: !rp.DryRun})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Records != 14 || rep.Deleted != 0 || len(q.deleted) != 0 {
				t.Errorf("dry run %v: report %+v deleted %v", rp.DryRun, rep, q.deleted)
			}
			if calls := len(rp.Lambda.(*fakeLambda).calls); (calls == 0) != rp.DryRun {
				t.Errorf("dry run %v: %d invocations", rp.DryRun, calls)
			}
		}
	})
}

func TestParseTime(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want time.Time
		err  bool
	}{
		{"", time.Time{}, false},
		{"2026-11-22T12:00:00Z", time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC), false},
		{"90m", t0.Add(-90 * time.Minute), false},
		{"-1h", time.Time{}, true},
		{"yesterday", time.Time{}, true},
	} {
		got, err := parseTime(tc.in, t0)
		if (err != nil) != tc.err || !got.Equal(tc.want) {
			t.Errorf("parseTime(%q) = %v, %v", tc.in, got, err)
		}
	}
}

func TestRun(t *testing.T) {
	t.Parallel()
	s3 := &fakeS3{bucket: "logs", objects: map[string]fakeObject{"dlq/a.ndjson": {[]byte("x"), t0}}}
	clients := func(lam *fakeLambda) clientsFunc {
		return func(context.Context, string) (*Replayer, string, error) {
			return &Replayer{S3: s3, Lambda: lam}, "eu-west-1", nil
		}
	}
	tests := []struct {
		args    []string
		fail    map[int]bool
		code    int
		stdout  string
		stderr  string
		invoked int
	}{
		{args: nil, code: 2, stderr: "usage: replay <objects|failed|queue>"},
		{args: []string{"rewind"}, code: 2, stderr: `replay: unknown mode "rewind"`},
		{args: []string{"objects", "-since", "soon"}, code: 2, stderr: `replay objects: -since: "soon" is neither an RFC 3339 time`},
		{args: []string{"objects", "-bucket", "logs", "extra"}, code: 2, stderr: `unexpected arguments ["extra"]`},
		{args: []string{"objects", "-bucket", "logs", "-prefix", "dlq/", "-function", "idx", "-dry-run"}, code: 0, stdout: `"calls": 1`},
		{args: []string{"objects", "-bucket", "logs", "-prefix", "dlq/", "-function", "idx"}, code: 0, stdout: `"records": 1`, invoked: 1},
		{args: []string{"objects", "-bucket", "logs", "-prefix", "dlq/", "-function", "idx"}, fail: map[int]bool{0: true}, code: 1, stderr: "replay objects: 1 item(s) failed", invoked: 1},
		{args: []string{"failed", "-bucket", "logs", "-to", "firehose"}, code: 1, stderr: "replay failed: -stream is required with -to firehose"},
		{args: []string{"queue"}, code: 1, stderr: "replay queue: -queue-url is required"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			lam := &fakeLambda{fail: tc.fail}
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr, clients(lam))
			if code != tc.code || !strings.Contains(stdout.String(), tc.stdout) || !strings.Contains(stderr.String(), tc.stderr) || len(lam.calls) != tc.invoked {
				t.Errorf("exit %d, %d invocations\nstdout %s\nstderr %s", code, len(lam.calls), stdout.String(), stderr.String())
			}
		})
	}
}

// FuzzFailedDocuments: whatever an object under processing-failed/ holds, a replay reports it item by
// item and never panics.
func FuzzFailedDocuments(f *testing.F) {
	f.Add(fixture(f))
	f.Add([]byte(`{"rawData":"aGVsbG8="}{"rawData":1}`))
	f.Add([]byte{0x1f, 0x8b, 8, 0})
	f.Fuzz(func(t *testing.T, body []byte) {
		s3 := &fakeS3{bucket: "b", objects: map[string]fakeObject{"p/x": {append([]byte{' '}, body...), t0}}}
		rp := &Replayer{S3: s3, Firehose: &fakeFirehose{}, MaxObjectBytes: 1 << 20}
		rep, err := rp.Failed(context.Background(), FailedOptions{Selection: Selection{Bucket: "b"}, To: "firehose", Stream: "s"})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Failed < len(rep.Failures) {
			t.Fatalf("report %+v", rep)
		}
	})
}

// BenchmarkFailedToFirehose: decoding processing-failed objects and batching their records (the put
// itself is a fake), per byte of error documents.
func BenchmarkFailedToFirehose(b *testing.B) {
	doc := fixture(b)
	body := bytes.Repeat(doc, 500)
	s3 := &fakeS3{bucket: "b", objects: map[string]fakeObject{"p/x": {body, t0}}}
	rp := &Replayer{S3: s3, Firehose: &fakeFirehose{}}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		rp.Firehose = &fakeFirehose{}
		if _, err := rp.Failed(context.Background(), FailedOptions{Selection: Selection{Bucket: "b"}, To: "firehose", Stream: "s"}); err != nil {
			b.Fatal(err)
		}
	}
}
