package normalize

import (
	"bytes"
	"encoding/json"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
	"unsafe"

	"github.com/tributary-logs/tributary/shared/record"
)

var update = flag.Bool("update", false, "rewrite testdata/*/*.golden.json from the current output")

// golden is what a fixture's .golden.json holds.
type golden struct {
	Parser        string          `json:"parser"`
	SourceType    string          `json:"source_type"`
	Level         string          `json:"level"`
	TraceID       string          `json:"trace_id"`
	FieldsDropped int             `json:"fields_dropped"`
	Fields        json.RawMessage `json:"fields,omitempty"`
}

func encodeGolden(t *testing.T, rec *record.Record, st Stats) []byte {
	t.Helper()
	g := golden{
		Parser:        st.Parser,
		SourceType:    rec.SourceType,
		Level:         rec.Level,
		TraceID:       rec.TraceID,
		FieldsDropped: st.FieldsDropped,
		Fields:        json.RawMessage(rec.Fields),
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(g); err != nil {
		t.Fatalf("encoding golden: %v", err)
	}
	return buf.Bytes()
}

// fixtures returns testdata/<format>/<case>.txt paths keyed by "<format>/<case>".
func fixtures(t testing.TB) map[string]string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "*", "*.txt"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	m := make(map[string]string, len(paths))
	for _, p := range paths {
		rel, _ := filepath.Rel("testdata", p)
		m[strings.TrimSuffix(filepath.ToSlash(rel), ".txt")] = p
	}
	return m
}

// TestGolden normalizes every fixture and compares level, trace id, source
// type, parser, dropped count and fields with its golden file. Run with
// -update to rewrite the golden files, then review the diff.
func TestGolden(t *testing.T) {
	t.Parallel()
	for name, path := range fixtures(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			msg, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			rec := record.Record{Message: string(msg), LogGroup: "/aws/lambda/fixture"}
			st := New(Limits{}).Normalize(&rec)
			checkInvariants(t, &rec, string(msg), st)
			got := encodeGolden(t, &rec, st)
			gpath := strings.TrimSuffix(path, ".txt") + ".golden.json"
			if *update {
				if err := os.WriteFile(gpath, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(gpath)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("output differs from %s\n--- got\n%s--- want\n%s", gpath, got, want)
			}
		})
	}
}

var levels = map[string]bool{"": true, LevelTrace: true, LevelDebug: true, LevelInfo: true, LevelWarn: true, LevelError: true, LevelFatal: true}

var sourceTypes = map[string]bool{
	record.SourceJSON: true, record.SourceLambdaPlatform: true, record.SourceAccessLog: true, record.SourceALB: true,
	record.SourceVPCFlow: true, record.SourceCloudTrail: true, record.SourceText: true,
}

// checkInvariants asserts what must hold for every message.
func checkInvariants(t testing.TB, rec *record.Record, msg string, st Stats) {
	t.Helper()
	if rec.Message != msg {
		t.Errorf("Message changed: %q -> %q", msg, rec.Message)
	}
	if len(rec.Fields) > 0 {
		if rec.Fields[0] != '{' || !json.Valid(rec.Fields) {
			t.Errorf("Fields is not a JSON object: %s", rec.Fields)
		}
		if !utf8.Valid(rec.Fields) {
			t.Errorf("Fields is not valid UTF-8: %q", rec.Fields)
		}
		if k := duplicateKey(rec.Fields); k != "" {
			t.Errorf("Fields has the key %q twice in one object: %s", k, rec.Fields)
		}
	}
	if !levels[rec.Level] {
		t.Errorf("Level %q is not one of the six", rec.Level)
	}
	if !sourceTypes[rec.SourceType] {
		t.Errorf("SourceType %q unknown", rec.SourceType)
	}
	for i := 0; i < len(rec.TraceID); i++ {
		if c := rec.TraceID[i]; c <= ' ' || c >= 0x7f || c == '"' {
			t.Errorf("TraceID %q has byte %#x", rec.TraceID, c)
			break
		}
	}
	if st.Parser == "" {
		t.Error("Stats.Parser is empty")
	}
	if st.FieldsDropped < 0 {
		t.Errorf("FieldsDropped %d", st.FieldsDropped)
	}
}

