// Package indexer is the core of the OpenSearch indexer Lambda. It accepts
// CloudWatch Logs subscription events (decoded with shared/cwlogs and
// normalized with shared/ingest, exactly as transform does, so a record is
// the same in S3 and in OpenSearch), and S3 events or direct invocations
// naming S3 objects of normalized NDJSON (Firehose's raw/ history and this
// function's own dead letters), so every re-indexing goes through one path.
//
// Documents are sent with shared/bulk: `create` with the event id as _id in
// the index of the event's own date, so every retry is idempotent. Items
// that can never be indexed, and items still failing when the invocation's
// deadline (minus a margin) comes, go to the S3 dead-letter prefix. The
// invocation fails, so that Lambda retries it, only when a dead letter
// cannot be written or when retryable items remain with no dead-letter
// target.
package indexer

import (
	"bytes"
	"context"

	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/klauspost/compress/gzip"
	"github.com/valyala/fastjson"

	"github.com/tributary-logs/tributary/shared/b64"
	"github.com/tributary-logs/tributary/shared/bulk"
	"github.com/tributary-logs/tributary/shared/cwlogs"
	"github.com/tributary-logs/tributary/shared/emf"
	"github.com/tributary-logs/tributary/shared/ingest"
	"github.com/tributary-logs/tributary/shared/record"
)

// ObjectGetter is the S3 call replay needs.
type ObjectGetter interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// Options configure a Handler. Pattern and Sender are required.
type Options struct {
	Pattern *bulk.Pattern
	Sender  *bulk.Sender
	// DeadLetter receives permanent failures and what is still failing at
	// the deadline; nil means none (then leftovers fail the invocation).
	DeadLetter *DeadLetter
	// Objects reads S3 objects for replay; nil refuses S3 and replay events.
	Objects ObjectGetter
	// Setup runs once, before the first documents are sent (index template
	// and ISM policy). An error fails that invocation; the next one retries.
	Setup func(ctx context.Context) error
	// Margin is kept free before the invocation's deadline for dead
	// letters and the response; default 5s.
	Margin time.Duration
	// Budget is used when the context has no deadline; default 5 minutes.
	Budget time.Duration
	Decode cwlogs.Limits
	// MaxObjectBytes bounds one replayed object after decompression;
	// default 512 MiB.
	MaxObjectBytes int64
	// FlushBytes sends a replayed object's records in batches of about this
	// size; default 32 MiB.
	FlushBytes int
	Logger     *slog.Logger
	MetricsOut io.Writer // EMF lines; default io.Discard
}

// Summary is an invocation's outcome, returned as the response.
type Summary struct {
	Kind           string   `json:"kind"`
	Events         int      `json:"events"`          // log events or records received
	Filtered       int      `json:"filtered"`        // dropped by include/exclude filters
	Indexed        int      `json:"indexed"`         // created now
	AlreadyPresent int      `json:"already_present"` // 409: indexed before
	DeadLettered   int      `json:"dead_lettered"`   // written to the dead-letter prefix
	Rejected       int      `json:"rejected"`        // permanent failures with no dead-letter bucket (logged)
	Retried        int      `json:"retried"`         // item re-sends after 429/5xx
	Requests       int      `json:"requests"`        // _bulk round trips
	Objects        int      `json:"objects,omitempty"`
	DeadLetterKeys []string `json:"dead_letter_keys,omitempty"`
}

// Handler processes invocations one at a time, reusing its buffers.
type Handler struct {
	mu      sync.Mutex
	o       Options
	proc    *ingest.Processor
	dec     *cwlogs.Decoder
	batch   *bulk.Batch
	parser  fastjson.Parser
	lineP   fastjson.Parser
	raw     []byte
	rec     record.Record
	metrics *emf.Set
	log     *slog.Logger
	setup   bool // Setup has succeeded

	// per invocation
	inv invocation
}

type invocation struct {
	ctx       context.Context
	stopAt    time.Time
	requestID string
	source    string
	sum       Summary
	dead      []byte // dead-letter NDJSON
	unsent    int    // retryable items left with no dead-letter target
	lastErr   string
	report    bulk.Report
	replayed  int // records read from objects (not normalized again)
}

