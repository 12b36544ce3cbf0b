package transform

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/gzip"

	"github.com/tributary-logs/tributary/shared/b64"
	"github.com/tributary-logs/tributary/shared/cwlogs"
	"github.com/tributary-logs/tributary/shared/gunzip"
)

// benchInputs are the shared workload's Firehose events when
// $TRIBUTARY_WORKLOAD points at them (make bench generates them from
// ../shared/workload), plus the repo's own sample event, which always runs.
func benchInputs(b *testing.B) map[string][]byte {
	in := map[string][]byte{"sample": readEvent(b, "../../events/transform/firehose-cloudwatch.json")}
	dir := os.Getenv("TRIBUTARY_WORKLOAD")
	if dir == "" {
		b.Log("TRIBUTARY_WORKLOAD is not set: benchmarking the repo's sample event only (make bench sets it)")
		return in
	}
	for _, name := range []string{"firehose-5.json", "firehose-50.json"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			b.Logf("workload file %s absent: %v", name, err)
			continue
		}
		in[name[:len(name)-5]] = data
	}
	return in
}

// messageBytes counts the uncompressed log message bytes of an event: the
// unit both the benchmark and its floor report, as MB/s.
func messageBytes(b *testing.B, event []byte) int64 {
	var ev struct {
		Records []struct {
			Data []byte `json:"data"`
		} `json:"records"`
	}
	if err := json.Unmarshal(event, &ev); err != nil {
		b.Fatal(err)
	}
	var n int64
	d := cwlogs.NewDecoder(cwlogs.DefaultLimits)
	for _, r := range ev.Records {
		if env, err := d.Decode(r.Data); err == nil {
			for _, e := range env.LogEvents {
				n += int64(len(e.Message))
			}
		} else {
			n += int64(len(r.Data))
		}
	}
	return n
}

// BenchmarkTransform is the whole per-invocation path: event JSON in,
// base64 + gunzip + parse + redact + normalize + NDJSON + base64, response
// JSON out. The response budget is lifted so every event is transformed
// here (in Lambda, what exceeds 6 MB is split and re-ingested instead).
func BenchmarkTransform(b *testing.B) {
	for name, event := range benchInputs(b) {
		b.Run(name, func(b *testing.B) {
			h := New(newProcessor(b, nil), Options{Limits: Limits{ResponseBytes: 1 << 40, ChunkOutputBytes: 1 << 20, ChunkInputBytes: 900 << 10}})
			b.SetBytes(messageBytes(b, event))
			b.ReportAllocs()
			// A warm container: the first invocation grows the reused
			// buffers (for the 50 MB event, 1 GB of copying at the runtime's
			// 1.25× growth), which would otherwise be most of a 3-run result.
			if _, _, err := h.Process(context.Background(), event); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				if _, _, err := h.Process(context.Background(), event); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFloor is what bounds any transform: base64-decode, gunzip and
// base64-encode of the same records, nothing else, with the libraries the
// transform uses (shared/b64, shared/gunzip).
func BenchmarkFloor(b *testing.B) {
	var z gunzip.Inflater
	benchFloor(b, b64.AppendDecode, func(dst, src []byte) ([]byte, error) {
		return z.Append(dst, src, 64<<20)
	}, b64.AppendEncode)
}

// BenchmarkFloorStdlib is the floor as the issue measured it (227–262 MiB/s
// here): encoding/base64 and klauspost/compress's gzip reader.
func BenchmarkFloorStdlib(b *testing.B) {
	zr := new(gzip.Reader)
	var inflated bytes.Buffer
	benchFloor(b, base64.StdEncoding.AppendDecode, func(dst, src []byte) ([]byte, error) {
		if err := zr.Reset(bytes.NewReader(src)); err != nil {
			return dst, err
		}
		inflated.Reset()
		_, err := io.Copy(&inflated, zr)
		return inflated.Bytes(), err
	}, base64.StdEncoding.AppendEncode)
}

func benchFloor(b *testing.B, decode func(dst, src []byte) ([]byte, error), inflate func(dst, src []byte) ([]byte, error), encode func(dst, src []byte) []byte) {
	for name, event := range benchInputs(b) {
		b.Run(name, func(b *testing.B) {
			var ev struct {
				Records []struct {
					Data string `json:"data"`
				} `json:"records"`
			}
			if err := json.Unmarshal(event, &ev); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(messageBytes(b, event))
			b.ReportAllocs()
			var raw, inflated, out []byte
			pass := func() {
				out = out[:0]
				for _, r := range ev.Records {
					raw, _ = decode(raw[:0], []byte(r.Data))
					var err error
					if inflated, err = inflate(inflated[:0], raw); err != nil {
						inflated = append(inflated[:0], raw...) // a plain-line record
					}
					out = encode(out, inflated)
				}
			}
			pass() // warm, as BenchmarkTransform is
			b.ResetTimer()
			for b.Loop() {
				pass()
			}
		})
	}
}