// duplicateKey returns a key that occurs twice in one object of the valid
// JSON doc, or "".
func duplicateKey(doc []byte) string {
	dec := json.NewDecoder(bytes.NewReader(doc))
	type frame struct {
		object bool
		keys   map[string]bool
		expect bool // next string token in this object is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.expect {
			if k, ok := tok.(string); ok {
				if top.keys[k] {
					return k
				}
				top.keys[k] = true
				top.expect = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{object: true, keys: map[string]bool{}, expect: true})
			continue
		case json.Delim('['):
			stack = append(stack, &frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		if len(stack) > 0 && stack[len(stack)-1].object {
			stack[len(stack)-1].expect = true // a value ended
		}
	}
}

func TestDuplicateKeys(t *testing.T) {
	t.Parallel()
	tests := map[string]struct{ msg, want string }{
		"json first wins":            {`{"a":1,"a":2}`, `{"a":1}`},
		"json nested":                {`{"o":{"b":1,"b":{"x":1}},"o":2}`, `{"o":{"b":1}}`},
		"json escaped spelling":      {`{"a\u0062":1,"ab":2}`, `{"ab":1}`},
		"json invalid UTF-8 repairs": {"{\"k\xff\":1,\"k\xfe\":2}", "{\"k\ufffd\":1}"},
		"platform repeated label": {
			"REPORT RequestId: 8f507cfc-7a1e-4697-b07a-ac58fc914c95\tDuration: 1.00 ms\tDuration: 2.00 ms\n",
			`{"type":"report","request_id":"8f507cfc-7a1e-4697-b07a-ac58fc914c95","duration_ms":1.00}`,
		},
		"access extra repeats a field": {
			`1.2.3.4 - - [22/Nov/2026:04:24:48 +0000] "GET / HTTP/1.1" 200 1 "-" "-" status=500 rt=0.1 rt=0.2`,
			`{"client_ip":"1.2.3.4","time":"22/Nov/2026:04:24:48 +0000","method":"GET","path":"/","protocol":"HTTP/1.1","status":200,"bytes":1,"rt":0.1}`,
		},
		"access extra before quoted name": {
			`1.2.3.4 - - [22/Nov/2026:04:24:48 +0000] "GET / HTTP/1.1" 200 1 referer=x "https://r/" "ua"`,
			`{"client_ip":"1.2.3.4","time":"22/Nov/2026:04:24:48 +0000","method":"GET","path":"/","protocol":"HTTP/1.1","status":200,"bytes":1,"referer":"x","user_agent":"ua"}`,
		},
		"logfmt repeated key": {`level=info a=1 a=2`, `{"level":"info","a":1}`},
		"platform json record key clash": {
			`{"type":"platform.start","record":{"request_id":"a-1","requestId":"b-2"}}`,
			`{"type":"start","request_id":"a-1"}`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rec := record.Record{Message: tc.msg}
			st := New(Limits{}).Normalize(&rec)
			checkInvariants(t, &rec, tc.msg, st)
			if string(rec.Fields) != tc.want {
				t.Errorf("fields\n got %s\nwant %s", rec.Fields, tc.want)
			}
		})
	}
}

// TestFormatExamples checks that every table entry recognizes its own
// documented example.
func TestFormatExamples(t *testing.T) {
	t.Parallel()
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			rec := record.Record{Message: f.example}
			st := New(Limits{}).Normalize(&rec)
			checkInvariants(t, &rec, f.example, st)
			if st.Parser != f.name || rec.SourceType != f.source {
				t.Errorf("example parsed by %q as %q, want %q as %q", st.Parser, rec.SourceType, f.name, f.source)
			}
			if f.first != "" && strings.IndexByte(f.first, f.example[0]) < 0 {
				t.Errorf("example starts with %q, not in first %q", f.example[0], f.first)
			}
		})
	}
}