// New returns a handler normalizing with proc.
func New(proc *ingest.Processor, o Options) *Handler {
	if o.Margin <= 0 {
		o.Margin = 5 * time.Second
	}
	if o.Budget <= 0 {
		o.Budget = 5 * time.Minute
	}
	if o.MaxObjectBytes <= 0 {
		o.MaxObjectBytes = 512 << 20
	}
	if o.FlushBytes <= 0 {
		o.FlushBytes = 32 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MetricsOut == nil {
		o.MetricsOut = io.Discard
	}
	return &Handler{
		o:       o,
		proc:    proc,
		dec:     cwlogs.NewDecoder(o.Decode),
		batch:   bulk.NewBatch(o.Pattern),
		metrics: emf.New("indexer"),
		log:     o.Logger,
	}
}

// Invoke implements lambda.Handler: the raw event in, the Summary out.
func (h *Handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	sum, err := h.Process(ctx, payload)
	if err != nil {
		return nil, err
	}
	return json.Marshal(sum)
}

// ErrUnindexed is returned when documents remain unindexed with nowhere to
// put them; Lambda's retry of the invocation is safe (ids make it idempotent).
var ErrUnindexed = errors.New("documents not indexed and no dead-letter target")

// Process handles one invocation event.
func (h *Handler) Process(ctx context.Context, payload []byte) (Summary, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	start := time.Now()
	stopAt := start.Add(h.o.Budget)
	if dl, ok := ctx.Deadline(); ok {
		stopAt = dl.Add(-h.o.Margin)
	}
	h.inv = invocation{ctx: ctx, stopAt: stopAt}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		h.inv.requestID = lc.AwsRequestID
	}
	ev, err := parseEvent(&h.parser, payload)
	if err != nil {
		return Summary{}, err
	}
	h.inv.sum.Kind = ev.kind
	switch ev.kind {
	case KindSubscription:
		h.inv.source = "awslogs"
		err = h.subscription(ev.data)
		if err == nil {
			err = h.flush()
		}
	default:
		if h.o.Objects == nil {
			return Summary{}, errors.New("S3 and replay events need an S3 client")
		}
		refs := append([]ObjectRef(nil), ev.objects...)
		for _, ref := range refs {
			if err = h.object(ref); err != nil {
				break
			}
			h.inv.sum.Objects++
		}
	}
	derr := h.writeDeadLetters()
	h.emit(time.Since(start))
	switch {
	case err != nil:
		return h.inv.sum, err
	case derr != nil:
		return h.inv.sum, derr
	case h.inv.unsent > 0:
		return h.inv.sum, fmt.Errorf("%w: %d documents still failing at the deadline (last error: %s)", ErrUnindexed, h.inv.unsent, h.inv.lastErr)
	}
	return h.inv.sum, nil
}

// subscription decodes and normalizes one CloudWatch Logs payload into the
// batch. An undecodable payload is dead-lettered whole.
func (h *Handler) subscription(data []byte) error {
	raw, err := appendBase64(h.raw[:0], data)
	if err == nil {
		h.raw = raw
		var env *cwlogs.Envelope
		env, err = h.dec.Decode(raw)
		if err == nil {
			h.addEnvelope(env)
			return nil
		}
	}
	h.log.Warn("undecodable subscription payload", slog.String("reason", err.Error()))
	if h.o.DeadLetter == nil {
		return fmt.Errorf("undecodable subscription payload: %w", err)
	}
	h.inv.dead = appendDeadLine(h.inv.dead, time.Now(), deadLine{
		source: h.inv.source, errType: "decode_error", reason: err.Error(),
	}, nil, data, nil)
	h.inv.sum.DeadLettered++
	return nil
}

// addEnvelope normalizes a decoded payload's events into the batch.
func (h *Handler) addEnvelope(env *cwlogs.Envelope) {
	if env.MessageType == cwlogs.ControlMessage {
		return
	}
	h.inv.sum.Events += len(env.LogEvents)
	if !h.proc.KeepLogGroup(env.LogGroup) {
		h.proc.CountFiltered(len(env.LogEvents))
		h.inv.sum.Filtered += len(env.LogEvents)
		return
	}
	kept := 0
	h.proc.Envelope(env, &h.rec, ingest.GroupedOrder, func(i int) {
		kept++
		h.batch.Add(&h.rec, i)
	})
	h.inv.sum.Filtered += len(env.LogEvents) - kept
}

