package transform

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/valyala/fastjson"
)

// Event is the Firehose data-transformation event. It mirrors
// events.KinesisFirehoseEvent but is decoded by hand: the event can be 6 MB
// of base64, and a generic decoder would scan and copy it several times.
type Event struct {
	InvocationID           string
	DeliveryStreamArn      string
	SourceKinesisStreamArn string
	Region                 string
	Records                []Record
}

// Record is one Firehose input record; Data is still base64 (decoded on
// use, one record at a time, into a reused buffer).
type Record struct {
	RecordID      string
	ArrivalMillis int64
	DataBase64    []byte
}

// parseEvent decodes the event JSON. Strings point into p's buffer.
func parseEvent(p *fastjson.Parser, payload []byte) (*Event, error) {
	v, err := p.ParseBytes(payload)
	if err != nil {
		return nil, fmt.Errorf("firehose event is not JSON: %w", err)
	}
	if v.Type() != fastjson.TypeObject {
		return nil, fmt.Errorf("firehose event is %s, not an object", v.Type())
	}
	ev := &Event{
		InvocationID:           string(v.GetStringBytes("invocationId")),
		DeliveryStreamArn:      string(v.GetStringBytes("deliveryStreamArn")),
		SourceKinesisStreamArn: string(v.GetStringBytes("sourceKinesisStreamArn")),
		Region:                 string(v.GetStringBytes("region")),
	}
	recs := v.Get("records")
	if recs == nil {
		return nil, errors.New("firehose event has no records")
	}
	arr, err := recs.Array()
	if err != nil {
		return nil, fmt.Errorf("firehose event records: %w", err)
	}
	ev.Records = make([]Record, len(arr))
	for i, r := range arr {
		id := r.GetStringBytes("recordId")
		if len(id) == 0 {
			return nil, fmt.Errorf("firehose record %d has no recordId", i)
		}
		ev.Records[i] = Record{
			RecordID:      string(id),
			ArrivalMillis: r.GetInt64("approximateArrivalTimestamp"),
			DataBase64:    r.GetStringBytes("data"),
		}
	}
	return ev, nil
}

// streamName returns the resource name of a Firehose or Kinesis ARN
// (arn:aws:firehose:region:account:deliverystream/NAME).
func streamName(arn string) string {
	if i := strings.LastIndexByte(arn, '/'); i >= 0 {
		return arn[i+1:]
	}
	return ""
}

// arnAccount returns the account id field of an ARN.
func arnAccount(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) == 6 {
		return parts[4]
	}
	return ""
}

// Results, as Firehose spells them.
const (
	ResultOk               = "Ok"
	ResultDropped          = "Dropped"
	ResultProcessingFailed = "ProcessingFailed"
)

// partitionKeys are what the delivery stream's S3 prefix uses
// (!{partitionKeyFromLambda:owner} etc.).
type partitionKeys struct {
	Owner, LogGroup, Dt, Hour string
}

// appendJSON appends the keys as a JSON object. Values are already S3-safe
// ASCII, so they need no escaping beyond what AppendString does.
func (k partitionKeys) appendJSON(dst []byte) []byte {
	dst = append(dst, `{"owner":"`...)
	dst = append(dst, k.Owner...)
	dst = append(dst, `","log_group":"`...)
	dst = append(dst, k.LogGroup...)
	dst = append(dst, `","dt":"`...)
	dst = append(dst, k.Dt...)
	dst = append(dst, `","hour":"`...)
	dst = append(dst, k.Hour...)
	return append(dst, `"}`...)
}

func (k partitionKeys) jsonLen() int {
	return len(`{"owner":"","log_group":"","dt":"","hour":""}`) + len(k.Owner) + len(k.LogGroup) + len(k.Dt) + len(k.Hour)
}

// SafeKey makes a value safe as one S3 key segment: letters, digits and
// "-_." stay, everything else (including "/") becomes "_", leading
// separators go, and the length is capped. "/aws/lambda/api" becomes
// "aws_lambda_api".
func SafeKey(s string) string {
	s = strings.TrimLeft(s, "/")
	const maxLen = 200
	var b strings.Builder
	b.Grow(min(len(s), maxLen))
	for _, c := range s {
		if b.Len() >= maxLen {
			break
		}
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '.':
			b.WriteRune(c)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 || b.String() == "." || b.String() == ".." {
		return "unknown"
	}
	return b.String()
}

func keysFor(owner, logGroup string, ms int64) partitionKeys {
	k := partitionKeys{Owner: SafeKey(owner), LogGroup: SafeKey(logGroup)}
	var buf [16]byte
	t := timeUTC(ms)
	k.Dt = string(t.AppendFormat(buf[:0], "2006-01-02"))
	k.Hour = strconv.Itoa(t.Hour())
	if len(k.Hour) == 1 {
		k.Hour = "0" + k.Hour
	}
	return k
}
