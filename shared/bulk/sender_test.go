package bulk_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tributary-logs/tributary/shared/bulk"
	"github.com/tributary-logs/tributary/shared/bulktest"
	"github.com/tributary-logs/tributary/shared/record"
)

// httpTransport is the smallest bulk.Transport over HTTP.
type httpTransport struct {
	url   string
	fails atomic.Int32 // connection errors to return first
}

func (h *httpTransport) Bulk(ctx context.Context, body []byte) (*bulk.Response, error) {
	if h.fails.Load() > 0 {
		h.fails.Add(-1)
		return nil, errors.New("dial tcp 127.0.0.1:9: connect: connection refused")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url+"/_bulk", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	ra, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	return &bulk.Response{Status: resp.StatusCode, Body: b, RetryAfter: time.Duration(ra) * time.Second}, nil
}

var day = time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC).UnixMilli()

func records(n int) []record.Record {
	out := make([]record.Record, n)
	for i := range out {
		out[i] = record.Record{
			TimestampMillis: day + int64(i),
			ID:              fmt.Sprintf("3790%052d", i),
			Owner:           "123456789012",
			LogGroup:        "/aws/lambda/api",
			LogStream:       "2026/11/22/[$LATEST]abc",
			Message:         fmt.Sprintf(`{"level":"info","msg":"request %d"}`, i),
			Level:           "INFO",
			SourceType:      record.SourceJSON,
			Fields:          []byte(fmt.Sprintf(`{"status":%d}`, 200+i%3)),
		}
	}
	return out
}

func newBatch(t testing.TB, recs []record.Record) *bulk.Batch {
	t.Helper()
	p, err := bulk.ParsePattern("cwl-{yyyy.MM.dd}")
	if err != nil {
		t.Fatal(err)
	}
	b := bulk.NewBatch(p)
	for i := range recs {
		b.Add(&recs[i], i)
	}
	return b
}

func fastOpts(o bulk.Options) bulk.Options {
	o.InitialBackoff = time.Millisecond
	o.MaxBackoff = 10 * time.Millisecond
	return o
}

func setup(t *testing.T, f bulktest.Faults) (*bulktest.Server, *httpTransport) {
	t.Helper()
	srv := bulktest.Start()
	t.Cleanup(srv.Close)
	srv.SetFaults(f)
	return srv, &httpTransport{url: srv.URL}
}

func TestSendCreatesThenConflictsCountAsIndexed(t *testing.T) {
	t.Parallel()
	srv, tr := setup(t, bulktest.Faults{})
	recs := records(50)
	s := bulk.NewSender(tr, fastOpts(bulk.Options{MaxDocs: 20}))
	rep := s.Send(context.Background(), newBatch(t, recs), time.Now().Add(time.Minute))
	if rep.Created != 50 || rep.Requests != 3 || rep.Pending+rep.Failed != 0 {
		t.Fatalf("first send: %+v", rep)
	}
	rep = s.Send(context.Background(), newBatch(t, recs), time.Now().Add(time.Minute))
	if rep.Exists != 50 || rep.Created != 0 || rep.Retried != 0 {
		t.Fatalf("second send: created %d exists %d retried %d", rep.Created, rep.Exists, rep.Retried)
	}
	docs := srv.Docs("cwl-2026.11.22")
	if len(docs) != 50 {
		t.Fatalf("stored %d docs, want 50", len(docs))
	}
	var got map[string]any
	if err := json.Unmarshal(docs[recs[7].ID], &got); err != nil {
		t.Fatal(err)
	}
	if got["message"] != recs[7].Message || got["@timestamp"] != "2026-11-22T04:00:00.007Z" {
		t.Errorf("doc 7 = %v", got)
	}
}

func TestSendRetriesOnlyThrottledItems(t *testing.T) {
	t.Parallel()
	srv, tr := setup(t, bulktest.Faults{ThrottleRatio: 0.3, ThrottleTimes: 2})
	s := bulk.NewSender(tr, fastOpts(bulk.Options{}))
	b := newBatch(t, records(200))
	rep := s.Send(context.Background(), b, time.Now().Add(time.Minute))
	if rep.Created != 200 {
		t.Fatalf("created %d of 200: %+v", rep.Created, rep)
	}
	throttled := 0
	for i, o := range rep.Outcomes {
		switch o.Attempts {
		case 1:
		case 3:
			throttled++
		default:
			t.Errorf("item %d attempts = %d, want 1 or 3", i, o.Attempts)
		}
	}
	if throttled == 0 || throttled > 100 || rep.Retried != 2*throttled || rep.Throttled != 2 {
		t.Errorf("throttled %d, retried %d, throttled responses %d", throttled, rep.Retried, rep.Throttled)
	}
	// Only the throttled items were re-sent: requests after the first
	// carried just them.
	reqs := srv.Requests()
	if len(reqs) != 3 || reqs[1].Bytes >= reqs[0].Bytes/2 {
		t.Errorf("requests: %+v", reqs)
	}
}

