package normalize

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"testing"

	"github.com/tributary-logs/tributary/shared/record"
)

// benchMessages normalizes msgs round-robin, b.SetBytes counting one pass.
func benchMessages(b *testing.B, msgs []string) {
	b.Helper()
	total := 0
	for _, m := range msgs {
		total += len(m)
	}
	n := New(Limits{})
	var rec record.Record
	for _, m := range msgs { // grow buffers outside the timer
		rec.Message = m
		n.Normalize(&rec)
	}
	runtime.GC() // finish the setup's garbage before timing
	b.SetBytes(int64(total))
	b.ReportAllocs()
	cpu0, cpuOK := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, m := range msgs {
			rec.Message = m
			n.Normalize(&rec)
		}
	}
	b.StopTimer()
	// On a shared machine wall-clock MB/s counts the time other processes
	// held the CPU; MB per CPU second does not.
	if cpu1, ok := cpuTime(); ok && cpuOK && cpu1 > cpu0 {
		b.ReportMetric(float64(total)*float64(b.N)/(cpu1-cpu0).Seconds()/1e6, "MB/cpu-s")
	}
}

// BenchmarkFormat measures each parser on its fixtures (negative cases,
// which end as text, excluded) and on its table example.
func BenchmarkFormat(b *testing.B) {
	byParser := map[string][]string{}
	paths := fixtures(b)
	names := make([]string, 0, len(paths))
	for name := range paths {
		names = append(names, name)
	}
	sort.Strings(names)
	n := New(Limits{})
	for _, name := range names {
		msg, err := os.ReadFile(paths[name])
		if err != nil {
			b.Fatal(err)
		}
		rec := record.Record{Message: string(msg)}
		st := n.Normalize(&rec)
		byParser[st.Parser] = append(byParser[st.Parser], string(msg))
	}
	for _, f := range formats {
		msgs := append([]string{f.example}, byParser[f.name]...)
		b.Run(f.name, func(b *testing.B) { benchMessages(b, msgs) })
	}
}

// BenchmarkFixtureMix: every fixture once, a mix that always exists.
func BenchmarkFixtureMix(b *testing.B) {
	var msgs []string
	for _, path := range fixtures(b) {
		msg, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		msgs = append(msgs, string(msg))
	}
	sort.Strings(msgs)
	benchMessages(b, msgs)
}

// workloadBytes bounds how much of the shared workload the benchmark reads.
const workloadBytes = 64 << 20

// BenchmarkWorkload normalizes the messages of the first 64 MB of the shared
// benchmark workload ($TRIBUTARY_WORKLOAD/events-200.ndjson, written by
// ../shared/workload: `go run . standard -out DIR`), the realistic mix of
// JSON, access logs, VPC flow logs, Lambda platform lines, stack traces,
// CloudTrail and Korean text.
func BenchmarkWorkload(b *testing.B) {
	dir := os.Getenv("TRIBUTARY_WORKLOAD")
	if dir == "" {
		b.Skip("TRIBUTARY_WORKLOAD is not set; generate the workload with `cd ../shared/workload && go run . standard -out DIR` and set TRIBUTARY_WORKLOAD=DIR (make bench does both)")
	}
	path := filepath.Join(dir, "events-200.ndjson")
	f, err := os.Open(path)
	if err != nil {
		b.Skipf("workload not readable: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 8<<20)
	var msgs []string
	read := 0
	for sc.Scan() && read < workloadBytes {
		line := sc.Bytes()
		read += len(line) + 1
		var ev struct {
			Message string `json:"message"`
		}
		if err := json.NewDecoder(bytes.NewReader(line)).Decode(&ev); err != nil {
			b.Fatalf("%s: %v", path, err)
		}
		msgs = append(msgs, ev.Message)
	}
	if err := sc.Err(); err != nil {
		b.Fatalf("%s: %v", path, err)
	}
	if len(msgs) == 0 {
		b.Skipf("%s holds no events", path)
	}
	total := 0
	for _, m := range msgs {
		total += len(m)
	}
	b.Logf("%d events, %d MiB of messages", len(msgs), total>>20)
	benchMessages(b, msgs)
}