func TestLevels(t *testing.T) {
	t.Parallel()
	tests := map[string]struct{ msg, want string }{
		"json trace":                {`{"level":"trace"}`, LevelTrace},
		"json verbose serilog":      {`{"@l":"Verbose","@m":"x"}`, LevelTrace},
		"json finest jul":           {`{"level":"FINEST"}`, LevelTrace},
		"json debug upper":          {`{"level":"DEBUG"}`, LevelDebug},
		"json dbg":                  {`{"lvl":"dbg"}`, LevelDebug},
		"json info":                 {`{"severity":"INFO"}`, LevelInfo},
		"json information dotnet":   {`{"loglevel":"Information"}`, LevelInfo},
		"json notice syslog":        {`{"level":"notice"}`, LevelInfo},
		"json warning python":       {`{"levelname":"WARNING"}`, LevelWarn},
		"json warn":                 {`{"level":"warn"}`, LevelWarn},
		"json wrn serilog":          {`{"level":"WRN"}`, LevelWarn},
		"json err":                  {`{"level":"err"}`, LevelError},
		"json error":                {`{"level":"Error"}`, LevelError},
		"json severe jul":           {`{"level":"SEVERE"}`, LevelError},
		"json dpanic zap":           {`{"level":"dpanic"}`, LevelError},
		"json critical python":      {`{"levelname":"CRITICAL"}`, LevelFatal},
		"json crit":                 {`{"level":"crit"}`, LevelFatal},
		"json emerg":                {`{"level":"emerg"}`, LevelFatal},
		"json alert":                {`{"level":"alert"}`, LevelFatal},
		"json panic":                {`{"level":"panic"}`, LevelFatal},
		"json fatal":                {`{"level":"fatal"}`, LevelFatal},
		"json slog offset":          {`{"level":"ERROR+4"}`, LevelError},
		"json slog negative offset": {`{"level":"INFO-2"}`, LevelInfo},
		"json log.level dotted":     {`{"log.level":"warning"}`, LevelWarn},
		"json log.level nested":     {`{"log":{"level":"error"}}`, LevelError},
		"json otel severityText":    {`{"severityText":"WARN","severityNumber":13}`, LevelWarn},
		"json pino 10":              {`{"level":10}`, LevelTrace},
		"json pino 20":              {`{"level":20}`, LevelDebug},
		"json pino 30":              {`{"level":30}`, LevelInfo},
		"json pino 40":              {`{"level":40}`, LevelWarn},
		"json pino 50":              {`{"level":50}`, LevelError},
		"json pino 60":              {`{"level":60}`, LevelFatal},
		"json pino custom 35":       {`{"level":35}`, LevelInfo},
		"json syslog number 3":      {`{"level":3}`, ""},
		"json unknown word":         {`{"level":"loud"}`, ""},
		"json padded":               {`{"level":" INFO "}`, LevelInfo},
		"json level not string":     {`{"level":{"x":1}}`, ""},
		"json first level key wins": {`{"level":"info","severity":"error"}`, LevelInfo},
		"json no level":             {`{"msg":"x"}`, ""},
		"text ERROR":                {`2026-11-22 04:24:48 ERROR something broke`, LevelError},
		"text [ERROR]":              {`[ERROR] something broke`, LevelError},
		"text level=error":          {`ts=1 level=error msg`, LevelError},
		"text WARN spaced":          {`12:00:00 WARN  low disk`, LevelWarn},
		"text WARNING:":             {`WARNING: low disk`, LevelWarn},
		"text SEVERE":               {`SEVERE: context failed`, LevelError},
		"text CRITICAL":             {`CRITICAL:root:db down`, LevelFatal},
		"text [warn] lower":         {`[warn] low disk`, LevelWarn},
		"text <error> lower":        {`<error> low disk`, LevelError},
		"text Error: first":         {`Error: cannot find module`, LevelError},
		"text lower not bracketed":  {`there was an error reading`, ""},
		"text level key quoted":     {`"level": "debug", "x": 1`, LevelDebug},
		"text lvl=warn":             {`msg=x lvl=warn`, LevelWarn},
		"text LogLevel: info":       {`app started LogLevel: info`, LevelInfo},
		"text levelname=error":      {`x levelname=error`, LevelError},
		"text levelstr=debug":       {`x levelstr=debug`, LevelDebug},
		"text Severity=warning":     {`x Severity=warning`, LevelWarn},
		"text glog W":               {`W1122 04:24:48.123456    1 x.go:1] slow`, LevelWarn},
		"text glog I":               {`I1122 04:24:48.123456    1 x.go:1] ok`, LevelInfo},
		"text glog F":               {`F1122 04:24:48.123456    1 x.go:1] dead`, LevelFatal},
		"text go panic":             {"panic: boom\n\ngoroutine 1 [running]:", LevelError},
		"text go fatal error":       {"fatal error: all goroutines are asleep - deadlock!", LevelFatal},
		"text python traceback":     {"Traceback (most recent call last):\n  File \"x.py\"", LevelError},
		"text exception in thread":  {`Exception in thread "main" java.lang.RuntimeException: x`, LevelError},
		"text python ValueError":    {`ValueError: invalid literal for int()`, LevelError},
		"text stack trace only":     {"Something happened\n\tat com.example.Foo.bar(Foo.java:1)", LevelError},
		"text identifier ERROR_X":   {`ERROR_CODES loaded`, ""},
		"text word in digits":       {`v2INFO3 build`, ""},
		"text no level":             {`hello world`, ""},
		"text empty":                {``, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rec := record.Record{Message: tc.msg}
			st := New(Limits{}).Normalize(&rec)
			checkInvariants(t, &rec, tc.msg, st)
			if rec.Level != tc.want {
				t.Errorf("level %q (parser %s), want %q", rec.Level, st.Parser, tc.want)
			}
		})
	}
}

