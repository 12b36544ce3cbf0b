package cwlogs

import (
	"bytes"
	stdgzip "compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/tributary-logs/tributary/shared/workloadtest"
)

// workloadPayloads returns the gzip'd payloads of the shared workload's 5 MiB
// Firehose event when $TRIBUTARY_WORKLOAD is set, else the fixtures.
func workloadPayloads(b *testing.B) [][]byte {
	if recs := workloadtest.FirehoseRecords(b, "firehose-5.json"); recs != nil {
		return recs
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

// benchPayloads runs each on every workload payload per iteration,
// reporting MB/s of the messages they hold.
func benchPayloads(b *testing.B, each func(p []byte) error) {
	payloads := workloadPayloads(b)
	benchOn(b, payloads, messageBytes(b, payloads), each)
}

func benchOn(b *testing.B, payloads [][]byte, msgBytes int64, each func(p []byte) error) {
	b.SetBytes(msgBytes)
	b.ReportAllocs()
	for b.Loop() {
		for _, p := range payloads {
			if err := each(p); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkInflate is gunzip alone: the floor under Decode.
func BenchmarkInflate(b *testing.B) {
	d := NewDecoder(DefaultLimits)
	benchPayloads(b, func(p []byte) error { _, err := d.Inflate(p); return err })
}

// BenchmarkDecode is gunzip + parse, with the decoder Tributary uses.
func BenchmarkDecode(b *testing.B) {
	d := NewDecoder(DefaultLimits)
	benchPayloads(b, func(p []byte) error { _, err := d.Decode(p); return err })
}

// BenchmarkDecodeEncodingJSON is gunzip + encoding/json, for comparison
// (the measurement behind writing our own parser).
func BenchmarkDecodeEncodingJSON(b *testing.B) {
	d := NewDecoder(DefaultLimits)
	benchPayloads(b, func(p []byte) error {
		raw, err := d.Inflate(p)
		if err != nil {
			return err
		}
		var w want
		return json.Unmarshal(raw, &w)
	})
}

// BenchmarkInflateStdlib is gunzip with the standard library, for the
// comparison behind choosing klauspost/compress.
func BenchmarkInflateStdlib(b *testing.B) {
	var buf bytes.Buffer
	zr := new(stdgzip.Reader)
	benchPayloads(b, func(p []byte) error {
		if err := zr.Reset(bytes.NewReader(p)); err != nil {
			return err
		}
		buf.Reset()
		_, err := buf.ReadFrom(zr)
		return err
	})
}

// BenchmarkParse is the parse alone, on payloads inflated beforehand: the
// part of Decode that is this package's own code.
func BenchmarkParse(b *testing.B) {
	payloads := workloadPayloads(b)
	d := NewDecoder(DefaultLimits)
	plain := make([][]byte, len(payloads))
	for i, p := range payloads {
		raw, err := d.Inflate(p)
		if err != nil {
			b.Fatal(err)
		}
		plain[i] = bytes.Clone(raw)
	}
	benchOn(b, plain, messageBytes(b, payloads), func(p []byte) error { _, err := d.Parse(p); return err })
}
