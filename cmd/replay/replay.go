package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	fhtypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/klauspost/compress/gzip"
)

// The AWS calls a replay needs, each declared where it is used.
type (
	objectStore interface {
		ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, opts ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
		GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	}
	invoker interface {
		Invoke(ctx context.Context, in *lambda.InvokeInput, opts ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
	}
	recordPutter interface {
		PutRecordBatch(ctx context.Context, in *firehose.PutRecordBatchInput, opts ...func(*firehose.Options)) (*firehose.PutRecordBatchOutput, error)
	}
	messageQueue interface {
		ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, opts ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
		DeleteMessage(ctx context.Context, in *sqs.DeleteMessageInput, opts ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
	}
)

// Replayer sends what the pipeline kept aside back through it. Clients a
// mode does not use may be nil.
type Replayer struct {
	S3       objectStore
	Lambda   invoker
	Firehose recordPutter
	SQS      messageQueue
	Out      io.Writer // progress, one line per action
	DryRun   bool      // list what would be sent, send nothing
	// MaxObjectBytes bounds what is read of one object (after gunzip).
	MaxObjectBytes int64
	sleep          func(time.Duration)
}

// Report counts what a replay did.
type Report struct {
	Objects    int            `json:"objects"`     // S3 objects selected
	Calls      int            `json:"calls"`       // Lambda invocations / PutRecordBatch calls (planned, on a dry run)
	Records    int            `json:"records"`     // records / payloads / messages replayed
	Skipped    int            `json:"skipped"`     // items that cannot go where asked
	Failed     int            `json:"failed"`      // items that could not be replayed
	ErrorCodes map[string]int `json:"error_codes"` // Firehose errorCode of processing-failed records
	Failures   []string       `json:"failures"`    // what failed and why, one line each
	Deleted    int            `json:"deleted"`     // queue messages deleted after their replay
}

func (r *Report) fail(format string, args ...any) {
	r.Failed++
	r.Failures = append(r.Failures, fmt.Sprintf(format, args...))
}

// Err is nil when nothing failed.
func (r *Report) Err() error {
	if r.Failed == 0 {
		return nil
	}
	return fmt.Errorf("%d item(s) failed:\n  %s", r.Failed, strings.Join(r.Failures, "\n  "))
}

func (rp *Replayer) logf(format string, args ...any) {
	if rp.Out != nil {
		fmt.Fprintf(rp.Out, format+"\n", args...)
	}
}

// Selection names S3 objects: a bucket, a key prefix, and an optional
// window on their LastModified time [Since, Until).
type Selection struct {
	Bucket, Prefix string
	Since, Until   time.Time
}

// object is one selected S3 object.
type object struct {
	Key  string
	ETag string
	Size int64
}

func (rp *Replayer) list(ctx context.Context, sel Selection) ([]object, error) {
	if sel.Bucket == "" {
		return nil, errors.New("a bucket is required")
	}
	var out []object
	p := s3.NewListObjectsV2Paginator(rp.S3, &s3.ListObjectsV2Input{Bucket: aws.String(sel.Bucket), Prefix: aws.String(sel.Prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list s3://%s/%s: %w", sel.Bucket, sel.Prefix, err)
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			if strings.HasSuffix(key, "/") || aws.ToInt64(o.Size) == 0 {
				continue // folder markers, empty objects
			}
			if t := aws.ToTime(o.LastModified); (!sel.Since.IsZero() && t.Before(sel.Since)) || (!sel.Until.IsZero() && !t.Before(sel.Until)) {
				continue
			}
			out = append(out, object{Key: key, ETag: strings.Trim(aws.ToString(o.ETag), `"`), Size: aws.ToInt64(o.Size)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// invoke calls a function synchronously (Event: asynchronously) and turns a
// function error into an error that carries its message.
func (rp *Replayer) invoke(ctx context.Context, function string, payload []byte, async bool) ([]byte, error) {
	in := &lambda.InvokeInput{FunctionName: aws.String(function), Payload: payload}
	if async {
		in.InvocationType = lambdatypes.InvocationTypeEvent
	} else {
		in.InvocationType = lambdatypes.InvocationTypeRequestResponse
	}
	out, err := rp.Lambda.Invoke(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("invoke %s: %w", function, err)
	}
	if out.FunctionError != nil {
		return out.Payload, fmt.Errorf("invoke %s: function error %s: %s", function, aws.ToString(out.FunctionError), bytes.TrimSpace(out.Payload))
	}
	return out.Payload, nil
}

// ObjectsOptions replays S3 objects through a function.
type ObjectsOptions struct {
	Selection
	// To is "indexer" (dead letters under dlq/, or raw/ NDJSON, sent as
	// {"objects":[{"bucket","key"}]}) or "lake" (raw/ objects, sent as the
	// S3 ObjectCreated notification the lake converts).
	To       string
	Function string
	Batch    int    // objects per invocation (default 10)
	Region   string // of the bucket, for the S3 notification (lake)
}

// Objects replays the selected objects through the indexer or the lake.
// Both are idempotent: the indexer's document ids and the lake's output
// names come from the data, so a replay of something already there only
// overwrites it.
func (rp *Replayer) Objects(ctx context.Context, o ObjectsOptions) (*Report, error) {
	if o.Function == "" {
		return nil, errors.New("-function is required")
	}
	if o.To != "indexer" && o.To != "lake" {
		return nil, fmt.Errorf("-to is %q; want indexer or lake", o.To)
	}
	if o.Batch <= 0 {
		o.Batch = 10
	}
	objs, err := rp.list(ctx, o.Selection)
	if err != nil {
		return nil, err
	}
	rep := &Report{Objects: len(objs)}
	for start := 0; start < len(objs); start += o.Batch {
		batch := objs[start:min(start+o.Batch, len(objs))]
		var payload []byte
		if o.To == "indexer" {
			payload = indexerObjectsPayload(o.Bucket, batch)
		} else {
			payload = s3EventPayload(o.Bucket, o.Region, batch)
		}
		rep.Calls++
		if rp.DryRun {
			rp.logf("would invoke %s with %d object(s) from s3://%s/%s", o.Function, len(batch), o.Bucket, batch[0].Key)
			rep.Records += len(batch)
			continue
		}
		resp, err := rp.invoke(ctx, o.Function, payload, false)
		if err != nil {
			for _, ob := range batch {
				rep.fail("s3://%s/%s: %v", o.Bucket, ob.Key, err)
			}
			continue
		}
		rep.Records += len(batch)
		rp.logf("%s: %d object(s) from s3://%s/%s: %s", o.Function, len(batch), o.Bucket, batch[0].Key, bytes.TrimSpace(resp))
	}
	return rep, nil
}

func indexerObjectsPayload(bucket string, objs []object) []byte {
	type ref struct {
		Bucket string `json:"bucket"`
		Key    string `json:"key"`
	}
	refs := make([]ref, len(objs))
	for i, o := range objs {
		refs[i] = ref{bucket, o.Key}
	}
	b, _ := json.Marshal(map[string]any{"objects": refs})
	return b
}

// s3EventPayload is an S3 event notification for objs, keys URL-encoded as
// S3 encodes them.
func s3EventPayload(bucket, region string, objs []object) []byte {
	type rec struct {
		EventVersion string `json:"eventVersion"`
		EventSource  string `json:"eventSource"`
		AWSRegion    string `json:"awsRegion"`
		EventTime    string `json:"eventTime"`
		EventName    string `json:"eventName"`
		S3           any    `json:"s3"`
	}
	now := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	recs := make([]rec, len(objs))
	for i, o := range objs {
		recs[i] = rec{EventVersion: "2.1", EventSource: "aws:s3", AWSRegion: region, EventTime: now, EventName: "ObjectCreated:Put",
			S3: map[string]any{
				"s3SchemaVersion": "1.0",
				"bucket":          map[string]any{"name": bucket, "arn": "arn:aws:s3:::" + bucket},
				"object":          map[string]any{"key": s3KeyEncode(o.Key), "size": o.Size, "eTag": o.ETag},
			}}
	}
	b, _ := json.Marshal(map[string]any{"Records": recs})
	return b
}

// s3KeyEncode encodes a key the way S3 notifications do: form encoding
// (space as +), with / left as is.
func s3KeyEncode(key string) string {
	return strings.ReplaceAll(url.QueryEscape(key), "%2F", "/")
}

// FailedOptions replays Firehose's processing-failed/ output.
type FailedOptions struct {
	Selection
	// To is "firehose" (put the original records back into the stream:
	// the transform runs again, then raw/ and the lake follow) or "indexer"
	// (invoke it with each record as a CloudWatch Logs subscription event).
	To       string
	Stream   string // firehose
	Function string // indexer
	// Codes keeps only records whose errorCode is listed (empty: all).
	// Lambda.ProcessingFailedStatus means the transform judged the record
	// undecodable: replaying it before a fix fails the same way again.
	Codes []string
}

// errorDocument is one record of Firehose's processing-failed output.
type errorDocument struct {
	AttemptsMade     json.Number `json:"attemptsMade"`
	ArrivalTimestamp json.Number `json:"arrivalTimestamp"`
	ErrorCode        string      `json:"errorCode"`
	ErrorMessage     string      `json:"errorMessage"`
	RawData          string      `json:"rawData"`
	LambdaArn        string      `json:"lambdaArn"`
}

// Firehose's PutRecordBatch limits.
const (
	maxBatchRecords = 500
	maxBatchBytes   = 4 << 20
	maxRecordBytes  = 1000 << 10
	putAttempts     = 5
)

// Failed replays the original records kept under processing-failed/.
func (rp *Replayer) Failed(ctx context.Context, o FailedOptions) (*Report, error) {
	switch o.To {
	case "firehose":
		if o.Stream == "" {
			return nil, errors.New("-stream is required with -to firehose")
		}
	case "indexer":
		if o.Function == "" {
			return nil, errors.New("-function is required with -to indexer")
		}
	default:
		return nil, fmt.Errorf("-to is %q; want firehose or indexer", o.To)
	}
	objs, err := rp.list(ctx, o.Selection)
	if err != nil {
		return nil, err
	}
	rep := &Report{Objects: len(objs), ErrorCodes: map[string]int{}}
	var batch [][]byte
	batchBytes := 0
	flush := func() {
		if len(batch) > 0 {
			rp.put(ctx, o.Stream, batch, rep)
			batch, batchBytes = nil, 0
		}
	}
	for _, ob := range objs {
		body, err := rp.read(ctx, o.Bucket, ob.Key)
		if err != nil {
			rep.fail("s3://%s/%s: %v", o.Bucket, ob.Key, err)
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		for n := 1; ; n++ {
			var doc errorDocument
			err := dec.Decode(&doc)
			if errors.Is(err, io.EOF) {
				break
			}
			where := fmt.Sprintf("s3://%s/%s document %d", o.Bucket, ob.Key, n)
			if err != nil {
				rep.fail("%s: not a Firehose error document: %v", where, err)
				break // the decoder cannot resynchronise
			}
			data, err := base64.StdEncoding.DecodeString(doc.RawData)
			switch {
			case err != nil:
				rep.fail("%s: rawData is not base64: %v", where, err)
				continue
			case len(data) == 0:
				rep.fail("%s: no rawData", where)
				continue
			}
			rep.ErrorCodes[doc.ErrorCode]++
			if len(o.Codes) > 0 && !slices.Contains(o.Codes, doc.ErrorCode) {
				rep.Skipped++
				continue
			}
			if o.To == "indexer" {
				rp.toIndexer(ctx, o.Function, where, doc.RawData, data, rep)
				continue
			}
			if len(data) > maxRecordBytes {
				rep.fail("%s: record of %d bytes exceeds Firehose's %d", where, len(data), maxRecordBytes)
				continue
			}
			if len(batch) == maxBatchRecords || batchBytes+len(data) > maxBatchBytes {
				flush()
			}
			batch = append(batch, data)
			batchBytes += len(data)
		}
	}
	flush()
	return rep, nil
}

// toIndexer sends one record as the subscription event it came from. Only
// CloudWatch Logs payloads (gzip) are subscription events; lines put straight
// into the stream have no such form and are skipped.
func (rp *Replayer) toIndexer(ctx context.Context, function, where, b64 string, data []byte, rep *Report) {
	if len(data) < 2 || data[0] != 0x1f || data[1] != 0x8b {
		rep.Skipped++
		rp.logf("%s: skipped, not a CloudWatch Logs payload (replay it with -to firehose)", where)
		return
	}
	payload, _ := json.Marshal(map[string]any{"awslogs": map[string]string{"data": b64}})
	rep.Calls++
	if rp.DryRun {
		rep.Records++
		rp.logf("would invoke %s with %s", function, where)
		return
	}
	if _, err := rp.invoke(ctx, function, payload, false); err != nil {
		rep.fail("%s: %v", where, err)
		return
	}
	rep.Records++
}

// put sends one batch, retrying the entries Firehose refused.
func (rp *Replayer) put(ctx context.Context, stream string, records [][]byte, rep *Report) {
	if rp.DryRun {
		rep.Records += len(records)
		rp.logf("would put %d record(s) into %s", len(records), stream)
		return
	}
	sleep := rp.sleep
	if sleep == nil {
		sleep = time.Sleep
	}
	pending := records
	var lastErr string
	for attempt := 0; attempt < putAttempts && len(pending) > 0; attempt++ {
		if attempt > 0 {
			sleep(time.Duration(100<<attempt) * time.Millisecond)
		}
		in := &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String(stream)}
		for _, r := range pending {
			in.Records = append(in.Records, fhtypes.Record{Data: r})
		}
		out, err := rp.Firehose.PutRecordBatch(ctx, in)
		if err != nil {
			lastErr = err.Error()
			continue
		}
		var retry [][]byte
		for i, res := range out.RequestResponses {
			if res.ErrorCode != nil && i < len(pending) {
				retry = append(retry, pending[i])
				lastErr = aws.ToString(res.ErrorCode) + ": " + aws.ToString(res.ErrorMessage)
			}
		}
		rep.Records += len(pending) - len(retry)
		pending = retry
	}
	rep.Calls++
	if len(pending) > 0 {
		rep.Failed += len(pending)
		rep.Failures = append(rep.Failures, fmt.Sprintf("%d record(s) not accepted by %s after %d attempts: %s", len(pending), stream, putAttempts, lastErr))
		return
	}
	rp.logf("put %d record(s) into %s", len(records), stream)
}

// read fetches an object, gunzipped when it is gzip, bounded.
func (rp *Replayer) read(ctx context.Context, bucket, key string) ([]byte, error) {
	out, err := rp.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, fmt.Errorf("get: %w", err)
	}
	defer out.Body.Close()
	limit := rp.MaxObjectBytes
	if limit <= 0 {
		limit = 256 << 20
	}
	raw, err := io.ReadAll(io.LimitReader(out.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if len(raw) >= 2 && raw[0] == 0x1f && raw[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("gunzip: %w", err)
		}
		raw, err = io.ReadAll(io.LimitReader(zr, limit+1))
		if err != nil {
			return nil, fmt.Errorf("gunzip: %w", err)
		}
	}
	if int64(len(raw)) > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return raw, nil
}

// QueueOptions replays the messages of a dead-letter queue or an
// on-failure destination queue.
type QueueOptions struct {
	QueueURL string
	// Function receives messages that are plain events (a function's
	// dead-letter queue). Destination records name their function.
	Function string
	Max      int  // stop after this many messages (0: until the queue is empty)
	Keep     bool // do not delete messages after replaying them
}

// destinationRecord is what Lambda writes to an on-failure destination.
type destinationRecord struct {
	RequestContext struct {
		FunctionArn string `json:"functionArn"`
		Condition   string `json:"condition"`
	} `json:"requestContext"`
	RequestPayload json.RawMessage `json:"requestPayload"`
}

// Queue invokes, asynchronously as the original was, the function of each
// message with the event it failed on, then deletes the message. A failed
// replay lands in the same queue again through the function's own
// on-failure path, so nothing is lost.
func (rp *Replayer) Queue(ctx context.Context, o QueueOptions) (*Report, error) {
	if o.QueueURL == "" {
		return nil, errors.New("-queue-url is required")
	}
	rep := &Report{}
	seen := map[string]bool{}
	// Received messages stay hidden from other receivers for this long; a
	// dry run deletes nothing, so they reappear after 30 seconds.
	visibility := int32(300)
	if rp.DryRun {
		visibility = 30
	}
	for o.Max == 0 || rep.Records+rep.Failed+rep.Skipped < o.Max {
		out, err := rp.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(o.QueueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: visibility,
		})
		if err != nil {
			return rep, fmt.Errorf("receive from %s: %w", o.QueueURL, err)
		}
		fresh := 0
		for _, m := range out.Messages {
			id := aws.ToString(m.MessageId)
			if seen[id] {
				continue
			}
			seen[id] = true
			fresh++
			if o.Max > 0 && rep.Records+rep.Failed+rep.Skipped >= o.Max {
				break
			}
			function, payload, err := messageEvent(aws.ToString(m.Body), o.Function)
			if err != nil {
				rep.Skipped++
				rp.logf("message %s: skipped: %v", id, err)
				continue
			}
			rep.Calls++
			if rp.DryRun {
				rep.Records++
				rp.logf("would invoke %s with message %s (%d bytes)", function, id, len(payload))
				continue
			}
			if _, err := rp.invoke(ctx, function, payload, true); err != nil {
				rep.fail("message %s: %v", id, err)
				continue
			}
			rep.Records++
			if o.Keep {
				continue
			}
			if _, err := rp.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(o.QueueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				rep.fail("message %s: replayed but not deleted (it will be replayed again): %v", id, err)
				continue
			}
			rep.Deleted++
		}
		if fresh == 0 {
			break
		}
	}
	return rep, nil
}

// messageEvent finds the function and event of a queued message: a Lambda
// destination record names both; any other body is the event itself.
func messageEvent(body, function string) (string, []byte, error) {
	var rec destinationRecord
	if err := json.Unmarshal([]byte(body), &rec); err == nil && rec.RequestContext.FunctionArn != "" && len(rec.RequestPayload) > 0 {
		return strings.TrimSuffix(rec.RequestContext.FunctionArn, ":$LATEST"), rec.RequestPayload, nil
	}
	if !json.Valid([]byte(body)) {
		return "", nil, errors.New("body is not JSON")
	}
	if function == "" {
		return "", nil, errors.New("a plain event (dead-letter queue message): give -function")
	}
	return function, []byte(body), nil
}
