package normalize

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tributary-logs/tributary/shared/record"
)

// sameAsTreePath normalizes msg with the streaming shortcut and without it
// (the fastjson tree path, which the table and its fixtures define) and fails
// on any difference a user could see.
//
// The streaming path is checked twice: as it runs (the fields copied from a
// message they would equal, see verbatim, else written) and always writing.
func sameAsTreePath(t testing.TB, msg string, lim Limits) {
	t.Helper()
	fast, written, slow := New(lim), New(lim), New(lim)
	written.noVerbatim = true
	slow.noStream = true
	b := record.Record{Message: msg}
	sb := slow.Normalize(&b)
	for _, n := range []*Normalizer{fast, written} {
		a := record.Record{Message: msg}
		sa := n.Normalize(&a)
		if a.Level != b.Level || a.TraceID != b.TraceID || a.SourceType != b.SourceType ||
			string(a.Fields) != string(b.Fields) || sa != sb {
			t.Fatalf("streaming (verbatim allowed: %v) and tree paths differ for %q (limits %+v):\nstream: level=%q trace=%q source=%q %+v\n  %s\ntree:   level=%q trace=%q source=%q %+v\n  %s",
				!n.noVerbatim, msg, lim, a.Level, a.TraceID, a.SourceType, sa, a.Fields, b.Level, b.TraceID, b.SourceType, sb, b.Fields)
		}
	}
}

// streamCases are messages at the edges of what the streaming path takes
// on: escapes, limits, duplicates, levels and trace ids in every position,
// and shapes it must leave to the CloudTrail and Lambda platform parsers.
var streamCases = []string{
	`{}`, ` {"a":1} `, `{"a":1,}`, `{"a":1}x`, `{"a" : [ 1 , 2 ] , "b" : { } }`,
	`{"level":"warn","msg":"a \"quoted\" word\n\tnext","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}`,
	`{"level":30,"time":1732249488123,"pid":7,"hostname":"ip-10-0-0-1","msg":"pino"}`,
	`{"level":1e400}`, `{"level":-0.5e-3}`, `{"n":01}`, `{"n":1.}`, `{"n":-}`, `{"n":NaN}`, `{"n":1.2.3}`, `{"n":1e}`, `{"n":2E+10}`,
	`{"a":"é \u00e9 \u20ac \u0000 \/"}`, `{"a":"\ud83d\ude00"}`, `{"a":"\ud83d"}`, `{"a":"\x"}`, `{"a":"\u12"}`, `{"a":"\u12zz"}`,
	"{\"a\":\"raw\x01control\"}", "{\"a\":\"bad \xff utf8\"}", "{\"k\xff\":1}", `{"k\"q":1,"k\"q":2}`,
	`{"a":1,"a":2,"b":{"c":1,"c":2}}`, `{"":1}`, `{"a":true,"b":false,"c":null,"d":tru}`,
	`{"a":{"b":{"c":{"d":{"e":1}}}}}`, `{"a":[[[[1]]]]}`, `{"a":[{"b":[{"c":1}]}]}`,
	`{"@t":"2026-11-22T04:24:48Z","@mt":"Hello {Name}","Name":"x"}`, `{"@t":"x","@m":"y","@l":"Warning"}`,
	`{"log":{"level":"error"},"trace":{"id":"abc123"},"span":{"trace_id":77}}`,
	`{"log.level":"debug","traceId":"1-5f84c7a9-1e8f6a2b3c4d5e6f7a8b9c0d","X-Amzn-Trace-Id":"Root=1-5f84c7a9-1e8f6a2b3c4d5e6f7a8b9c0d;Parent=1"}`,
	`{"dd.trace_id":1234567890123456789,"level":"info"}`,
	`{"eventVersion":"1.09","eventSource":"s3.amazonaws.com","eventName":"GetObject"}`,
	`{"eventName":"custom app event","level":"info"}`,
	`{"eventVersion":"1.08","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","errorMessage":"Failed authentication","requestID":7,"requestID":"r-1","eventID":" e-1 "}`,
	`{"eventVersion":1,"eventSource":"s3","eventName":"x"}`,
	`{"eventVersion":"1","eventSource":"s3","eventName":"x","errorCode":"","errorCode":"AccessDenied","eventID":"null"}`,
	`{"eventVersion":"1.09","eventSource":"sts.amazonaws.com","eventName":"AssumeRole","userIdentity":{"type":"AssumedRole","sessionContext":{"attributes":{"mfaAuthenticated":"false","creationDate":"x"},"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::1:role/r","userName":"r","accountId":"1"}},"extra":[1,{"a":{"b":{"c":{}}}}]},"responseElements":{"credentials":{"a":{"b":{"c":{"d":[1,2]}}}}},"requestParameters":{"roleArn":"arn","tags":[{"k":"v"}]}}`,
	`{"eventVersion":"1.09","eventSource":"s3","eventName":"x","detail-type":"y","detail":{}}`,
	`{"detail-type":"AWS API Call via CloudTrail","detail":{"eventVersion":"1.09","eventSource":"iam.amazonaws.com","eventName":"CreateUser"}}`,
	`{"time":"2026-11-22T04:24:48.123Z","type":"platform.start","record":{"requestId":"8f507cfc"}}`,
	`{"type":"platform","x":1}`,
	"2026-11-22T04:24:48.123Z\t8f507cfc-7a1e-4697-b07a-ac58fc914c95\tINFO\t{\"level\":\"warn\",\"msg\":\"cache miss\"}\n",
	"[ERROR]\t2026-11-22T04:24:48.123Z\t8f507cfc-7a1e-4697-b07a-ac58fc914c95\t{\"errorMessage\":\"boom\",\"stackTrace\":[\"a\",\"b\"]}\n",
	`app[42]: {"level":"error","msg":"prefixed"}`,
	`{"a":"` + strings.Repeat("x", 9000) + `"}`, `{"` + strings.Repeat("k", 9000) + `":1}`,
	// at the edges of copying the message as the fields (verbatim)
	`{"level": "info", "msg": "python separators"}`, `{"a":1 }`, `{"a":{},"b":[],"c":[{}]}`,
	`{"a":"x","b":"y\"z"}`, `{"a":"x","b":"é"}`, "{\"a\":\"x\",\"b\":\"tab\there\"}", `{"a":"x","a":"y"}`,
	`{"a":{"b":1,"c":{"b":2}},"b":3}`, `{"a":[1,2,3,4,5],"b":"c"}`, `{"a":[{"b":1,"b":2}]}`, `{"a":"x","b":1e400,"c":-0}`,
	`{"level":"error","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","http":{"method":"GET","status":500},"tags":["a","b"]}`,
}