func TestTraceIDs(t *testing.T) {
	t.Parallel()
	const id = "4bf92f3577b34da6a3ce929d0e0e4736"
	const xray = "1-5759e988-bd862e3fe1be46a994272793"
	tests := map[string]struct{ msg, want string }{
		"trace_id":                   {`{"trace_id":"` + id + `"}`, id},
		"traceId":                    {`{"traceId":"` + id + `"}`, id},
		"traceid":                    {`{"traceid":"` + id + `"}`, id},
		"TraceId":                    {`{"TraceId":"` + id + `"}`, id},
		"trace.id dotted":            {`{"trace.id":"` + id + `"}`, id},
		"trace.id nested":            {`{"trace":{"id":"` + id + `"}}`, id},
		"dd.trace_id dotted":         {`{"dd.trace_id":"123456789"}`, "123456789"},
		"dd.trace_id nested number":  {`{"dd":{"trace_id":123456789}}`, "123456789"},
		"X-Amzn-Trace-Id header":     {`{"X-Amzn-Trace-Id":"Root=` + xray + `;Parent=53995c3f42cd8ad8;Sampled=1"}`, xray},
		"X-Amzn-Trace-Id self first": {`{"X-Amzn-Trace-Id":"Self=1-67891234-12456789abcdef012345678;Root=` + xray + `"}`, xray},
		"xray_trace_id bare":         {`{"xray_trace_id":"` + xray + `"}`, xray},
		"traceparent":                {`{"traceparent":"00-` + id + `-00f067aa0ba902b7-01"}`, id},
		"traceparent malformed":      {`{"traceparent":"garbage"}`, ""},
		"transaction_id":             {`{"transaction_id":"tx-1"}`, "tx-1"},
		"transactionId":              {`{"transactionId":"tx-2"}`, "tx-2"},
		"correlation_id":             {`{"correlation_id":"c-1"}`, "c-1"},
		"correlationId":              {`{"correlationId":"c-2"}`, "c-2"},
		"request_id":                 {`{"request_id":"r-1"}`, "r-1"},
		"requestId":                  {`{"requestId":"r-2"}`, "r-2"},
		"x-request-id":               {`{"x-request-id":"r-3"}`, "r-3"},
		"awsRequestId":               {`{"awsRequestId":"r-4"}`, "r-4"},
		"trace beats request":        {`{"request_id":"r-1","trace_id":"` + id + `"}`, id},
		"transaction beats request":  {`{"requestId":"r-1","transaction_id":"tx-1"}`, "tx-1"},
		"correlation beats request":  {`{"requestId":"r-1","correlationId":"c-1"}`, "c-1"},
		"trace beats transaction":    {`{"transaction.id":"tx-1","trace.id":"` + id + `"}`, id},
		"first of same rank":         {`{"trace_id":"a-1","traceId":"b-2"}`, "a-1"},
		"empty id skipped":           {`{"trace_id":"","request_id":"r-1"}`, "r-1"},
		"id with spaces skipped":     {`{"trace_id":"not an id"}`, ""},
		"null id":                    {`{"trace_id":null}`, ""},
		"escaped id copied":          {`{"trace_id":"a\u002db"}`, "a-b"},
		"text trace_id=":             {`handled trace_id=` + id + ` ok`, id},
		"text traceId:":              {`handled traceId: ` + id + `, ok`, id},
		"text X-Amzn-Trace-Id":       {`hdr X-Amzn-Trace-Id: Root=` + xray + `;Sampled=1`, xray},
		"text bare Root=":            {`hdr Root=` + xray + `;Parent=1`, xray},
		"text request_id=":           {`done request_id=abc-123`, "abc-123"},
		"text RequestId:":            {`done RequestId: abc-123 in 3ms`, "abc-123"},
		"text trace beats request":   {`request_id=r-1 trace_id=` + id, id},
		"text no trace":              {`nothing to see`, ""},
		"logfmt trace_id":            {`level=info trace_id=` + id + ` msg=x`, id},
		"access kv request_id":       {`1.2.3.4 - - [22/Nov/2026:04:24:48 +0000] "GET / HTTP/1.1" 200 1 "-" "-" request_id=r-9`, "r-9"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rec := record.Record{Message: tc.msg}
			st := New(Limits{}).Normalize(&rec)
			checkInvariants(t, &rec, tc.msg, st)
			if rec.TraceID != tc.want {
				t.Errorf("trace id %q (parser %s), want %q", rec.TraceID, st.Parser, tc.want)
			}
		})
	}
}

