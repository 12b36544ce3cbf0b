// Package record defines the one normalized log record that every stage of
// Tributary writes (Firehose NDJSON, OpenSearch documents, Parquet rows) and
// its JSON encoding. Encoding is hand-written because it runs once per log
// event on the hot path and must repair invalid UTF-8 instead of failing.
package record

import (
	"strconv"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Record is one log event after normalizing. See DESIGN.md for the schema.
type Record struct {
	TimestampMillis int64 // the event's own time, ms since the Unix epoch, UTC
	ID              string
	// IDPlain, when set, says ID needs no escaping as a JSON string
	// (printable ASCII without '"' or '\\'): decoders that checked it on the
	// way set it, and encoders copy the ID.
	IDPlain    bool
	Owner      string
	LogGroup   string
	LogStream  string
	Message    string
	Level      string
	TraceID    string
	SourceType string
	// MessageJSON, when set, is Message already escaped as JSON string
	// content (no quotes). Decoders that kept the escaped original set it so
	// the message is copied, not escaped a second time.
	MessageJSON []byte
	// OriginJSON, when set, is what AppendOrigin writes for Owner, LogGroup
	// and LogStream. The events of a subscription payload share all three,
	// so they are encoded once per payload, not once per event.
	OriginJSON []byte
	// Fields is a JSON object of what the parsers extracted, already bounded,
	// or empty. It is kept encoded so it is built once and copied verbatim into
	// NDJSON, OpenSearch documents and the Parquet column.
	Fields []byte
}

// Source types, the values of Record.SourceType.
const (
	SourceJSON           = "json"
	SourceLambdaPlatform = "lambda_platform"
	SourceAccessLog      = "access_log"
	SourceALB            = "alb_access_log"
	SourceVPCFlow        = "vpc_flow"
	SourceCloudTrail     = "cloudtrail"
	SourceText           = "text"
)

// Time returns the record's timestamp as a UTC time.
func (r *Record) Time() time.Time { return time.UnixMilli(r.TimestampMillis).UTC() }

// AppendJSON appends the record as one JSON object (no newline) in the order
// of the schema. Empty optional fields are omitted to keep lines small;
// readers treat a missing key as empty.
func (r *Record) AppendJSON(dst []byte) []byte { return r.AppendJSONWithID(dst, nil) }

// AppendJSONWithID is AppendJSON with the record's ID already encoded as a
// JSON string, quotes included (or nil to encode it here): a _bulk action
// line has just encoded it as its _id.
func (r *Record) AppendJSONWithID(dst, idJSON []byte) []byte {
	dst = append(dst, `{"@timestamp":"`...)
	dst = AppendTimestamp(dst, r.TimestampMillis)
	dst = append(dst, `","id":`...)
	if idJSON != nil {
		dst = append(dst, idJSON...)
	} else {
		dst = r.AppendID(dst)
	}
	if r.OriginJSON != nil {
		dst = append(dst, r.OriginJSON...)
	} else {
		dst = AppendOrigin(dst, r.Owner, r.LogGroup, r.LogStream)
	}
	dst = append(dst, `,"message":`...)
	if r.MessageJSON != nil {
		dst = append(dst, '"')
		dst = append(dst, r.MessageJSON...)
		dst = append(dst, '"')
	} else {
		dst = AppendString(dst, r.Message)
	}
	if r.Level != "" {
		dst = append(dst, `,"level":`...)
		dst = AppendString(dst, r.Level)
	}
	if r.TraceID != "" {
		dst = append(dst, `,"trace_id":`...)
		dst = AppendString(dst, r.TraceID)
	}
	dst = append(dst, `,"source_type":`...)
	dst = AppendString(dst, r.SourceType)
	if len(r.Fields) > 0 {
		dst = append(dst, `,"fields":`...)
		dst = append(dst, r.Fields...)
	}
	return append(dst, '}')
}

// AppendID appends the record's ID as a JSON string, copied when IDPlain
// says it needs no escaping.
func (r *Record) AppendID(dst []byte) []byte {
	if !r.IDPlain {
		return AppendString(dst, r.ID)
	}
	dst = append(dst, '"')
	dst = append(dst, r.ID...)
	return append(dst, '"')
}

// AppendOrigin appends the owner, log_group and log_stream members of a
// record's JSON, with the comma before them: what Record.OriginJSON holds.
func AppendOrigin(dst []byte, owner, group, stream string) []byte {
	dst = append(dst, `,"owner":`...)
	dst = AppendString(dst, owner)
	dst = append(dst, `,"log_group":`...)
	dst = AppendString(dst, group)
	dst = append(dst, `,"log_stream":`...)
	return AppendString(dst, stream)
}

// AppendTimestamp appends ms since the epoch as RFC 3339 with milliseconds in
// UTC (2026-11-22T04:24:48.123Z), the format OpenSearch's date type and
// Athena both read.
func AppendTimestamp(dst []byte, ms int64) []byte {
	days, rem := ms/86_400_000, ms%86_400_000
	if rem < 0 {
		days, rem = days-1, rem+86_400_000
	}
	y, mo, d := dayDate(days)
	if y < 0 || y > 9999 {
		return time.UnixMilli(ms).UTC().AppendFormat(dst, "2006-01-02T15:04:05.000Z07:00")
	}
	ofDay := int(rem)
	h, mi, sec, msec := ofDay/3_600_000, ofDay/60_000%60, ofDay/1000%60, ofDay%1000
	// Written into an array and appended once: one capacity check, not
	// eleven.
	t := [24]byte{
		byte('0' + y/1000), byte('0' + y/100%10), byte('0' + y/10%10), byte('0' + y%10), '-',
		byte('0' + mo/10), byte('0' + mo%10), '-', byte('0' + d/10), byte('0' + d%10), 'T',
		byte('0' + h/10), byte('0' + h%10), ':', byte('0' + mi/10), byte('0' + mi%10), ':',
		byte('0' + sec/10), byte('0' + sec%10), '.',
		byte('0' + msec/100), byte('0' + msec/10%10), byte('0' + msec%10), 'Z',
	}
	return append(dst, t[:]...)
}

// lastDay holds the last day dayDate computed and its date: the events of a
// batch nearly all fall on one day. Day (biased to be positive) in the high
// 32 bits, year<<9 | month<<5 | day in the low; 0 is empty.
var lastDay atomic.Uint64

const dayBias = 1 << 30

// dayDate is civilDate, remembering the last day asked for.
func dayDate(days int64) (year, month, day int) {
	if days > -dayBias && days < dayBias {
		key := uint64(days+dayBias) << 32
		if c := lastDay.Load(); c&^(1<<32-1) == key {
			return int(c >> 9 & 0x7fff), int(c >> 5 & 0xf), int(c & 0x1f)
		}
		year, month, day = civilDate(days)
		if year >= 0 && year <= 9999 {
			lastDay.Store(key | uint64(year)<<9 | uint64(month)<<5 | uint64(day))
		}
		return year, month, day
	}
	return civilDate(days)
}

// civilDate is the proleptic Gregorian date of a day counted from
// 1970-01-01, by integer arithmetic on 400-year eras (the calendar repeats
// every 146,097 days) with years starting on March 1, so February's leap
// day falls at a year's end. It runs once per log event: time.Time's Date
// costs several times as much.
func civilDate(days int64) (year, month, day int) {
	z := days + 719_468 // days from 0000-03-01
	era := z / 146_097
	if z < 0 && z%146_097 != 0 {
		era--
	}
	doe := z - era*146_097                                   // day of era, 0–146096
	yoe := (doe - doe/1460 + doe/36_524 - doe/146_096) / 365 // year of era, 0–399
	doy := doe - (365*yoe + yoe/4 - yoe/100)                 // day of the March-based year, 0–365
	mp := (5*doy + 2) / 153                                  // month from March, 0–11
	day = int(doy - (153*mp+2)/5 + 1)
	month = int(mp + 3)
	if month > 12 {
		month -= 12
	}
	year = int(yoe + era*400)
	if month <= 2 {
		year++
	}
	return year, month, day
}

const hex = "0123456789abcdef"

// safeASCII[b] is true for ASCII bytes that need no escaping in a JSON string.
var safeASCII = func() (t [utf8.RuneSelf]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		t[b] = b != '"' && b != '\\'
	}
	return t
}()