func TestStreamMatchesTreePath(t *testing.T) {
	limits := []Limits{{}, {MaxFields: 3, MaxDepth: 2, MaxValueBytes: 8}, {MaxDepth: 1}, {MaxFields: 1}}
	check := func(msg string) {
		for _, l := range limits {
			sameAsTreePath(t, msg, l)
		}
	}
	for _, msg := range streamCases {
		check(msg)
	}
	for _, msg := range fixtures(t) {
		check(msg)
	}
	for _, fm := range formats {
		check(fm.example)
	}
}

// TestStreamTakesPlainJSONOnly: the comparison above proves nothing if the
// streaming path never runs, or runs where the table picks another parser.
func TestStreamTakesPlainJSONOnly(t *testing.T) {
	for msg, want := range map[string]bool{
		`{"level":"warn","msg":"a \"quoted\" word\n","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}`: true,
		`{"level":30,"time":1732249488123,"msg":"pino"}`:                                             true,
		`{"a":"\u20ac"}`:                  true,
		`{"a":{"b":{"c":{"d":{"e":1}}}}}`: true,  // stored as text at depth 4
		formats[0].example:                false, // CloudTrail
		formats[1].example:                false, // Lambda platform JSON
		`{"eventName":"x"}`:               false,
		`{"n":NaN}`:                       false,
	} {
		n := New(Limits{})
		rec := record.Record{Message: msg}
		n.w.reset(nil, n.lim)
		n.traceRank = noTrace
		if got := n.streamFields(&rec, msg, true); got != want {
			t.Errorf("streamFields(%q) = %v, want %v", msg, got, want)
		}
	}
	for msg, want := range map[string]bool{
		formats[0].example: true,
		`{"eventVersion":"1.09","eventSource":"s3","eventName":"x","detail-type":"y","detail":{}}`: false, // EventBridge keys: left to the tree path
		`{"eventVersion":1,"eventSource":"s3","eventName":"x"}`:                                    false,
		`{"level":"warn","msg":"x"}`: false,
	} {
		n := New(Limits{})
		rec := record.Record{Message: msg}
		n.w.reset(nil, n.lim)
		if got := n.streamCloudTrail(&rec, msg); got != want {
			t.Errorf("streamCloudTrail(%q) = %v, want %v", msg, got, want)
		}
	}
}

