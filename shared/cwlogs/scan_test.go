package cwlogs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tributary-logs/tributary/shared/record"
	"github.com/tributary-logs/tributary/shared/workloadtest"
)

// sameAsStd parses payload with our scanner and stdPayload (the same
// document, or one with raw control characters escaped, which
// encoding/json rejects and we accept) with encoding/json, and fails t
// unless both reject it or both decode it to the same envelope. Strings
// must be equal outright for valid UTF-8 input; otherwise encoding/json's
// U+FFFD per invalid byte is what our bytes must stand for. A raw message
// must be the payload's own escaped bytes, marked safe exactly when it is
// valid UTF-8 without control characters.
func sameAsStd(t *testing.T, d *Decoder, name string, payload, stdPayload []byte) {
	t.Helper()
	env, err := d.Parse(payload)
	var w want
	werr := json.Unmarshal(stdPayload, &w)
	if (err == nil) != (werr == nil) {
		t.Fatalf("%s: our error %v, encoding/json's %v\n%q", name, err, werr, payload)
	}
	if err != nil {
		return
	}
	fix := func(s string) string { return s }
	if !utf8.Valid(payload) {
		fix = stdString
	}
	if fix(env.MessageType) != w.MessageType || fix(env.Owner) != w.Owner || fix(env.LogGroup) != w.LogGroup ||
		fix(env.LogStream) != w.LogStream || fix(env.PolicyLevel) != w.PolicyLevel {
		t.Fatalf("%s: envelope %q/%q/%q/%q/%q, encoding/json %q/%q/%q/%q/%q", name,
			env.MessageType, env.Owner, env.LogGroup, env.LogStream, env.PolicyLevel,
			w.MessageType, w.Owner, w.LogGroup, w.LogStream, w.PolicyLevel)
	}
	if len(env.SubscriptionFilters) != len(w.SubscriptionFilters) {
		t.Fatalf("%s: filters %q, encoding/json %q", name, env.SubscriptionFilters, w.SubscriptionFilters)
	}
	for i, f := range env.SubscriptionFilters {
		if fix(f) != w.SubscriptionFilters[i] {
			t.Fatalf("%s: filter %d %q, encoding/json %q", name, i, f, w.SubscriptionFilters[i])
		}
	}
	if len(env.LogEvents) != len(w.LogEvents) {
		t.Fatalf("%s: %d events, encoding/json %d", name, len(env.LogEvents), len(w.LogEvents))
	}
	for i, e := range env.LogEvents {
		we := w.LogEvents[i]
		if fix(e.ID) != we.ID || e.Timestamp != we.Timestamp || fix(e.Message) != we.Message {
			t.Fatalf("%s: event %d = %q %d %q, encoding/json %q %d %q", name, i, e.ID, e.Timestamp, e.Message, we.ID, we.Timestamp, we.Message)
		}
		if len(e.RawMessage) > 0 {
			at := cap(payload) - cap(e.RawMessage)
			if at < 1 || at+len(e.RawMessage) >= len(payload) || payload[at-1] != '"' || payload[at+len(e.RawMessage)] != '"' {
				t.Fatalf("%s: event %d raw message %q is not a quoted span of the payload", name, i, e.RawMessage)
			}
		}
		safe := utf8.Valid(e.RawMessage) && !bytes.ContainsFunc(e.RawMessage, func(r rune) bool { return r < 0x20 })
		if e.RawOK != safe {
			t.Fatalf("%s: event %d RawOK %v for %q", name, i, e.RawOK, e.RawMessage)
		}
		if e.RawOK {
			var back string
			if err := json.Unmarshal(append(append([]byte{'"'}, e.RawMessage...), '"'), &back); err != nil || back != we.Message {
				t.Fatalf("%s: event %d raw %q decodes to %q (%v), want %q", name, i, e.RawMessage, back, err, we.Message)
			}
		}
	}
}

