package lake

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Benchmarks. `make bench` runs them with GOMAXPROCS=1 and
// TRIBUTARY_WORKLOAD pointing at the shared workload; tools/bench-lake.sh
// adds the peak RSS of the real bootstrap and DuckDB's figures.

func convertFileBench(b *testing.B, path string, cfg ConvertConfig) {
	b.Helper()
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	if cfg.TempDir == "" {
		cfg.TempDir = b.TempDir()
	}
	c := NewConverter(cfg)
	var out int64
	var rows int64
	b.SetBytes(st.Size())
	b.ReportAllocs()
	peak := samplePeak()
	cpu0 := cpuSeconds()
	b.ResetTimer()
	for range b.N {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		out = 0
		res, err := c.Convert(context.Background(), f, func(o *OutputFile) error { out += o.Size; return nil },
			func(*Rejection) error { return nil })
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		rows = res.Rows
	}
	b.StopTimer()
	cpu := cpuSeconds() - cpu0
	b.ReportMetric(100*float64(out)/float64(st.Size()), "out-%")
	b.ReportMetric(float64(rows), "rows")
	b.ReportMetric(float64(st.Size())/1e6*float64(b.N)/cpu, "cpu-MB/s")
	b.ReportMetric(float64(peak())/(1<<20), "peak-go-MiB")
}

// cpuSeconds is this process's user+system CPU time: on a busy machine
// MB per CPU second compares better than wall-clock MB/s.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// samplePeak samples the memory the Go runtime has mapped (heap, stacks,
// runtime structures: close to the RSS) every 5 ms until the returned
// function is called, which returns the peak.
func samplePeak() func() uint64 {
	sample := []metrics.Sample{{Name: "/memory/classes/total:bytes"}}
	var peakBytes atomic.Uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > peakBytes.Load() {
				peakBytes.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-stopped
		return peakBytes.Load()
	}
}

// BenchmarkConvertSample: the repository's fixture (always available).
func BenchmarkConvertSample(b *testing.B) {
	path := filepath.Join(b.TempDir(), "sample.ndjson")
	data := bytes.Repeat(sampleNDJSON(b), 200) // ~6 MB
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Fatal(err)
	}
	convertFileBench(b, path, ConvertConfig{})
}

// workloadFile returns the shared workload's events-200.ndjson or skips.
func workloadFile(b *testing.B) string {
	b.Helper()
	dir := os.Getenv("TRIBUTARY_WORKLOAD")
	if dir == "" {
		b.Skip("TRIBUTARY_WORKLOAD is not set: the workload benchmarks need the shared workload (make bench generates it from ../shared/workload)")
	}
	path := filepath.Join(dir, "events-200.ndjson")
	if _, err := os.Stat(path); err != nil {
		b.Skipf("%s is absent (make bench generates it from ../shared/workload): %v", path, err)
	}
	return path
}

// BenchmarkConvertWorkload: the shared workload's 200 MiB of flattened
// events, as is (the same input DuckDB's figure below reads).
func BenchmarkConvertWorkload(b *testing.B) {
	convertFileBench(b, workloadFile(b), ConvertConfig{})
}

var (
	normOnce sync.Once
	normPath string
)

// BenchmarkConvertWorkloadNormalized: the same events normalized by
// shared/ingest first (level, trace_id, source_type, fields filled in), as
// Firehose delivers them to the lake.
func BenchmarkConvertWorkloadNormalized(b *testing.B) {
	convertFileBench(b, normalizedWorkload(b), ConvertConfig{})
}

// normalizedWorkload writes the workload normalized by shared/ingest to a
// temporary file once per process.
func normalizedWorkload(b *testing.B) string {
	src := workloadFile(b)
	normOnce.Do(func() {
		flat, err := os.ReadFile(src)
		if err != nil {
			b.Fatal(err)
		}
		normPath = filepath.Join(os.TempDir(), "tributary-lake-bench-normalized.ndjson")
		if err := os.WriteFile(normPath, normalizeFlat(b, flat), 0o644); err != nil {
			b.Fatal(err)
		}
	})
	return normPath
}

// BenchmarkGzip6Workload: gzip level 6 of the same NDJSON (Go's
// compress/gzip), the size and speed Firehose's own GZIP compares with.
func BenchmarkGzip6Workload(b *testing.B) {
	path := workloadFile(b)
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	var n int64
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for range b.N {
		cw := &countWriter{}
		zw, _ := gzip.NewWriterLevel(cw, 6)
		if _, err := zw.Write(data); err != nil {
			b.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			b.Fatal(err)
		}
		n = cw.n
	}
	b.ReportMetric(100*float64(n)/float64(len(data)), "out-%")
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// BenchmarkDuckDBCopyWorkload: DuckDB 1.5's own NDJSON -> zstd Parquet COPY
// on one thread, measured in the same run. MB/s is from DuckDB's own
// timing (node's start-up excluded); cpu-MB/s per CPU second.
func BenchmarkDuckDBCopyWorkload(b *testing.B) { duckdbCopyBench(b, workloadFile(b)) }

// BenchmarkDuckDBCopyWorkloadNormalized: DuckDB on the normalized records
// (it makes fields a STRUCT of every key it saw).
func BenchmarkDuckDBCopyWorkloadNormalized(b *testing.B) { duckdbCopyBench(b, normalizedWorkload(b)) }

func duckdbCopyBench(b *testing.B, path string) {
	st, _ := os.Stat(path)
	duckdbTool(b)
	out := filepath.Join(b.TempDir(), "duckdb.parquet")
	var r struct {
		Seconds     float64 `json:"seconds"`
		CPUSeconds  float64 `json:"cpu_seconds"`
		OutputBytes int64   `json:"output_bytes"`
	}
	var secs, cpu float64
	for range b.N {
		if err := json.Unmarshal(lakecheck(b, "copy", path, out), &r); err != nil {
			b.Fatal(err)
		}
		secs += r.Seconds
		cpu += r.CPUSeconds
	}
	mb := float64(st.Size()) / 1e6 * float64(b.N)
	b.ReportMetric(mb/secs, "duckdb-MB/s")
	b.ReportMetric(mb/cpu, "duckdb-cpu-MB/s")
	b.ReportMetric(100*float64(r.OutputBytes)/float64(st.Size()), "out-%")
}

// BenchmarkParse: the NDJSON record decoder alone.
func BenchmarkParse(b *testing.B) {
	lines := bytes.Split(bytes.TrimSpace(sampleNDJSON(b)), []byte("\n"))
	var total int
	for _, l := range lines {
		total += len(l) + 1
	}
	var p parser
	arena := make([]byte, 0, 1<<20)
	b.SetBytes(int64(total))
	b.ReportAllocs()
	for range b.N {
		arena = arena[:0]
		p.hasPrev = false
		for _, l := range lines {
			var row slotRow
			var err error
			arena, _, err = p.parseRecord(l, 0, arena, &row)
			if err != nil {
				b.Fatal(err)
			}
			p.hasPrev = false
		}
	}
}
