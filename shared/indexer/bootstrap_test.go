package indexer_test

// The built indexer bootstrap, run through the local Lambda Runtime API
// (shared/lambdaruntime) with S3 on moto and OpenSearch on the strict fake
// (whose faults are deterministic): a burst of subscription events under
// injected 429s, a mapping conflict and 413s ends with every event stored
// exactly once or dead-lettered with its reason, and a second delivery of
// the same payloads adds nothing.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/tributary-logs/tributary/shared/bootstraptest"
	"github.com/tributary-logs/tributary/shared/bulktest"
	"github.com/tributary-logs/tributary/shared/cwlogs"
	"github.com/tributary-logs/tributary/shared/lambdaruntime"
	"github.com/tributary-logs/tributary/shared/localaws"
)

const (
	burstPayloads = 6
	burstEvents   = 250
	dlqBucket     = "tributary-dlq"
)

// burst returns subscription events as Lambda delivers them, and every
// event id with whether its status field is not a number (a mapping
// conflict on the prepared index).
func burst(t *testing.T) (events [][]byte, ids map[string]bool) {
	t.Helper()
	ids = map[string]bool{}
	base := time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC).UnixMilli()
	for p := 0; p < burstPayloads; p++ {
		env := &cwlogs.Envelope{
			MessageType: cwlogs.DataMessage, Owner: "123456789012",
			LogGroup: "/ecs/checkout", LogStream: fmt.Sprintf("checkout/web/%04d", p),
			SubscriptionFilters: []string{"tributary-indexer"},
		}
		var evs []cwlogs.LogEvent
		for i := 0; i < burstEvents; i++ {
			id := fmt.Sprintf("3861509358409383956243821700981541991713843746273%02d%05d", p, i)
			status := fmt.Sprint(200 + i%5)
			conflict := p == 2 && i%100 == 7
			if conflict {
				status = `"teapot"`
			}
			ids[id] = conflict
			msg := fmt.Sprintf(`{"level":"info","msg":"GET /cart/%d served","status":%s,"bytes":%d,"path":"/cart/%d","pad":"%s"}`,
				i, status, 100+i, i, strings.Repeat("x", 150))
			evs = append(evs, cwlogs.LogEvent{ID: id, Timestamp: base + int64(p*burstEvents+i), Message: msg})
		}
		gzBytes, err := cwlogs.Encode(env, evs)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, []byte(`{"awslogs":{"data":"`+base64.StdEncoding.EncodeToString(gzBytes)+`"}}`))
	}
	return events, ids
}

type summary struct {
	Events, Indexed, Retried, Requests int
	AlreadyPresent                     int      `json:"already_present"`
	DeadLettered                       int      `json:"dead_lettered"`
	DeadLetterKeys                     []string `json:"dead_letter_keys"`
}

