package lake

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestConvertFile: the demo's entry point writes the lake layout locally,
// rejected lines beside it, and a query that DuckDB runs on the result.
func TestConvertFile(t *testing.T) {
	t.Parallel()
	in, good := sampleWithBadLines(t)
	src := filepath.Join(t.TempDir(), "firehose-output.ndjson.gz")
	if err := os.WriteFile(src, gzipBytes(t, in), 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	res, err := ConvertFile(context.Background(), src, out, LocalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != int64(good) || res.RejectedLines != 4 || len(res.Files) != 2 {
		t.Fatalf("result %+v", res)
	}
	for i, h := range []string{"00", "01"} {
		want := filepath.Join(out, "logs", "dt=2025-11-20", "hour="+h, OutputName("file", "firehose-output.ndjson.gz", "")+".parquet")
		if res.Files[i] != want {
			t.Errorf("file %d = %s, want %s", i, res.Files[i], want)
		}
	}
	rej, err := os.ReadFile(res.RejectedFile)
	if err != nil || bytes.Count(rej, []byte("\n")) != 4 {
		t.Errorf("rejected file %s: %v\n%s", res.RejectedFile, err, rej)
	}
	left, _ := filepath.Glob(filepath.Join(out, ".lake-tmp-*"))
	if len(left) != 0 {
		t.Errorf("temporary folders left: %v", left)
	}
	// again: the same files, overwritten
	again, err := ConvertFile(context.Background(), src, out, LocalOptions{})
	if err != nil || !slices.Equal(again.Files, res.Files) {
		t.Fatalf("second run %+v %v", again, err)
	}

	duckdbTool(t)
	var rows []map[string]any
	if err := json.Unmarshal(lakecheck(t, "query", DuckDBQuery(res.Root)), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 || rows[0]["log_group"] == nil {
		t.Errorf("demo query returned %v", rows)
	}
}

// TestAthenaQueries runs every queries/*.sql on the sample lake in DuckDB,
// with Athena's json_extract_scalar and approx_percentile defined as
// macros and the table as a Hive-partitioned view, and checks the answers
// against the sample computed here.
func TestAthenaQueries(t *testing.T) {
	t.Parallel()
	duckdbTool(t)
	src := filepath.Join(t.TempDir(), "sample.ndjson")
	if err := os.WriteFile(src, sampleNDJSON(t), 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	res, err := ConvertFile(context.Background(), src, out, LocalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	glob := filepath.ToSlash(filepath.Join(res.Root, "*", "*", "*.parquet"))
	prelude := `CREATE SCHEMA tributary;
CREATE VIEW tributary.logs AS SELECT * FROM read_parquet('` + glob + `', hive_partitioning = true, hive_types = {'dt': VARCHAR, 'hour': VARCHAR});
CREATE MACRO json_extract_scalar(j, p) AS json_extract_string(j, p);
CREATE MACRO approx_percentile(x, q) AS approx_quantile(x, q);
`
	run := func(name string) []map[string]any {
		t.Helper()
		sql, err := os.ReadFile(filepath.Join("..", "..", "queries", name))
		if err != nil {
			t.Fatal(err)
		}
		var rows []map[string]any
		if err := json.Unmarshal(lakecheck(t, "query", prelude+string(sql)), &rows); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(rows) == 0 {
			t.Errorf("%s returned no rows", name)
		}
		return rows
	}
	recs := sampleRecords(t)

	t.Run("errors", func(t *testing.T) {
		want := map[string]float64{}
		for _, r := range recs {
			if r.Level == "ERROR" || r.Level == "FATAL" {
				want[PartitionOf(r.TS).HourString()+" "+r.LogGroup]++
			}
		}
		got := map[string]float64{}
		for _, r := range run("errors-by-log-group-per-hour.sql") {
			got[r["hour"].(string)+" "+r["log_group"].(string)] = num(r["errors"])
		}
		if len(want) == 0 || !mapsEqual(got, want) {
			t.Errorf("errors by group and hour %v, want %v", got, want)
		}
	})
	t.Run("lambda p99", func(t *testing.T) {
		var durations []float64
		for _, r := range recs {
			if r.SourceType == "lambda_platform" && r.Fields["type"] == "report" {
				durations = append(durations, r.Fields["duration_ms"].(float64))
			}
		}
		rows := run("lambda-p99-duration.sql")
		if len(rows) != 1 || rows[0]["log_group"] != "/aws/lambda/checkout" || num(rows[0]["invocations"]) != float64(len(durations)) ||
			num(rows[0]["max_ms"]) != slices.Max(durations) || num(rows[0]["p99_ms"]) < 165 {
			t.Errorf("p99 rows %v; REPORT durations %v", rows, durations)
		}
	})
	t.Run("follow trace", func(t *testing.T) {
		var want int
		for _, r := range recs {
			if r.TraceID == "4bf92f3577b34da6a3ce929d0e0e4736" {
				want++
			}
		}
		rows := run("follow-trace.sql")
		if len(rows) != want || want < 3 {
			t.Errorf("%d rows, want %d", len(rows), want)
		}
		groups := map[any]bool{}
		for i, r := range rows {
			groups[r["log_group"]] = true
			if i > 0 && r["timestamp"].(string) < rows[i-1]["timestamp"].(string) {
				t.Errorf("rows out of time order at %d", i)
			}
		}
		if len(groups) < 2 {
			t.Errorf("the trace spans %d log groups; the sample has it in two", len(groups))
		}
	})
	t.Run("vpc top talkers", func(t *testing.T) {
		bytesOf := map[string]float64{}
		for _, r := range recs {
			if r.SourceType == "vpc_flow" && r.Fields["action"] == "ACCEPT" {
				bytesOf[r.Fields["srcaddr"].(string)+" "+r.Fields["dstaddr"].(string)] += r.Fields["bytes"].(float64)
			}
		}
		var top string
		for k, v := range bytesOf {
			if top == "" || v > bytesOf[top] || (v == bytesOf[top] && k < top) {
				top = k
			}
		}
		rows := run("vpc-top-talkers.sql")
		if len(rows) != len(bytesOf) || rows[0]["srcaddr"].(string)+" "+rows[0]["dstaddr"].(string) != top || num(rows[0]["bytes"]) != bytesOf[top] {
			t.Errorf("top talkers %v, want %s first with %v bytes", rows, top, bytesOf[top])
		}
	})
}

type sampleRecord struct {
	TS         int64
	LogGroup   string         `json:"log_group"`
	Level      string         `json:"level"`
	TraceID    string         `json:"trace_id"`
	SourceType string         `json:"source_type"`
	Fields     map[string]any `json:"fields"`
	At         string         `json:"@timestamp"`
}

func sampleRecords(t *testing.T) []sampleRecord {
	t.Helper()
	var out []sampleRecord
	sc := bufio.NewScanner(bytes.NewReader(sampleNDJSON(t)))
	for sc.Scan() {
		var r sampleRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		ts, ok := parseTime([]byte(r.At))
		if !ok {
			t.Fatalf("bad time %q", r.At)
		}
		r.TS = ts
		out = append(out, r)
	}
	return out
}

// num reads a JSON number DuckDB may have sent as a string (BIGINT).
func num(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case string:
		var f float64
		if err := json.Unmarshal([]byte(strings.TrimSpace(x)), &f); err == nil {
			return f
		}
	}
	return math.NaN()
}

func mapsEqual(a, b map[string]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
