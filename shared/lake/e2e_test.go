package lake

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tributary-logs/tributary/shared/bootstraptest"
	"github.com/tributary-logs/tributary/shared/lake/laketest"
	"github.com/tributary-logs/tributary/shared/lambdaruntime"
)

// These tests run the built lake bootstrap (build/lake/bootstrap, or built
// on the fly) under the local Lambda Runtime API against moto's S3.

// startLake runs the bootstrap with the lake's settings on moto.
func startLake(t *testing.T, bucket string, extra ...string) *lambdaruntime.Function {
	t.Helper()
	return startLakeConfig(t, bucket, 512, 60*time.Second, extra...)
}

func startLakeConfig(t *testing.T, bucket string, memoryMB int, timeout time.Duration, extra ...string) *lambdaruntime.Function {
	t.Helper()
	testBucket(t) // starts moto
	env := append(motoSrv.Env("us-east-1"), "LAKE_BUCKET="+bucket)
	env = append(env, extra...)
	var logs bootstraptest.Output
	fn, err := lambdaruntime.New(lambdaruntime.Config{
		Bootstrap: bootstraptest.Path(t, "lake"),
		Name:      "lake",
		Timeout:   timeout,
		MemoryMB:  memoryMB,
		Env:       env,
		Output:    &logs,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		fn.Close()
		if t.Failed() {
			t.Logf("function output:\n%s", logs.String())
		}
	})
	return fn
}

