package opensearch_test

// The integration suite runs the same tests against every backend there is:
//
//   - fake:   shared/bulktest, always;
//   - node:   a real OpenSearch 2.19 started from tools/opensearch (TestMain),
//     unless it cannot start here (skipped with the reason; CI=true fails);
//   - remote: the cluster at OPENSEARCH_URL, when set, e.g.
//     OPENSEARCH_URL=https://admin:secret@localhost:9200 go test ./shared/opensearch
//     (credentials in the URL are used as basic auth; the suite writes only
//     to indices, a template and a policy named tributary-test-<random>
//     and deletes its indices afterwards; the 413 and 429 tests need node
//     settings and are skipped there).

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tributary-logs/tributary/shared/bulk"
	"github.com/tributary-logs/tributary/shared/bulktest"
	"github.com/tributary-logs/tributary/shared/opensearch"
	"github.com/tributary-logs/tributary/shared/record"
)

type backend struct {
	name       string
	client     *opensearch.Client
	fake       *bulktest.Server // nil unless fake
	maxContent int              // known http.max_content_length, 0: unknown
	realQueue  bool             // a one-slot write queue is configured
	prefix     string           // index and template prefix for this run
}

// backends returns the backends to run a test against; fake is fresh per test.
func backends(t *testing.T) []backend {
	t.Helper()
	var out []backend
	fake := bulktest.Start()
	t.Cleanup(fake.Close)
	out = append(out, backend{name: "fake", client: mustClient(t, fake.URL), fake: fake, prefix: "tributary-test-"})
	if node != nil {
		out = append(out, backend{name: "node", client: mustClient(t, node.URL), maxContent: nodeMaxContent, realQueue: true,
			prefix: "tributary-test-" + randomHex(3) + "-"})
	} else {
		out = append(out, backend{name: "node", prefix: nodeSkipReason})
	}
	if u := os.Getenv("OPENSEARCH_URL"); u != "" {
		out = append(out, backend{name: "remote", client: mustClient(t, u), prefix: "tributary-test-" + randomHex(4) + "-"})
	}
	return out
}

// run runs fn for each backend as a subtest.
func run(t *testing.T, fn func(t *testing.T, b backend)) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			if b.client == nil {
				t.Skip(b.prefix)
			}
			t.Cleanup(func() {
				_ = b.client.DeleteIndex(context.Background(), b.prefix+"*")
			})
			fn(t, b)
		})
	}
}

func mustClient(t *testing.T, url string) *opensearch.Client {
	t.Helper()
	c, err := opensearch.New(opensearch.Options{Endpoint: url, Auth: opensearch.AuthNone})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

var day = time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC).UnixMilli()

func testRecords(n int, size int) []record.Record {
	out := make([]record.Record, n)
	pad := strings.Repeat("p", max(size-60, 0))
	for i := range out {
		out[i] = record.Record{
			TimestampMillis: day + int64(i)*1000,
			ID:              fmt.Sprintf("3790%052d", i),
			Owner:           "123456789012",
			LogGroup:        "/aws/lambda/checkout",
			LogStream:       "2026/11/22/[$LATEST]0f1e2d",
			Message:         fmt.Sprintf("request %d finished with status %d %s", i, 200+i%3, pad),
			Level:           "INFO",
			TraceID:         fmt.Sprintf("trace-%d", i%7),
			SourceType:      record.SourceJSON,
			Fields:          []byte(fmt.Sprintf(`{"status":%d,"http":{"method":"GET","path":"/cart/%d"}}`, 200+i%3, i)),
		}
	}
	return out
}

func batchOf(t *testing.T, pattern string, recs []record.Record) *bulk.Batch {
	t.Helper()
	p, err := bulk.ParsePattern(pattern)
	if err != nil {
		t.Fatal(err)
	}
	b := bulk.NewBatch(p)
	for i := range recs {
		b.Add(&recs[i], i)
	}
	return b
}

func setupOpts(b backend) opensearch.SetupOptions {
	return opensearch.SetupOptions{
		Name:            strings.TrimSuffix(b.prefix, "-"),
		IndexPatterns:   []string{b.prefix + "*"},
		WarmAfterDays:   7,
		DeleteAfterDays: 30,
	}
}

func sender(b backend, o bulk.Options) *bulk.Sender {
	o.InitialBackoff = 20 * time.Millisecond
	o.MaxBackoff = 500 * time.Millisecond
	if o.MaxBytes == 0 && b.maxContent > 0 {
		o.MaxBytes = b.maxContent / 2
	}
	return bulk.NewSender(b.client, o)
}