func TestLimits(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 20)
	tests := map[string]struct {
		lim         Limits
		msg         string
		wantFields  string
		wantDropped int
	}{
		"within limits": {
			Limits{}, `{"a":1,"b":{"c":[1,2]}}`, `{"a":1,"b":{"c":[1,2]}}`, 0,
		},
		"depth: object stored as text": {
			Limits{MaxDepth: 2}, `{"a":{"b":{"c":1}},"d":1}`, `{"a":{"b":"{\"c\":1}"},"d":1}`, 1,
		},
		"depth: array stored as text": {
			Limits{MaxDepth: 1}, `{"tags":["x","y"],"n":1}`, `{"tags":"[\"x\",\"y\"]","n":1}`, 1,
		},
		"depth: scalars at the limit stay": {
			Limits{MaxDepth: 2}, `{"a":{"b":1}}`, `{"a":{"b":1}}`, 0,
		},
		"depth 1 with nested keys": {
			Limits{MaxDepth: 1}, `{"a":{"b":{"c":{}}},"z":true}`, `{"a":"{\"b\":{\"c\":{}}}","z":true}`, 1,
		},
		"depth: odd numbers in the text stay valid JSON": {
			Limits{MaxDepth: 1}, `{"a":{"b":[NaN,01,-Inf,1.5]}}`, `{"a":"{\"b\":[\"NaN\",\"01\",\"-Inf\",1.5]}"}`, 1,
		},
		"key count: rest dropped": {
			Limits{MaxFields: 3}, `{"a":1,"b":2,"c":3,"d":4,"e":5}`, `{"a":1,"b":2,"c":3}`, 2,
		},
		"key count includes nested keys and elements": {
			Limits{MaxFields: 4}, `{"a":{"b":1,"c":2},"d":[1,2,3],"e":1}`, `{"a":{"b":1,"c":2},"d":[]}`, 4,
		},
		"value length: cut and counted": {
			Limits{MaxValueBytes: 16}, `{"s":"` + long + `","t":"short"}`, `{"s":"xxxxxxxxxxxxxxxx","t":"short"}`, 1,
		},
		"value length: cut at a rune boundary": {
			Limits{MaxValueBytes: 16}, `{"s":"가나다라마바사"}`, `{"s":"가나다라마"}`, 1,
		},
		"value length: stringified subtree cut too": {
			Limits{MaxDepth: 1, MaxValueBytes: 16}, `{"o":{"k":"` + long + `"}}`, `{"o":"{\"k\":\"xxxxxxxxxx"}`, 2,
		},
		"key too long dropped": {
			Limits{MaxValueBytes: 16}, `{"` + long + `":1,"b":2}`, `{"b":2}`, 1,
		},
		"empty key dropped": {
			Limits{}, `{"":1,"b":2}`, `{"b":2}`, 1,
		},
		"duplicates are not counted": {
			Limits{}, `{"a":1,"a":2}`, `{"a":1}`, 0,
		},
		"all dropped leaves empty fields": {
			Limits{MaxValueBytes: 16}, `{"` + long + `":1}`, ``, 1,
		},
		"access log bounded too": {
			Limits{MaxFields: 2}, `1.2.3.4 - - [22/Nov/2026:04:24:48 +0000] "GET / HTTP/1.1" 200 1`, `{"client_ip":"1.2.3.4","time":"22/Nov/2026:04:24:48 +0000"}`, 5,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rec := record.Record{Message: tc.msg}
			st := New(tc.lim).Normalize(&rec)
			checkInvariants(t, &rec, tc.msg, st)
			if string(rec.Fields) != tc.wantFields {
				t.Errorf("fields\n got %s\nwant %s", rec.Fields, tc.wantFields)
			}
			if st.FieldsDropped != tc.wantDropped {
				t.Errorf("FieldsDropped %d, want %d", st.FieldsDropped, tc.wantDropped)
			}
		})
	}
}