// object reads one S3 object of NDJSON (optionally gzip'd) and indexes its
// lines: normalized records, dead-letter lines (their "record", or their
// "payload" decoded again), in batches of about FlushBytes.
func (h *Handler) object(ref ObjectRef) error {
	h.inv.source = "s3://" + ref.Bucket + "/" + ref.Key
	body, err := h.read(ref)
	if err != nil {
		return err
	}
	var lineErr error
	forEachLine(body, func(n int, line []byte) bool {
		h.inv.sum.Events++
		h.replayLine(line)
		if h.batch.Bytes() >= h.o.FlushBytes {
			if lineErr = h.flush(); lineErr != nil {
				return false
			}
		}
		return true
	})
	if lineErr != nil {
		return lineErr
	}
	return h.flush()
}

func (h *Handler) replayLine(line []byte) {
	v, err := h.lineP.ParseBytes(line)
	if err == nil {
		switch {
		case v.Get("record") != nil:
			v = v.Get("record")
		case v.Get("payload") != nil:
			// A dead-lettered subscription payload: decode it again.
			h.inv.sum.Events--
			_ = h.subscription(append([]byte(nil), v.GetStringBytes("payload")...))
			return
		case v.Get("line") != nil && v.Get("@timestamp") == nil:
			inner := append([]byte(nil), v.GetStringBytes("line")...)
			if v, err = h.lineP.ParseBytes(inner); err != nil {
				break
			}
		}
	}
	if err == nil {
		if err = parseRecord(v, &h.rec); err == nil {
			h.inv.replayed++
			h.batch.Add(&h.rec, 0)
			return
		}
	}
	if h.o.DeadLetter == nil {
		h.log.Error("unreadable stored line and no dead-letter bucket configured",
			slog.String("source", h.inv.source), slog.String("reason", err.Error()))
		h.inv.sum.Rejected++
		return
	}
	h.inv.dead = appendDeadLine(h.inv.dead, time.Now(), deadLine{
		source: h.inv.source, errType: "invalid_record", reason: err.Error(),
	}, nil, nil, line)
	h.inv.sum.DeadLettered++
}

// read fetches an object, gunzipping it when it is gzip'd.
func (h *Handler) read(ref ObjectRef) ([]byte, error) {
	out, err := h.o.Objects.GetObject(h.inv.ctx, &s3.GetObjectInput{Bucket: aws.String(ref.Bucket), Key: aws.String(ref.Key)})
	if err != nil {
		return nil, fmt.Errorf("read s3://%s/%s: %w", ref.Bucket, ref.Key, err)
	}
	defer out.Body.Close()
	limit := h.o.MaxObjectBytes
	var buf bytes.Buffer
	if n := aws.ToInt64(out.ContentLength); n > 0 && n < limit {
		buf.Grow(int(n))
	}
	if _, err := buf.ReadFrom(io.LimitReader(out.Body, limit+1)); err != nil {
		return nil, fmt.Errorf("read s3://%s/%s: %w", ref.Bucket, ref.Key, err)
	}
	b := buf.Bytes()
	if cwlogs.IsGzip(b) {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("s3://%s/%s: %w", ref.Bucket, ref.Key, err)
		}
		var plain bytes.Buffer
		if _, err := plain.ReadFrom(io.LimitReader(zr, limit+1)); err != nil {
			return nil, fmt.Errorf("s3://%s/%s: gunzip: %w", ref.Bucket, ref.Key, err)
		}
		b = plain.Bytes()
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("s3://%s/%s is larger than %d bytes", ref.Bucket, ref.Key, limit)
	}
	return b, nil
}