func TestSetupIsIdempotentAndTemplateApplies(t *testing.T) {
	run(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		res, err := b.client.Setup(ctx, setupOpts(b))
		if err != nil {
			t.Fatal(err)
		}
		if !res.FlatObject || res.Template != "installed" || !strings.HasPrefix(res.Version, "2.") && b.name != "remote" {
			t.Errorf("first setup: %+v", res)
		}
		wantPolicy := map[string]string{"fake": "created", "node": "unavailable"}[b.name]
		if wantPolicy != "" && res.Policy != wantPolicy {
			t.Errorf("policy = %q, want %q", res.Policy, wantPolicy)
		}
		res2, err := b.client.Setup(ctx, setupOpts(b))
		if err != nil {
			t.Fatal(err)
		}
		if b.name == "fake" && res2.Policy != "unchanged" {
			t.Errorf("second setup policy = %q, want unchanged", res2.Policy)
		}
		// A document's fields land in the flat_object: arbitrary keys, no
		// mapping growth, searchable by dotted path.
		recs := testRecords(3, 0)
		recs[2].Fields = []byte(`{"status":"not-a-number","deep":{"a":{"b":[1,"x",true]}}}`)
		rep := sender(b, bulk.Options{}).Send(ctx, batchOf(t, b.prefix+"{yyyy.MM.dd}", recs), time.Now().Add(time.Minute))
		if rep.Created != 3 {
			t.Fatalf("created %d of 3 under the template: %+v", rep.Created, rep.Outcomes)
		}
	})
}

func TestFallbackMappingLimitsFields(t *testing.T) {
	run(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		o := setupOpts(b)
		o.ForceFallback = true
		o.FieldLimit = 30
		if _, err := b.client.Setup(ctx, o); err != nil {
			t.Fatal(err)
		}
		recs := testRecords(2, 0)
		var f strings.Builder
		f.WriteString(`{`)
		for i := 0; i < 40; i++ {
			fmt.Fprintf(&f, `"k%d":"v",`, i)
		}
		f.WriteString(`"end":1}`)
		recs[1].Fields = []byte(f.String())
		rep := sender(b, bulk.Options{}).Send(ctx, batchOf(t, b.prefix+"{yyyy.MM.dd}", recs), time.Now().Add(time.Minute))
		o1 := rep.Outcomes[1]
		if rep.Created != 1 || o1.State != bulk.Failed || o1.Status != 400 || !strings.Contains(o1.Reason, "Limit of total fields [30]") {
			t.Fatalf("created %d, outcome %+v", rep.Created, o1)
		}
	})
}

func TestIndexSearchAndConflict(t *testing.T) {
	run(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		if _, err := b.client.Setup(ctx, setupOpts(b)); err != nil {
			t.Fatal(err)
		}
		recs := testRecords(120, 200)
		// One request at a time: the node's one-slot write queue would
		// otherwise throttle (that is TestRejectedExecutionsAreRetried).
		s := sender(b, bulk.Options{MaxDocs: 50, Concurrency: 1})
		rep := s.Send(ctx, batchOf(t, b.prefix+"{yyyy.MM.dd}", recs), time.Now().Add(time.Minute))
		if rep.Created != 120 || rep.Pending+rep.Failed != 0 {
			t.Fatalf("report: %+v", rep)
		}
		index := b.prefix + "2026.11.22"
		if err := b.client.Refresh(ctx, index); err != nil {
			t.Fatal(err)
		}
		n, err := b.client.Count(ctx, index, nil)
		if err != nil || n != 120 {
			t.Fatalf("count = %d, %v", n, err)
		}
		hits, total, err := b.client.Search(ctx, index, json.RawMessage(`{"term":{"trace_id":"trace-3"}}`), 100)
		if err != nil || total != 17 || len(hits) != 17 {
			t.Fatalf("search trace_id: total %d hits %d err %v", total, len(hits), err)
		}
		hits, total, err = b.client.Search(ctx, index, json.RawMessage(`{"term":{"fields.status":"201"}}`), 1)
		if err != nil || total != 40 {
			t.Fatalf("search fields.status (flat_object): total %d err %v", total, err)
		}
		src, found, err := b.client.Get(ctx, index, recs[42].ID)
		if err != nil || !found {
			t.Fatalf("get: found %v err %v", found, err)
		}
		var doc map[string]any
		if err := json.Unmarshal(src, &doc); err != nil || doc["message"] != recs[42].Message || doc["@timestamp"] != "2026-11-22T04:00:42.000Z" {
			t.Errorf("doc = %v (%v)", doc, err)
		}
		// The same documents again: 409 each, counted as already there.
		rep = s.Send(ctx, batchOf(t, b.prefix+"{yyyy.MM.dd}", recs), time.Now().Add(time.Minute))
		if rep.Exists != 120 || rep.Created != 0 || rep.Retried != 0 {
			t.Fatalf("second send: created %d exists %d retried %d", rep.Created, rep.Exists, rep.Retried)
		}
		if o := rep.Outcomes[0]; o.Status != 409 {
			t.Errorf("status = %d, want 409", o.Status)
		}
		_ = b.client.Refresh(ctx, index)
		if n, _ := b.client.Count(ctx, index, nil); n != 120 {
			t.Errorf("count after re-delivery = %d", n)
		}
	})
}

