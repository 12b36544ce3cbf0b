// Package transform is the Firehose data-transformation core: it turns each
// Firehose record (a gzip'd CloudWatch Logs subscription payload, or plain
// lines put directly) into NDJSON of normalized records with partition keys,
// keeps the response under Lambda's 6 MB limit by splitting and re-ingesting
// what does not fit, and accounts for every record and event.
package transform

import (
	"context"
	"crypto/sha256"

	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/valyala/fastjson"

	"github.com/tributary-logs/tributary/shared/b64"
	"github.com/tributary-logs/tributary/shared/cwlogs"
	"github.com/tributary-logs/tributary/shared/emf"
	"github.com/tributary-logs/tributary/shared/ingest"
	"github.com/tributary-logs/tributary/shared/record"
)

// MaxResponseBytes is Lambda's limit on a synchronous invocation's response.
const MaxResponseBytes = 6 << 20

// Limits shape the response and the re-ingested pieces.
type Limits struct {
	// ResponseBytes is the budget for the whole JSON response; below
	// MaxResponseBytes to leave room for the runtime's own framing.
	ResponseBytes int
	// ChunkOutputBytes bounds the NDJSON one re-ingested piece will produce,
	// so it fits the next invocation's response with room to spare.
	ChunkOutputBytes int
	// ChunkInputBytes bounds a re-ingested piece before compression; Firehose
	// accepts records up to 1,000 KiB.
	ChunkInputBytes int
}

// DefaultLimits are safe for Firehose and Lambda.
var DefaultLimits = Limits{
	ResponseBytes:    MaxResponseBytes - 64<<10,
	ChunkOutputBytes: 1 << 20,
	ChunkInputBytes:  900 << 10,
}

// Handler processes Firehose transformation events. Lambda calls it one
// event at a time; the mutex only guards the reused buffers if a caller
// does not.
type Handler struct {
	mu        sync.Mutex
	proc      *ingest.Processor
	dec       *cwlogs.Decoder
	reingest  *Reingester
	limits    Limits
	log       *slog.Logger
	metrics   *emf.Set
	metricsTo io.Writer
	logGroups *emf.LogGroupCounter

	parser fastjson.Parser
	raw    []byte           // decoded record data
	curEnv *cwlogs.Envelope // the record being processed, for split
	lines  cwlogs.Envelope  // reused for records of plain lines
	arena  []byte           // the record being processed, as NDJSON
	resp   []byte           // the response, reused: Lambda sends it before the next event
	rec    record.Record
}

// Options configure a Handler; zero values take defaults.
type Options struct {
	Limits     Limits
	Logger     *slog.Logger
	MetricsOut io.Writer // EMF lines; default io.Discard
	Reingester *Reingester
	Decode     cwlogs.Limits
	LogGroups  *emf.LogGroupAllowList // per-log-group event counts; nil: none
}