// TestStreamMatchesTreePathOnWorkload compares the paths on the shared
// workload's messages when TRIBUTARY_WORKLOAD points at it.
func TestStreamMatchesTreePathOnWorkload(t *testing.T) {
	dir := os.Getenv("TRIBUTARY_WORKLOAD")
	if dir == "" {
		t.Skip("TRIBUTARY_WORKLOAD is not set")
	}
	f, err := os.Open(filepath.Join(dir, "events-200.ndjson"))
	if err != nil {
		t.Skipf("workload not readable: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 8<<20)
	for lines := 0; sc.Scan() && lines < 100_000; lines++ {
		var ev struct {
			Message string `json:"message"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatal(err)
		}
		sameAsTreePath(t, ev.Message, Limits{})
	}
}

// FuzzStream: for any message and limits, the streaming shortcut gives what
// the tree path gives.
func FuzzStream(f *testing.F) {
	seedCorpus(f, func(msg string) { f.Add(msg, uint8(0), uint8(0), uint16(0)) })
	for _, msg := range streamCases {
		f.Add(msg, uint8(0), uint8(0), uint16(0))
		f.Add(msg, uint8(2), uint8(2), uint16(4))
	}
	f.Fuzz(func(t *testing.T, msg string, maxFields, maxDepth uint8, maxValue uint16) {
		sameAsTreePath(t, msg, Limits{MaxFields: int(maxFields), MaxDepth: int(maxDepth), MaxValueBytes: int(maxValue)})
	})
}

// TestStringStop: the word-at-a-time scan agrees with a byte loop for a stop
// byte and a byte needing escape at every offset of every word position.
func TestStringStop(t *testing.T) {
	naive := func(s string, i int) (int, bool) {
		plain := true
		for ; i < len(s); i++ {
			c := s[i]
			if c == '"' || c == '\\' {
				return i, plain
			}
			if c < 0x20 || c >= 0x80 {
				plain = false
			}
		}
		return i, plain
	}
	for n := 0; n <= 24; n++ {
		for _, stop := range []string{"", `"`, `\`} {
			for _, odd := range []string{"", "\x01", "\x7f", "\xc3\xa9", "\xff", " "} {
				for at := 0; at <= n; at++ {
					for oddAt := 0; oddAt <= n; oddAt++ {
						b := []byte(strings.Repeat("a", n))
						s := string(b[:oddAt]) + odd + string(b[oddAt:])
						if stop != "" {
							p := min(at, len(s))
							s = s[:p] + stop + s[p:]
						}
						for from := 0; from <= min(3, len(s)); from++ {
							gi, gp := stringStop(s, from)
							wi, wp := naive(s, from)
							if gi != wi || gp != wp {
								t.Fatalf("stringStop(%q, %d) = %d, %v; want %d, %v", s, from, gi, gp, wi, wp)
							}
						}
					}
				}
			}
		}
	}
}

// TestVerbatimDecides: the fields are copied from the message only where
// they would equal it, and the stream says so; the comparisons with the
// tree path prove nothing if the copy never happens.
func TestVerbatimDecides(t *testing.T) {
	for msg, want := range map[string]string{
		`{"level":"info","n":-1.5e3,"ok":true,"x":null,"http":{"status":200,"tags":["a"]},"e":{},"l":[]}`: "copied",
		`{}`:                              "copied",
		`{"a": 1}`:                        "written", // a blank
		`{"a":"\u00e9"}`:                  "written", // an escape
		`{"a":"é"}`:                       "written", // not ASCII
		`{"a":1,"a":2}`:                   "written", // a duplicate
		`{"a":{"b":{"c":{"d":{"e":1}}}}}`: "written", // stored as text at depth 4
		`{"":1}`:                          "written", // an empty key is dropped
		`{"n":NaN}`:                       "gave up",
		`{"a":1,}`:                        "gave up",
		`{"eventName":"x","a":1}`:         "gave up", // a CloudTrail key, for the plain JSON parser
	} {
		n := New(Limits{})
		rec := record.Record{Message: msg}
		n.w.reset(nil, n.lim)
		n.traceRank = noTrace
		st, ok := n.openStream(&rec, msg)
		if !ok {
			t.Fatalf("%q: not an object", msg)
		}
		st.plain, st.dry = true, true
		got := "gave up"
		switch read := st.root() && st.i == len(st.s); {
		case st.stopped:
			got = "written"
		case read:
			got = "copied"
			st.verbatim()
			if f := string(n.w.finish()); f != msg && !(msg == "{}" && f == "") {
				t.Errorf("%q: fields %s", msg, f)
			}
		}
		if got != want {
			t.Errorf("%q: %s, want %s", msg, got, want)
		}
	}
}
