package transform

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	fhtypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	kintypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/klauspost/compress/gzip"

	"github.com/tributary-logs/tributary/shared/config"
	"github.com/tributary-logs/tributary/shared/cwlogs"
	"github.com/tributary-logs/tributary/shared/emf"
	"github.com/tributary-logs/tributary/shared/ingest"
)

var update = flag.Bool("update", false, "rewrite golden files")

func newProcessor(t testing.TB, env map[string]string) *ingest.Processor {
	t.Helper()
	if env == nil {
		env = map[string]string{}
	}
	env["AWS_REGION"] = "us-east-1"
	cfg, err := config.LoadTransform(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	p, err := ingest.New(cfg.Normalize)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// response decodes a handler response with aws-lambda-go's own types, which
// is what Firehose's contract is written against.
func response(t testing.TB, out []byte) events.KinesisFirehoseResponse {
	t.Helper()
	var resp events.KinesisFirehoseResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("response is not a Firehose response: %v\n%.300s", err, out)
	}
	return resp
}

func readEvent(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type line struct {
	ID         string          `json:"id"`
	Timestamp  string          `json:"@timestamp"`
	Owner      string          `json:"owner"`
	LogGroup   string          `json:"log_group"`
	LogStream  string          `json:"log_stream"`
	Message    string          `json:"message"`
	Level      string          `json:"level"`
	TraceID    string          `json:"trace_id"`
	SourceType string          `json:"source_type"`
	Fields     json.RawMessage `json:"fields"`
}

func ndjson(t testing.TB, data []byte) []line {
	t.Helper()
	if len(data) == 0 || data[len(data)-1] != '\n' {
		t.Fatalf("NDJSON must end with a newline: %.200q", data)
	}
	var out []line
	for _, l := range bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
		var rec line
		if err := json.Unmarshal(l, &rec); err != nil {
			t.Fatalf("bad NDJSON line %q: %v", l, err)
		}
		out = append(out, rec)
	}
	return out
}

func TestSampleEvent(t *testing.T) {
	t.Parallel()
	h := New(newProcessor(t, nil), Options{})
	in := readEvent(t, "../../events/transform/firehose-cloudwatch.json")
	out, sum, err := h.Process(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	resp := response(t, out)
	var ev events.KinesisFirehoseEvent
	if err := json.Unmarshal(in, &ev); err != nil {
		t.Fatal(err)
	}
	if len(resp.Records) != len(ev.Records) {
		t.Fatalf("%d response records for %d input records", len(resp.Records), len(ev.Records))
	}
	want := map[string]string{ // recordId suffix → result
		"0000000001": ResultOk, "0000000002": ResultOk, "0000000003": ResultDropped, "0000000004": ResultOk,
		"0000000005": ResultOk, "0000000006": ResultOk, "0000000007": ResultProcessingFailed,
	}
	byID := map[string]events.KinesisFirehoseResponseRecord{}
	for _, r := range resp.Records {
		if _, dup := byID[r.RecordID]; dup {
			t.Errorf("recordId %s appears twice", r.RecordID)
		}
		byID[r.RecordID] = r
		if got := want[r.RecordID[len(r.RecordID)-10:]]; got != r.Result {
			t.Errorf("record %s: result %s, want %s", r.RecordID, r.Result, got)
		}
	}
	for i, in := range ev.Records {
		r := byID[in.RecordID]
		switch r.Result {
		case ResultProcessingFailed:
			if !bytes.Equal(r.Data, in.Data) {
				t.Errorf("record %d: ProcessingFailed must echo the original data", i)
			}
		case ResultOk:
			lines := ndjson(t, r.Data)
			k := r.Metadata.PartitionKeys
			if k["owner"] != "123456789012" || k["dt"] != "2025-11-22" || k["hour"] != "05" || k["log_group"] == "" {
				t.Errorf("record %d: partition keys %v", i, k)
			}
			for _, l := range lines {
				if l.ID == "" || l.Timestamp == "" || l.LogGroup == "" || l.SourceType == "" {
					t.Errorf("record %d: incomplete line %+v", i, l)
				}
			}
		}
	}
	if sum.Ok != 5 || sum.Dropped != 1 || sum.Failed != 1 || sum.Events != 11 || sum.EventsOut != 11 {
		t.Errorf("summary = %+v", sum)
	}
	first := ndjson(t, byID["49615618269572385429633185462265982198704987163734010000000001"].Data)
	if first[0].LogGroup != "/aws/lambda/orders-api" || byID["49615618269572385429633185462265982198704987163734010000000001"].Metadata.PartitionKeys["log_group"] != "aws_lambda_orders-api" {
		t.Errorf("log group %q / key %q", first[0].LogGroup, byID["49615618269572385429633185462265982198704987163734010000000001"].Metadata.PartitionKeys["log_group"])
	}
	// Redaction happened before output: neither the password nor the
	// e-mail address of record 5 is stored.
	rec5 := byID["49615618269572385429633185462265982198704987163734010000000005"].Data
	if bytes.Contains(rec5, []byte("hunter2")) || bytes.Contains(rec5, []byte("kim.minsu@example.co.kr")) {
		t.Errorf("secret survived redaction: %s", rec5)
	}
}

// TestGolden compares whole responses for the fixtures under testdata/.
func TestGolden(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("testdata/*.event.json")
	files = append(files, "../../events/transform/firehose-cloudwatch.json")
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			h := New(newProcessor(t, nil), Options{})
			out, _, err := h.Process(context.Background(), readEvent(t, f))
			if err != nil {
				t.Fatal(err)
			}
			got := readable(t, out)
			golden := filepath.Join("testdata", strings.TrimSuffix(filepath.Base(f), ".json")+".golden.json")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("response differs from %s (go test -update to accept):\n%s", golden, got)
			}
		})
	}
}

