package localpipeline

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/klauspost/compress/gzip"

	"github.com/tributary-logs/tributary/shared/cwlogs"
	"github.com/tributary-logs/tributary/shared/logsample"
)

// TransformReport counts the Firehose stage.
type TransformReport struct {
	Invocations      int `json:"invocations"`
	Records          int `json:"records"`
	Ok               int `json:"ok"`
	Dropped          int `json:"dropped"`
	ProcessingFailed int `json:"processing_failed"`
	ReingestedPieces int `json:"reingested_pieces"`
	RawObjects       int `json:"raw_objects"`
	EventsInRaw      int `json:"events_in_raw"`
}

// firehoseBatchBytes mirrors the processor's BufferSizeInMBs of 1.
const firehoseBatchBytes = 1 << 20

// Workload is the generated traffic, as each destination receives it.
type Workload struct {
	Firehose     [][]byte // Firehose records: subscription payloads and direct-put lines
	Subscription [][]byte // gzip'd payloads a Lambda subscription (the indexer) receives
	CloudTrail   [][]byte // the CloudTrail log group's payloads (the opsgenie function's subscription)
}

// Workload generates the demo traffic: every source of logsample, then the
// awkward cases a real estate produces: a burst whose output cannot fit one
// response, a control message, a corrupt record, and lines an application
// put straight into the stream.
func (r *Run) Workload() (*Workload, error) {
	start := time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC)
	gen := logsample.New(r.opts.Seed, start)
	rng := rand.New(rand.NewPCG(r.opts.Seed, 7))
	var records [][]byte
	var cloudtrail [][]byte
	add := func(src logsample.Source, n int) error {
		p, evs, err := gen.Gzip(src, n)
		if err != nil {
			return err
		}
		r.ledger.generated(evs)
		records = append(records, p)
		if src.Kind == "cloudtrail" {
			cloudtrail = append(cloudtrail, p)
		}
		return nil
	}
	for i := 0; i < r.opts.Payloads; i++ {
		if err := add(logsample.Sources[i%len(logsample.Sources)], 10+rng.IntN(190)); err != nil {
			return nil, err
		}
	}
	// A burst: 4,000 events of one group in one payload transform to more
	// than 6 MB, so it must be split and re-ingested.
	if err := add(logsample.Sources[1], 4000); err != nil {
		return nil, err
	}
	ctl, err := cwlogs.Encode(&cwlogs.Envelope{MessageType: cwlogs.ControlMessage, Owner: "CloudwatchLogs"},
		[]cwlogs.LogEvent{{Timestamp: start.UnixMilli(), Message: "CWL CONTROL MESSAGE: Checking health of destination Firehose."}})
	if err != nil {
		return nil, err
	}
	records = append(records, ctl)
	records = append(records, []byte{0x1f, 0x8b, 0x08, 0x00, 'n', 'o', 't', ' ', 'g', 'z', 'i', 'p'})
	r.ledger.corrupt++
	direct := []byte("{\"level\":\"error\",\"msg\":\"put straight into the stream\",\"trace_id\":\"demo-1\"}\nplain line from a producer\n")
	w := &Workload{Firehose: append(records, direct), Subscription: records, CloudTrail: cloudtrail}
	r.ledger.directLines += 2
	return w, nil
}

// Transform drives the records through transform as Firehose would, and
// delivers what it returns to S3 under the stream's dynamic partitions.
func (r *Run) Transform(ctx context.Context, records [][]byte) error {
	rep := &r.Report.Transform
	queue := batchRecords(records)
	seq := 0
	for len(queue) > 0 {
		batch := queue[0]
		queue = queue[1:]
		rep.Invocations++
		ev := events.KinesisFirehoseEvent{InvocationID: fmt.Sprintf("demo-%d", rep.Invocations), DeliveryStreamArn: StreamARN, Region: Region}
		for _, d := range batch {
			seq++
			ev.Records = append(ev.Records, events.KinesisFirehoseEventRecord{
				RecordID:                    fmt.Sprintf("%056d", seq),
				ApproximateArrivalTimestamp: events.MilliSecondsEpochTime{Time: time.Now()},
				Data:                        d,
			})
		}
		out, err := r.invoke(ctx, "transform", ev)
		if err != nil {
			return fmt.Errorf("transform invocation %d: %w", rep.Invocations, err)
		}
		var resp events.KinesisFirehoseResponse
		if err := json.Unmarshal(out, &resp); err != nil {
			return fmt.Errorf("transform response: %w", err)
		}
		if err := r.deliver(ctx, ev, resp); err != nil {
			return err
		}
		pieces, err := r.reingested(ctx)
		if err != nil {
			return err
		}
		rep.ReingestedPieces += len(pieces)
		queue = append(queue, batchRecords(pieces)...)
		r.step("transform: invocation %d, %d records → %d ok, %d dropped, %d failed; %d pieces re-ingested",
			rep.Invocations, len(batch), count(resp, "Ok"), count(resp, "Dropped"), count(resp, "ProcessingFailed"), len(pieces))
	}
	return nil
}

func count(resp events.KinesisFirehoseResponse, result string) int {
	n := 0
	for _, r := range resp.Records {
		if r.Result == result {
			n++
		}
	}
	return n
}

