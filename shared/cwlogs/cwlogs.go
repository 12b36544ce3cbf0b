// Package cwlogs decodes and encodes CloudWatch Logs subscription payloads:
// the gzip'd JSON documents that subscription filters deliver to Firehose,
// Kinesis and Lambda. Decoding is bounded (inflated bytes and compression
// ratio) so a gzip bomb becomes an error, never an out-of-memory.
package cwlogs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"unsafe"

	"github.com/klauspost/compress/gzip"
	"github.com/valyala/fastjson"
)

// Message types CloudWatch Logs sends.
const (
	DataMessage    = "DATA_MESSAGE"
	ControlMessage = "CONTROL_MESSAGE"
)

// Sentinel errors; callers report them as the record's failure reason.
var (
	ErrNotGzip        = errors.New("not gzip")
	ErrTooLarge       = errors.New("inflated payload exceeds the limit")
	ErrRatio          = errors.New("compression ratio exceeds the limit")
	ErrCorrupt        = errors.New("corrupt gzip stream")
	ErrInvalidJSON    = errors.New("payload is not a CloudWatch Logs JSON document")
	ErrMissingField   = errors.New("payload lacks a required field")
	ErrUnknownMessage = errors.New("unknown messageType")
)

// LogEvent is one event of a subscription payload.
type LogEvent struct {
	ID        string
	Timestamp int64 // ms since the epoch
	Message   string
}

// Envelope is a decoded subscription payload. Account-level subscription
// policies add policyLevel; other unknown keys are ignored.
type Envelope struct {
	MessageType         string
	Owner               string
	LogGroup            string
	LogStream           string
	SubscriptionFilters []string
	PolicyLevel         string
	LogEvents           []LogEvent
}

// Limits bound what one payload may inflate to.
type Limits struct {
	MaxInflatedBytes int64 // absolute cap on the decompressed size
	// MaxRatio caps decompressed/compressed size. It applies only above
	// ratioFloor inflated bytes, because tiny payloads of repeated lines
	// legitimately compress very well.
	MaxRatio int64
}

const ratioFloor = 1 << 20

// DefaultLimits suit Firehose (1,000 KiB records) and direct subscriptions.
var DefaultLimits = Limits{MaxInflatedBytes: 64 << 20, MaxRatio: 200}

// Decoder decodes payloads, reusing its buffers between calls. It is not
// safe for concurrent use. Strings in a returned Envelope point into the
// decoder's buffers and stay valid only until the next Decode.
type Decoder struct {
	limits Limits
	gz     *gzip.Reader
	buf    bytes.Buffer
	parser fastjson.Parser
	events []LogEvent
}

// NewDecoder returns a decoder with the given limits.
func NewDecoder(l Limits) *Decoder {
	if l.MaxInflatedBytes <= 0 {
		l.MaxInflatedBytes = DefaultLimits.MaxInflatedBytes
	}
	if l.MaxRatio <= 0 {
		l.MaxRatio = DefaultLimits.MaxRatio
	}
	return &Decoder{limits: l}
}

// IsGzip reports whether b starts with the gzip magic bytes.
func IsGzip(b []byte) bool { return len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b }

