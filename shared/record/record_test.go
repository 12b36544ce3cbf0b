package record

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestAppendString(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"": `""`,
		"plain ascii text, longer than eight bytes": `"plain ascii text, longer than eight bytes"`,
		`quote " and back \ slash`:                  `"quote \" and back \\ slash"`,
		"tab\tnew\nline\rcr":                        `"tab\tnew\nline\rcr"`,
		"ctl \x01\x1f":                              `"ctl \u0001\u001f"`,
		"한국어 로그 🎉":                                  `"한국어 로그 🎉"`,
		"bad \xff\xfe bytes":                        `"bad ` + "\ufffd\ufffd" + ` bytes"`,
		"cut \xe2\x82":                              `"cut ` + "\ufffd\ufffd" + `"`,
		"sep \u2028 \u2029":                         `"sep \u2028 \u2029"`,
		"12345678\"12345678":                        `"12345678\"12345678"`,
	}
	for in, want := range cases {
		if got := string(AppendString(nil, in)); got != want {
			t.Errorf("AppendString(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestRecordJSON(t *testing.T) {
	t.Parallel()
	r := Record{TimestampMillis: 1763785488123, ID: "1", Owner: "123456789012", LogGroup: "/g", LogStream: "s",
		Message: "m", Level: "ERROR", TraceID: "t", SourceType: SourceJSON, Fields: []byte(`{"a":1}`)}
	want := `{"@timestamp":"2025-11-22T04:24:48.123Z","id":"1","owner":"123456789012","log_group":"/g","log_stream":"s","message":"m","level":"ERROR","trace_id":"t","source_type":"json","fields":{"a":1}}`
	if got := string(r.AppendJSON(nil)); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	r.OriginJSON = AppendOrigin(nil, r.Owner, r.LogGroup, r.LogStream)
	if got := string(r.AppendJSON(nil)); got != want {
		t.Errorf("with OriginJSON:\ngot  %s\nwant %s", got, want)
	}
	r.OriginJSON = nil
	r.Level, r.TraceID, r.Fields = "", "", nil
	want = `{"@timestamp":"2025-11-22T04:24:48.123Z","id":"1","owner":"123456789012","log_group":"/g","log_stream":"s","message":"m","source_type":"json"}`
	if got := string(r.AppendJSON(nil)); got != want {
		t.Errorf("without optional fields:\ngot  %s\nwant %s", got, want)
	}
}

func TestAppendTimestampMatchesTimeFormat(t *testing.T) {
	t.Parallel()
	check := func(ms int64) {
		t.Helper()
		want := time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z07:00")
		if got := string(AppendTimestamp(nil, ms)); got != want {
			t.Fatalf("AppendTimestamp(%d) = %s, want %s", ms, got, want)
		}
	}
	for _, ms := range []int64{0, 1, 999, 1763785488123, -1, 253402300799999, 253402300800000, -62135596800000,
		-62167219200000, -62167219200001, 951782400000, 951868799999, 4107542400000, math.MaxInt64, math.MinInt64} {
		check(ms)
	}
	// Every day from year 0 to 10000, at a time of day that moves along.
	for ms := int64(-62167219200000 - 86_400_000); ms < 253402300800000+86_400_000; ms += 86_400_000 + 7_777 {
		check(ms)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for range 100_000 {
		check(rng.Int64N(2*253402300800000) - 253402300800000)
	}
	// Times around midnight, each after one of the day before or after:
	// the remembered day must never answer for another.
	for range 10_000 {
		ms := (rng.Int64N(200_000)-20_000)*86_400_000 + rng.Int64N(4_000) - 2_000
		check(ms)
		check(ms + rng.Int64N(3_000) - 1_500)
		check(ms - 86_400_000)
		check(ms)
	}
}

// FuzzAppendString: the output is always valid JSON whose value is the
// input with invalid UTF-8 replaced, exactly what encoding/json decodes.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a\"b", "\xff", "한국어", "\u2028", strings.Repeat("x", 17) + "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := AppendString(nil, s)
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("invalid JSON %q for %q: %v", out, s, err)
		}
		if !utf8.Valid(out) {
			t.Fatalf("output is not UTF-8: %q", out)
		}
		if want := strings.ToValidUTF8(s, "\ufffd"); utf8.ValidString(s) && back != want {
			t.Fatalf("round trip %q != %q", back, want)
		}
	})
}

// BenchmarkAppendTimestamp formats a batch's worth of times a few seconds
// apart, as the events of one payload are.
func BenchmarkAppendTimestamp(b *testing.B) {
	buf := make([]byte, 0, 32)
	b.SetBytes(24)
	ms := int64(1763596800000)
	for b.Loop() {
		buf = AppendTimestamp(buf[:0], ms)
		ms += 1_337
	}
}

func BenchmarkAppendString(b *testing.B) {
	msgs := []string{
		`198.51.100.24 - - [22/Nov/2026:04:24:51 +0000] "GET /api/orders/1001 HTTP/1.1" 502 157 "-" "Mozilla/5.0"`,
		`{"level":"info","msg":"cart updated","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","http":{"method":"POST"}}`,
		"2 123456789012 eni-0a1b2c3d4e5f60718 10.0.1.23 10.0.2.45 443 49152 6 10 840 1763787880 1763787890 ACCEPT OK",
		"결제 처리 완료: 주문번호 A-1001 🎉",
	}
	n := 0
	for _, m := range msgs {
		n += len(m)
	}
	b.SetBytes(int64(n))
	b.ReportAllocs()
	buf := make([]byte, 0, 4096)
	for b.Loop() {
		buf = buf[:0]
		for _, m := range msgs {
			buf = AppendString(buf, m)
		}
	}
}

func TestMessageJSONIsCopiedVerbatim(t *testing.T) {
	t.Parallel()
	r := Record{TimestampMillis: 0, ID: "1", Message: `a"b`, MessageJSON: []byte(`a\"b`), SourceType: SourceText}
	want := `{"@timestamp":"1970-01-01T00:00:00.000Z","id":"1","owner":"","log_group":"","log_stream":"","message":"a\"b","source_type":"text"}`
	if got := string(r.AppendJSON(nil)); got != want {
		t.Errorf("got %s", got)
	}
}

// NeedsEscape agrees with the byte-by-byte definition for every byte value
// at every position of the word, among plain neighbours.
func TestNeedsEscape(t *testing.T) {
	t.Parallel()
	for pos := 0; pos < 8; pos++ {
		for c := 0; c < 256; c++ {
			word := []byte("abcdefgh")
			word[pos] = byte(c)
			x := uint64(0)
			for i := 7; i >= 0; i-- {
				x = x<<8 | uint64(word[i])
			}
			want := c < 0x20 || c == '"' || c == '\\' || c >= 0x80
			if got := NeedsEscape(x); got != want {
				t.Fatalf("byte %#x at %d: NeedsEscape = %v, want %v", c, pos, got, want)
			}
		}
	}
}

// A plain ID (IDPlain) is copied: the JSON must be what escaping gives.
func TestPlainIDIsCopied(t *testing.T) {
	t.Parallel()
	for _, id := range []string{"37011283423949447312369843214530925358934215553711882240", "a-b_c.d", ""} {
		r := Record{ID: id, Message: "m", SourceType: SourceText}
		want := string(r.AppendJSON(nil))
		r.IDPlain = true
		if got := string(r.AppendJSON(nil)); got != want || !strings.Contains(got, `"id":"`+id+`"`) {
			t.Errorf("id %q: copied %s, escaped %s", id, got, want)
		}
	}
}