// flush sends the batch and sorts its outcomes.
func (h *Handler) flush() error {
	b := h.batch
	if b.Len() == 0 {
		return nil
	}
	defer b.Reset()
	if h.o.Setup != nil && !h.setup {
		// Bounded like the requests, so a hung cluster still leaves the
		// margin for the response.
		ctx, cancel := context.WithDeadline(h.inv.ctx, h.inv.stopAt)
		err := h.o.Setup(ctx)
		cancel()
		if err != nil {
			return fmt.Errorf("index set-up: %w", err)
		}
		h.setup = true
	}
	rep := h.o.Sender.Send(h.inv.ctx, b, h.inv.stopAt)
	s := &h.inv.sum
	s.Indexed += rep.Created
	s.AlreadyPresent += rep.Exists
	s.Retried += rep.Retried
	s.Requests += rep.Requests
	acc := &h.inv.report
	acc.Throttled += rep.Throttled
	acc.Latency += rep.Latency
	acc.BytesSent += rep.BytesSent
	acc.Requests += rep.Requests
	acc.Splits += rep.Splits
	now := time.Now()
	for i, o := range rep.Outcomes {
		if o.State == bulk.Created || o.State == bulk.Exists {
			continue
		}
		reason := o.Reason
		if o.State == bulk.Pending {
			reason = "still failing when the invocation's deadline came: " + reason
		}
		h.inv.lastErr = fmt.Sprintf("%d %s: %s", o.Status, o.Type, o.Reason)
		if h.o.DeadLetter == nil {
			if o.State == bulk.Pending {
				h.inv.unsent++
			} else {
				// Permanent, and nowhere to keep it: retrying the invocation
				// cannot help, so say so loudly (the document's id, never its
				// content) and count it.
				h.log.Error("document rejected and no dead-letter bucket configured",
					slog.String("index", b.Index(i)), slog.String("id", b.ID(i)),
					slog.Int("status", o.Status), slog.String("type", o.Type), slog.String("reason", o.Reason))
				s.Rejected++
			}
			continue
		}
		h.inv.dead = appendDeadLine(h.inv.dead, now, deadLine{
			source: h.inv.source, index: b.Index(i), id: b.ID(i), status: o.Status,
			errType: o.Type, reason: reason, attempts: o.Attempts,
		}, b.Document(i), nil, nil)
		s.DeadLettered++
	}
	return nil
}

// writeDeadLetters puts the invocation's dead letters in one object.
func (h *Handler) writeDeadLetters() error {
	if len(h.inv.dead) == 0 {
		return nil
	}
	key, err := h.o.DeadLetter.Put(h.inv.ctx, h.inv.requestID, h.inv.dead)
	h.inv.dead = h.inv.dead[:0]
	if err != nil {
		h.log.Error("dead-letter write failed", slog.Any("error", err))
		return err
	}
	h.inv.sum.DeadLetterKeys = append(h.inv.sum.DeadLetterKeys, key)
	return nil
}

func (h *Handler) emit(d time.Duration) {
	st := h.proc.TakeStats()
	s := &h.inv.sum
	rep := &h.inv.report
	m := h.metrics
	m.Count(emf.EventsIn, s.Events)
	m.Count(emf.EventsFiltered, s.Filtered)
	m.Count(emf.EventsIndexed, s.Indexed)
	m.Count(emf.EventsAlreadyThere, s.AlreadyPresent)
	m.Count(emf.EventsRetried, s.Retried)
	m.Count(emf.EventsDeadLettered, s.DeadLettered)
	m.Count(emf.EventsRejected, s.Rejected)
	m.Count(emf.Throttled, rep.Throttled)
	m.Count(emf.Redactions, st.Redactions)
	m.Count(emf.FieldsTruncated, st.FieldsTruncated)
	m.Add(emf.BytesIn, emf.Bytes, float64(st.BytesIn))
	m.Add(emf.BytesOut, emf.Bytes, float64(rep.BytesSent))
	if rep.Requests > 0 {
		m.Add(emf.BulkLatency, emf.Milliseconds, float64(rep.Latency.Milliseconds())/float64(rep.Requests))
	}
	if err := m.Flush(h.o.MetricsOut); err != nil {
		h.log.Error("write metrics", slog.Any("error", err))
	}
	h.log.Info("invocation",
		slog.String("kind", s.Kind), slog.Int("events", s.Events), slog.Int("filtered", s.Filtered),
		slog.Int("indexed", s.Indexed), slog.Int("already_present", s.AlreadyPresent),
		slog.Int("dead_lettered", s.DeadLettered), slog.Int("retried", s.Retried),
		slog.Int("requests", s.Requests), slog.Int("throttled", rep.Throttled), slog.Int("splits", rep.Splits),
		slog.Int("unindexed", h.inv.unsent), slog.Duration("duration", d))
}

// appendBase64 decodes the subscription's base64 data into dst.
func appendBase64(dst, src []byte) ([]byte, error) {
	out, err := b64.AppendDecode(dst, src)
	if err != nil {
		return nil, fmt.Errorf("awslogs.data is not base64: %w", err)
	}
	return out, nil
}