// AppendString appends s as a JSON string. Invalid UTF-8 is replaced with
// U+FFFD rather than rejected: a log line is never lost to a bad byte.
// U+2028/2029 are escaped so the output is also safe to embed in JavaScript.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		// Skip 8 plain ASCII bytes at a time: most log text needs no escaping.
		for i+8 <= len(s) && !NeedsEscape(load64(s, i)) {
			i += 8
		}
		if i >= len(s) {
			break
		}
		b := s[i]
		if b < utf8.RuneSelf {
			if safeASCII[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\ufffd"...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// load64 reads 8 bytes little-endian; the compiler turns it into one load.
func load64(s string, i int) uint64 {
	_ = s[i+7]
	return uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
		uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
}

// NeedsEscape reports whether any byte of the 8-byte word x is a control
// character, '"', '\\' or not ASCII: a byte a JSON string writer or reader
// must look at (the classic SWAR zero-byte and less-than tests). The JSON
// writers skip plain runs with it; cwlogs' reader keeps its own exact
// per-byte masks, because it must not stop at non-ASCII bytes.
func NeedsEscape(x uint64) bool {
	ctl := (x - lsb*0x20) & ^x
	q := x ^ (lsb * '"')
	quote := (q - lsb) & ^q
	bs := x ^ (lsb * '\\')
	back := (bs - lsb) & ^bs
	return (ctl|quote|back|x)&msb != 0
}

// AppendInt appends n as a JSON number.
func AppendInt(dst []byte, n int64) []byte { return strconv.AppendInt(dst, n, 10) }
