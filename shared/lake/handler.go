package lake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tributary-logs/tributary/shared/emf"
)

// Converter and compactor as the handler sees them.
type service interface {
	ConvertObject(ctx context.Context, ref ObjectRef) (ObjectResult, error)
	Compact(ctx context.Context) (CompactReport, error)
	Layout() Layout
	takeLag() (float64, bool)
}

// Layout returns the naming of the lake's objects.
func (s *Service) Layout() Layout { return s.cfg.Layout }

var _ service = (*Service)(nil)

// Handler is the lake function: it recognizes the trigger and converts or
// compacts. Triggers:
//
//   - S3 event notifications (ObjectCreated:*), invoked directly;
//   - the same notifications in SQS messages (also wrapped in SNS), answered
//     with the messages that failed (SQSEventResponse), so one bad object
//     never fails the batch;
//   - EventBridge "Object Created" events from S3;
//   - {"action":"compact"} or an EventBridge "Scheduled Event": compaction.
//
// Objects outside RAW_PREFIX are skipped, so a misdirected notification (for
// example on the lake's own output) cannot loop.
type Handler struct {
	svc     service
	log     *slog.Logger
	metrics *emf.Set
	out     io.Writer
}

// NewHandler builds the handler; metrics are flushed to out after each
// invocation (nil: not written).
func NewHandler(svc *Service, log *slog.Logger, out io.Writer) *Handler {
	return &Handler{svc: svc, log: log, metrics: svc.metrics, out: out}
}

// sqsMargin is the time an SQS batch keeps before the deadline: no new
// object is started with less left.
const sqsMargin = 30 * time.Second

// ConvertReport answers direct S3 and EventBridge invocations.
type ConvertReport struct {
	Objects []ObjectResult `json:"objects"`
}

// ErrUnknownEvent means the payload is no trigger the lake knows.
var ErrUnknownEvent = errors.New("lake: unrecognized event")

// Handle is the Lambda entry point.
func (h *Handler) Handle(ctx context.Context, payload json.RawMessage) (any, error) {
	defer h.flush()
	var probe struct {
		Records []struct {
			EventSource string `json:"eventSource"`
		} `json:"Records"`
		DetailType string          `json:"detail-type"`
		Source     string          `json:"source"`
		Action     string          `json:"action"`
		Detail     json.RawMessage `json:"detail"`
	}
	if err := json.Unmarshal(payload, &probe); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnknownEvent, err)
	}
	switch {
	case probe.Action != "":
		if probe.Action != "compact" {
			return nil, fmt.Errorf("%w: unknown action %q (want \"compact\")", ErrUnknownEvent, probe.Action)
		}
		return h.compact(ctx)
	case probe.DetailType == "Scheduled Event":
		return h.compact(ctx)
	case probe.DetailType == "Object Created":
		refs, err := eventBridgeRefs(payload)
		if err != nil {
			return nil, err
		}
		return h.convertAll(ctx, refs)
	case len(probe.Records) > 0 && probe.Records[0].EventSource == "aws:sqs":
		var ev events.SQSEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, fmt.Errorf("%w: SQS event: %v", ErrUnknownEvent, err)
		}
		return h.sqs(ctx, ev), nil
	case len(probe.Records) > 0 && probe.Records[0].EventSource == "aws:s3":
		refs, err := s3Refs(payload)
		if err != nil {
			return nil, err
		}
		return h.convertAll(ctx, refs)
	}
	return nil, ErrUnknownEvent
}

func (h *Handler) flush() {
	if lag, ok := h.svc.takeLag(); ok {
		h.metrics.Add(emf.LakeLagSeconds, emf.Seconds, lag)
	}
	if h.out != nil {
		if err := h.metrics.Flush(h.out); err != nil {
			h.log.Warn("write metrics", "error", err)
		}
	}
}

// convertAll converts each object; any failure fails the invocation (so
// Lambda retries it) after every object was tried. Retrying converted
// objects is harmless: they overwrite themselves.
func (h *Handler) convertAll(ctx context.Context, refs []ObjectRef) (any, error) {
	rep := ConvertReport{Objects: []ObjectResult{}}
	var failed []string
	for _, ref := range refs {
		res := h.convert(ctx, ref)
		rep.Objects = append(rep.Objects, res)
		if res.Status == StatusFailed {
			failed = append(failed, ref.String())
		}
	}
	if len(failed) > 0 {
		return nil, fmt.Errorf("lake: %d of %d objects failed: %s", len(failed), len(refs), strings.Join(failed, ", "))
	}
	return rep, nil
}

