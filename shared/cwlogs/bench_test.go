package cwlogs

import (
	"bytes"
	stdgzip "compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// workloadPayloads returns the gzip'd payloads of the shared workload's 5 MiB
// Firehose event when $TRIBUTARY_WORKLOAD is set, else the fixtures.
func workloadPayloads(b *testing.B) [][]byte {
	if dir := os.Getenv("TRIBUTARY_WORKLOAD"); dir != "" {
		raw, err := os.ReadFile(filepath.Join(dir, "firehose-5.json"))
		if err == nil {
			var ev struct {
				Records []struct {
					Data []byte `json:"data"`
				} `json:"records"`
			}
			if err := json.Unmarshal(raw, &ev); err != nil {
				b.Fatal(err)
			}
			out := make([][]byte, len(ev.Records))
			for i, r := range ev.Records {
				out[i] = r.Data
			}
			return out
		}
		b.Logf("workload absent (%v): using fixtures", err)
	} else {
		b.Log("TRIBUTARY_WORKLOAD is not set: using the fixtures (make bench sets it)")
	}
	files, _ := filepath.Glob("testdata/*.json")
	var out [][]byte
	for _, f := range files {
		raw, _ := os.ReadFile(f)
		out = append(out, gz(b, raw))
	}
	return out
}

func messageBytes(b *testing.B, payloads [][]byte) int64 {
	var n int64
	d := NewDecoder(DefaultLimits)
	for _, p := range payloads {
		env, err := d.Decode(p)
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range env.LogEvents {
			n += int64(len(e.Message))
		}
	}
	return n
}

// BenchmarkInflate is gunzip alone: the floor under Decode.
func BenchmarkInflate(b *testing.B) {
	payloads := workloadPayloads(b)
	b.SetBytes(messageBytes(b, payloads))
	b.ReportAllocs()
	d := NewDecoder(DefaultLimits)
	for b.Loop() {
		for _, p := range payloads {
			if _, err := d.Inflate(p); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkDecode is gunzip + parse, with the decoder Tributary uses.
func BenchmarkDecode(b *testing.B) {
	payloads := workloadPayloads(b)
	b.SetBytes(messageBytes(b, payloads))
	b.ReportAllocs()
	d := NewDecoder(DefaultLimits)
	for b.Loop() {
		for _, p := range payloads {
			if _, err := d.Decode(p); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkDecodeEncodingJSON is the same with encoding/json, for comparison
// (the measurement behind choosing our decoder).
func BenchmarkDecodeEncodingJSON(b *testing.B) {
	payloads := workloadPayloads(b)
	b.SetBytes(messageBytes(b, payloads))
	b.ReportAllocs()
	d := NewDecoder(DefaultLimits)
	for b.Loop() {
		for _, p := range payloads {
			raw, err := d.Inflate(p)
			if err != nil {
				b.Fatal(err)
			}
			var w want
			if err := json.Unmarshal(raw, &w); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkInflateStdlib is gunzip with the standard library, for the
// comparison behind choosing klauspost/compress.
func BenchmarkInflateStdlib(b *testing.B) {
	payloads := workloadPayloads(b)
	b.SetBytes(messageBytes(b, payloads))
	b.ReportAllocs()
	var buf bytes.Buffer
	zr := new(stdgzip.Reader)
	for b.Loop() {
		for _, p := range payloads {
			if err := zr.Reset(bytes.NewReader(p)); err != nil {
				b.Fatal(err)
			}
			buf.Reset()
			if _, err := buf.ReadFrom(zr); err != nil {
				b.Fatal(err)
			}
		}
	}
}
