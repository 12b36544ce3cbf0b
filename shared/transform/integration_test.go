package transform_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	fhtypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tributary-logs/tributary/shared/bootstraptest"
	"github.com/tributary-logs/tributary/shared/cwlogs"
	"github.com/tributary-logs/tributary/shared/lambdaruntime"
	"github.com/tributary-logs/tributary/shared/localaws"
	"github.com/tributary-logs/tributary/shared/localpipeline"
	"github.com/tributary-logs/tributary/shared/transform"
)

// TestBootstrapSplitsOversizedBatchThroughFirehose runs the real built
// bootstrap through the local Runtime API with a Firehose event whose output
// exceeds 6 MB, against moto's Firehose (re-ingested pieces land in moto's
// S3), and proves every event comes out exactly once: in the response, or
// re-ingested and then transformed on the next pass.
func TestBootstrapSplitsOversizedBatchThroughFirehose(t *testing.T) {
	moto := localaws.MotoForTest(t)
	ctx := context.Background()
	cfg, err := moto.Config(ctx, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = true
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	fh := firehose.NewFromConfig(cfg)
	const bucket, stream = "tributary-raw", "tributary-logs"
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	if _, err := fh.CreateDeliveryStream(ctx, &firehose.CreateDeliveryStreamInput{
		DeliveryStreamName: aws.String(stream),
		ExtendedS3DestinationConfiguration: &fhtypes.ExtendedS3DestinationConfiguration{
			BucketARN: aws.String("arn:aws:s3:::" + bucket),
			RoleARN:   aws.String("arn:aws:iam::123456789012:role/firehose"),
		},
	}); err != nil {
		t.Fatal(err)
	}
	streamARN := "arn:aws:firehose:us-east-1:123456789012:deliverystream/" + stream

	fn, err := lambdaruntime.New(lambdaruntime.Config{
		Bootstrap: bootstraptest.Path(t, "transform"),
		Name:      "transform",
		Timeout:   60 * time.Second,
		MemoryMB:  1024,
		Env:       moto.Env("us-east-1"),
		Output:    testWriter{t},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer fn.Close()

	// ~9 MiB of varied messages in 60 records: the output cannot fit 6 MB.
	rng := rand.New(rand.NewPCG(1, 2))
	want := map[string]bool{}
	var data [][]byte
	for r := 0; r < 60; r++ {
		env := &cwlogs.Envelope{MessageType: cwlogs.DataMessage, Owner: "123456789012",
			LogGroup: fmt.Sprintf("/aws/lambda/svc-%d", r%7), LogStream: "2026/11/22/[$LATEST]abc", SubscriptionFilters: []string{"tributary"}}
		var evs []cwlogs.LogEvent
		for i := 0; i < 600; i++ {
			id := fmt.Sprintf("386150935840938395624382170098154199171384374627%08d", r*1000+i)
			want[id] = true
			msg := fmt.Sprintf(`{"level":"%s","msg":"request served","path":"/api/v1/items/%d","latency_ms":%d,"user_agent":"Mozilla/5.0 (%x)","trace_id":"%032x"}`,
				[]string{"info", "warn", "error"}[rng.IntN(3)], rng.IntN(100000), rng.IntN(900), rng.Uint64(), rng.Uint64())
			evs = append(evs, cwlogs.LogEvent{ID: id, Timestamp: 1763787888000 + int64(i), Message: msg})
		}
		p, err := cwlogs.Encode(env, evs)
		if err != nil {
			t.Fatal(err)
		}
		data = append(data, p)
	}

	seen := map[string]int{}
	pending := [][][]byte{data}
	for pass := 1; len(pending) > 0; pass++ {
		if pass > 20 {
			t.Fatal("re-ingestion does not converge")
		}
		batch := pending[0]
		pending = pending[1:]
		ev := events.KinesisFirehoseEvent{InvocationID: fmt.Sprint(pass), DeliveryStreamArn: streamARN, Region: "us-east-1"}
		for i, d := range batch {
			ev.Records = append(ev.Records, events.KinesisFirehoseEventRecord{
				RecordID: fmt.Sprintf("%d-%d", pass, i), Data: d, ApproximateArrivalTimestamp: events.MilliSecondsEpochTime{Time: time.Now()}})
		}
		payload, _ := json.Marshal(ev)
		res, err := fn.Invoke(ctx, payload)
		if err != nil {
			t.Fatal(err)
		}
		if err := res.Err(); err != nil {
			t.Fatalf("pass %d: %v", pass, err)
		}
		if len(res.Payload) > transform.MaxResponseBytes {
			t.Fatalf("pass %d: response of %d bytes exceeds Lambda's limit", pass, len(res.Payload))
		}
		var resp events.KinesisFirehoseResponse
		if err := json.Unmarshal(res.Payload, &resp); err != nil {
			t.Fatal(err)
		}
		if len(resp.Records) != len(batch) {
			t.Fatalf("pass %d: %d results for %d records", pass, len(resp.Records), len(batch))
		}
		ids := map[string]bool{}
		dropped := 0
		for _, r := range resp.Records {
			if ids[r.RecordID] {
				t.Fatalf("recordId %s answered twice", r.RecordID)
			}
			ids[r.RecordID] = true
			switch r.Result {
			case transform.ResultOk:
				for _, l := range bytes.Split(bytes.TrimSuffix(r.Data, []byte("\n")), []byte("\n")) {
					var rec struct {
						ID string `json:"id"`
					}
					if err := json.Unmarshal(l, &rec); err != nil {
						t.Fatal(err)
					}
					seen[rec.ID]++
				}
			case transform.ResultDropped:
				dropped++
			default:
				t.Fatalf("pass %d: record %s %s", pass, r.RecordID, r.Result)
			}
		}
		pieces := drainBucket(t, ctx, s3c, bucket)
		t.Logf("pass %d: %d records, response %d bytes, %d dropped for re-ingest, %d pieces re-ingested (cold=%v, %v)",
			pass, len(batch), len(res.Payload), dropped, len(pieces), res.Cold, res.Duration)
		if pass == 1 && len(pieces) == 0 {
			t.Fatal("first pass re-ingested nothing: the event is not large enough to test splitting")
		}
		for len(pieces) > 0 {
			n := min(len(pieces), 40)
			pending = append(pending, pieces[:n])
			pieces = pieces[n:]
		}
	}
	for id := range want {
		if seen[id] != 1 {
			t.Fatalf("event %s came out %d times", id, seen[id])
		}
	}
	if len(seen) != len(want) {
		t.Fatalf("%d distinct events out, %d in", len(seen), len(want))
	}
}

// drainBucket reads and deletes every object moto's Firehose delivered. Each
// object is the concatenation of the re-ingested records (gzip members).
func drainBucket(t *testing.T, ctx context.Context, c *s3.Client, bucket string) [][]byte {
	t.Helper()
	out, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	var pieces [][]byte
	for _, o := range out.Contents {
		obj, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: o.Key})
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(obj.Body)
		obj.Body.Close()
		ps, err := localpipeline.SplitDelivered(body)
		if err != nil {
			t.Fatal(err)
		}
		pieces = append(pieces, ps...)
		if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: o.Key}); err != nil {
			t.Fatal(err)
		}
	}
	return pieces
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	s := strings.TrimRight(string(p), "\n")
	if len(s) > 400 {
		s = s[:400] + "…"
	}
	w.t.Log(s)
	return len(p), nil
}
