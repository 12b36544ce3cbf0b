package cwlogs

import (
	"bytes"
	"fmt"

	"github.com/klauspost/compress/gzip"

	"github.com/tributary-logs/tributary/shared/record"
)

// AppendJSON appends env as a subscription payload holding only events,
// keeping every other field: the shape CloudWatch Logs itself sends.
func AppendJSON(dst []byte, env *Envelope, events []LogEvent) []byte {
	dst = append(dst, `{"messageType":`...)
	dst = record.AppendString(dst, env.MessageType)
	dst = append(dst, `,"owner":`...)
	dst = record.AppendString(dst, env.Owner)
	dst = append(dst, `,"logGroup":`...)
	dst = record.AppendString(dst, env.LogGroup)
	dst = append(dst, `,"logStream":`...)
	dst = record.AppendString(dst, env.LogStream)
	dst = append(dst, `,"subscriptionFilters":[`...)
	for i, f := range env.SubscriptionFilters {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = record.AppendString(dst, f)
	}
	dst = append(dst, ']')
	if env.PolicyLevel != "" {
		dst = append(dst, `,"policyLevel":`...)
		dst = record.AppendString(dst, env.PolicyLevel)
	}
	dst = append(dst, `,"logEvents":[`...)
	for i := range events {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendEventJSON(dst, &events[i])
	}
	return append(dst, "]}"...)
}

// AppendEventJSON appends one log event as CloudWatch encodes it.
func AppendEventJSON(dst []byte, ev *LogEvent) []byte {
	dst = append(dst, `{"id":`...)
	dst = record.AppendString(dst, ev.ID)
	dst = append(dst, `,"timestamp":`...)
	dst = record.AppendInt(dst, ev.Timestamp)
	dst = append(dst, `,"message":`...)
	dst = record.AppendString(dst, ev.Message)
	return append(dst, '}')
}

// Encode returns env with the given events as a gzip'd payload, the form
// Firehose and Lambda receive, so a split payload is indistinguishable from
// one CloudWatch Logs sent.
func Encode(env *Envelope, events []LogEvent) ([]byte, error) {
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	if _, err := zw.Write(AppendJSON(nil, env, events)); err != nil {
		return nil, fmt.Errorf("gzip payload: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("gzip payload: %w", err)
	}
	return out.Bytes(), nil
}