// New returns a handler using proc for normalizing.
func New(proc *ingest.Processor, o Options) *Handler {
	if o.Limits == (Limits{}) {
		o.Limits = DefaultLimits
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MetricsOut == nil {
		o.MetricsOut = io.Discard
	}
	return &Handler{
		proc:      proc,
		dec:       cwlogs.NewDecoder(o.Decode),
		reingest:  o.Reingester,
		limits:    o.Limits,
		log:       o.Logger,
		metrics:   emf.New("transform"),
		metricsTo: o.MetricsOut,
		logGroups: emf.NewLogGroupCounter("transform", o.LogGroups),
	}
}

// outcome is what the response will say about one input record.
type outcome struct {
	result   string
	start    int // NDJSON in arena, for Ok
	end      int
	keys     partitionKeys
	payloads int // re-ingested pieces (Dropped once all are in)
	reason   string
	noEcho   bool // ProcessingFailed without the original data
	at       int  // the entry's place in the response, for a rewrite
	atEnd    int
}

// Summary counts one invocation's outcomes, for logs and tests.
type Summary struct {
	Records, Ok, Dropped, Failed, Reingested, Pieces int
	Events, EventsOut                                int
	ResponseBytes                                    int
}

// Invoke implements lambda.Handler: the raw event in, the raw response out.
func (h *Handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	out, _, err := h.Process(ctx, payload)
	return out, err
}

// Process handles one event and also returns its summary. The response is
// valid until the next call: its buffer is reused, which keeps a warm
// container's memory flat.
func (h *Handler) Process(ctx context.Context, payload []byte) ([]byte, Summary, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ev, err := parseEvent(&h.parser, payload)
	if err != nil {
		// Without record ids no valid response exists; failing lets Firehose
		// retry and then keep the batch in its error prefix.
		return nil, Summary{}, fmt.Errorf("decode firehose event: %w", err)
	}
	var sum Summary
	sum.Records = len(ev.Records)
	outcomes := make([]outcome, len(ev.Records))
	out := append(h.resp[:0], `{"records":[`...)

	// Every entry is reserved at its largest non-Ok size up front, so the
	// last record always has room for its verdict.
	used := len(`{"records":[]}`)
	for i := range ev.Records {
		used += entrySize(ev.Records[i].RecordID, ResultProcessingFailed) + 1
	}
	var pending []pieceOf
	for i := range ev.Records {
		r := &ev.Records[i]
		o := &outcomes[i]
		h.arena = h.arena[:0] // this record's NDJSON only: written out at once
		h.processRecord(ev, r, o)
		switch o.result {
		case ResultOk:
			extra := b64.EncodedLen(o.end-o.start) + o.keys.jsonLen() + len(`,"metadata":{"partitionKeys":}`)
			if used+extra <= h.limits.ResponseBytes {
				used += extra
				break
			}
			// Does not fit: split and re-ingest; the original may still
			// become ProcessingFailed with its data, so reserve that.
			pieces, err := h.split()
			if err != nil || h.reingest == nil {
				reason := "response would exceed 6 MB and no re-ingest target is configured"
				if err != nil {
					reason = err.Error()
				}
				*o = outcome{result: ResultProcessingFailed, reason: reason}
			} else {
				*o = outcome{result: ResultDropped, payloads: len(pieces)}
				for _, p := range pieces {
					pending = append(pending, pieceOf{record: i, data: p})
				}
			}
			used += len(r.DataBase64)
		case ResultProcessingFailed:
			used += len(r.DataBase64)
		}
		if i > 0 {
			out = append(out, ',')
		}
		o.at = len(out)
		out = h.appendEntry(out, r, o)
		o.atEnd = len(out)
	}
	if len(pending) > 0 {
		failed := h.putBack(ctx, ev, pending, outcomes)
		if failed {
			out = h.rewriteFailed(out, ev, outcomes)
		}
	}
	out = append(out, "]}"...)
	h.resp = out
	sum.ResponseBytes = len(out)
	summarize(outcomes, &sum)
	stats := h.proc.TakeStats()
	sum.Events, sum.EventsOut = stats.EventsIn, stats.EventsOut
	h.emit(&sum, stats, len(payload), len(out))
	return out, sum, nil
}

// processRecord decodes and normalizes one record into the arena.
func (h *Handler) processRecord(ev *Event, r *Record, o *outcome) {
	raw, err := b64.AppendDecode(h.raw[:0], r.DataBase64)
	if err != nil {
		h.fail(r, o, "data is not base64: "+err.Error())
		o.noEcho = true // echoing invalid base64 would break the response
		return
	}
	h.raw = raw
	h.curEnv = nil
	o.start = len(h.arena)
	var env *cwlogs.Envelope
	if cwlogs.IsGzip(raw) {
		if env, err = h.dec.Decode(raw); err != nil {
			h.fail(r, o, err.Error())
			return
		}
	} else {
		env = h.linesEnvelope(ev, r, raw)
	}
	h.curEnv = env
	if env.MessageType == cwlogs.ControlMessage {
		o.result = ResultDropped
		o.reason = "control message"
		return
	}
	if !h.proc.KeepLogGroup(env.LogGroup) {
		h.proc.CountFiltered(len(env.LogEvents))
		o.result = ResultDropped
		o.reason = "log group excluded"
		return
	}
	h.logGroups.Count(env.LogGroup, len(env.LogEvents))
	var first int64
	h.proc.Envelope(env, &h.rec, ingest.PayloadOrder, func(i int) {
		if len(h.arena) == o.start {
			first = env.LogEvents[i].Timestamp
		}
		h.arena = h.rec.AppendJSON(h.arena)
		h.arena = append(h.arena, '\n')
	})
	h.finish(o, env.Owner, env.LogGroup, first)
}

// linesEnvelope is a record that an application put straight into the
// stream, in the form of a CloudWatch Logs payload: one event per line,
// owner the stream's account, log group "/firehose/<stream>", log stream
// "direct-put", each event's time the record's arrival and its id derived
// from the record's id and arrival, the line's position and its content. A
// Firehose retry of the record yields the same ids; repeated lines, and the
// same lines in records that arrive in the same millisecond, stay distinct.
// Because it is an envelope like any other, a record too large for the
// response is split and re-ingested as CloudWatch Logs payloads carrying
// these same ids, not as lines that would get new ones on arrival.
func (h *Handler) linesEnvelope(ev *Event, r *Record, raw []byte) *cwlogs.Envelope {
	env := &h.lines
	*env = cwlogs.Envelope{
		MessageType: cwlogs.DataMessage,
		Owner:       arnAccount(ev.DeliveryStreamArn),
		LogGroup:    "/firehose/" + streamName(ev.DeliveryStreamArn),
		LogStream:   "direct-put",
		LogEvents:   env.LogEvents[:0],
	}
	n := 0
	forEachLine(raw, func(line []byte) {
		n++
		env.LogEvents = append(env.LogEvents, cwlogs.LogEvent{
			ID:        lineID(r.RecordID, r.ArrivalMillis, n, line),
			Timestamp: r.ArrivalMillis,
			Message:   string(line),
		})
	})
	return env
}

func (h *Handler) finish(o *outcome, owner, group string, ts int64) {
	o.end = len(h.arena)
	if o.end == o.start {
		o.result = ResultDropped
		o.reason = "every event filtered out"
		return
	}
	o.result = ResultOk
	o.keys = keysFor(owner, group, ts)
}

func (h *Handler) fail(r *Record, o *outcome, reason string) {
	o.result = ResultProcessingFailed
	o.reason = reason
	h.log.Warn("record failed", slog.String("recordId", r.RecordID), slog.String("reason", reason))
}

// forEachLine calls fn for each non-empty line, without its line ending.
func forEachLine(b []byte, fn func([]byte)) {
	for len(b) > 0 {
		i := 0
		for i < len(b) && b[i] != '\n' {
			i++
		}
		line := b[:i]
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		if len(line) > 0 {
			fn(line)
		}
		if i == len(b) {
			return
		}
		b = b[i+1:]
	}
}

func lineID(recordID string, arrival int64, n int, line []byte) string {
	h := sha256.New()
	var pre [32]byte
	h.Write([]byte(recordID)) // Firehose keeps a record's id across retries
	b := append(pre[:0], ':')
	b = strconv.AppendInt(b, arrival, 10)
	b = append(b, ':')
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, ':')
	h.Write(b)
	h.Write(line)
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0])[:16])
}

