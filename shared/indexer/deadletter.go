package indexer

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tributary-logs/tributary/shared/record"
)

// ObjectPutter is the S3 call dead-lettering needs.
type ObjectPutter interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

// DeadLetter writes what can never be indexed to S3 as NDJSON, one line per
// item, each carrying the original record (or payload) with the status,
// error type and reason and the number of attempts, so nothing is lost and
// everything can be replayed through the same indexer once fixed:
//
//	{"failed_at":"…","source":"awslogs","index":"cwl-2026.11.22","id":"…","status":400,
//	 "error":{"type":"mapper_parsing_exception","reason":"…"},"attempts":1,"record":{…}}
//
// Keys are <prefix>YYYY/MM/DD/HH/<request id>-<n>.ndjson (UTC).
type DeadLetter struct {
	S3     ObjectPutter
	Bucket string
	Prefix string
	now    func() time.Time
	seq    atomic.Int64
}

// Put writes one dead-letter object and returns its key.
func (d *DeadLetter) Put(ctx context.Context, requestID string, body []byte) (string, error) {
	now := time.Now
	if d.now != nil {
		now = d.now
	}
	if requestID == "" {
		requestID = strconv.FormatInt(now().UnixNano(), 36)
	}
	key := d.Prefix + now().UTC().Format("2006/01/02/15/") + requestID + "-" + strconv.FormatInt(d.seq.Add(1), 10) + ".ndjson"
	_, err := d.S3.PutObject(ctx, &s3.PutObjectInput{
		Bucket:      aws.String(d.Bucket),
		Key:         aws.String(key),
		Body:        bytes.NewReader(body),
		ContentType: aws.String("application/x-ndjson"),
	})
	if err != nil {
		return "", fmt.Errorf("dead-letter s3://%s/%s: %w", d.Bucket, key, err)
	}
	return key, nil
}

// deadLine is what one dead-letter line says.
type deadLine struct {
	source   string
	index    string
	id       string
	status   int
	errType  string
	reason   string
	attempts int
}

// appendDeadLine appends one NDJSON line; exactly one of doc (a record
// object), payload (a subscription payload, base64) or line (an unreadable
// stored line) is set.
func appendDeadLine(dst []byte, now time.Time, d deadLine, doc, payload, line []byte) []byte {
	dst = append(dst, `{"failed_at":"`...)
	dst = record.AppendTimestamp(dst, now.UnixMilli())
	dst = append(dst, `","source":`...)
	dst = record.AppendString(dst, d.source)
	if d.index != "" {
		dst = append(dst, `,"index":`...)
		dst = record.AppendString(dst, d.index)
	}
	if d.id != "" {
		dst = append(dst, `,"id":`...)
		dst = record.AppendString(dst, d.id)
	}
	dst = append(dst, `,"status":`...)
	dst = strconv.AppendInt(dst, int64(d.status), 10)
	dst = append(dst, `,"error":{"type":`...)
	dst = record.AppendString(dst, d.errType)
	dst = append(dst, `,"reason":`...)
	dst = record.AppendString(dst, d.reason)
	dst = append(dst, `},"attempts":`...)
	dst = strconv.AppendInt(dst, int64(d.attempts), 10)
	switch {
	case doc != nil:
		dst = append(dst, `,"record":`...)
		dst = append(dst, doc...)
	case payload != nil:
		dst = append(dst, `,"payload":`...)
		dst = record.AppendString(dst, string(payload))
	case line != nil:
		dst = append(dst, `,"line":`...)
		dst = record.AppendString(dst, string(line))
	}
	return append(dst, "}\n"...)
}