func TestSendSplitsOn413AndRejectsOversizedDocument(t *testing.T) {
	t.Parallel()
	srv, tr := setup(t, bulktest.Faults{MaxContentLength: 4000})
	recs := records(40)
	recs[13].Message = strings.Repeat("x", 5000)
	s := bulk.NewSender(tr, fastOpts(bulk.Options{MaxBytes: 1 << 20}))
	rep := s.Send(context.Background(), newBatch(t, recs), time.Now().Add(time.Minute))
	if rep.Created != 39 || rep.Failed != 1 || rep.Splits == 0 {
		t.Fatalf("report: created %d failed %d splits %d", rep.Created, rep.Failed, rep.Splits)
	}
	o := rep.Outcomes[13]
	if o.State != bulk.Failed || o.Status != 413 || o.Type != "request_entity_too_large" || !strings.Contains(o.Reason, "http.max_content_length") {
		t.Errorf("oversized outcome = %+v", o)
	}
	if n := len(srv.Docs("cwl-2026.11.22")); n != 39 {
		t.Errorf("stored %d, want 39", n)
	}
}

func TestSendMappingConflictIsPermanent(t *testing.T) {
	t.Parallel()
	srv, tr := setup(t, bulktest.Faults{})
	recs := records(10)
	recs[6].Fields = []byte(`{"status":"not-a-number"}`)
	s := bulk.NewSender(tr, fastOpts(bulk.Options{}))
	rep := s.Send(context.Background(), newBatch(t, recs), time.Now().Add(time.Minute))
	o := rep.Outcomes[6]
	if rep.Created != 9 || o.State != bulk.Failed || o.Status != 400 || o.Type != "mapper_parsing_exception" || o.Attempts != 1 {
		t.Fatalf("created %d, outcome %+v", rep.Created, o)
	}
	if !strings.Contains(o.Reason, "fields.status") {
		t.Errorf("reason %q does not name the field", o.Reason)
	}
	if len(srv.Requests()) != 1 {
		t.Errorf("a permanent error was retried: %d requests", len(srv.Requests()))
	}
}

func TestSendRetriesServerErrorsAndConnectionErrors(t *testing.T) {
	t.Parallel()
	_, tr := setup(t, bulktest.Faults{FailRequests: 2, ServerErrorStatus: 502})
	tr.fails.Store(1)
	s := bulk.NewSender(tr, fastOpts(bulk.Options{}))
	rep := s.Send(context.Background(), newBatch(t, records(30)), time.Now().Add(time.Minute))
	if rep.Created != 30 || rep.Rounds != 4 || rep.Retried != 90 {
		t.Fatalf("report: %+v", rep)
	}
}

func TestSendHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	_, tr := setup(t, bulktest.Faults{ThrottleRequests: 1, RetryAfter: time.Second})
	s := bulk.NewSender(tr, fastOpts(bulk.Options{}))
	start := time.Now()
	rep := s.Send(context.Background(), newBatch(t, records(5)), time.Now().Add(time.Minute))
	if rep.Created != 5 || rep.Throttled != 1 {
		t.Fatalf("report: %+v", rep)
	}
	if waited := time.Since(start); waited < time.Second {
		t.Errorf("retried after %s, before Retry-After: 1", waited)
	}
}

// sendBy runs Send and fails the test if it has not returned by the deadline
// plus grace: a sender that ignores its deadline never stops against a
// server that always fails. The grace is wide so that a loaded machine that
// stalls the test for a while does not fail it; the waits a sender could
// wrongly take (backoff, Retry-After, a slow server) are longer still.
func sendBy(t *testing.T, s *bulk.Sender, b *bulk.Batch, stopAt time.Time, grace time.Duration) *bulk.Report {
	t.Helper()
	done := make(chan *bulk.Report, 1)
	go func() { done <- s.Send(context.Background(), b, stopAt) }()
	select {
	case rep := <-done:
		return rep
	case <-time.After(time.Until(stopAt) + grace):
		t.Fatalf("Send still running %s after its deadline", grace)
		return nil
	}
}