// batchRecords groups records into Firehose-sized invocations.
func batchRecords(records [][]byte) [][][]byte {
	var out [][][]byte
	var cur [][]byte
	size := 0
	for _, d := range records {
		if len(cur) > 0 && size+len(d) > firehoseBatchBytes {
			out = append(out, cur)
			cur, size = nil, 0
		}
		cur = append(cur, d)
		size += len(d)
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// deliver does Firehose's part after the processor: Ok data is grouped by
// partition keys into gzip'd objects under raw/; ProcessingFailed records
// become error documents under processing-failed/, as Firehose writes them.
func (r *Run) deliver(ctx context.Context, ev events.KinesisFirehoseEvent, resp events.KinesisFirehoseResponse) error {
	rep := &r.Report.Transform
	if len(resp.Records) != len(ev.Records) {
		return fmt.Errorf("transform answered %d of %d records", len(resp.Records), len(ev.Records))
	}
	byPrefix := map[string]*bytes.Buffer{}
	in := map[string]events.KinesisFirehoseEventRecord{}
	for _, rec := range ev.Records {
		in[rec.RecordID] = rec
	}
	for _, out := range resp.Records {
		rep.Records++
		switch out.Result {
		case "Ok":
			rep.Ok++
			k := out.Metadata.PartitionKeys
			prefix := fmt.Sprintf("raw/owner=%s/log_group=%s/dt=%s/hour=%s/", k["owner"], k["log_group"], k["dt"], k["hour"])
			if byPrefix[prefix] == nil {
				byPrefix[prefix] = &bytes.Buffer{}
			}
			byPrefix[prefix].Write(out.Data)
			if err := r.ledger.raw(out.Data); err != nil {
				return err
			}
		case "Dropped":
			rep.Dropped++
		case "ProcessingFailed":
			rep.ProcessingFailed++
			orig := in[out.RecordID]
			doc, _ := json.Marshal(map[string]any{
				"attemptsMade": 1, "arrivalTimestamp": orig.ApproximateArrivalTimestamp.UnixMilli(),
				"errorCode": "Lambda.ProcessingFailed", "errorMessage": "The record was marked ProcessingFailed by the transform.",
				"attemptEndingTimestamp": time.Now().UnixMilli(), "rawData": base64.StdEncoding.EncodeToString(orig.Data),
				"lambdaArn": "arn:aws:lambda:" + Region + ":" + Account + ":function:transform",
			})
			key := fmt.Sprintf("processing-failed/processing-failed/%s/%s.json", time.Now().UTC().Format("2006/01/02/15"), out.RecordID)
			if err := r.putObject(ctx, key, doc); err != nil {
				return err
			}
		}
	}
	prefixes := make([]string, 0, len(byPrefix))
	for p := range byPrefix {
		prefixes = append(prefixes, p)
	}
	sort.Strings(prefixes)
	for _, p := range prefixes {
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write(byPrefix[p].Bytes())
		zw.Close()
		rep.RawObjects++
		key := fmt.Sprintf("%s%s-1-%s-%s-%04d.gz", p, Stream, time.Now().UTC().Format("2006-01-02-15-04-05"), ev.InvocationID, rep.RawObjects)
		if err := r.putObject(ctx, key, gz.Bytes()); err != nil {
			return err
		}
		r.rawKeys = append(r.rawKeys, key)
	}
	return nil
}

// reingested collects what transform put back into the stream: moto's
// Firehose writes each PutRecordBatch as one object of concatenated records.
func (r *Run) reingested(ctx context.Context) ([][]byte, error) {
	list, err := r.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(Bucket), Prefix: aws.String(reingestPrefix)})
	if err != nil {
		return nil, fmt.Errorf("list re-ingested: %w", err)
	}
	var pieces [][]byte
	for _, o := range list.Contents {
		obj, err := r.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(Bucket), Key: o.Key})
		if err != nil {
			return nil, err
		}
		body, err := io.ReadAll(obj.Body)
		obj.Body.Close()
		if err != nil {
			return nil, err
		}
		ps, err := SplitDelivered(body)
		if err != nil {
			return nil, fmt.Errorf("re-ingested object %s: %w", aws.ToString(o.Key), err)
		}
		pieces = append(pieces, ps...)
		if _, err := r.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(Bucket), Key: o.Key}); err != nil {
			return nil, err
		}
	}
	return pieces, nil
}

// SplitDelivered cuts an object of concatenated records apart: gzip
// members (CloudWatch payloads, re-gzip'd one by one) and plain pieces
// (newline-terminated lines put back as they came).
func SplitDelivered(b []byte) ([][]byte, error) {
	var out [][]byte
	for len(b) > 0 {
		if !cwlogs.IsGzip(b) {
			end := bytes.Index(b, []byte("\n\x1f\x8b\x08"))
			if end < 0 {
				end = len(b) - 1
			}
			out = append(out, b[:end+1])
			b = b[end+1:]
			continue
		}
		src := bytes.NewReader(b)
		br := bufio.NewReader(src)
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, err
		}
		zr.Multistream(false)
		plain, err := io.ReadAll(zr)
		if err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(plain)
		zw.Close()
		out = append(out, buf.Bytes())
		b = b[len(b)-src.Len()-br.Buffered():]
	}
	return out, nil
}