// escapeControls escapes the raw control characters of JSON string content
// for encoding/json, which rejects them.
func escapeControls(body string) string {
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		if c := body[i]; c < 0x20 {
			fmt.Fprintf(&b, `\u%04x`, c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// stringCases are JSON string bodies (as they appear between the quotes)
// meant to break a word-at-a-time scanner: every escape kind, escapes back
// to back, \u surrogate pairs and lone halves, invalid UTF-8, raw control
// characters, and invalid escapes that both decoders must reject.
var stringCases = []string{
	``, `a`, `plain ascii text that spans several words`,
	`\"`, `\\`, `\/`, `\b`, `\f`, `\n`, `\r`, `\t`,
	`\"\"\"\"\"\"\"\"\"`, `\\\\\\\\\\\\\\\\\\`, `\\\"`, `\"\\`, `\\\\\"x`, `x\\`, `\\"`,
	`{\"level\":\"info\",\"msg\":\"a\\nb\",\"path\":\"\/v1\/x\"}`,
	`line one\nline two\n\tat frame\r\n`,
	`\u0041`, `\u00e9`, `\u00E9`, `\u20ac`, `\uffff`, `\u0000`, `\u001f`, `\u0022\u005c`,
	`\ud83d\ude00`, `\uD83D\uDE00x`, `\udbff\udfff`, `\ud83d`, `\ud83dx`, `\ude00`, `\ud83d\u0041`,
	`\ud83d\ud83d\ude00`, `\udc00\udc00`, `\ude00\ud83d\ude00`, `\ud83d\n`, `a\u00e9\ud83d\ude00\"\\\/\b\f\n\r\t`,
	"é", "한국어 로그 메시지", "😀\\\"😀", "é\\\"", "\\\"é",
	"\xff", "a\xc3", "\xc3\\\"", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xc0\xaf", "\x80\x80\x80\x80\x80\x80\x80\x80\x80",
	"\x01", "\x1f", "a\tb", "a\nb", "\x00", "\x7f", "ctl\x01\\\"x",
	// Invalid: both decoders must reject these.
	`\x`, `\u12`, `\u12G4`, `\`, `\u`, `\ud83d\u12`,
	// Long strings, with escapes, non-ASCII and control characters deep
	// inside, away from the start that padding shifts: they must survive
	// every word offset too, in the middle and in the sub-word tail.
	strings.Repeat("x", 48) + `\"\\\u00e9\ud83d\ude00\n\"` + strings.Repeat("y", 70) + `\"`,
	strings.Repeat(`a\"`, 80), strings.Repeat(`\\`, 70), strings.Repeat(`\n`, 40) + strings.Repeat(`\u0041`, 20),
	strings.Repeat("é", 30) + `\"` + strings.Repeat("z", 30) + "\x01" + `\"` + strings.Repeat("한", 20),
	strings.Repeat("x", 60) + `\"` + strings.Repeat("x", 60) + "\xff",
	strings.Repeat("x", 52) + `\q` + strings.Repeat("x", 40),
	strings.Repeat("x", 52) + `\u00G0` + strings.Repeat("x", 40),
}

// Escapes of each kind, and the closing quote, at every offset around the
// 64-byte blocks escaped works in, so that every escape straddles a block
// boundary somewhere.
func init() {
	for n := 0; n <= 130; n++ {
		x := strings.Repeat("x", n)
		stringCases = append(stringCases,
			x+`\"`, x+`\\\"y`, x+`\ud83d\ude00`+x, x+`\u00e9\n`+x+`\t`, x+`\\\\`+x, x+"\x01\\\""+x+"é",
		)
	}
}

// casePayload puts body in every string position of a payload. ws goes
// after each string: a raw control character right after the closing
// quote must not count against the string.
func casePayload(pad, body, ws string) string {
	return `{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g` + pad + body + `"` + ws + `,"logStream":"s",` +
		`"subscriptionFilters":["` + body + `"` + ws + `],"other":{"k":"` + pad + body + `"` + ws + `},` +
		`"logEvents":[{"id":"` + pad + `1","timestamp":2,"message":"` + pad + body + `"` + ws + `},` +
		`{"id":"2","timestamp":3,"message":"` + pad + body + `"` + ws + `}]}`
}

func TestParseMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	d := NewDecoder(DefaultLimits)
	t.Run("fixtures", func(t *testing.T) {
		files, _ := filepath.Glob("testdata/*.json")
		for _, f := range files {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			sameAsStd(t, d, f, raw, raw)
		}
	})
	t.Run("strings", func(t *testing.T) {
		for _, body := range stringCases {
			// 0..16 bytes before the string put each escape at every
			// offset of a word, and the last event's message (3 bytes
			// from the end) walks it through the sub-word tail too.
			for n := 0; n <= 16; n++ {
				for _, ws := range []string{"", "\n\t "} {
					pad := strings.Repeat("p", n)
					p := casePayload(pad, body, ws)
					sameAsStd(t, d, fmt.Sprintf("%q after %d bytes, then %q", body, n, ws), []byte(p), []byte(casePayload(pad, escapeControls(body), ws)))
				}
			}
		}
	})
	t.Run("workload", func(t *testing.T) {
		if workloadtest.Dir(t) == "" {
			t.Skip("no workload")
		}
		var payloads [][]byte
		if p := workloadtest.AWSLogsPayload(t, "awslogs-1.json"); p != nil {
			payloads = append(payloads, p)
		}
		payloads = append(payloads, workloadtest.FirehoseRecords(t, "firehose-5.json")...)
		if len(payloads) == 0 {
			t.Skip("no awslogs-1.json or firehose-5.json in the workload")
		}
		inflate := NewDecoder(DefaultLimits)
		for i, p := range payloads {
			raw, err := inflate.Inflate(p)
			if err != nil {
				t.Fatalf("payload %d: %v", i, err)
			}
			raw = bytes.Clone(raw)
			if _, err := d.Parse(raw); err != nil {
				t.Fatalf("payload %d: %v", i, err)
			}
			sameAsStd(t, d, fmt.Sprintf("payload %d", i), raw, raw)
		}
	})
}

func TestMovemask(t *testing.T) {
	for bitsIn := range 256 {
		var x uint64
		for k := range 8 {
			if bitsIn&(1<<k) != 0 {
				x |= 0x80 << (8 * k)
			}
			x |= uint64(k*13+bitsIn) & 0x7f << (8 * k) // low bits must not matter
		}
		if got := movemask(x); got != uint64(bitsIn) {
			t.Fatalf("movemask(%#x) = %#x, want %#x", x, got, bitsIn)
		}
	}
}

// TestNumberFastPath: the strconv-free path for plain integers reads what
// strconv reads, and leaves the cursor where the general path does.
func TestNumberFastPath(t *testing.T) {
	general := func(b []byte) (int64, int, bool) {
		i := 0
		for i < len(b) && isNumberByte(b[i]) {
			i++
		}
		lit := string(b[:i])
		if n, err := strconv.ParseInt(lit, 10, 64); err == nil {
			return n, i, true
		}
		f, err := strconv.ParseFloat(lit, 64)
		if err != nil || i == 0 {
			return 0, 0, false
		}
		return int64(f), i, true
	}
	lits := []string{"0", "-0", "7", "-7", "007", "1763785488123", "-1763785488123", "123456789012345678", "-123456789012345678",
		"1234567890123456789", "9223372036854775807", "-9223372036854775808", "9223372036854775808", "9999999999999999999", "99999999999999999999",
		"-", "", "+5", "1e3", "1E3", "1.5", "-1.5e2", "1-2", "12a", "12 ", "12,", "12}", "--1", "0x10", ".5", "1.", "e5"}
	for _, l := range lits {
		for _, suffix := range []string{"", ",", "}", " ", "e", "."} {
			in := l + suffix
			s := &scanner{b: []byte(in)}
			n, err := s.number()
			wn, wi, ok := general([]byte(in))
			if (err == nil) != ok || (ok && (n != wn || s.i != wi)) {
				t.Errorf("number(%q) = %d, %v, cursor %d; want %d, %v, cursor %d", in, n, err, s.i, wn, ok, wi)
			}
		}
	}
}

// IDPlain lets encoders copy an event's id instead of escaping it, so it
// must only be set when the copy is what escaping gives; and CloudWatch's
// own ids (digits), read on the compact path, must have it.
func TestIDPlain(t *testing.T) {
	t.Parallel()
	d := NewDecoder(DefaultLimits)
	ids := append([]string{"37011283423949447312369843214530925358934215553711882240", "abc-DEF_1.2", "a b~"}, stringCases...)
	for _, id := range ids {
		for _, pad := range []string{"", "xxx", strings.Repeat("y", 9)} {
			id := pad + id
			for _, compact := range []bool{true, false} {
				p := `{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","subscriptionFilters":[],"logEvents":[{"id":"` + id + `","timestamp":1,"message":"m"}]}`
				if !compact {
					p = strings.Replace(p, `{"id":`, `{ "id" : `, 1)
				}
				env, err := d.Parse([]byte(p))
				if err != nil {
					continue // invalid escapes: TestParseMatchesEncodingJSON covers them
				}
				e := env.LogEvents[0]
				if e.IDPlain && string(record.AppendString(nil, e.ID)) != `"`+e.ID+`"` {
					t.Errorf("id %q: IDPlain set, but escaping changes it", id)
				}
				plain := !strings.ContainsAny(id, `"\`)
				for i := 0; i < len(id); i++ {
					plain = plain && id[i] >= 0x20 && id[i] < 0x80
				}
				if compact && plain && !e.IDPlain {
					t.Errorf("id %q: plain, read on the compact path, IDPlain not set", id)
				}
			}
		}
	}
}