func TestSendStopsAtDeadline(t *testing.T) {
	t.Parallel()
	_, tr := setup(t, bulktest.Faults{FailRequests: 1 << 30})
	s := bulk.NewSender(tr, bulk.Options{InitialBackoff: 20 * time.Millisecond, MaxBackoff: 40 * time.Millisecond})
	rep := sendBy(t, s, newBatch(t, records(8)), time.Now().Add(300*time.Millisecond), 5*time.Second)
	if rep.Pending != 8 || rep.Rounds < 2 {
		t.Fatalf("report: %+v", rep)
	}
	// The last try may be cut off by the deadline; the item still carries the
	// server's answer.
	if o := rep.Outcomes[0]; o.Status != 503 || o.Type != "node_not_connected_exception" || o.Attempts != rep.Rounds {
		t.Errorf("outcome = %+v", o)
	}
}

// TestSendDoesNotBackOffPastDeadline: a backoff longer than the time left
// ends the send at once instead of sleeping through the deadline.
func TestSendDoesNotBackOffPastDeadline(t *testing.T) {
	t.Parallel()
	_, tr := setup(t, bulktest.Faults{FailRequests: 1 << 30})
	s := bulk.NewSender(tr, bulk.Options{InitialBackoff: 20 * time.Second, MaxBackoff: 40 * time.Second})
	rep := sendBy(t, s, newBatch(t, records(4)), time.Now().Add(time.Second), 5*time.Second)
	if rep.Pending != 4 || rep.Rounds != 1 {
		t.Fatalf("report: %+v", rep)
	}
}

func TestSendCutOffKeepsTheServersLastAnswer(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	tr := transportFunc(func(ctx context.Context, body []byte) (*bulk.Response, error) {
		if calls.Add(1) == 1 {
			return &bulk.Response{Status: 429, Body: []byte(`{"error":{"type":"es_rejected_execution_exception","reason":"queue full"},"status":429}`)}, nil
		}
		<-ctx.Done()
		return nil, fmt.Errorf("post: %w", ctx.Err())
	})
	s := bulk.NewSender(tr, bulk.Options{InitialBackoff: time.Millisecond, MaxBackoff: time.Millisecond})
	rep := s.Send(context.Background(), newBatch(t, records(2)), time.Now().Add(100*time.Millisecond))
	if rep.Pending != 2 || rep.Rounds != 2 {
		t.Fatalf("report: %+v", rep)
	}
	o := rep.Outcomes[1]
	if o.Status != 429 || o.Type != "es_rejected_execution_exception" || o.Attempts != 2 ||
		!strings.Contains(o.Reason, "queue full") || !strings.HasSuffix(o.Reason, "then no response before the invocation's deadline") {
		t.Errorf("outcome = %+v", o)
	}
}

func TestSendWaitsNoLongerThanTheDeadline(t *testing.T) {
	t.Parallel()
	_, tr := setup(t, bulktest.Faults{ThrottleRequests: 1, RetryAfter: 60 * time.Second})
	s := bulk.NewSender(tr, fastOpts(bulk.Options{}))
	// Retry-After: 60 does not fit before the deadline: the send ends at once
	// (well before the deadline, let alone the 60 s).
	stopAt := time.Now().Add(10 * time.Second)
	rep := sendBy(t, s, newBatch(t, records(3)), stopAt, 0)
	if time.Until(stopAt) < 3*time.Second || rep.Pending != 3 || rep.Rounds != 1 || rep.Outcomes[0].Status != 429 {
		t.Fatalf("returned %s before the deadline: %+v", time.Until(stopAt), rep)
	}
}

func TestSendSlowServerTimesOutAtDeadline(t *testing.T) {
	t.Parallel()
	_, tr := setup(t, bulktest.Faults{Latency: time.Minute})
	s := bulk.NewSender(tr, fastOpts(bulk.Options{}))
	rep := sendBy(t, s, newBatch(t, records(3)), time.Now().Add(200*time.Millisecond), 10*time.Second)
	if rep.Pending != 3 {
		t.Fatalf("report: %+v", rep)
	}
	if o := rep.Outcomes[0]; o.Type != "connection_error" || !strings.Contains(o.Reason, "deadline") {
		t.Errorf("outcome = %+v", o)
	}
}