func (h *Handler) convert(ctx context.Context, ref ObjectRef) ObjectResult {
	l := h.svc.Layout()
	if !l.IsRaw(ref.Key) || strings.HasSuffix(ref.Key, "/") {
		h.log.InfoContext(ctx, "skipped: not under the raw prefix", "object", ref.String(), "raw_prefix", l.RawPrefix)
		return ObjectResult{Bucket: ref.Bucket, Key: ref.Key, Status: StatusSkipped}
	}
	res, err := h.svc.ConvertObject(ctx, ref)
	if err != nil {
		h.metrics.Count(emf.LakeObjectsFailed, 1)
		h.log.ErrorContext(ctx, "conversion failed", "object", ref.String(), "error", err)
		return ObjectResult{Bucket: ref.Bucket, Key: ref.Key, Status: StatusFailed}
	}
	return res
}

// sqs converts the objects of each message; a message fails when its body
// is not a notification or one of its objects fails.
func (h *Handler) sqs(ctx context.Context, ev events.SQSEvent) events.SQSEventResponse {
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	for i, msg := range ev.Records {
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < sqsMargin {
			// Too close to the timeout to start another object: hand the
			// rest back to the queue rather than lose the whole batch.
			h.log.WarnContext(ctx, "deadline near; returning the rest of the batch to the queue", "left", len(ev.Records)-i)
			for _, m := range ev.Records[i:] {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
			}
			break
		}
		refs, err := messageRefs(msg.Body)
		if err != nil {
			h.log.ErrorContext(ctx, "SQS message is not an S3 notification", "message_id", msg.MessageId, "error", err)
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: msg.MessageId})
			continue
		}
		ok := true
		for _, ref := range refs {
			if ctx.Err() != nil || h.convert(ctx, ref).Status == StatusFailed {
				ok = false
			}
		}
		if !ok {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: msg.MessageId})
		}
	}
	return resp
}

func (h *Handler) compact(ctx context.Context) (any, error) {
	rep, err := h.svc.Compact(ctx)
	if err != nil {
		return nil, err
	}
	h.log.InfoContext(ctx, "compaction done", "partitions", rep.Partitions, "merged", len(rep.Compacted),
		"recovered", len(rep.Recovered), "busy", len(rep.Busy), "stopped", rep.Stopped)
	return rep, nil
}

// s3Refs reads the created objects of an S3 event notification. Keys in
// notifications are URL-encoded ('+' for space).
func s3Refs(payload []byte) ([]ObjectRef, error) {
	var ev events.S3Event
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, fmt.Errorf("%w: S3 event: %v", ErrUnknownEvent, err)
	}
	var refs []ObjectRef
	for _, r := range ev.Records {
		if !strings.HasPrefix(r.EventName, "ObjectCreated:") {
			continue
		}
		key, err := url.QueryUnescape(r.S3.Object.Key)
		if err != nil {
			return nil, fmt.Errorf("%w: object key %q: %v", ErrUnknownEvent, r.S3.Object.Key, err)
		}
		refs = append(refs, ObjectRef{Bucket: r.S3.Bucket.Name, Key: key, VersionID: r.S3.Object.VersionID})
	}
	return refs, nil
}

// eventBridgeRefs reads an EventBridge "Object Created" event (keys are not
// URL-encoded there).
func eventBridgeRefs(payload []byte) ([]ObjectRef, error) {
	var ev struct {
		Source string `json:"source"`
		Detail struct {
			Bucket struct {
				Name string `json:"name"`
			} `json:"bucket"`
			Object struct {
				Key       string `json:"key"`
				VersionID string `json:"version-id"`
			} `json:"object"`
		} `json:"detail"`
	}
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, fmt.Errorf("%w: EventBridge event: %v", ErrUnknownEvent, err)
	}
	if ev.Source != "aws.s3" || ev.Detail.Bucket.Name == "" || ev.Detail.Object.Key == "" {
		return nil, fmt.Errorf("%w: Object Created event without source aws.s3, bucket and key", ErrUnknownEvent)
	}
	return []ObjectRef{{Bucket: ev.Detail.Bucket.Name, Key: ev.Detail.Object.Key, VersionID: ev.Detail.Object.VersionID}}, nil
}

// messageRefs reads an SQS message body: an S3 notification, the same
// inside an SNS envelope, an EventBridge event, or S3's s3:TestEvent (no
// objects).
func messageRefs(body string) ([]ObjectRef, error) {
	var probe struct {
		Records []struct {
			EventSource string `json:"eventSource"`
		} `json:"Records"`
		Event      string `json:"Event"`
		Type       string `json:"Type"`
		Message    string `json:"Message"`
		DetailType string `json:"detail-type"`
	}
	if err := json.Unmarshal([]byte(body), &probe); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnknownEvent, err)
	}
	switch {
	case probe.Event == "s3:TestEvent":
		return nil, nil
	case probe.Type == "Notification" && probe.Message != "":
		return messageRefs(probe.Message)
	case probe.DetailType == "Object Created":
		return eventBridgeRefs([]byte(body))
	case len(probe.Records) > 0:
		return s3Refs([]byte(body))
	}
	return nil, ErrUnknownEvent
}
