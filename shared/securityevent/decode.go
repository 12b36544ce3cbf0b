// Package securityevent is the core of the opsgenie function: it turns what
// arrives (EventBridge events for CloudTrail API calls and console sign-ins,
// GuardDuty and Security Hub findings and Config compliance changes, and
// CloudTrail records through a CloudWatch Logs subscription) into
// EventBridge-shaped events, runs the rule set over them, and builds alerts
// that say who did what, where and when, with console links.
package securityevent

import (
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/valyala/fastjson"

	"github.com/tributary-logs/tributary/shared/cwlogs"
	"github.com/tributary-logs/tributary/shared/record"
)

// Event is one EventBridge-shaped event.
type Event struct {
	Doc   []byte // the event JSON; for CloudTrail-through-Logs a synthesized envelope
	Route string // RouteEventBridge or RouteLogs
	Ref   string // event id (or log event id) for outcomes and logs
}

// Routes.
const (
	RouteEventBridge = "eventbridge"
	RouteLogs        = "awslogs"
)

// Rejection is an input that cannot become an event, with why.
type Rejection struct {
	Ref    string `json:"ref"`
	Reason string `json:"reason"`
}

// Detail types this package knows how to describe.
const (
	DetailAPICall     = "AWS API Call via CloudTrail"
	DetailSignIn      = "AWS Console Sign In via CloudTrail"
	DetailServiceEvt  = "AWS Service Event via CloudTrail"
	DetailGuardDuty   = "GuardDuty Finding"
	DetailSecurityHub = "Security Hub Findings - Imported"
	DetailConfig      = "Config Rules Compliance Change"
)

// Decoder turns invocation payloads into events. It is not safe for
// concurrent use (Lambda calls one at a time).
type Decoder struct {
	logs   *cwlogs.Decoder
	parser fastjson.Parser
	arena  fastjson.Arena
}

// NewDecoder returns a decoder; limits bound CloudWatch Logs payloads.
func NewDecoder(limits cwlogs.Limits) *Decoder {
	return &Decoder{logs: cwlogs.NewDecoder(limits)}
}

// Decode returns the events of one payload and the inputs it had to reject.
// It never fails as a whole: a payload it cannot read is one rejection.
func (d *Decoder) Decode(payload []byte) ([]Event, []Rejection) {
	v, err := d.parser.ParseBytes(payload)
	if err != nil {
		return nil, []Rejection{{Ref: "payload", Reason: "not JSON: " + err.Error()}}
	}
	switch {
	case v.Get("awslogs", "data") != nil:
		return d.decodeLogs(v.Get("awslogs", "data"))
	case v.Get("detail-type") != nil:
		return d.decodeEventBridge(v, payload)
	case v.Type() == fastjson.TypeArray:
		// A list of EventBridge events (tests, replays from a queue).
		arr, _ := v.Array()
		if len(arr) == 0 {
			return nil, []Rejection{{Ref: "payload", Reason: "empty list of events"}}
		}
		docs := make([][]byte, len(arr))
		for i, e := range arr {
			docs[i] = e.MarshalTo(nil)
		}
		var evs []Event
		var rej []Rejection
		for _, doc := range docs {
			e, r := d.Decode(doc)
			evs, rej = append(evs, e...), append(rej, r...)
		}
		return evs, rej
	}
	return nil, []Rejection{{Ref: "payload", Reason: "neither an EventBridge event (detail-type) nor a CloudWatch Logs subscription (awslogs.data)"}}
}