func TestBootstrapBurstUnderFaults(t *testing.T) {
	bin := bootstraptest.Path(t, "indexer")
	moto := localaws.MotoForTest(t)
	ctx := context.Background()
	awsCfg, err := moto.Config(ctx, "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	s3c := s3.NewFromConfig(awsCfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(dlqBucket),
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraintEuWest1}}); err != nil {
		t.Fatal(err)
	}
	fake := bulktest.Start()
	defer fake.Close()
	// The day's index exists with fields.status mapped as a long (as after
	// an older template): a "teapot" status is a mapping conflict.
	putIndex(t, fake.URL, "cwl-2026.11.22", []byte(`{"mappings":{"properties":{"fields":{"properties":{"status":{"type":"long"}}}}}}`))
	fake.SetFaults(bulktest.Faults{ThrottleRatio: 0.15, ThrottleTimes: 2, MaxContentLength: 48 << 10, FailRequests: 1})

	var logs bootstraptest.Output
	env := append(moto.Env("eu-west-1"),
		"OPENSEARCH_ENDPOINT="+fake.URL,
		"OPENSEARCH_AUTH=none",
		"DLQ_BUCKET="+dlqBucket,
		"DLQ_PREFIX=dlq/",
		"BULK_MAX_BYTES=131072", // above the cluster's 48 KiB limit: 413 and splits
		"BULK_CONCURRENCY=2",
		"DEADLINE_MARGIN=2s",
		"SETUP_INDEX_TEMPLATE=true",
	)
	fn, err := lambdaruntime.New(lambdaruntime.Config{Bootstrap: bin, Name: "indexer", Timeout: 30 * time.Second, Env: env, Output: &logs, Region: "eu-west-1"})
	if err != nil {
		t.Fatal(err)
	}
	defer fn.Close()
	defer func() {
		if t.Failed() {
			t.Logf("function output:\n%s", logs.String())
		}
	}()

	events, ids := burst(t)
	deliver := func() (sum summary) {
		for i, ev := range events {
			res, err := fn.Invoke(ctx, ev)
			if err != nil {
				t.Fatalf("invoke %d: %v", i, err)
			}
			if err := res.Err(); err != nil {
				t.Fatalf("invoke %d: %v", i, err)
			}
			var s summary
			if err := json.Unmarshal(res.Payload, &s); err != nil {
				t.Fatalf("response %s: %v", res.Payload, err)
			}
			sum.Events += s.Events
			sum.Indexed += s.Indexed
			sum.AlreadyPresent += s.AlreadyPresent
			sum.DeadLettered += s.DeadLettered
			sum.Retried += s.Retried
			sum.Requests += s.Requests
			sum.DeadLetterKeys = append(sum.DeadLetterKeys, s.DeadLetterKeys...)
		}
		return sum
	}
	first := deliver()
	conflicts := 0
	for _, c := range ids {
		if c {
			conflicts++
		}
	}
	if first.Events != len(ids) || first.Indexed != len(ids)-conflicts || first.DeadLettered != conflicts || first.Retried == 0 {
		t.Fatalf("first delivery: %+v (%d ids, %d conflicts)", first, len(ids), conflicts)
	}
	t.Logf("first delivery: %d events, %d indexed, %d dead-lettered (%d conflicts), %d item retries, %d requests",
		first.Events, first.Indexed, first.DeadLettered, conflicts, first.Retried, first.Requests)
	reqs := fake.Requests()
	saw413 := false
	for _, r := range reqs {
		saw413 = saw413 || r.Status == 413
	}
	if !saw413 {
		t.Error("no 413 was provoked")
	}

	stored := fake.Docs("cwl-2026.11.22")
	dead := readDeadLetters(t, s3c)
	for id, conflict := range ids {
		_, ok := stored[id]
		d, dl := dead[id]
		switch {
		case ok && dl:
			t.Errorf("%s stored and dead-lettered", id)
		case !ok && !dl:
			t.Errorf("%s lost: neither stored nor dead-lettered", id)
		case dl && (!conflict || d.Error.Type != "mapper_parsing_exception" || !strings.Contains(d.Error.Reason, "fields.status") || d.Status != 400 || d.Attempts < 1):
			t.Errorf("%s dead-lettered: %+v", id, d)
		case ok && conflict:
			t.Errorf("%s with a conflicting status was stored", id)
		}
	}
	if len(stored) != len(ids)-conflicts {
		t.Errorf("%d documents stored, want %d", len(stored), len(ids)-conflicts)
	}

	// Second delivery (a Lambda retry, or CloudWatch re-sending): nothing new.
	fake.SetFaults(bulktest.Faults{ThrottleRatio: 0.15, ThrottleTimes: 1, MaxContentLength: 48 << 10})
	second := deliver()
	t.Logf("second delivery: %d indexed, %d already present, %d dead-lettered again", second.Indexed, second.AlreadyPresent, second.DeadLettered)
	if second.Indexed != 0 || second.AlreadyPresent != len(ids)-conflicts || second.DeadLettered != conflicts {
		t.Errorf("second delivery: %+v", second)
	}
	if n := len(fake.Docs("cwl-2026.11.22")); n != len(ids)-conflicts || fake.Count() != n {
		t.Errorf("after second delivery %d documents (%d in all indices), want %d", n, fake.Count(), len(ids)-conflicts)
	}
	if !strings.Contains(logs.String(), `"EventsIndexed"`) || !strings.Contains(logs.String(), `"index set-up"`) {
		t.Errorf("no EMF metrics or set-up log line in the output")
	}
}

type deadLetter struct {
	Index  string `json:"index"`
	Status int    `json:"status"`
	Error  struct {
		Type   string `json:"type"`
		Reason string `json:"reason"`
	} `json:"error"`
	Attempts int `json:"attempts"`
	Record   struct {
		ID string `json:"id"`
	} `json:"record"`
}

// readDeadLetters reads every dead-letter line from moto's S3, by record id.
func readDeadLetters(t *testing.T, c *s3.Client) map[string]deadLetter {
	t.Helper()
	ctx := context.Background()
	out := map[string]deadLetter{}
	list, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(dlqBucket), Prefix: aws.String("dlq/")})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range list.Contents {
		obj, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(dlqBucket), Key: o.Key})
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(obj.Body)
		obj.Body.Close()
		for _, line := range bytes.Split(bytes.TrimSpace(body), []byte("\n")) {
			var d deadLetter
			if err := json.Unmarshal(line, &d); err != nil {
				t.Fatalf("%s: %v", aws.ToString(o.Key), err)
			}
			out[d.Record.ID] = d
		}
	}
	return out
}

func putIndex(t *testing.T, url, index string, body []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, url+"/"+index, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("create index: %v %v", resp, err)
	}
	resp.Body.Close()
}
