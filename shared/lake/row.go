package lake

import (
	"bytes"
	"cmp"
	"unsafe"
)

// Row is one record as a Parquet row: the schema of DESIGN.md. The struct
// tags are the Parquet schema: timestamp is TIMESTAMP(MILLIS, UTC adjusted)
// with delta encoding (sorted within a log group, so deltas are tiny); the
// strings that repeat (owner, log_group, log_stream, level, source_type) are
// dictionary-encoded; level, trace_id and fields are NULL when empty; fields
// is the extracted JSON object as a string.
type Row struct {
	Timestamp  int64  `parquet:"timestamp,timestamp(millisecond:utc),delta"`
	ID         string `parquet:"id,delta"`
	Owner      string `parquet:"owner,dict"`
	LogGroup   string `parquet:"log_group,dict"`
	LogStream  string `parquet:"log_stream,dict"`
	Message    string `parquet:"message"`
	Level      string `parquet:"level,optional,dict"`
	TraceID    string `parquet:"trace_id,optional"`
	SourceType string `parquet:"source_type,dict"`
	Fields     string `parquet:"fields,optional"`
}

// Columns are the Parquet column names in schema order (the Glue table's).
var Columns = []string{"timestamp", "id", "owner", "log_group", "log_stream", "message", "level", "trace_id", "source_type", "fields"}

// SortColumns are the columns each file is sorted by, recorded in the row
// groups' sorting_columns metadata.
var SortColumns = []string{"log_group", "timestamp"}

// BloomColumns carry split-block bloom filters in every row group.
var BloomColumns = []string{"id", "trace_id"}

// String columns of a rowView, in the order of Row's string fields.
const (
	colID = iota
	colOwner
	colGroup
	colStream
	colMessage
	colLevel
	colTrace
	colSource
	colFields
	numStr
)

var strColumnNames = [numStr]string{"id", "owner", "log_group", "log_stream", "message", "level", "trace_id", "source_type", "fields"}

// rowView is a row whose strings point into someone else's buffer (the sort
// buffer's arena, a run reader's block, a Parquet page). It is what the
// sorting, merging and writing stages pass around without allocating.
type rowView struct {
	ts int64
	s  [numStr][]byte
	// stable is true when the bytes stay put until the conversion ends (the
	// sort buffer's arena), so the writer need not copy them.
	stable bool
}

const hourMillis = 3600 * 1000

// hourOf returns the hour bucket of a millisecond timestamp (ts >= 0).
func hourOf(ts int64) int64 { return ts / hourMillis }

// compareRows orders rows by (hour, log_group, timestamp, id): partition
// first, so each output file is written in one go, then the sort order of
// the files; id makes the order total, so the same input always gives the
// same bytes.
func compareRows(a, b *rowView) int {
	if c := cmp.Compare(hourOf(a.ts), hourOf(b.ts)); c != 0 {
		return c
	}
	if c := bytes.Compare(a.s[colGroup], b.s[colGroup]); c != 0 {
		return c
	}
	if c := cmp.Compare(a.ts, b.ts); c != 0 {
		return c
	}
	return bytes.Compare(a.s[colID], b.s[colID])
}

// size is the row's uncompressed size, what row groups are cut by.
func (v *rowView) size() int {
	n := 8
	for _, s := range v.s {
		n += len(s)
	}
	return n
}

// asRow fills r with strings that alias v's bytes: valid only as long as
// those bytes are, which is until the writer has copied them.
func (v *rowView) asRow(r *Row) {
	r.Timestamp = v.ts
	r.ID = bstr(v.s[colID])
	r.Owner = bstr(v.s[colOwner])
	r.LogGroup = bstr(v.s[colGroup])
	r.LogStream = bstr(v.s[colStream])
	r.Message = bstr(v.s[colMessage])
	r.Level = bstr(v.s[colLevel])
	r.TraceID = bstr(v.s[colTrace])
	r.SourceType = bstr(v.s[colSource])
	r.Fields = bstr(v.s[colFields])
}

// fromRow points v at r's strings.
func (v *rowView) fromRow(r *Row) {
	v.ts = r.Timestamp
	v.s[colID] = sbytes(r.ID)
	v.s[colOwner] = sbytes(r.Owner)
	v.s[colGroup] = sbytes(r.LogGroup)
	v.s[colStream] = sbytes(r.LogStream)
	v.s[colMessage] = sbytes(r.Message)
	v.s[colLevel] = sbytes(r.Level)
	v.s[colTrace] = sbytes(r.TraceID)
	v.s[colSource] = sbytes(r.SourceType)
	v.s[colFields] = sbytes(r.Fields)
}

// bstr and sbytes convert without copying. The bytes must not change while
// the string is in use; every caller here hands the result to parquet-go,
// which copies values into its own buffers before returning.
func bstr(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

func sbytes(s string) []byte {
	if s == "" {
		return nil
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// deduper drops a row equal in (log_group, timestamp, id) to the one before:
// in compareRows order such copies are adjacent. CloudWatch's event id is
// the dedupe key; Firehose delivers at least once, so the same event can
// arrive twice, in one object or in two that compaction merges.
type deduper struct {
	group, id []byte
	ts        int64
	has       bool
}

// dup reports whether v repeats the previous row, and remembers v.
func (d *deduper) dup(v *rowView) bool {
	if d.has && v.ts == d.ts && bytes.Equal(v.s[colID], d.id) && bytes.Equal(v.s[colGroup], d.group) {
		return true
	}
	d.ts, d.has = v.ts, true
	d.group = append(d.group[:0], v.s[colGroup]...)
	d.id = append(d.id[:0], v.s[colID]...)
	return false
}
