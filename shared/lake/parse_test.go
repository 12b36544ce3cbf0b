package lake

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tributary-logs/tributary/shared/record"
)

// parseAll parses every record of one line into Rows.
func parseAll(line string) ([]Row, error) {
	var p parser
	var arena []byte
	var out []Row
	b := []byte(line)
	for i := skipWS(b, 0); i < len(b); i = skipWS(b, i) {
		var row slotRow
		var err error
		arena, i, err = p.parseRecord(b, i, arena, &row)
		if err != nil {
			return out, err
		}
		var r Row
		str := func(c int) string { s := row.s[c]; return string(arena[s.off : s.off+s.n]) }
		r.Timestamp = row.ts
		r.ID, r.Owner, r.LogGroup, r.LogStream = str(colID), str(colOwner), str(colGroup), str(colStream)
		r.Message, r.Level, r.TraceID, r.SourceType, r.Fields = str(colMessage), str(colLevel), str(colTrace), str(colSource), str(colFields)
		out = append(out, r)
	}
	return out, nil
}

func TestParseRecord(t *testing.T) {
	t.Parallel()
	const ts = 1763596800123 // 2025-11-20T00:00:00.123Z
	full := record.Record{
		TimestampMillis: ts, ID: "32937285211443660753348409098010700504013583986062135347",
		Owner: "123456789012", LogGroup: "/aws/lambda/checkout", LogStream: "2025/11/20/[$LATEST]abc",
		Message: "REPORT RequestId: 8f507cfc\tDuration: 102.25 ms\n", Level: "INFO", TraceID: "8f507cfc",
		SourceType: "lambda_platform", Fields: []byte(`{"type":"report","duration_ms":102.25,"nested":{"a":[1,2,{"b":null}]}}`),
	}
	fullRow := Row{Timestamp: ts, ID: full.ID, Owner: full.Owner, LogGroup: full.LogGroup, LogStream: full.LogStream,
		Message: full.Message, Level: "INFO", TraceID: "8f507cfc", SourceType: "lambda_platform", Fields: string(full.Fields)}
	tests := []struct {
		name string
		line string
		want []Row
		err  error  // sentinel, or nil
		msg  string // the error text
	}{
		{name: "normalized record", line: string(full.AppendJSON(nil)), want: []Row{fullRow}},
		{
			name: "flattened workload shape",
			line: `{"owner":"456789012345","log_group":"/ecs/api","log_stream":"s1","id":"42","timestamp":1763596800008,"message":"{\"level\":\"info\"}"}`,
			want: []Row{{Timestamp: 1763596800008, ID: "42", Owner: "456789012345", LogGroup: "/ecs/api", LogStream: "s1", Message: `{"level":"info"}`}},
		},
		{
			name: "@timestamp wins over timestamp, in either order",
			line: `{"timestamp":5,"id":"a","@timestamp":"2025-11-20T00:00:00.123Z"} {"@timestamp":"2025-11-20T00:00:00.123Z","timestamp":5,"id":"b"}`,
			want: []Row{{Timestamp: ts, ID: "a"}, {Timestamp: ts, ID: "b"}},
		},
		{
			name: "RFC 3339 with offset and nanoseconds",
			line: `{"@timestamp":"2025-11-20T09:00:00.123456789+09:00","id":"a"}`,
			want: []Row{{Timestamp: ts, ID: "a"}},
		},
		{name: "timestamp as RFC 3339 string", line: `{"timestamp":"2025-11-20T00:00:00.123Z","id":"a"}`, want: []Row{{Timestamp: ts, ID: "a"}}},
		{name: "fractional milliseconds", line: `{"timestamp":1763596800123.9,"id":"a"}`, want: []Row{{Timestamp: ts, ID: "a"}}},
		{
			name: "escapes and unicode",
			line: `{"@timestamp":"2025-11-20T00:00:00.123Z","id":"a","message":"q\"b\\s\/n\nt\tu\u00e9\ud83d\ude4f\u2028 한국어"}`,
			want: []Row{{Timestamp: ts, ID: "a", Message: "q\"b\\s/n\nt\tué🙏\u2028 한국어"}},
		},
		{
			name: "lone surrogates become U+FFFD",
			line: `{"@timestamp":"2025-11-20T00:00:00.123Z","id":"a","message":"x\ud800y\udc00z\ud83d"}`,
			want: []Row{{Timestamp: ts, ID: "a", Message: "x\uFFFDy\uFFFDz\uFFFD"}},
		},
		{
			name: "invalid UTF-8 is repaired",
			line: "{\"@timestamp\":\"2025-11-20T00:00:00.123Z\",\"id\":\"a\",\"message\":\"bad \xff\xfe byte\",\"fields\":{\"k\":\"\xc3\"}}",
			want: []Row{{Timestamp: ts, ID: "a", Message: "bad \uFFFD byte", Fields: "{\"k\":\"\uFFFD\"}"}},
		},
		{
			name: "nulls and unknown keys",
			line: `{"@timestamp":"2025-11-20T00:00:00.123Z","id":"a","level":null,"trace_id":null,"fields":null,"extra":{"deep":[true,false,null,-1.5e3]},"x":"y"}`,
			want: []Row{{Timestamp: ts, ID: "a"}},
		},
		{name: "whitespace everywhere", line: " { \"id\" : \"a\" , \"timestamp\" : 1763596800123 } \r", want: []Row{{Timestamp: ts, ID: "a"}}},
		{name: "last duplicate wins", line: `{"id":"a","id":"b","timestamp":1763596800123}`, want: []Row{{Timestamp: ts, ID: "b"}}},
		{name: "escaped key", line: `{"i\u0064":"a","timestamp":1763596800123}`, want: []Row{{Timestamp: ts, ID: "a"}}},

		{name: "not an object", line: `["id"]`, err: ErrNotObject, msg: "not a JSON object"},
		{name: "text", line: `hello world`, err: ErrNotObject, msg: "not a JSON object"},
		{name: "empty object", line: `{}`, err: ErrMissing, msg: "missing required key: @timestamp"},
		{name: "no id", line: `{"timestamp":1}`, err: ErrMissing, msg: "missing required key: id"},
		{name: "empty id", line: `{"timestamp":1,"id":""}`, err: ErrMissing, msg: "missing required key: id"},
		{name: "no timestamp", line: `{"id":"a"}`, err: ErrMissing, msg: "missing required key: @timestamp"},
		{name: "bad @timestamp", line: `{"id":"a","@timestamp":"yesterday"}`, err: ErrBadTime, msg: `invalid timestamp: @timestamp "yesterday"`},
		{name: "impossible date", line: `{"id":"a","@timestamp":"2025-02-30T00:00:00.000Z"}`, err: ErrBadTime, msg: `invalid timestamp: @timestamp "2025-02-30T00:00:00.000Z"`},
		{name: "negative timestamp", line: `{"id":"a","timestamp":-5}`, err: ErrBadTime, msg: "invalid timestamp: timestamp"},
		{name: "timestamp past 9999", line: `{"id":"a","timestamp":253402300800000}`, err: ErrBadTime, msg: "invalid timestamp: timestamp"},
		{name: "timestamp is bool", line: `{"id":"a","timestamp":true}`, err: ErrWrongType, msg: "wrong type: timestamp: want milliseconds since the epoch"},
		{name: "@timestamp is number", line: `{"id":"a","@timestamp":5}`, err: ErrWrongType, msg: "wrong type: @timestamp: want an RFC 3339 string"},
		{name: "id is number", line: `{"id":42,"timestamp":1}`, err: ErrWrongType, msg: "wrong type: id: want a string"},
		{name: "fields is string", line: `{"id":"a","timestamp":1,"fields":"x"}`, err: ErrWrongType, msg: "wrong type: fields: want an object"},
		{name: "truncated", line: `{"id":"a","timestamp":1,"message":"abc`, err: ErrSyntax, msg: "invalid JSON: unterminated string at byte 34"},
		{name: "missing colon", line: `{"id" "a"}`, err: ErrSyntax, msg: "invalid JSON: expected ':' at byte 6"},
		{name: "trailing comma", line: `{"id":"a",}`, err: ErrSyntax, msg: "invalid JSON: expected a key at byte 10"},
		{name: "bad escape", line: `{"id":"a\x","timestamp":1}`, err: ErrSyntax, msg: "invalid JSON: invalid escape at byte 8"},
		{name: "bad number in fields", line: `{"id":"a","timestamp":1,"fields":{"n":01}}`, err: ErrSyntax, msg: "invalid JSON: expected ',' or '}' at byte 39"},
		{name: "bad literal", line: `{"id":"a","timestamp":1,"x":nul}`, err: ErrSyntax, msg: "invalid JSON: invalid literal at byte 28"},
		{name: "unclosed fields", line: `{"id":"a","timestamp":1,"fields":{"a":[1,2}}`, err: ErrSyntax, msg: "invalid JSON: expected ',' or ']' at byte 42"},
		{name: "too deep", line: `{"id":"a","timestamp":1,"fields":{"a":` + strings.Repeat("[", 300) + strings.Repeat("]", 300) + `}}`, err: ErrSyntax, msg: "invalid JSON: nested too deeply at byte 293"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseAll(tc.line)
			if tc.err != nil {
				if !errors.Is(err, tc.err) || err.Error() != tc.msg {
					t.Fatalf("error = %v, want %q (%v)", err, tc.msg, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d rows, want %d: %+v", len(got), len(tc.want), got)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("row %d:\n got %+v\nwant %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestParseTimeMatchesTimePackage(t *testing.T) {
	t.Parallel()
	for _, ms := range []int64{0, 1, 999, 951782400000 /* 2000-02-29 */, 1763596800123, 4102444799999, maxMillis} {
		s := record.AppendTimestamp(nil, ms)
		got, ok := parseTime(s)
		if !ok || got != ms {
			t.Errorf("parseTime(%s) = %d, %v; want %d", s, got, ok, ms)
		}
	}
	for _, bad := range []string{"2025-13-01T00:00:00.000Z", "2025-00-10T00:00:00.000Z", "2025-01-01T24:00:00.000Z", "2023-02-29T00:00:00.000Z", "1969-12-31T23:59:59.999Z"} {
		if ms, ok := parseTime([]byte(bad)); ok {
			t.Errorf("parseTime(%s) = %d, want rejected", bad, ms)
		}
	}
}

// FuzzParseRecord: any bytes give a row or an error, never a panic, and
// every string of an accepted row is valid UTF-8 with required keys set.
func FuzzParseRecord(f *testing.F) {
	f.Add([]byte(`{"@timestamp":"2025-11-20T00:00:00.123Z","id":"a","message":"x\"y","fields":{"a":[1,{"b":"c"}]}}`))
	f.Add([]byte(`{"owner":"1","log_group":"/g","log_stream":"s","id":"42","timestamp":1763596800008,"message":"m"}`))
	f.Add([]byte(`{"id":"a","timestamp":1}{"id":"b","timestamp":2}`))
	f.Add([]byte("{\"id\":\"\xff\\ud800\",\"timestamp\":1e3}"))
	f.Add([]byte(`{"id":"a","timestamp":1,"fields":{"n":-0.5e-3,"t":true}}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		var p parser
		arena := make([]byte, 0, 64)
		for i := skipWS(line, 0); i < len(line); i = skipWS(line, i) {
			var row slotRow
			mark := len(arena)
			var err error
			arena, i, err = p.parseRecord(line, i, arena, &row)
			if err != nil {
				if len(arena) != mark {
					t.Fatalf("arena grew on error")
				}
				var le *lineError
				if !errors.As(err, &le) {
					t.Fatalf("error %v is not a lineError", err)
				}
				return
			}
			if row.s[colID].n == 0 {
				t.Fatalf("accepted a record without id")
			}
			for c, s := range row.s {
				if int(s.off+s.n) > len(arena) {
					t.Fatalf("column %d span out of the arena", c)
				}
				if !utf8.Valid(arena[s.off : s.off+s.n]) {
					t.Fatalf("column %d is not valid UTF-8: %q", c, arena[s.off:s.off+s.n])
				}
			}
			if row.ts < 0 || row.ts > maxMillis {
				t.Fatalf("timestamp %d out of range", row.ts)
			}
		}
	})
}

// FuzzRoundTrip: a record written by record.AppendJSON reads back equal
// (with invalid UTF-8 repaired as AppendString does).
func FuzzRoundTrip(f *testing.F) {
	f.Add(int64(1763596800123), "id-1", "/aws/lambda/x", "stream", "message \"quoted\"\n\ttab 한국어", "ERROR", "trace", "json")
	f.Add(int64(0), "\xff", "", "", "\u2028\u2029\x00\x1f", "", "", "")
	f.Fuzz(func(t *testing.T, ts int64, id, group, stream, msg, level, trace, src string) {
		if ts < 0 || ts > maxMillis || id == "" {
			return
		}
		rec := record.Record{TimestampMillis: ts, ID: id, Owner: "1", LogGroup: group, LogStream: stream,
			Message: msg, Level: level, TraceID: trace, SourceType: src}
		line := rec.AppendJSON(nil)
		rows, err := parseAll(string(line))
		if err != nil {
			t.Fatalf("parse %s: %v", line, err)
		}
		fix := func(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }
		want := Row{Timestamp: ts, ID: fix(id), Owner: "1", LogGroup: fix(group), LogStream: fix(stream),
			Message: fix(msg), Level: fix(level), TraceID: fix(trace), SourceType: fix(src)}
		if len(rows) != 1 {
			t.Fatalf("got %d rows", len(rows))
		}
		// AppendString replaces each invalid byte, ToValidUTF8 each run:
		// compare after collapsing runs of U+FFFD.
		collapse := func(s string) string {
			for strings.Contains(s, "\uFFFD\uFFFD") {
				s = strings.ReplaceAll(s, "\uFFFD\uFFFD", "\uFFFD")
			}
			return s
		}
		got := rows[0]
		for _, pair := range [][2]string{{got.ID, want.ID}, {got.LogGroup, want.LogGroup}, {got.LogStream, want.LogStream},
			{got.Message, want.Message}, {got.Level, want.Level}, {got.TraceID, want.TraceID}, {got.SourceType, want.SourceType}} {
			if collapse(pair[0]) != collapse(pair[1]) {
				t.Fatalf("round trip of %s:\n got %q\nwant %q", line, pair[0], pair[1])
			}
		}
		if got.Timestamp != ts {
			t.Fatalf("timestamp %d, want %d", got.Timestamp, ts)
		}
	})
}
