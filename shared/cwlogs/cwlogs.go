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

	"github.com/klauspost/compress/gzip"

	"github.com/tributary-logs/tributary/shared/gunzip"
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
	ID string
	// IDPlain reports that ID is printable ASCII without quotes or
	// backslashes, so it is its own JSON string content (CloudWatch's ids
	// are digits): encoders copy it instead of escaping it. Only the
	// compact read of an event sets it; false means unknown, and the id is
	// escaped as before.
	IDPlain   bool
	Timestamp int64 // ms since the epoch
	Message   string
	// RawMessage is the message as it was escaped in the payload; when
	// RawOK it is valid UTF-8 JSON string content that an encoder may copy
	// verbatim (a decoded event only; nil otherwise).
	RawMessage []byte
	RawOK      bool
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
	fast   *gunzip.Inflater
	gz     *gzip.Reader
	buf    []byte // inflated payload
	arena  []byte
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

// inflateLimit is how many bytes a payload of compressed bytes may inflate
// to, and whether the ratio (not the absolute cap) sets it.
func (l Limits) inflateLimit(compressed int) (limit int64, byRatio bool) {
	limit = l.MaxInflatedBytes
	if r := max(l.MaxRatio*int64(compressed), ratioFloor); r < limit {
		return r, true
	}
	return limit, false
}

// Accepts reports whether a payload of compressed bytes that inflates to
// inflated bytes is within d's limits: what Decode will not refuse as a
// bomb or as too large.
func (d *Decoder) Accepts(inflated, compressed int) bool {
	limit, _ := d.limits.inflateLimit(compressed)
	return int64(inflated) <= limit
}

// IsGzip reports whether b starts with the gzip magic bytes.
func IsGzip(b []byte) bool { return len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b }

