package cwlogs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/klauspost/compress/gzip"

	"github.com/tributary-logs/tributary/shared/record"
)

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// want mirrors the documented payload shape with encoding/json, an
// independent decoder to compare ours with.
type want struct {
	MessageType         string   `json:"messageType"`
	Owner               string   `json:"owner"`
	LogGroup            string   `json:"logGroup"`
	LogStream           string   `json:"logStream"`
	SubscriptionFilters []string `json:"subscriptionFilters"`
	PolicyLevel         string   `json:"policyLevel"`
	LogEvents           []struct {
		ID        string `json:"id"`
		Timestamp int64  `json:"timestamp"`
		Message   string `json:"message"`
	} `json:"logEvents"`
}

func TestDecodeFixtures(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("testdata/*.json")
	if len(files) < 3 {
		t.Fatalf("want at least 3 fixtures, have %d", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var w want
			if err := json.Unmarshal(raw, &w); err != nil {
				t.Fatal(err)
			}
			env, err := NewDecoder(DefaultLimits).Decode(gz(t, raw))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if env.MessageType != w.MessageType || env.Owner != w.Owner || env.LogGroup != w.LogGroup ||
				env.LogStream != w.LogStream || env.PolicyLevel != w.PolicyLevel ||
				strings.Join(env.SubscriptionFilters, ",") != strings.Join(w.SubscriptionFilters, ",") {
				t.Errorf("envelope = %+v, want %+v", env, w)
			}
			if len(env.LogEvents) != len(w.LogEvents) {
				t.Fatalf("%d events, want %d", len(env.LogEvents), len(w.LogEvents))
			}
			for i, e := range w.LogEvents {
				got := env.LogEvents[i]
				if got.ID != e.ID || got.Timestamp != e.Timestamp || got.Message != e.Message {
					t.Errorf("event %d = %+v, want %+v", i, got, e)
				}
			}
			// Round trip: what we encode decodes to the same document.
			again, err := Encode(env, env.LogEvents)
			if err != nil {
				t.Fatal(err)
			}
			plain, err := NewDecoder(DefaultLimits).Inflate(again)
			if err != nil {
				t.Fatal(err)
			}
			var w2 want
			if err := json.Unmarshal(plain, &w2); err != nil {
				t.Fatalf("re-encoded payload is not JSON: %v\n%s", err, plain)
			}
			a, _ := json.Marshal(w)
			b, _ := json.Marshal(w2)
			if !bytes.Equal(a, b) {
				t.Errorf("round trip differs:\n%s\n%s", a, b)
			}
		})
	}
}

// A bomb costs about its limit in memory: it is stopped where it crosses
// the limit, not inflated a second time by the streaming reader.
func TestBombIsRefusedWithinItsLimit(t *testing.T) {
	const limit = 4 << 20
	bomb := gz(t, make([]byte, 64<<20))
	d := NewDecoder(Limits{MaxInflatedBytes: limit, MaxRatio: 1 << 30})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := d.Decode(bomb)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 3*limit {
		t.Errorf("refusing the bomb allocated %d bytes, over 3× its %d-byte limit", got, limit)
	}
}

// A decoder keeps the buffer of the largest payload it has inflated; a bomb
// that follows is still refused at its own limit, not at that capacity.
func TestBombAfterALargePayloadIsStillRefused(t *testing.T) {
	d := NewDecoder(DefaultLimits)
	var big bytes.Buffer
	big.WriteString(`{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","logEvents":[`)
	for i := range 20_000 {
		if i > 0 {
			big.WriteByte(',')
		}
		fmt.Fprintf(&big, `{"id":"%d","timestamp":1,"message":"%s"}`, i, strings.Repeat(string(rune('a'+i%26)), 1000))
	}
	big.WriteString(`]}`)
	if _, err := d.Decode(gz(t, big.Bytes())); err != nil {
		t.Fatal(err)
	}
	bomb := gz(t, make([]byte, 10<<20))
	if _, err := d.Decode(bomb); !errors.Is(err, ErrRatio) {
		t.Fatalf("after a %d-byte payload, a %d-byte bomb of 10 MiB: err = %v, want ErrRatio", big.Len(), len(bomb), err)
	}
}

