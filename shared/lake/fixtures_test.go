package lake

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/tributary-logs/tributary/shared/config"
	"github.com/tributary-logs/tributary/shared/ingest"
	"github.com/tributary-logs/tributary/shared/record"
)

var update = flag.Bool("update", false, "rewrite testdata/raw-sample.ndjson and golden files")

// flatEvent is the flattened CloudWatch Logs event of testdata/events.ndjson
// and of the shared workload's events-200.ndjson.
type flatEvent struct {
	Owner     string `json:"owner"`
	LogGroup  string `json:"log_group"`
	LogStream string `json:"log_stream"`
	ID        string `json:"id"`
	Timestamp int64  `json:"timestamp"`
	Message   string `json:"message"`
}

// normalizeFlat turns flattened events into normalized NDJSON records, as
// the transform function writes them for Firehose, using shared/ingest.
func normalizeFlat(t testing.TB, flat []byte) []byte {
	t.Helper()
	cfg, err := config.LoadTransform(func(k string) (string, bool) {
		if k == "AWS_REGION" {
			return "us-east-1", true
		}
		if k == "REDACT" {
			return "none", true
		}
		return "", false
	})
	if err != nil {
		t.Fatal(err)
	}
	proc, err := ingest.New(cfg.Normalize)
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	sc := bufio.NewScanner(bytes.NewReader(flat))
	sc.Buffer(nil, 16<<20)
	var ev flatEvent
	var rec record.Record
	for sc.Scan() {
		ev = flatEvent{}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("flat event: %v", err)
		}
		rec = record.Record{
			TimestampMillis: ev.Timestamp, ID: ev.ID, Owner: ev.Owner,
			LogGroup: ev.LogGroup, LogStream: ev.LogStream, Message: ev.Message,
			Fields: rec.Fields[:0],
		}
		if !proc.Normalize(&rec) {
			continue
		}
		out = rec.AppendJSON(out)
		out = append(out, '\n')
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// sampleNDJSON returns testdata/raw-sample.ndjson: testdata/events.ndjson
// normalized (regenerated with -update).
func sampleNDJSON(t testing.TB) []byte {
	t.Helper()
	path := filepath.Join("testdata", "raw-sample.ndjson")
	if *update {
		flat, err := os.ReadFile(filepath.Join("testdata", "events.ndjson"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, normalizeFlat(t, flat), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// golden compares got with testdata/<name>, rewriting it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it)\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}