func (d *Decoder) decodeEventBridge(v *fastjson.Value, raw []byte) ([]Event, []Rejection) {
	ref := string(v.GetStringBytes("id"))
	if ref == "" {
		ref = "event"
	}
	if v.Get("detail") == nil || v.Get("detail").Type() != fastjson.TypeObject {
		return nil, []Rejection{{Ref: ref, Reason: "EventBridge event without a detail object"}}
	}
	if string(v.GetStringBytes("detail-type")) != DetailSecurityHub {
		return []Event{{Doc: append([]byte(nil), raw...), Route: RouteEventBridge, Ref: ref}}, nil
	}
	// One Security Hub event carries up to 100 findings: one event each, so
	// each finding gets its own rules, alias and alert.
	findings := array(v.Get("detail", "findings"))
	if len(findings) == 0 {
		return nil, []Rejection{{Ref: ref, Reason: "Security Hub event without findings"}}
	}
	if len(findings) == 1 {
		return []Event{{Doc: append([]byte(nil), raw...), Route: RouteEventBridge, Ref: ref}}, nil
	}
	detail := v.Get("detail")
	out := make([]Event, 0, len(findings))
	for i, f := range findings {
		d.arena.Reset()
		one := d.arena.NewArray()
		one.SetArrayItem(0, f)
		detail.Set("findings", one)
		out = append(out, Event{Doc: v.MarshalTo(nil), Route: RouteEventBridge, Ref: fmt.Sprintf("%s/findings[%d]", ref, i)})
	}
	return out, nil
}

func (d *Decoder) decodeLogs(data *fastjson.Value) ([]Event, []Rejection) {
	b64 := data.GetStringBytes()
	if b64 == nil {
		return nil, []Rejection{{Ref: "awslogs", Reason: "awslogs.data is not a string"}}
	}
	gz, err := base64.StdEncoding.DecodeString(string(b64))
	if err != nil {
		return nil, []Rejection{{Ref: "awslogs", Reason: "awslogs.data is not base64: " + err.Error()}}
	}
	env, err := d.logs.Decode(gz)
	if err != nil {
		return nil, []Rejection{{Ref: "awslogs", Reason: "awslogs.data: " + err.Error()}}
	}
	if env.MessageType == cwlogs.ControlMessage {
		return nil, nil
	}
	var out []Event
	var rej []Rejection
	for i := range env.LogEvents {
		le := &env.LogEvents[i]
		doc, err := d.wrapCloudTrail(le.Message)
		if err != nil {
			rej = append(rej, Rejection{Ref: le.ID, Reason: fmt.Sprintf("log event in %s: %v", env.LogGroup, err)})
			continue
		}
		ref := le.ID
		out = append(out, Event{Doc: doc, Route: RouteLogs, Ref: ref})
	}
	return out, rej
}

// wrapCloudTrail puts a CloudTrail record into the envelope EventBridge
// would have given it, so the same rules match both routes.
func (d *Decoder) wrapCloudTrail(msg string) ([]byte, error) {
	rec, err := d.parser.Parse(msg)
	if err != nil {
		return nil, fmt.Errorf("not a JSON CloudTrail record: %v", err)
	}
	if rec.Type() != fastjson.TypeObject || rec.Get("eventName") == nil || rec.Get("eventSource") == nil {
		return nil, fmt.Errorf("not a CloudTrail record (no eventName / eventSource)")
	}
	detailType := DetailAPICall
	switch string(rec.GetStringBytes("eventType")) {
	case "AwsConsoleSignIn":
		detailType = DetailSignIn
	case "AwsServiceEvent":
		detailType = DetailServiceEvt
	}
	source := "aws." + strings.TrimSuffix(string(rec.GetStringBytes("eventSource")), ".amazonaws.com")
	account := string(rec.GetStringBytes("recipientAccountId"))
	if account == "" {
		account = string(rec.GetStringBytes("userIdentity", "accountId"))
	}
	b := make([]byte, 0, len(msg)+256)
	b = append(b, `{"version":"0","id":`...)
	b = record.AppendString(b, string(rec.GetStringBytes("eventID")))
	b = append(b, `,"detail-type":`...)
	b = record.AppendString(b, detailType)
	b = append(b, `,"source":`...)
	b = record.AppendString(b, source)
	b = append(b, `,"account":`...)
	b = record.AppendString(b, account)
	b = append(b, `,"time":`...)
	b = record.AppendString(b, string(rec.GetStringBytes("eventTime")))
	b = append(b, `,"region":`...)
	b = record.AppendString(b, string(rec.GetStringBytes("awsRegion")))
	b = append(b, `,"resources":[],"detail":`...)
	b = rec.MarshalTo(b)
	return append(b, '}'), nil
}
