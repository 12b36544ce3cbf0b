package transform

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	fhtypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	kintypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/tributary-logs/tributary/shared/emf"
)

// recordBatchPutter is the part of the Firehose client re-ingesting needs.
type recordBatchPutter interface {
	PutRecordBatch(ctx context.Context, in *firehose.PutRecordBatchInput, opts ...func(*firehose.Options)) (*firehose.PutRecordBatchOutput, error)
}

// recordsPutter is the part of the Kinesis client re-ingesting needs, for
// delivery streams whose source is a Kinesis data stream.
type recordsPutter interface {
	PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, opts ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error)
}

// Service limits of the two APIs.
const (
	maxBatchRecords       = 500
	firehoseMaxBatchBytes = 4 << 20
	firehoseMaxRecord     = 1000 << 10
	kinesisMaxBatchBytes  = 5 << 20
	kinesisMaxRecord      = 1 << 20
	reingestBatchBytes    = 1 << 20
)

// DefaultReingestMargin is left before the deadline to write the response.
const DefaultReingestMargin = 2 * time.Second

// Reingester puts split pieces back into the stream they came from.
type Reingester struct {
	Firehose recordBatchPutter
	Kinesis  recordsPutter // nil unless a Kinesis-sourced stream is used
	// MaxAttempts per piece, including the first; default 8.
	MaxAttempts int
	// BaseDelay of the exponential backoff (full jitter); default 100ms.
	BaseDelay time.Duration
	// Margin left before the invocation's deadline for the response.
	Margin time.Duration
	sleep  func(context.Context, time.Duration) error
}

// pieceOf is one split piece and the input record it came from.
type pieceOf struct {
	record int
	data   []byte
}

// putBack re-ingests pending pieces and settles each original record:
// Dropped when every piece is in the stream, ProcessingFailed otherwise
// (keeping its count of pieces, so its entry is rewritten). It reports
// whether any record failed.
func (h *Handler) putBack(ctx context.Context, ev *Event, pending []pieceOf, outcomes []outcome) bool {
	data := make([][]byte, len(pending))
	for i, p := range pending {
		data[i] = p.data
	}
	ok, retries, err := h.reingest.Put(ctx, ev, data)
	h.metrics.Count(emf.ReingestRetries, retries)
	if err != nil {
		h.log.Error("re-ingest", slog.Any("error", err))
	}
	failed := false
	for i, p := range pending {
		if ok[i] {
			continue
		}
		o := &outcomes[p.record]
		if o.result != ResultProcessingFailed {
			o.result, o.reason = ResultProcessingFailed, "re-ingest failed"
			failed = true
			h.log.Warn("record failed", slog.String("recordId", ev.Records[p.record].RecordID),
				slog.String("reason", "re-ingest failed"), slog.Any("error", err))
		}
	}
	return failed
}

