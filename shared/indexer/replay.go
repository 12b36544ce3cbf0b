package indexer

import (
	"bytes"
	"errors"
	"fmt"
	"time"
	"unsafe"

	"github.com/valyala/fastjson"

	"github.com/tributary-logs/tributary/shared/record"
)

// Errors of stored lines that cannot become a record.
var (
	ErrNotRecord = errors.New("line is not a normalized record")
)

// parseRecord reads one normalized record (the NDJSON transform writes to
// raw/ and the indexer to OpenSearch) into r. Strings point into v's parser
// and stay valid until it parses again. fields is copied into r.Fields.
func parseRecord(v *fastjson.Value, r *record.Record) error {
	if v.Type() != fastjson.TypeObject {
		return fmt.Errorf("%w: %s, not an object", ErrNotRecord, v.Type())
	}
	// r is reused across events: clear what a stored line does not carry.
	r.MessageJSON, r.OriginJSON = nil, nil
	ts := v.Get("@timestamp")
	if ts == nil {
		return fmt.Errorf("%w: no @timestamp", ErrNotRecord)
	}
	switch ts.Type() {
	case fastjson.TypeString:
		t, err := time.Parse(time.RFC3339Nano, string(ts.GetStringBytes()))
		if err != nil {
			return fmt.Errorf("%w: @timestamp: %v", ErrNotRecord, err)
		}
		r.TimestampMillis = t.UnixMilli()
	case fastjson.TypeNumber:
		r.TimestampMillis = ts.GetInt64()
	default:
		return fmt.Errorf("%w: @timestamp is %s", ErrNotRecord, ts.Type())
	}
	r.ID = str(v, "id")
	r.Owner = str(v, "owner")
	r.LogGroup = str(v, "log_group")
	r.LogStream = str(v, "log_stream")
	r.Message = str(v, "message")
	r.Level = str(v, "level")
	r.TraceID = str(v, "trace_id")
	r.SourceType = str(v, "source_type")
	r.Fields = r.Fields[:0]
	if f := v.Get("fields"); f != nil && f.Type() == fastjson.TypeObject {
		r.Fields = f.MarshalTo(r.Fields)
	}
	if r.LogGroup == "" && r.Message == "" {
		return fmt.Errorf("%w: no log_group and no message", ErrNotRecord)
	}
	return nil
}

func str(v *fastjson.Value, key string) string {
	b := v.GetStringBytes(key)
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// forEachLine calls fn with each non-empty line of b (without \r\n).
func forEachLine(b []byte, fn func(n int, line []byte) bool) {
	n := 0
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		var line []byte
		if i < 0 {
			line, b = b, nil
		} else {
			line, b = b[:i], b[i+1:]
		}
		n++
		line = bytes.TrimRight(line, "\r")
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if !fn(n, line) {
			return
		}
	}
}
