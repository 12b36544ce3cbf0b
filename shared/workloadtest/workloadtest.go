// Package workloadtest reads the shared benchmark workload for tests and
// benchmarks: the Firehose and awslogs events that ../shared/workload
// writes into $TRIBUTARY_WORKLOAD (make bench generates them and sets it).
// Every reader says why it found nothing, so the caller can fall back on its
// own fixtures and the log shows which inputs ran.
package workloadtest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// Dir returns $TRIBUTARY_WORKLOAD, or "" after logging that it is not set.
func Dir(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv("TRIBUTARY_WORKLOAD")
	if dir == "" {
		tb.Log("TRIBUTARY_WORKLOAD is not set: the workload is skipped (make bench sets it)")
	}
	return dir
}

// FirehoseRecords returns the decoded data of every record of the workload's
// Firehose event name (e.g. "firehose-5.json"): gzip'd CloudWatch Logs
// payloads, and the odd plain-text record. It returns nil, having logged
// why, when the workload or the file is absent; a file that is there but
// unreadable as an event fails tb.
func FirehoseRecords(tb testing.TB, name string) [][]byte {
	tb.Helper()
	raw := read(tb, name)
	if raw == nil {
		return nil
	}
	var ev struct {
		Records []struct {
			Data []byte `json:"data"`
		} `json:"records"`
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
		tb.Fatalf("workload %s: %v", name, err)
	}
	out := make([][]byte, len(ev.Records))
	for i, r := range ev.Records {
		out[i] = r.Data
	}
	return out
}

// AWSLogsPayload returns the decoded, still gzip'd payload of the workload's
// subscription event name (e.g. "awslogs-1.json"), or nil as
// FirehoseRecords does.
func AWSLogsPayload(tb testing.TB, name string) []byte {
	tb.Helper()
	raw := read(tb, name)
	if raw == nil {
		return nil
	}
	var ev struct {
		AWSLogs struct {
			Data []byte `json:"data"`
		} `json:"awslogs"`
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
		tb.Fatalf("workload %s: %v", name, err)
	}
	return ev.AWSLogs.Data
}

func read(tb testing.TB, name string) []byte {
	tb.Helper()
	dir := Dir(tb)
	if dir == "" {
		return nil
	}
	raw, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		tb.Logf("workload file absent: %v", err)
		return nil
	}
	return raw
}