// Put sends data to the event's source stream (Kinesis when the event names
// one, else the delivery stream itself) in batches within the API limits,
// retrying only the entries that failed. ok[i] reports data[i]'s fate.
func (r *Reingester) Put(ctx context.Context, ev *Event, data [][]byte) (ok []bool, retries int, err error) {
	ok = make([]bool, len(data))
	if r == nil {
		return ok, 0, errors.New("no re-ingest target")
	}
	var putBatch func(context.Context, []int) ([]bool, error)
	// Batches stay well below the APIs' byte limits: the SDK holds a request
	// (base64'd, so a third larger) in memory while it signs and sends it,
	// and smaller batches keep a 6 MB invocation's peak memory down.
	maxBatch, maxRecord := min(firehoseMaxBatchBytes, reingestBatchBytes), firehoseMaxRecord
	switch {
	case ev.SourceKinesisStreamArn != "":
		if r.Kinesis == nil {
			return ok, 0, errors.New("event names a Kinesis source stream but no Kinesis client is configured")
		}
		maxBatch, maxRecord = min(kinesisMaxBatchBytes, reingestBatchBytes), kinesisMaxRecord
		putBatch = func(ctx context.Context, idx []int) ([]bool, error) {
			return r.putKinesis(ctx, ev.SourceKinesisStreamArn, data, idx)
		}
	default:
		name := streamName(ev.DeliveryStreamArn)
		if name == "" || r.Firehose == nil {
			return ok, 0, fmt.Errorf("cannot re-ingest into delivery stream %q", ev.DeliveryStreamArn)
		}
		putBatch = func(ctx context.Context, idx []int) ([]bool, error) {
			return r.putFirehose(ctx, name, data, idx)
		}
	}
	todo := make([]int, 0, len(data))
	for i, d := range data {
		if len(d) > maxRecord {
			err = errors.Join(err, fmt.Errorf("piece %d is %d bytes, above the %d-byte record limit", i, len(d), maxRecord))
			continue
		}
		todo = append(todo, i)
	}
	attempts, base := r.MaxAttempts, r.BaseDelay
	if attempts <= 0 {
		attempts = 8
	}
	if base <= 0 {
		base = 100 * time.Millisecond
	}
	sleep := r.sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	deadline, hasDeadline := ctx.Deadline()
	for attempt := 1; len(todo) > 0; attempt++ {
		var failed []int
		for _, batch := range batches(todo, data, maxBatch) {
			res, berr := putBatch(ctx, batch)
			if berr != nil {
				err = errors.Join(err, berr)
			}
			for j, i := range batch {
				if res != nil && res[j] {
					ok[i] = true
				} else {
					failed = append(failed, i)
				}
			}
		}
		todo = failed
		if len(todo) == 0 || attempt >= attempts {
			break
		}
		retries += len(todo)
		delay := time.Duration(mrand.Int64N(int64(base) << min(attempt, 10)))
		if hasDeadline && time.Until(deadline)-r.Margin < delay {
			err = errors.Join(err, fmt.Errorf("%d pieces still failing at the invocation deadline", len(todo)))
			break
		}
		if serr := sleep(ctx, delay); serr != nil {
			err = errors.Join(err, serr)
			break
		}
	}
	if len(todo) > 0 && err == nil {
		err = fmt.Errorf("%d pieces failed after %d attempts", len(todo), attempts)
	}
	return ok, retries, err
}

// batches groups indexes into batches within the count and byte limits.
func batches(idx []int, data [][]byte, maxBytes int) [][]int {
	var out [][]int
	var cur []int
	size := 0
	for _, i := range idx {
		n := len(data[i])
		if len(cur) > 0 && (len(cur) == maxBatchRecords || size+n > maxBytes) {
			out = append(out, cur)
			cur, size = nil, 0
		}
		cur = append(cur, i)
		size += n
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

func (r *Reingester) putFirehose(ctx context.Context, stream string, data [][]byte, idx []int) ([]bool, error) {
	in := &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String(stream), Records: make([]fhtypes.Record, len(idx))}
	for j, i := range idx {
		in.Records[j] = fhtypes.Record{Data: data[i]}
	}
	out, err := r.Firehose.PutRecordBatch(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("PutRecordBatch %s: %w", stream, err)
	}
	res := make([]bool, len(idx))
	if len(out.RequestResponses) != len(idx) {
		return res, fmt.Errorf("PutRecordBatch %s: %d responses for %d records", stream, len(out.RequestResponses), len(idx))
	}
	for j, rr := range out.RequestResponses {
		res[j] = rr.ErrorCode == nil && rr.RecordId != nil
	}
	return res, nil
}

func (r *Reingester) putKinesis(ctx context.Context, streamARN string, data [][]byte, idx []int) ([]bool, error) {
	in := &kinesis.PutRecordsInput{StreamARN: aws.String(streamARN), Records: make([]kintypes.PutRecordsRequestEntry, len(idx))}
	for j, i := range idx {
		in.Records[j] = kintypes.PutRecordsRequestEntry{Data: data[i], PartitionKey: aws.String(randomKey())}
	}
	out, err := r.Kinesis.PutRecords(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("PutRecords %s: %w", streamARN, err)
	}
	res := make([]bool, len(idx))
	if len(out.Records) != len(idx) {
		return res, fmt.Errorf("PutRecords %s: %d responses for %d records", streamARN, len(out.Records), len(idx))
	}
	for j, rr := range out.Records {
		res[j] = rr.ErrorCode == nil && rr.SequenceNumber != nil
	}
	return res, nil
}

// randomKey spreads re-ingested pieces over the stream's shards.
func randomKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