func TestLimitsDefaults(t *testing.T) {
	t.Parallel()
	n := New(Limits{MaxFields: -1})
	if n.lim != (Limits{DefaultMaxFields, DefaultMaxDepth, DefaultMaxValueBytes}) {
		t.Errorf("limits %+v", n.lim)
	}
}

// TestLargeMessages: 200 KB messages are normalized whole, with long values
// cut to MaxValueBytes.
func TestLargeMessages(t *testing.T) {
	t.Parallel()
	payload := strings.Repeat("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3", 5200) // ~200 KB
	tests := map[string]struct {
		msg         string
		wantParser  string
		wantLevel   string
		wantDropped int
		maxFields   int // upper bound on len(Fields)
	}{
		"json 200KB value": {
			`{"level":"debug","msg":"raw upstream payload","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","payload_b64":"` + payload + `"}`,
			"json", LevelDebug, 1, DefaultMaxValueBytes + 200,
		},
		"text 200KB": {"ERROR " + payload, "text", LevelError, 0, 0},
		"json 200KB many keys": {
			`{"level":"info"` + strings.Repeat(`,"k":"v"`, 25000) + `}`, "json", LevelInfo, 0, 100,
		},
		"json 200KB array": {
			`{"level":"info","a":[` + strings.Repeat(`1,`, 100000) + `1]}`, "json", LevelInfo, 100001 - 98, 400,
		},
		"text 200KB invalid UTF-8": {"WARN " + strings.Repeat("\xff\xfe", 100000), "text", LevelWarn, 0, 0},
		"json 2MB array releases the parser": {
			`{"level":"info","a":[` + strings.Repeat(`1,`, 1000000) + `1]}`, "json", LevelInfo, 1000001 - 98, 400,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rec := record.Record{Message: tc.msg}
			st := New(Limits{}).Normalize(&rec)
			checkInvariants(t, &rec, tc.msg, st)
			if st.Parser != tc.wantParser || rec.Level != tc.wantLevel || st.FieldsDropped != tc.wantDropped {
				t.Errorf("parser %s level %q dropped %d, want %s %q %d", st.Parser, rec.Level, st.FieldsDropped, tc.wantParser, tc.wantLevel, tc.wantDropped)
			}
			if len(rec.Fields) > tc.maxFields {
				t.Errorf("fields are %d bytes, want at most %d", len(rec.Fields), tc.maxFields)
			}
		})
	}
}