func TestMappingConflictIsPermanent(t *testing.T) {
	run(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		// No template for this prefix: dynamic mapping, as on a cluster
		// whose template is missing, makes fields.status a long.
		recs := testRecords(4, 0)
		recs[3].Fields = []byte(`{"status":"teapot"}`)
		s := sender(b, bulk.Options{Concurrency: 1, MaxDocs: 2})
		rep := s.Send(ctx, batchOf(t, b.prefix+"conflict-{yyyy.MM.dd}", recs), time.Now().Add(time.Minute))
		o := rep.Outcomes[3]
		if rep.Created != 3 || o.State != bulk.Failed || o.Status != 400 || o.Type != "mapper_parsing_exception" || o.Attempts != 1 {
			t.Fatalf("created %d, outcome %+v", rep.Created, o)
		}
		if !strings.Contains(o.Reason, "fields.status") {
			t.Errorf("reason %q does not name the field", o.Reason)
		}
	})
}

func TestTooLargeSplits(t *testing.T) {
	run(t, func(t *testing.T, b backend) {
		if b.fake != nil {
			b.fake.SetFaults(bulktest.Faults{MaxContentLength: nodeMaxContent})
			b.maxContent = nodeMaxContent
		}
		if b.maxContent == 0 {
			t.Skip("http.max_content_length of a remote cluster is unknown")
		}
		ctx := context.Background()
		recs := testRecords(200, 1000) // ~1.3 KB each: 260 KB in all
		recs[77].Message = strings.Repeat("z", b.maxContent+1)
		// Requests of up to 1 MiB: the cluster refuses them with 413.
		s := sender(b, bulk.Options{MaxBytes: 1 << 20})
		rep := s.Send(ctx, batchOf(t, b.prefix+"{yyyy.MM.dd}", recs), time.Now().Add(time.Minute))
		o := rep.Outcomes[77]
		if rep.Created != 199 || rep.Splits < 8 || o.State != bulk.Failed || o.Status != 413 {
			t.Fatalf("created %d splits %d outcome %+v", rep.Created, rep.Splits, o)
		}
		index := b.prefix + "2026.11.22"
		_ = b.client.Refresh(ctx, index)
		if n, err := b.client.Count(ctx, index, nil); n != 199 {
			t.Errorf("count = %d, %v", n, err)
		}
	})
}

func TestRejectedExecutionsAreRetried(t *testing.T) {
	run(t, func(t *testing.T, b backend) {
		if b.fake != nil {
			b.fake.SetFaults(bulktest.Faults{ThrottleRatio: 0.4, ThrottleTimes: 2})
		} else if !b.realQueue {
			t.Skip("needs a cluster with a one-slot write queue")
		}
		ctx := context.Background()
		o := setupOpts(b)
		o.Shards = 3 // three shard-level write tasks per request for a one-thread pool
		if _, err := b.client.Setup(ctx, o); err != nil {
			t.Fatal(err)
		}
		recs := testRecords(240, 100)
		s := sender(b, bulk.Options{MaxDocs: 40, Concurrency: 4})
		rep := s.Send(ctx, batchOf(t, b.prefix+"{yyyy.MM.dd}", recs), time.Now().Add(90*time.Second))
		if rep.Created != 240 || rep.Pending+rep.Failed != 0 {
			t.Fatalf("created %d pending %d failed %d", rep.Created, rep.Pending, rep.Failed)
		}
		if rep.Throttled == 0 || rep.Retried == 0 {
			t.Fatalf("no 429 seen (throttled %d, retried %d): the back-pressure path was not exercised", rep.Throttled, rep.Retried)
		}
		t.Logf("%s: %d requests, %d throttled responses, %d item retries in %d rounds", b.name, rep.Requests, rep.Throttled, rep.Retried, rep.Rounds)
		index := b.prefix + "2026.11.22"
		_ = b.client.Refresh(ctx, index)
		if n, err := b.client.Count(ctx, index, nil); n != 240 {
			t.Errorf("count = %d, %v", n, err)
		}
	})
}