// Inflate decompresses a gzip payload into the decoder's buffer within the
// limits. The returned slice is valid until the next call.
//
// The in-memory inflater (shared/gunzip) decodes well-formed payloads and
// stops a bomb at the limit; anything else it refuses (truncated, corrupt,
// trailing bytes) is decoded again by klauspost/compress's streaming reader,
// whose verdict and error stand.
func (d *Decoder) Inflate(compressed []byte) ([]byte, error) {
	if !IsGzip(compressed) {
		return nil, ErrNotGzip
	}
	limit, byRatio := d.limits.inflateLimit(len(compressed))
	if d.fast == nil {
		d.fast = new(gunzip.Inflater)
	}
	out, err := d.fast.Append(d.buf[:0], compressed, int(limit))
	switch {
	case err == nil:
		d.buf = out
		return out, nil
	case errors.Is(err, gunzip.ErrLimit):
		// It decoded more than the limit without an error: a bomb. Its
		// buffer is dropped, not kept, and the streaming reader is not
		// asked to inflate it all over again.
		return nil, d.limits.exceeded(limit, byRatio, len(compressed))
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
	buf := bytes.NewBuffer(d.buf[:0])
	// Grow once to a typical ratio to avoid repeated doubling.
	buf.Grow(min(int(limit), len(compressed)*8))
	n, err := buf.ReadFrom(io.LimitReader(d.gz, limit+1))
	d.buf = buf.Bytes()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if n > limit {
		return nil, d.limits.exceeded(limit, byRatio, len(compressed))
	}
	return d.buf, nil
}

// exceeded is the error for a payload of compressed bytes that inflates to
// more than limit.
func (l Limits) exceeded(limit int64, byRatio bool, compressed int) error {
	if byRatio {
		return fmt.Errorf("%w: more than %d bytes from %d compressed (max ratio %d)", ErrRatio, limit, compressed, l.MaxRatio)
	}
	return fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)
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
// the envelope is in use: its strings point into it and into the decoder's
// arena.
func (d *Decoder) Parse(raw []byte) (*Envelope, error) {
	if cap(d.arena) < len(raw)+8 {
		d.arena = make([]byte, 0, len(raw)+8)
	}
	sc := &scanner{b: raw, arena: d.arena[:0]}
	env := &Envelope{}
	d.events = d.events[:0]
	if k := sc.kind(); k != "object" {
		return nil, fmt.Errorf("%w: top level is %s, not an object", ErrInvalidJSON, k)
	}
	sawEvents := false
	err := sc.object(func(key string) error {
		var err error
		switch key {
		case "messageType":
			env.MessageType, err = field(sc, key)
		case "owner":
			env.Owner, err = field(sc, key)
		case "logGroup":
			env.LogGroup, err = field(sc, key)
		case "logStream":
			env.LogStream, err = field(sc, key)
		case "policyLevel":
			env.PolicyLevel, err = field(sc, key)
		case "subscriptionFilters":
			if k := sc.kind(); k != "array" {
				return fmt.Errorf("%w: subscriptionFilters is %s", ErrInvalidJSON, k)
			}
			env.SubscriptionFilters = env.SubscriptionFilters[:0]
			err = sc.array(func(int) error {
				f, err := field(sc, "subscriptionFilters[]")
				env.SubscriptionFilters = append(env.SubscriptionFilters, f)
				return err
			})
		case "logEvents":
			if k := sc.kind(); k != "array" {
				return fmt.Errorf("%w: logEvents is %s", ErrInvalidJSON, k)
			}
			sawEvents = true
			d.events = d.events[:0]
			err = d.logEvents(sc)
		default:
			err = sc.skip(1)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if sc.peek() != 0 {
		return nil, sc.errorf("trailing data after the document")
	}
	switch env.MessageType {
	case DataMessage, ControlMessage:
	case "":
		return nil, fmt.Errorf("%w: messageType", ErrMissingField)
	default:
		return nil, fmt.Errorf("%w %q", ErrUnknownMessage, env.MessageType)
	}
	if env.MessageType == DataMessage && (env.LogGroup == "" || !sawEvents) {
		return nil, fmt.Errorf("%w: logGroup and logEvents", ErrMissingField)
	}
	env.LogEvents = d.events
	return env, nil
}

// logEvents reads the array of events at the cursor into d.events, in a
// loop of its own rather than through array: per event, its closure call
// costs about as much as reading a compact event's punctuation.
func (d *Decoder) logEvents(sc *scanner) error {
	sc.i++ // the '[' kind saw
	if sc.consume(']') {
		return nil
	}
	for i := 0; ; i++ {
		ev, err := logEvent(sc)
		if err != nil {
			return fmt.Errorf("logEvents[%d]: %w", i, err)
		}
		d.events = append(d.events, ev)
		if sc.consume(',') {
			continue
		}
		if sc.consume(']') {
			return nil
		}
		return sc.errorf("want ',' or ']'")
	}
}

// field reads a string field, naming it when it is something else.
func field(sc *scanner, name string) (string, error) {
	if k := sc.kind(); k != "string" {
		if k == "null" {
			return "", sc.skip(1)
		}
		return "", fmt.Errorf("%w: %s is %s, not a string", ErrInvalidJSON, name, k)
	}
	v, _, _, err := sc.str()
	return v, err
}

func logEvent(sc *scanner) (LogEvent, error) {
	if ev, ok := compactEvent(sc); ok {
		return ev, nil
	}
	var ev LogEvent
	if k := sc.kind(); k != "object" {
		return ev, fmt.Errorf("%w: event is %s", ErrInvalidJSON, k)
	}
	var haveID, haveTS bool
	err := sc.object(func(key string) error {
		var err error
		switch key {
		case "id":
			haveID = true
			ev.ID, err = field(sc, "id")
		case "timestamp":
			if k := sc.kind(); k != "number" {
				return fmt.Errorf("%w: timestamp is %s, not a number", ErrInvalidJSON, k)
			}
			haveTS = true
			ev.Timestamp, err = sc.number()
		case "message":
			if k := sc.kind(); k != "string" {
				if k == "null" {
					return sc.skip(1)
				}
				return fmt.Errorf("%w: message is %s, not a string", ErrInvalidJSON, k)
			}
			ev.Message, ev.RawMessage, ev.RawOK, err = sc.str()
		default:
			err = sc.skip(2)
		}
		return err
	})
	if err != nil {
		return ev, err
	}
	if !haveID {
		return ev, fmt.Errorf("%w: id", ErrMissingField)
	}
	if !haveTS {
		return ev, fmt.Errorf("%w: timestamp", ErrMissingField)
	}
	return ev, nil
}

// rewind returns the scanner to an earlier cursor and arena length. The
// arena is rewound too: left there, what str unescaped since would be
// unescaped again by the general path, and the arena would outgrow the
// input, which makes each escaped string reserve room again (quadratic).
func (s *scanner) rewind(i, arena int) {
	s.i, s.arena = i, s.arena[:arena]
}

// compactEvent reads an event written as CloudWatch Logs writes them,
// {"id":"…","timestamp":…,"message":"…"} without blanks, matching the
// punctuation and key names as whole strings instead of token by token.
// Any other shape, or an error, reports false with the cursor back at the
// start, and logEvent reads the event the general way: the result is the
// same either way.
func compactEvent(sc *scanner) (LogEvent, bool) {
	start, arena := sc.i, len(sc.arena)
	if !sc.lit(`{"id":"`) {
		return LogEvent{}, false
	}
	sc.i-- // str wants the quote
	id, _, _, err := sc.str()
	idPlain := sc.plain
	if err != nil || !sc.lit(`,"timestamp":`) || sc.i >= len(sc.b) || (sc.b[sc.i] != '-' && sc.b[sc.i]-'0' > 9) {
		sc.rewind(start, arena)
		return LogEvent{}, false
	}
	ts, err := sc.number()
	if err != nil || !sc.lit(`,"message":"`) {
		sc.rewind(start, arena)
		return LogEvent{}, false
	}
	sc.i--
	msg, raw, rawOK, err := sc.str()
	if err != nil || !sc.lit("}") {
		sc.rewind(start, arena)
		return LogEvent{}, false
	}
	return LogEvent{ID: id, IDPlain: idPlain, Timestamp: ts, Message: msg, RawMessage: raw, RawOK: rawOK}, true
}