// Events the compact path starts on and then gives up (a member after the
// message, a blank before the brace) are read again by the general path;
// what the compact path unescaped must not stay in the arena, or every
// escaped string reserves the rest of the payload again: time and memory
// quadratic in the payload.
func TestCompactPathMissesKeepTheArenaLinear(t *testing.T) {
	for _, tail := range []string{`,"extractedFields":{"level":"info"}}`, ` }`} {
		var p bytes.Buffer
		p.WriteString(`{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","logEvents":[`)
		msg := `a\n` + strings.Repeat("x", 2000)
		for i := range 500 {
			if i > 0 {
				p.WriteByte(',')
			}
			fmt.Fprintf(&p, `{"id":"%d","timestamp":1,"message":"%s"%s`, i, msg, tail)
		}
		p.WriteString(`]}`)
		d := NewDecoder(DefaultLimits)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		env, err := d.Parse(p.Bytes())
		runtime.ReadMemStats(&after)
		if err != nil || len(env.LogEvents) != 500 || env.LogEvents[499].Message != "a\n"+strings.Repeat("x", 2000) {
			t.Fatalf("tail %q: %v", tail, err)
		}
		if got := after.TotalAlloc - before.TotalAlloc; got > uint64(8*p.Len()) {
			t.Errorf("tail %q: parsing %d bytes allocated %d", tail, p.Len(), got)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	bomb := gz(t, make([]byte, 8<<20)) // 8 MiB of zeros is ~8 KiB gzip'd
	cases := []struct {
		name    string
		in      []byte
		limits  Limits
		wantErr error
		wantMsg string
	}{
		{"not gzip", []byte(`{"messageType":"DATA_MESSAGE"}`), DefaultLimits, ErrNotGzip, "not gzip"},
		{"truncated gzip", gz(t, []byte(`{"messageType":"DATA_MESSAGE","logGroup":"g","logEvents":[]}`))[:20], DefaultLimits, ErrCorrupt, "corrupt gzip stream"},
		{"bomb by ratio", bomb, DefaultLimits, ErrRatio, "compression ratio exceeds the limit"},
		{"too large", gz(t, bytes.Repeat([]byte("x"), 3<<20)), Limits{MaxInflatedBytes: 2 << 20, MaxRatio: 1 << 20}, ErrTooLarge, "more than 2097152 bytes"},
		{"not json", gz(t, []byte("hello")), DefaultLimits, ErrInvalidJSON, "not a CloudWatch Logs JSON document"},
		{"array", gz(t, []byte("[]")), DefaultLimits, ErrInvalidJSON, "top level is array"},
		{"no type", gz(t, []byte(`{"logGroup":"g","logEvents":[]}`)), DefaultLimits, ErrMissingField, "messageType"},
		{"unknown type", gz(t, []byte(`{"messageType":"HELLO"}`)), DefaultLimits, ErrUnknownMessage, `"HELLO"`},
		{"no events", gz(t, []byte(`{"messageType":"DATA_MESSAGE","logGroup":"g"}`)), DefaultLimits, ErrMissingField, "logEvents"},
		{"event without id", gz(t, []byte(`{"messageType":"DATA_MESSAGE","logGroup":"g","logEvents":[{"timestamp":1,"message":"m"}]}`)), DefaultLimits, ErrMissingField, "logEvents[0]: payload lacks a required field: id"},
		{"bad timestamp", gz(t, []byte(`{"messageType":"DATA_MESSAGE","logGroup":"g","logEvents":[{"id":"1","timestamp":"x","message":"m"}]}`)), DefaultLimits, ErrInvalidJSON, "timestamp"},
		{"number message", gz(t, []byte(`{"messageType":"DATA_MESSAGE","logGroup":"g","logEvents":[{"id":"1","timestamp":1,"message":5}]}`)), DefaultLimits, ErrInvalidJSON, "message is number"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewDecoder(c.limits).Decode(c.in)
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("err = %v, want %v", err, c.wantErr)
			}
			if !strings.Contains(err.Error(), c.wantMsg) {
				t.Errorf("err = %q, want it to mention %q", err, c.wantMsg)
			}
		})
	}
}