// readable turns a response into reviewable JSON: data decoded to lines.
func readable(t testing.TB, out []byte) []byte {
	resp := response(t, out)
	type entry struct {
		RecordID      string            `json:"recordId"`
		Result        string            `json:"result"`
		Lines         []json.RawMessage `json:"lines,omitempty"`
		PartitionKeys map[string]string `json:"partitionKeys,omitempty"`
	}
	var doc []entry
	for _, r := range resp.Records {
		e := entry{RecordID: r.RecordID, Result: r.Result, PartitionKeys: r.Metadata.PartitionKeys}
		if r.Result == ResultOk {
			for _, l := range bytes.Split(bytes.TrimSuffix(r.Data, []byte("\n")), []byte("\n")) {
				e.Lines = append(e.Lines, json.RawMessage(l))
			}
		}
		doc = append(doc, e)
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

func TestMalformedEvent(t *testing.T) {
	t.Parallel()
	h := New(newProcessor(t, nil), Options{})
	for _, in := range []string{``, `[]`, `{"records":[{"data":"eA=="}]}`, `{"invocationId":"x"}`} {
		if _, _, err := h.Process(context.Background(), []byte(in)); err == nil {
			t.Errorf("event %q: want an error", in)
		} else if !strings.HasPrefix(err.Error(), "decode firehose event") {
			t.Errorf("event %q: error %q", in, err)
		}
	}
}

func TestBadRecordsFailAlone(t *testing.T) {
	t.Parallel()
	good := payload(t, "/app", 0, 3, 10)
	cases := []struct {
		name, data, reason string
	}{
		{"not base64", "%%%", "data is not base64"},
		{"truncated gzip", base64.StdEncoding.EncodeToString(good[:30]), "corrupt gzip stream"},
		{"gzip of text", b64gz(t, []byte("hello")), "not a CloudWatch Logs JSON document"},
		{"bomb", b64gz(t, make([]byte, 20<<20)), "compression ratio exceeds the limit"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			h := New(newProcessor(t, nil), Options{Logger: jsonLogger(&logs)})
			ev := firehoseEvent("arn:aws:firehose:us-east-1:123456789012:deliverystream/s", "", [][]byte{good}, c.data)
			out, _, err := h.Process(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			resp := response(t, out)
			if resp.Records[0].Result != ResultOk || resp.Records[1].Result != ResultProcessingFailed {
				t.Fatalf("results %s, %s", resp.Records[0].Result, resp.Records[1].Result)
			}
			if !strings.Contains(logs.String(), c.reason) || !strings.Contains(logs.String(), resp.Records[1].RecordID) {
				t.Errorf("log does not give the record and reason %q:\n%s", c.reason, logs.String())
			}
		})
	}
}

func TestFiltersAndRedactionSettings(t *testing.T) {
	t.Parallel()
	p := newProcessor(t, map[string]string{
		"EXCLUDE_LOG_GROUPS": "^/aws/lambda/noisy",
		"EXCLUDE_MESSAGES":   `["health ?check"]`,
		"REDACT":             "none",
	})
	h := New(p, Options{})
	noisy := payloadWith(t, "/aws/lambda/noisy-fn", []string{"a", "b"})
	mixed := payloadWith(t, "/app", []string{"GET /healthcheck 200", "user bob@example.com logged in"})
	out, sum, err := h.Process(context.Background(), firehoseEvent("arn:aws:firehose:us-east-1:1:deliverystream/s", "", [][]byte{noisy, mixed}))
	if err != nil {
		t.Fatal(err)
	}
	resp := response(t, out)
	if resp.Records[0].Result != ResultDropped {
		t.Errorf("excluded log group: %s", resp.Records[0].Result)
	}
	lines := ndjson(t, resp.Records[1].Data)
	if len(lines) != 1 || lines[0].Message != "user bob@example.com logged in" {
		t.Errorf("lines = %+v (REDACT=none must keep the address; the health check must go)", lines)
	}
	if sum.Events != 4 || sum.EventsOut != 1 {
		t.Errorf("summary %+v", sum)
	}
}

func TestDirectPutLinesHaveStableIDs(t *testing.T) {
	t.Parallel()
	data := base64.StdEncoding.EncodeToString([]byte("same line\nsame line\r\n\n{\"level\":\"error\",\"msg\":\"x\"}\n"))
	ev := firehoseEvent("arn:aws:firehose:eu-west-1:210987654321:deliverystream/apps", "", nil, data)
	var ids [2][]string
	for i := range ids {
		h := New(newProcessor(t, nil), Options{})
		out, _, err := h.Process(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		resp := response(t, out)
		lines := ndjson(t, resp.Records[0].Data)
		if len(lines) != 3 {
			t.Fatalf("%d lines, want 3 (empty lines skipped)", len(lines))
		}
		for _, l := range lines {
			ids[i] = append(ids[i], l.ID)
			if l.Owner != "210987654321" || l.LogGroup != "/firehose/apps" {
				t.Errorf("line metadata %+v", l)
			}
		}
		if lines[1].Message != "same line" || lines[2].Level != "ERROR" {
			t.Errorf("lines %+v", lines)
		}
	}
	if strings.Join(ids[0], ",") != strings.Join(ids[1], ",") {
		t.Errorf("ids differ between deliveries: %v vs %v", ids[0], ids[1])
	}
	if ids[0][0] == ids[0][1] {
		t.Errorf("two repeated lines share id %s", ids[0][0])
	}
}

// TestDirectPutRecordsOfTheSameMillisecondKeepDistinctIDs: two records with
// the same line, arriving in the same millisecond, are two events.
func TestDirectPutRecordsOfTheSameMillisecondKeepDistinctIDs(t *testing.T) {
	t.Parallel()
	data := base64.StdEncoding.EncodeToString([]byte("GET /health 200\n"))
	ev := firehoseEvent("arn:aws:firehose:eu-west-1:210987654321:deliverystream/apps", "", nil, data, data)
	out, _, err := New(newProcessor(t, nil), Options{}).Process(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	recs := response(t, out).Records
	a, b := ndjson(t, recs[0].Data), ndjson(t, recs[1].Data)
	if len(a) != 1 || len(b) != 1 || a[0].ID == b[0].ID {
		t.Errorf("ids %+v and %+v: the second event would be deduplicated away", a, b)
	}
}

// fakeFirehose is a PutRecordBatch double that fails chosen entries for a
// number of attempts, like Firehose's partial failures (FailedPutCount > 0).
type fakeFirehose struct {
	mu        sync.Mutex
	failFirst int // fail every other entry this many times
	failAll   bool
	calls     int
	attempts  map[string]int
	stored    [][]byte
	batchSize []int
	batchLen  []int
}

func (f *fakeFirehose) PutRecordBatch(_ context.Context, in *firehose.PutRecordBatchInput, _ ...func(*firehose.Options)) (*firehose.PutRecordBatchOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.attempts == nil {
		f.attempts = map[string]int{}
	}
	size := 0
	out := &firehose.PutRecordBatchOutput{}
	var failed int32
	for i, r := range in.Records {
		size += len(r.Data)
		key := string(r.Data)
		f.attempts[key]++
		if f.failAll || (i%2 == 1 && f.attempts[key] <= f.failFirst) {
			failed++
			out.RequestResponses = append(out.RequestResponses, fhtypes.PutRecordBatchResponseEntry{
				ErrorCode: aws.String("ServiceUnavailableException"), ErrorMessage: aws.String("Slow down."),
			})
			continue
		}
		f.stored = append(f.stored, r.Data)
		out.RequestResponses = append(out.RequestResponses, fhtypes.PutRecordBatchResponseEntry{RecordId: aws.String(fmt.Sprint(len(f.stored)))})
	}
	out.FailedPutCount = aws.Int32(failed)
	f.batchSize = append(f.batchSize, size)
	f.batchLen = append(f.batchLen, len(in.Records))
	return out, nil
}

func noSleep(context.Context, time.Duration) error { return nil }

// TestOversizedBatchIsSplitAndReingested: a batch whose output would not fit
// the response comes out exactly once: part in the response, the rest
// split, re-ingested, and transformed on its next pass.
func TestOversizedBatchIsSplitAndReingested(t *testing.T) {
	t.Parallel()
	var recs [][]byte
	want := map[string]bool{}
	for i := 0; i < 12; i++ {
		p := payload(t, fmt.Sprintf("/aws/lambda/fn-%d", i), i*1000, 400, 180)
		recs = append(recs, p)
		for _, e := range decode(t, p).LogEvents {
			want[e.ID] = true
		}
	}
	fh := &fakeFirehose{failFirst: 1}
	limits := Limits{ResponseBytes: 600 << 10, ChunkOutputBytes: 64 << 10, ChunkInputBytes: 40 << 10}
	h := New(newProcessor(t, nil), Options{Limits: limits, Reingester: &Reingester{Firehose: fh, sleep: noSleep}})
	seen := map[string]int{}
	queue := [][]byte{firehoseEvent("arn:aws:firehose:us-east-1:123456789012:deliverystream/logs", "", recs)}
	passes := 0
	for len(queue) > 0 {
		passes++
		if passes > 50 {
			t.Fatal("re-ingestion does not converge")
		}
		ev := queue[0]
		queue = queue[1:]
		out, sum, err := h.Process(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		if len(out) > limits.ResponseBytes {
			t.Fatalf("response %d bytes > budget %d", len(out), limits.ResponseBytes)
		}
		if sum.Failed != 0 {
			t.Fatalf("pass %d: %d records failed", passes, sum.Failed)
		}
		for _, r := range response(t, out).Records {
			if r.Result == ResultOk {
				for _, l := range ndjson(t, r.Data) {
					seen[l.ID]++
				}
			}
		}
		fh.mu.Lock()
		stored := fh.stored
		fh.stored = nil
		fh.mu.Unlock()
		if len(stored) > 0 {
			queue = append(queue, firehoseEvent("arn:aws:firehose:us-east-1:123456789012:deliverystream/logs", "", stored))
		}
	}
	if passes < 2 {
		t.Fatal("nothing was re-ingested: the test does not exercise splitting")
	}
	for id := range want {
		if seen[id] != 1 {
			t.Errorf("event %s seen %d times", id, seen[id])
		}
	}
	if len(seen) != len(want) {
		t.Errorf("%d distinct events out, %d in", len(seen), len(want))
	}
	for i, n := range fh.batchSize {
		if n > firehoseMaxBatchBytes || fh.batchLen[i] > maxBatchRecords {
			t.Errorf("batch %d: %d records, %d bytes", i, fh.batchLen[i], n)
		}
	}
}

func TestReingestFailureFailsOnlyTheSplitRecords(t *testing.T) {
	t.Parallel()
	small := payload(t, "/small", 0, 2, 10)
	big := payload(t, "/big", 100, 400, 200)
	fh := &fakeFirehose{failAll: true}
	h := New(newProcessor(t, nil), Options{
		Limits:     Limits{ResponseBytes: 64 << 10, ChunkOutputBytes: 32 << 10, ChunkInputBytes: 32 << 10},
		Reingester: &Reingester{Firehose: fh, MaxAttempts: 3, sleep: noSleep},
	})
	out, sum, err := h.Process(context.Background(), firehoseEvent("arn:aws:firehose:us-east-1:1:deliverystream/s", "", [][]byte{small, big}))
	if err != nil {
		t.Fatal(err)
	}
	resp := response(t, out)
	if resp.Records[0].Result != ResultOk || resp.Records[1].Result != ResultProcessingFailed {
		t.Fatalf("results %s %s", resp.Records[0].Result, resp.Records[1].Result)
	}
	if fh.calls != 3 || sum.Failed != 1 {
		t.Errorf("calls %d (want 3 attempts), summary %+v", fh.calls, sum)
	}
	if !bytes.Equal(resp.Records[1].Data, big) {
		t.Error("failed record must carry its original data")
	}
}

// TestPutRetriesOnlyFailedEntries is the unit test of the retry loop with
// partial FailedPutCount failures.
func TestPutRetriesOnlyFailedEntries(t *testing.T) {
	t.Parallel()
	fh := &fakeFirehose{failFirst: 2}
	var slept []time.Duration
	r := &Reingester{Firehose: fh, BaseDelay: 10 * time.Millisecond, sleep: func(_ context.Context, d time.Duration) error {
		slept = append(slept, d)
		return nil
	}}
	data := [][]byte{[]byte("a"), []byte("b"), []byte("c"), []byte("d")}
	ok, retries, err := r.Put(context.Background(), &Event{DeliveryStreamArn: "arn:aws:firehose:us-east-1:1:deliverystream/s"}, data)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range ok {
		if !v {
			t.Errorf("piece %d not put", i)
		}
	}
	// Attempt 1 fails b and d; attempt 2 resends only those, as entries 0
	// and 1, so only d (odd position) fails again; attempt 3 succeeds.
	if fh.attempts["a"] != 1 || fh.attempts["c"] != 1 || fh.attempts["b"] != 2 || fh.attempts["d"] != 3 {
		t.Errorf("attempts %v", fh.attempts)
	}
	if retries != 3 || len(slept) != 2 {
		t.Errorf("retries %d, sleeps %v", retries, slept)
	}
	if len(fh.stored) != 4 {
		t.Errorf("stored %d pieces, want 4 exactly once", len(fh.stored))
	}
}

func TestPutGivesUpAtDeadline(t *testing.T) {
	t.Parallel()
	fh := &fakeFirehose{failAll: true}
	r := &Reingester{Firehose: fh, BaseDelay: time.Second, Margin: 2 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
	defer cancel()
	ok, _, err := r.Put(ctx, &Event{DeliveryStreamArn: "arn:aws:firehose:us-east-1:1:deliverystream/s"}, [][]byte{[]byte("a")})
	if ok[0] || err == nil || !strings.Contains(err.Error(), "deadline") {
		t.Errorf("ok %v err %v", ok, err)
	}
}

type fakeKinesis struct {
	stream string
	n      int
}

func (f *fakeKinesis) PutRecords(_ context.Context, in *kinesis.PutRecordsInput, _ ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	f.stream = aws.ToString(in.StreamARN)
	out := &kinesis.PutRecordsOutput{FailedRecordCount: aws.Int32(0)}
	for range in.Records {
		f.n++
		out.Records = append(out.Records, kintypes.PutRecordsResultEntry{SequenceNumber: aws.String("1"), ShardId: aws.String("shardId-000000000000")})
	}
	return out, nil
}

func TestKinesisSourceIsReingestedIntoKinesis(t *testing.T) {
	t.Parallel()
	kin := &fakeKinesis{}
	fh := &fakeFirehose{}
	h := New(newProcessor(t, nil), Options{
		Limits:     Limits{ResponseBytes: 32 << 10, ChunkOutputBytes: 16 << 10, ChunkInputBytes: 16 << 10},
		Reingester: &Reingester{Firehose: fh, Kinesis: kin, sleep: noSleep},
	})
	src := "arn:aws:kinesis:us-east-1:123456789012:stream/app-logs"
	_, sum, err := h.Process(context.Background(), firehoseEvent("arn:aws:firehose:us-east-1:123456789012:deliverystream/s", src, [][]byte{payload(t, "/g", 0, 300, 100)}))
	if err != nil {
		t.Fatal(err)
	}
	if kin.stream != src || kin.n != sum.Pieces || kin.n < 2 || fh.calls != 0 {
		t.Errorf("kinesis got %d pieces on %q, firehose %d calls, summary %+v", kin.n, kin.stream, fh.calls, sum)
	}
}

func TestSafeKey(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"/aws/lambda/orders-api":              "aws_lambda_orders-api",
		"API-Gateway-Execution-Logs_abc/prod": "API-Gateway-Execution-Logs_abc_prod",
		"로그/그룹":                               "_____",
		"":                                    "unknown",
		"..":                                  "unknown",
		"a b#c=d":                             "a_b_c_d",
		"vpc-flow-logs":                       "vpc-flow-logs",
	} {
		if got := SafeKey(in); got != want {
			t.Errorf("SafeKey(%q) = %q, want %q", in, got, want)
		}
	}
	if got := SafeKey(strings.Repeat("x", 500)); len(got) != 200 {
		t.Errorf("len = %d", len(got))
	}
}

// FuzzRecord: whatever a record holds, the handler answers every recordId
// exactly once and never panics.
func FuzzRecord(f *testing.F) {
	f.Add([]byte("plain line\n"))
	f.Add(payload(f, "/g", 0, 3, 20))
	f.Add([]byte{0x1f, 0x8b, 8, 0})
	h := New(newProcessor(f, nil), Options{})
	f.Fuzz(func(t *testing.T, data []byte) {
		ev := firehoseEvent("arn:aws:firehose:us-east-1:1:deliverystream/s", "", [][]byte{data, data})
		out, _, err := h.Process(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		resp := response(t, out)
		if len(resp.Records) != 2 || resp.Records[0].RecordID == resp.Records[1].RecordID {
			t.Fatalf("records %+v", resp.Records)
		}
		for _, r := range resp.Records {
			if r.Result == ResultOk {
				ndjson(t, r.Data)
			}
		}
	})
}

// --- helpers ---

func b64gz(t testing.TB, b []byte) string {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

// payload builds a gzip'd CloudWatch Logs payload of n events with messages
// of about size bytes.
func payload(t testing.TB, group string, first, n, size int) []byte {
	msgs := make([]string, n)
	for i := range msgs {
		m := fmt.Sprintf(`{"level":"info","msg":"event %d","n":%d,"pad":"`, first+i, i)
		msgs[i] = m + strings.Repeat("x", max(0, size-len(m)-2)) + `"}`
	}
	return payloadWith(t, group, msgs, first)
}

func payloadWith(t testing.TB, group string, msgs []string, first ...int) []byte {
	base := 0
	if len(first) > 0 {
		base = first[0]
	}
	env := &cwlogs.Envelope{MessageType: cwlogs.DataMessage, Owner: "123456789012", LogGroup: group, LogStream: "stream-1", SubscriptionFilters: []string{"f"}}
	evs := make([]cwlogs.LogEvent, len(msgs))
	for i, m := range msgs {
		evs[i] = cwlogs.LogEvent{ID: fmt.Sprintf("3861509358409383956243821700981541991713843746273%07d", base+i), Timestamp: 1763787888000 + int64(i), Message: m}
	}
	b, err := cwlogs.Encode(env, evs)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decode(t testing.TB, p []byte) *cwlogs.Envelope {
	env, err := cwlogs.NewDecoder(cwlogs.DefaultLimits).Decode(p)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

var recordSeq struct {
	sync.Mutex
	n int
}

// firehoseEvent builds an event with aws-lambda-go's own types; extra are
// already-base64 data values.
func firehoseEvent(stream, source string, data [][]byte, extra ...string) []byte {
	recordSeq.Lock()
	defer recordSeq.Unlock()
	ev := events.KinesisFirehoseEvent{InvocationID: "inv", DeliveryStreamArn: stream, SourceKinesisStreamArn: source, Region: "us-east-1"}
	for _, d := range data {
		recordSeq.n++
		ev.Records = append(ev.Records, events.KinesisFirehoseEventRecord{RecordID: fmt.Sprintf("rec-%06d", recordSeq.n), Data: d,
			ApproximateArrivalTimestamp: events.MilliSecondsEpochTime{Time: time.UnixMilli(1763787900000)}})
	}
	b, _ := json.Marshal(ev)
	if len(extra) > 0 {
		var m map[string]any
		json.Unmarshal(b, &m)
		recs, _ := m["records"].([]any)
		for _, x := range extra {
			recordSeq.n++
			recs = append(recs, map[string]any{"recordId": fmt.Sprintf("rec-%06d", recordSeq.n), "approximateArrivalTimestamp": 1763787900000, "data": x})
		}
		m["records"] = recs
		b, _ = json.Marshal(m)
	}
	return b
}

func TestPerLogGroupCounts(t *testing.T) {
	t.Parallel()
	allow, err := emf.ParseLogGroupAllowList([]string{"/aws/lambda/*"}, 5)
	if err != nil {
		t.Fatal(err)
	}
	var metrics bytes.Buffer
	h := New(newProcessor(t, nil), Options{MetricsOut: &metrics, LogGroups: allow})
	ev := firehoseEvent("arn:aws:firehose:us-east-1:1:deliverystream/s", "",
		[][]byte{payload(t, "/aws/lambda/api", 0, 3, 10), payload(t, "/ecs/web", 10, 4, 10), payload(t, "/aws/lambda/api", 20, 2, 10)})
	if _, _, err := h.Process(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	var perGroup []string
	for _, line := range strings.Split(strings.TrimSpace(metrics.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		if g, ok := m["LogGroup"]; ok {
			perGroup = append(perGroup, fmt.Sprintf("%v=%v", g, m["LogGroupEvents"]))
		} else if m["EventsIn"] != 9.0 {
			t.Errorf("EventsIn = %v, want 9", m["EventsIn"])
		}
	}
	if strings.Join(perGroup, ",") != "/aws/lambda/api=5" {
		t.Errorf("per-group counts %v, want only the allow-listed group", perGroup)
	}
}

// TestSplitPlainLinesKeepTheirRecords: a record of plain lines too large for
// the response is re-ingested as CloudWatch Logs payloads that carry the
// lines' ids and arrival time, so what comes out after re-ingestion, a
// minute later, is byte for byte what the record gives in place, and a
// Firehose retry of the original cannot add a copy under new ids.
func TestSplitPlainLinesKeepTheirRecords(t *testing.T) {
	t.Parallel()
	var text strings.Builder
	for i := 0; i < 3000; i++ {
		fmt.Fprintf(&text, "worker %d finished job %d in %d ms\n", i%7, i, i%250)
		if i%500 == 0 {
			text.WriteString("same line\n")
		}
	}
	data := base64.StdEncoding.EncodeToString([]byte(text.String()))
	const stream = "arn:aws:firehose:eu-west-1:210987654321:deliverystream/apps"

	original := firehoseEvent(stream, "", nil, data)
	inPlace := New(newProcessor(t, nil), Options{})
	out, _, err := inPlace.Process(context.Background(), original)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, line := range bytes.Split(bytes.TrimSpace(response(t, out).Records[0].Data), []byte("\n")) {
		var r struct{ ID string }
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatal(err)
		}
		want[r.ID] = string(line)
	}

	fh := &fakeFirehose{}
	limits := Limits{ResponseBytes: 64 << 10, ChunkOutputBytes: 48 << 10, ChunkInputBytes: 32 << 10}
	h := New(newProcessor(t, nil), Options{Limits: limits, Reingester: &Reingester{Firehose: fh, sleep: noSleep}})
	out, _, err = h.Process(context.Background(), original)
	if err != nil {
		t.Fatal(err)
	}
	if r := response(t, out).Records[0]; r.Result != ResultDropped {
		t.Fatalf("oversized record: %s, want Dropped after re-ingestion", r.Result)
	}
	if len(fh.stored) < 2 {
		t.Fatalf("%d pieces re-ingested, want several", len(fh.stored))
	}
	later := events.KinesisFirehoseEvent{InvocationID: "inv-2", DeliveryStreamArn: stream, Region: "eu-west-1"}
	for i, p := range fh.stored {
		later.Records = append(later.Records, events.KinesisFirehoseEventRecord{RecordID: fmt.Sprintf("piece-%d", i), Data: p,
			ApproximateArrivalTimestamp: events.MilliSecondsEpochTime{Time: time.UnixMilli(1763787960000)}})
	}
	ev, _ := json.Marshal(later)
	big := New(newProcessor(t, nil), Options{})
	out, _, err = big.Process(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for _, r := range response(t, out).Records {
		if r.Result != ResultOk {
			t.Fatalf("piece %s: %s", r.RecordID, r.Result)
		}
		for _, line := range bytes.Split(bytes.TrimSpace(r.Data), []byte("\n")) {
			var rec struct{ ID string }
			if err := json.Unmarshal(line, &rec); err != nil {
				t.Fatal(err)
			}
			if want[rec.ID] != string(line) {
				t.Fatalf("re-ingested record differs from the in-place one:\n got %s\nwant %s", line, want[rec.ID])
			}
			delete(want, rec.ID)
			got++
		}
	}
	if len(want) != 0 || got != 3006 {
		t.Errorf("%d records out of the pieces, %d in-place records never came out", got, len(want))
	}
}

// TestLogGroupFiltersApplyToDirectPut: plain lines carry the log group
// /firehose/<stream>, and the log-group filters treat them by it.
func TestLogGroupFiltersApplyToDirectPut(t *testing.T) {
	t.Parallel()
	data := base64.StdEncoding.EncodeToString([]byte("a line\n"))
	ev := firehoseEvent("arn:aws:firehose:eu-west-1:210987654321:deliverystream/apps", "", nil, data)
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"INCLUDE_LOG_GROUPS": "^/aws/"}, ResultDropped},
		{map[string]string{"EXCLUDE_LOG_GROUPS": "^/firehose/apps$"}, ResultDropped},
		{map[string]string{"INCLUDE_LOG_GROUPS": "^/firehose/"}, ResultOk},
	} {
		out, _, err := New(newProcessor(t, tc.env), Options{}).Process(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		if got := response(t, out).Records[0].Result; got != tc.want {
			t.Errorf("%v: %s, want %s", tc.env, got, tc.want)
		}
	}
}

// TestSplitHugeRepetitiveLineStillArrives: a line whose CloudWatch Logs form
// would compress past the decoder's ratio limit is re-ingested as the plain
// line it was, and arrives, instead of failing as a "gzip bomb" on its way
// back.
func TestSplitHugeRepetitiveLineStillArrives(t *testing.T) {
	t.Parallel()
	line := `{"level":"info","payload":"` + strings.Repeat(`\"`, 300_000) + `"}`
	data := base64.StdEncoding.EncodeToString([]byte(line + "\n"))
	fh := &fakeFirehose{}
	limits := Limits{ResponseBytes: 64 << 10, ChunkOutputBytes: 48 << 10, ChunkInputBytes: 32 << 10}
	h := New(newProcessor(t, nil), Options{Limits: limits, Reingester: &Reingester{Firehose: fh, sleep: noSleep}})
	const stream = "arn:aws:firehose:eu-west-1:210987654321:deliverystream/apps"
	out, _, err := h.Process(context.Background(), firehoseEvent(stream, "", nil, data))
	if err != nil {
		t.Fatal(err)
	}
	if r := response(t, out).Records[0]; r.Result != ResultDropped || len(fh.stored) != 1 {
		t.Fatalf("first pass: %s, %d pieces", r.Result, len(fh.stored))
	}
	back := New(newProcessor(t, nil), Options{})
	out, _, err = back.Process(context.Background(), firehoseEvent(stream, "", fh.stored))
	if err != nil {
		t.Fatal(err)
	}
	r := response(t, out).Records[0]
	if r.Result != ResultOk {
		t.Fatalf("re-ingested piece: %s", r.Result)
	}
	if recs := ndjson(t, r.Data); len(recs) != 1 || recs[0].Message != line {
		t.Errorf("re-ingested piece gave %d records", len(recs))
	}
}