// TestReuse: one Normalizer and one Record over many messages, as the
// transform uses them; nothing leaks from one message into the next.
func TestReuse(t *testing.T) {
	t.Parallel()
	paths := fixtures(t)
	names := make([]string, 0, len(paths))
	for name := range paths {
		names = append(names, name)
	}
	want := make(map[string][]byte, len(names))
	for _, name := range names {
		msg, err := os.ReadFile(paths[name])
		if err != nil {
			t.Fatal(err)
		}
		rec := record.Record{Message: string(msg)}
		st := New(Limits{}).Normalize(&rec)
		want[name] = encodeGolden(t, &rec, st)
	}
	n := New(Limits{})
	var rec record.Record
	for round := 0; round < 3; round++ {
		for _, name := range names {
			msg, _ := os.ReadFile(paths[name])
			rec.Message = string(msg)
			rec.Level, rec.TraceID, rec.SourceType = "stale", "stale", "stale"
			st := n.Normalize(&rec)
			if got := encodeGolden(t, &rec, st); !bytes.Equal(got, want[name]) {
				t.Fatalf("%s after reuse:\n%s\nwant\n%s", name, got, want[name])
			}
		}
	}
}

// TestTraceIDSharesMessage: the trace id is a substring of the message (no
// copy) whenever the message holds it verbatim.
func TestTraceIDSharesMessage(t *testing.T) {
	t.Parallel()
	rec := record.Record{Message: `{"level":"info","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}`}
	New(Limits{}).Normalize(&rec)
	base := uintptr(unsafe.Pointer(unsafe.StringData(rec.Message)))
	p := uintptr(unsafe.Pointer(unsafe.StringData(rec.TraceID)))
	if rec.TraceID == "" || p < base || p+uintptr(len(rec.TraceID)) > base+uintptr(len(rec.Message)) {
		t.Fatalf("trace id %q does not point into the message", rec.TraceID)
	}
}

// TestNoAllocations: the common messages allocate nothing once the
// Normalizer's buffers have grown.
func TestNoAllocations(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts are slow to measure")
	}
	n := New(Limits{})
	var rec record.Record
	msgs := make([]string, 0, len(formats))
	for _, f := range formats {
		msgs = append(msgs, f.example)
	}
	for _, m := range msgs { // grow buffers
		rec.Message = m
		n.Normalize(&rec)
	}
	for _, m := range msgs {
		rec.Message = m
		allocs := testing.AllocsPerRun(50, func() { n.Normalize(&rec) })
		if allocs != 0 {
			t.Errorf("%.1f allocations per call for %.60q", allocs, m)
		}
	}
}

func TestIndexSpaceIsIndexByte(t *testing.T) {
	const alphabet = "  ab\x00\x1f\x20\x21\x7f\x80\xff-"
	var b []byte
	var check func(n int)
	check = func(n int) {
		if got, want := indexSpace(string(b)), strings.IndexByte(string(b), ' '); got != want {
			t.Fatalf("indexSpace(%q) = %d, want %d", b, got, want)
		}
		if n == 0 {
			return
		}
		for i := 0; i < len(alphabet); i++ {
			b = append(b, alphabet[i])
			check(n - 1)
			b = b[:len(b)-1]
		}
	}
	check(5) // every string of up to five of these bytes
	rng := rand.New(rand.NewPCG(1, 1))
	for range 100000 {
		b = b[:0]
		for range rng.IntN(40) {
			b = append(b, alphabet[rng.IntN(len(alphabet))])
		}
		check(0)
	}
}