// A small payload of one repeated line compresses far beyond MaxRatio; it
// is legitimate and must decode (the ratio applies above 1 MiB only).
func TestSmallRepetitivePayloadIsNotABomb(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString(`{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","subscriptionFilters":[],"logEvents":[`)
	for i := 0; i < 2000; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"id":"1","timestamp":1,"message":"health check ok health check ok health check ok"}`)
	}
	b.WriteString("]}")
	env, err := NewDecoder(DefaultLimits).Decode(gz(t, []byte(b.String())))
	if err != nil {
		t.Fatal(err)
	}
	if len(env.LogEvents) != 2000 {
		t.Fatalf("%d events", len(env.LogEvents))
	}
}

func TestDecoderReuse(t *testing.T) {
	t.Parallel()
	d := NewDecoder(DefaultLimits)
	a, _ := os.ReadFile("testdata/data-message.json")
	b, _ := os.ReadFile("testdata/account-policy.json")
	for i := 0; i < 3; i++ {
		env, err := d.Decode(gz(t, a))
		if err != nil || len(env.LogEvents) != 3 || env.LogGroup != "/aws/lambda/orders-api" {
			t.Fatalf("decode a: %v %+v", err, env)
		}
		env, err = d.Decode(gz(t, b))
		if err != nil || len(env.LogEvents) != 1 || env.PolicyLevel != "ACCOUNT_LEVEL_POLICY" {
			t.Fatalf("decode b: %v %+v", err, env)
		}
	}
}

func TestEncodeRepairsInvalidUTF8(t *testing.T) {
	t.Parallel()
	env := &Envelope{MessageType: DataMessage, Owner: "1", LogGroup: "g", LogStream: "s"}
	out, err := Encode(env, []LogEvent{{ID: "1", Timestamp: 2, Message: "bad \xff byte"}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := NewDecoder(DefaultLimits).Decode(out)
	if err != nil {
		t.Fatal(err)
	}
	if got.LogEvents[0].Message != "bad \ufffd byte" {
		t.Errorf("message = %q", got.LogEvents[0].Message)
	}
}

func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, p := range files {
		b, _ := os.ReadFile(p)
		f.Add(gz(f, b))
		f.Add(b)
	}
	d := NewDecoder(Limits{MaxInflatedBytes: 1 << 20, MaxRatio: 100})
	f.Fuzz(func(t *testing.T, in []byte) {
		env, err := d.Decode(in)
		if err != nil {
			return
		}
		// Anything we accept, we can re-encode and decode to the same events.
		events := append([]LogEvent(nil), env.LogEvents...)
		out, err := Encode(env, events)
		if err != nil {
			t.Fatal(err)
		}
		again, err := NewDecoder(DefaultLimits).Decode(out)
		if err != nil {
			t.Fatalf("re-encoded payload does not decode: %v", err)
		}
		if len(again.LogEvents) != len(events) {
			t.Fatalf("%d events after round trip, want %d", len(again.LogEvents), len(events))
		}
	})
}

// stdString mirrors how encoding/json turns invalid UTF-8 into U+FFFD, one
// per byte, so our strings can be compared with its.
func stdString(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteString("\ufffd")
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// FuzzParse compares our hand-written parser with encoding/json: whatever
// both accept must decode to the same envelope, and a raw message we mark
// safe must be JSON string content with the same value.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, p := range files {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Add([]byte(`{"messageType":"DATA_MESSAGE","logGroup":"g","logEvents":[{"id":"1","timestamp":2,"message":"a\u00e9\ud83d\ude00\"\\/\b\f\n\r\t"}],"x":[1,{"y":null},true]}`))
	// Long enough for the 64-byte blocks that strings with escapes are
	// scanned in.
	f.Add([]byte(`{"messageType":"DATA_MESSAGE","logGroup":"g","logEvents":[{"id":"1","timestamp":2,"message":"{\"level\":\"info\",\"msg\":\"a\\nb\",\"path\":\"\/v1\/x\",\"user\":\"\u00e9\ud83d\ude00\"}\n\tat frame"}]}`))
	d := NewDecoder(DefaultLimits)
	f.Fuzz(func(t *testing.T, in []byte) {
		env, err := d.Parse(in)
		var std map[string]any
		stdErr := json.Unmarshal(in, &std)
		if err != nil || stdErr != nil {
			return
		}
		str := func(k string) string { s, _ := std[k].(string); return stdString(s) }
		if stdString(env.MessageType) != str("messageType") || stdString(env.Owner) != str("owner") ||
			stdString(env.LogGroup) != str("logGroup") || stdString(env.LogStream) != str("logStream") {
			t.Fatalf("envelope %+v differs from encoding/json %v", env, std)
		}
		evs, _ := std["logEvents"].([]any)
		if len(evs) != len(env.LogEvents) {
			t.Fatalf("%d events, encoding/json %d", len(env.LogEvents), len(evs))
		}
		for i, e := range env.LogEvents {
			m, _ := evs[i].(map[string]any)
			msg, _ := m["message"].(string)
			if stdString(e.Message) != stdString(msg) {
				t.Fatalf("event %d message %q, encoding/json %q", i, e.Message, msg)
			}
			if e.IDPlain && string(record.AppendString(nil, e.ID)) != `"`+e.ID+`"` {
				t.Fatalf("event %d id %q marked plain, but escaping changes it", i, e.ID)
			}
			if e.RawOK {
				var back string
				if err := json.Unmarshal(append(append([]byte{'"'}, e.RawMessage...), '"'), &back); err != nil || back != stdString(msg) || !utf8.Valid(e.RawMessage) {
					t.Fatalf("event %d raw %q is not safe content for %q (%v)", i, e.RawMessage, msg, err)
				}
			}
		}
	})
}