func invoke(t *testing.T, fn *lambdaruntime.Function, payload []byte) lambdaruntime.Result {
	t.Helper()
	res, err := fn.Invoke(context.Background(), payload)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestBootstrapSampleEvents runs every sample under events/lake against the
// world they assume (bucket tributary-example holding the sample raw
// object) and compares with the .expected.json beside it; -update rewrites
// them. The events integration test needs the same world.
func TestBootstrapSampleEvents(t *testing.T) {
	c, _ := testBucket(t)
	if err := laketest.Put(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	fn := startLake(t, laketest.Bucket)
	samples, _ := filepath.Glob(filepath.Join("..", "..", "events", "lake", "*.json"))
	for _, path := range samples {
		if strings.HasSuffix(path, ".expected.json") {
			continue
		}
		t.Run(filepath.Base(path), func(t *testing.T) {
			payload, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			res := invoke(t, fn, payload)
			got, err := lambdaruntime.NormalizeJSON(res.Payload)
			if err != nil {
				t.Fatalf("response is not JSON: %v\n%s", err, res.Payload)
			}
			expected := strings.TrimSuffix(path, ".json") + ".expected.json"
			if *update {
				if err := os.WriteFile(expected, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(expected)
			if err != nil {
				t.Fatalf("%v (go test ./shared/lake -run TestBootstrapSampleEvents -update writes it)", err)
			}
			if eq, err := lambdaruntime.EqualJSON(got, want); err != nil || !eq {
				t.Errorf("response differs from %s (err %v):\n%s", expected, err, got)
			}
		})
	}
}

// TestBootstrapEndToEnd: raw objects land, notifications (direct S3, SQS,
// EventBridge) make the bootstrap write Parquet into moto's S3, DuckDB reads
// what is there; then the scheduled compaction merges each hour into one
// file that DuckDB reads too.
func TestBootstrapEndToEnd(t *testing.T) {
	c, bucket := testBucket(t)
	fn := startLake(t, bucket, "ROW_GROUP_MB=1", "COMPACT_LOOKBACK=200000h", "LOG_LEVEL=debug")
	parts := sampleParts(t, 3)
	var keys []string
	for i, p := range parts {
		k := fmt.Sprintf(rawKeyFmt, i, i)
		putObject(t, c, bucket, k, p)
		keys = append(keys, k)
	}
	putObject(t, c, bucket, "raw/broken.gz", []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 1, 2, 3})

	// Direct S3 notification for the first object.
	s3ev := map[string]any{"Records": []any{map[string]any{
		"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
		"s3": map[string]any{"bucket": map[string]any{"name": bucket}, "object": map[string]any{"key": strings.ReplaceAll(keys[0], "=", "%3D")}},
	}}}
	res := invoke(t, fn, mustJSON(t, s3ev))
	if res.FunctionError || !bytes.Contains(res.Payload, []byte(`"status":"converted"`)) {
		t.Fatalf("S3 event: %s %s", res.ErrorMessage, res.Payload)
	}

	// SQS: the second object, and the broken one, which fails alone.
	msg := func(id, key string) map[string]any {
		body := map[string]any{"Records": []any{map[string]any{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
			"s3": map[string]any{"bucket": map[string]any{"name": bucket}, "object": map[string]any{"key": key}}}}}
		return map[string]any{"messageId": id, "eventSource": "aws:sqs", "body": string(mustJSON(t, body))}
	}
	res = invoke(t, fn, mustJSON(t, map[string]any{"Records": []any{msg("ok", keys[1]), msg("bad", "raw/broken.gz")}}))
	if res.FunctionError || string(res.Payload) != `{"batchItemFailures":[{"itemIdentifier":"bad"}]}` {
		t.Fatalf("SQS event: %s %s", res.ErrorMessage, res.Payload)
	}

	// EventBridge: the third.
	eb := map[string]any{"detail-type": "Object Created", "source": "aws.s3",
		"detail": map[string]any{"bucket": map[string]any{"name": bucket}, "object": map[string]any{"key": keys[2]}}}
	res = invoke(t, fn, mustJSON(t, eb))
	if res.FunctionError {
		t.Fatalf("EventBridge event: %s", res.ErrorMessage)
	}

	l := Config{}.withDefaults().Layout
	before := map[Partition]Digest{}
	for _, p := range []Partition{hour0, hour1} {
		d, files := partitionDigest(t, c, bucket, l, p)
		if len(files) != 3 {
			t.Fatalf("%s: %d files, want 3: %v", p, len(files), files)
		}
		before[p] = d
	}
	if before[hour0].Rows+before[hour1].Rows != 54 {
		t.Fatalf("lake rows %d+%d, want 54", before[hour0].Rows, before[hour1].Rows)
	}
	checkWithDuckDB(t, c, bucket, l.TablePrefix(), 54)

	// Scheduled compaction: one sorted file per hour, the same rows.
	res = invoke(t, fn, []byte(`{"action":"compact"}`))
	if res.FunctionError {
		t.Fatalf("compaction: %s", res.ErrorMessage)
	}
	var rep CompactReport
	if err := json.Unmarshal(res.Payload, &rep); err != nil || len(rep.Compacted) != 2 {
		t.Fatalf("compaction report %s (%v)", res.Payload, err)
	}
	for _, p := range []Partition{hour0, hour1} {
		d, files := partitionDigest(t, c, bucket, l, p)
		if len(files) != 1 || d != before[p] {
			t.Errorf("%s after compaction: %v, %+v; want one file with %+v", p, files, d, before[p])
		}
	}
	checkWithDuckDB(t, c, bucket, l.TablePrefix(), 54)
}

// checkWithDuckDB downloads every Parquet object under prefix and has
// DuckDB check each, and the whole table through a Hive-partitioned glob.
func checkWithDuckDB(t *testing.T, c *s3.Client, bucket, prefix string, wantRows int64) {
	t.Helper()
	dir := t.TempDir()
	var files []string
	for _, k := range listKeys(t, c, bucket, prefix) {
		path := filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(k, prefix)))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, getObject(t, c, bucket, k), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, path)
	}
	out := inspectFiles(t, []string{"trace_id=4bf92f3577b34da6a3ce929d0e0e4736"}, files...)
	var total, hits int64
	for _, f := range out.Files {
		checkDuckFile(t, f)
		total += f.Rows
		for _, l := range f.Lookups {
			hits += l.Rows
			if l.Rows > 0 && len(l.ReadRowGroups) != 1 {
				t.Errorf("%s: trace lookup reads row groups %v", f.Path, l.ReadRowGroups)
			}
		}
	}
	if total != wantRows || hits == 0 {
		t.Errorf("DuckDB reads %d rows (%d for the trace), want %d", total, hits, wantRows)
	}
	// The table as Athena would see it: Hive partitions dt and hour.
	q := fmt.Sprintf(`SELECT dt::VARCHAR AS dt, hour::VARCHAR AS hour, count(*)::INTEGER AS n, count(DISTINCT id)::INTEGER AS ids
		FROM read_parquet('%s/*/*/*.parquet', hive_partitioning = true) GROUP BY ALL ORDER BY ALL`, filepath.ToSlash(dir))
	var rows []struct {
		Dt, Hour string
		N, IDs   int
	}
	if err := json.Unmarshal(lakecheck(t, "query", q), &rows); err != nil {
		t.Fatal(err)
	}
	var n int
	for _, r := range rows {
		if r.N != r.IDs {
			t.Errorf("partition %s/%s: %d rows but %d distinct ids: duplicates", r.Dt, r.Hour, r.N, r.IDs)
		}
		n += r.N
	}
	if n != int(wantRows) || len(rows) != 2 || !slices.ContainsFunc(rows, func(r struct {
		Dt, Hour string
		N, IDs   int
	}) bool {
		return r.Dt == "2025-11-20" && r.Hour == "00"
	}) {
		t.Errorf("partitions %+v", rows)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
