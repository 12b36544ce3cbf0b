package indexer

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/valyala/fastjson"
)

// Kinds of invocation event the indexer accepts.
const (
	KindSubscription = "awslogs" // {"awslogs":{"data":"<base64 gzip>"}}
	KindS3           = "s3"      // S3 event notification, direct or through SQS
	KindReplay       = "replay"  // {"objects":[{"bucket":"b","key":"k"}]}
)

// ObjectRef names one S3 object to (re-)index.
type ObjectRef struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
}

// event is a parsed invocation event.
type event struct {
	kind    string
	data    []byte // base64 subscription payload (points into the parser)
	objects []ObjectRef
}

// ErrUnknownEvent means the invocation event is none of the accepted kinds.
var ErrUnknownEvent = errors.New("unrecognised event: want a CloudWatch Logs subscription ({\"awslogs\":…}), an S3 event, or {\"objects\":[{\"bucket\",\"key\"}]}")

// parseEvent recognises the event's kind. S3 keys in notifications are URL
// encoded (spaces as +); they are decoded here.
func parseEvent(p *fastjson.Parser, payload []byte) (*event, error) {
	v, err := p.ParseBytes(payload)
	if err != nil {
		return nil, fmt.Errorf("%w: not JSON: %v", ErrUnknownEvent, err)
	}
	if v.Type() != fastjson.TypeObject {
		return nil, fmt.Errorf("%w: top level is %s", ErrUnknownEvent, v.Type())
	}
	if a := v.Get("awslogs"); a != nil {
		d := a.Get("data")
		if d == nil || d.Type() != fastjson.TypeString {
			return nil, errors.New("awslogs event lacks data")
		}
		return &event{kind: KindSubscription, data: d.GetStringBytes()}, nil
	}
	if objs := v.Get("objects"); objs != nil {
		arr, err := objs.Array()
		if err != nil {
			return nil, fmt.Errorf("objects is %s, not a list", objs.Type())
		}
		ev := &event{kind: KindReplay}
		for i, o := range arr {
			ref := ObjectRef{Bucket: string(o.GetStringBytes("bucket")), Key: string(o.GetStringBytes("key"))}
			if ref.Bucket == "" || ref.Key == "" {
				return nil, fmt.Errorf("objects[%d] needs bucket and key", i)
			}
			ev.objects = append(ev.objects, ref)
		}
		return ev, nil
	}
	if recs := v.Get("Records"); recs != nil {
		ev := &event{kind: KindS3}
		if err := s3Records(p, recs, &ev.objects, 0); err != nil {
			return nil, err
		}
		return ev, nil
	}
	return nil, ErrUnknownEvent
}

// s3Records collects objects from S3 notification records, unwrapping SQS
// messages whose body is an S3 notification.
func s3Records(p *fastjson.Parser, recs *fastjson.Value, out *[]ObjectRef, depth int) error {
	arr, err := recs.Array()
	if err != nil {
		return fmt.Errorf("records is %s, not a list", recs.Type())
	}
	for i, r := range arr {
		src := string(r.GetStringBytes("eventSource"))
		switch src {
		case "aws:s3":
			name := string(r.GetStringBytes("eventName"))
			if !strings.HasPrefix(name, "ObjectCreated:") && name != "" {
				continue // deletions, restores: nothing to index
			}
			key, err := url.QueryUnescape(string(r.GetStringBytes("s3", "object", "key")))
			if err != nil {
				return fmt.Errorf("Records[%d]: bad key: %w", i, err)
			}
			ref := ObjectRef{Bucket: string(r.GetStringBytes("s3", "bucket", "name")), Key: key}
			if ref.Bucket == "" || ref.Key == "" {
				return fmt.Errorf("Records[%d] lacks s3.bucket.name or s3.object.key", i)
			}
			*out = append(*out, ref)
		case "aws:sqs":
			if depth > 0 {
				return fmt.Errorf("Records[%d]: nested SQS message", i)
			}
			var inner fastjson.Parser
			body, err := inner.ParseBytes(r.GetStringBytes("body"))
			if err != nil {
				return fmt.Errorf("Records[%d]: SQS body is not JSON: %v", i, err)
			}
			if body.GetStringBytes("Event") != nil && string(body.GetStringBytes("Event")) == "s3:TestEvent" {
				continue
			}
			if rs := body.Get("Records"); rs != nil {
				if err := s3Records(&inner, rs, out, depth+1); err != nil {
					return err
				}
			}
		default:
			return fmt.Errorf("Records[%d]: eventSource %q is not aws:s3 or aws:sqs", i, src)
		}
	}
	return nil
}