// entrySize is the length of one response entry without data or metadata.
func entrySize(id, result string) int {
	return len(`{"recordId":"","result":"","data":""}`) + len(id) + len(result)
}

// appendEntry appends one record's response entry.
func (h *Handler) appendEntry(out []byte, r *Record, o *outcome) []byte {
	out = append(out, `{"recordId":`...)
	out = record.AppendString(out, r.RecordID)
	out = append(out, `,"result":"`...)
	out = append(out, o.result...)
	out = append(out, `","data":"`...)
	switch o.result {
	case ResultOk:
		out = b64.AppendEncode(out, h.arena[o.start:o.end])
		out = append(out, `","metadata":{"partitionKeys":`...)
		out = o.keys.appendJSON(out)
		return append(out, "}}"...)
	case ResultProcessingFailed:
		// Echo the original so Firehose's processing-failed output holds
		// it, whatever it takes the data from (the budget reserved it).
		if !o.noEcho {
			out = append(out, r.DataBase64...)
		}
	}
	return append(out, `"}`...)
}

// rewriteFailed replaces the entries of records whose re-ingestion failed
// (written as Dropped) with ProcessingFailed ones. Rare: it copies the
// response once.
func (h *Handler) rewriteFailed(out []byte, ev *Event, outcomes []outcome) []byte {
	fixed := make([]byte, 0, len(out)+1024)
	last := 0
	for i := range outcomes {
		o := &outcomes[i]
		if o.result != ResultProcessingFailed || o.payloads == 0 {
			continue
		}
		fixed = append(fixed, out[last:o.at]...)
		fixed = h.appendEntry(fixed, &ev.Records[i], o)
		last = o.atEnd
	}
	return append(fixed, out[last:]...)
}

func summarize(outcomes []outcome, sum *Summary) {
	for i := range outcomes {
		switch o := &outcomes[i]; o.result {
		case ResultOk:
			sum.Ok++
		case ResultProcessingFailed:
			sum.Failed++
		case ResultDropped:
			sum.Dropped++
			if o.payloads > 0 {
				sum.Reingested++
				sum.Pieces += o.payloads
			}
		}
	}
}

func (h *Handler) emit(sum *Summary, st ingest.Stats, bytesIn, bytesOut int) {
	m := h.metrics
	m.Count(emf.RecordsIn, sum.Records)
	m.Count(emf.RecordsOk, sum.Ok)
	m.Count(emf.RecordsDropped, sum.Dropped-sum.Reingested)
	m.Count(emf.RecordsFailed, sum.Failed)
	m.Count(emf.RecordsReingested, sum.Reingested)
	m.Count(emf.ReingestPuts, sum.Pieces)
	m.Count(emf.EventsIn, st.EventsIn)
	m.Count(emf.EventsOut, st.EventsOut)
	m.Count(emf.EventsFiltered, st.Filtered)
	m.Count(emf.Redactions, st.Redactions)
	m.Count(emf.FieldsTruncated, st.FieldsTruncated)
	m.Add(emf.BytesIn, emf.Bytes, float64(st.BytesIn))
	m.Add(emf.BytesOut, emf.Bytes, float64(bytesOut))
	if err := m.Flush(h.metricsTo); err != nil {
		h.log.Error("write metrics", slog.Any("error", err))
	}
	if err := h.logGroups.Flush(h.metricsTo); err != nil {
		h.log.Error("write log group metrics", slog.Any("error", err))
	}
	h.log.Info("invocation",
		slog.Int("records", sum.Records), slog.Int("ok", sum.Ok), slog.Int("dropped", sum.Dropped-sum.Reingested),
		slog.Int("failed", sum.Failed), slog.Int("reingested", sum.Reingested), slog.Int("pieces", sum.Pieces),
		slog.Int("events_in", st.EventsIn), slog.Int("events_out", st.EventsOut),
		slog.Int("request_bytes", bytesIn), slog.Int("response_bytes", bytesOut))
}

func timeUTC(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