func TestSendConcurrencyBoundsRequests(t *testing.T) {
	t.Parallel()
	var inFlight, peak atomic.Int32
	tr := transportFunc(func(ctx context.Context, body []byte) (*bulk.Response, error) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
		docs := bytes.Count(body, []byte("\n")) / 2
		items := strings.TrimSuffix(strings.Repeat(`{"create":{"status":201}},`, docs), ",")
		return &bulk.Response{Status: 200, Body: []byte(`{"took":1,"errors":false,"items":[` + items + `]}`)}, nil
	})
	s := bulk.NewSender(tr, bulk.Options{MaxDocs: 10, Concurrency: 3})
	rep := s.Send(context.Background(), newBatch(t, records(100)), time.Now().Add(time.Minute))
	if rep.Created != 100 || rep.Requests != 10 {
		t.Fatalf("report: %+v", rep)
	}
	if p := peak.Load(); p > 3 || p < 2 {
		t.Errorf("peak in flight = %d, want 2..3", p)
	}
}

func TestSendUnreadableResponseIsRetried(t *testing.T) {
	t.Parallel()
	calls := 0
	tr := transportFunc(func(ctx context.Context, body []byte) (*bulk.Response, error) {
		calls++
		if calls == 1 {
			return &bulk.Response{Status: 200, Body: []byte(`{"took":1,"errors":false,"items":[]}`)}, nil
		}
		return &bulk.Response{Status: 200, Body: []byte(`{"took":1,"errors":false,"items":[{"create":{"status":201}},{"index":{"status":201}}]}`)}, nil
	})
	s := bulk.NewSender(tr, fastOpts(bulk.Options{}))
	rep := s.Send(context.Background(), newBatch(t, records(2)), time.Now().Add(time.Minute))
	if rep.Created != 2 || rep.Retried != 2 {
		t.Fatalf("report: %+v", rep)
	}
}

type transportFunc func(ctx context.Context, body []byte) (*bulk.Response, error)

func (f transportFunc) Bulk(ctx context.Context, body []byte) (*bulk.Response, error) {
	return f(ctx, body)
}

func TestRetryable(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status int
		typ    string
		want   bool
	}{
		{429, "es_rejected_execution_exception", true},
		{429, "", true},
		{503, "unavailable_shards_exception", true},
		{500, "", true},
		{400, "mapper_parsing_exception", false},
		{400, "illegal_argument_exception", false},
		{409, "version_conflict_engine_exception", false},
		{413, "", false},
	} {
		if got := bulk.Retryable(tc.status, tc.typ); got != tc.want {
			t.Errorf("Retryable(%d, %q) = %v", tc.status, tc.typ, got)
		}
	}
}

func TestBatchEncoding(t *testing.T) {
	t.Parallel()
	recs := records(3)
	recs[1].ID = ""
	recs[2].ID = "a\"b\\c\u2028\xff" // escaped in the action line and the document alike
	b := newBatch(t, recs)
	body := string(b.Body())
	lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
	if len(lines) != 6 {
		t.Fatalf("%d lines:\n%s", len(lines), body)
	}
	want := `{"create":{"_index":"cwl-2026.11.22","_id":"` + recs[0].ID + `"}}`
	if lines[0] != want {
		t.Errorf("action = %s\nwant     %s", lines[0], want)
	}
	// The document keeps the record's own id, even where the _id is derived.
	for i := range recs {
		if lines[2*i+1] != string(recs[i].AppendJSON(nil)) {
			t.Errorf("source %d = %s\nwant       %s", i, lines[2*i+1], recs[i].AppendJSON(nil))
		}
	}
	if want := `"_id":"a\"b\\c\u2028` + "\ufffd" + `"}}`; !strings.HasSuffix(lines[4], want) {
		t.Errorf("action = %s, want the _id %s", lines[4], want)
	}
	if id := b.ID(1); !strings.HasPrefix(id, "sha256-") || id != bulk.ContentID(&recs[1]) {
		t.Errorf("derived id = %q", id)
	}
	if b.Index(0) != "cwl-2026.11.22" || string(b.Document(0)) != lines[1] {
		t.Errorf("accessors: %q %q", b.Index(0), b.Document(0))
	}
}