// Inflate decompresses a gzip payload into the decoder's buffer within the
// limits. The returned slice is valid until the next call.
func (d *Decoder) Inflate(compressed []byte) ([]byte, error) {
	if !IsGzip(compressed) {
		return nil, ErrNotGzip
	}
	src := bytes.NewReader(compressed)
	if d.gz == nil {
		gz, err := gzip.NewReader(src)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		d.gz = gz
	} else if err := d.gz.Reset(src); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	limit, byRatio := d.limits.MaxInflatedBytes, false
	if r := max(d.limits.MaxRatio*int64(len(compressed)), ratioFloor); r < limit {
		limit, byRatio = r, true
	}
	d.buf.Reset()
	// Grow once to a typical ratio to avoid repeated doubling.
	d.buf.Grow(min(int(limit), len(compressed)*8))
	n, err := d.buf.ReadFrom(io.LimitReader(d.gz, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if n > limit {
		if byRatio {
			return nil, fmt.Errorf("%w: more than %d bytes from %d compressed (max ratio %d)", ErrRatio, limit, len(compressed), d.limits.MaxRatio)
		}
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)
	}
	return d.buf.Bytes(), nil
}

// Decode inflates and parses one gzip'd subscription payload.
func (d *Decoder) Decode(compressed []byte) (*Envelope, error) {
	raw, err := d.Inflate(compressed)
	if err != nil {
		return nil, err
	}
	return d.Parse(raw)
}

// Parse parses an already inflated payload. raw must stay unmodified while
// the envelope is in use: its strings point into the parser's copy of it.
func (d *Decoder) Parse(raw []byte) (*Envelope, error) {
	v, err := d.parser.ParseBytes(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidJSON, err)
	}
	o, err := v.Object()
	if err != nil {
		return nil, fmt.Errorf("%w: top level is %s, not an object", ErrInvalidJSON, v.Type())
	}
	env := &Envelope{}
	var events *fastjson.Value
	var visitErr error
	o.Visit(func(k []byte, v *fastjson.Value) {
		if visitErr != nil {
			return
		}
		switch string(k) {
		case "messageType":
			env.MessageType, visitErr = str(v, "messageType")
		case "owner":
			env.Owner, visitErr = str(v, "owner")
		case "logGroup":
			env.LogGroup, visitErr = str(v, "logGroup")
		case "logStream":
			env.LogStream, visitErr = str(v, "logStream")
		case "policyLevel":
			env.PolicyLevel, visitErr = str(v, "policyLevel")
		case "subscriptionFilters":
			arr, err := v.Array()
			if err != nil {
				visitErr = fmt.Errorf("%w: subscriptionFilters is %s", ErrInvalidJSON, v.Type())
				return
			}
			for _, f := range arr {
				s, err := str(f, "subscriptionFilters[]")
				if err != nil {
					visitErr = err
					return
				}
				env.SubscriptionFilters = append(env.SubscriptionFilters, s)
			}
		case "logEvents":
			events = v
		}
	})
	if visitErr != nil {
		return nil, visitErr
	}
	switch env.MessageType {
	case DataMessage, ControlMessage:
	case "":
		return nil, fmt.Errorf("%w: messageType", ErrMissingField)
	default:
		return nil, fmt.Errorf("%w %q", ErrUnknownMessage, env.MessageType)
	}
	if env.MessageType == DataMessage && (env.LogGroup == "" || events == nil) {
		return nil, fmt.Errorf("%w: logGroup and logEvents", ErrMissingField)
	}
	if events == nil {
		return env, nil
	}
	arr, err := events.Array()
	if err != nil {
		return nil, fmt.Errorf("%w: logEvents is %s", ErrInvalidJSON, events.Type())
	}
	d.events = d.events[:0]
	for i, e := range arr {
		ev, err := logEvent(e)
		if err != nil {
			return nil, fmt.Errorf("logEvents[%d]: %w", i, err)
		}
		d.events = append(d.events, ev)
	}
	env.LogEvents = d.events
	return env, nil
}

func logEvent(v *fastjson.Value) (LogEvent, error) {
	var ev LogEvent
	if v.Type() != fastjson.TypeObject {
		return ev, fmt.Errorf("%w: event is %s", ErrInvalidJSON, v.Type())
	}
	id := v.Get("id")
	if id == nil {
		return ev, fmt.Errorf("%w: id", ErrMissingField)
	}
	var err error
	if ev.ID, err = str(id, "id"); err != nil {
		return ev, err
	}
	ts := v.Get("timestamp")
	if ts == nil {
		return ev, fmt.Errorf("%w: timestamp", ErrMissingField)
	}
	if ev.Timestamp, err = ts.Int64(); err != nil {
		return ev, fmt.Errorf("%w: timestamp: %v", ErrInvalidJSON, err)
	}
	if m := v.Get("message"); m != nil {
		if ev.Message, err = str(m, "message"); err != nil {
			return ev, err
		}
	}
	return ev, nil
}

// str returns a string value without copying: the bytes live in the
// parser's buffer, which outlives the envelope (see Decoder).
func str(v *fastjson.Value, name string) (string, error) {
	b, err := v.StringBytes()
	if err != nil {
		return "", fmt.Errorf("%w: %s is %s, not a string", ErrInvalidJSON, name, v.Type())
	}
	if len(b) == 0 {
		return "", nil
	}
	return unsafe.String(&b[0], len(b)), nil
}
