package lake

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tributary-logs/tributary/shared/bootstraptest"
)

// DuckDB (@duckdb/node-api, pinned in tools/duckdb/package-lock.json) is the
// independent Parquet reader that checks our files.

var (
	duckOnce sync.Once
	duckDir  string
	duckErr  error
	duckSkip bool
)

// duckdbTool returns tools/duckdb, installing its node_modules from the
// lock file when they are missing. (`npm install --no-save` rather than
// `npm ci`: the registry this project reaches lacks the darwin and windows
// builds that @duckdb/node-bindings lists as optional, so the lock file
// cannot name them and `npm ci` refuses it.) Without node or npm the test is
// skipped, except under CI=true, where it fails.
func duckdbTool(t testing.TB) string {
	t.Helper()
	duckOnce.Do(func() {
		duckDir = filepath.Join(bootstraptest.RepoRoot(t), "tools", "duckdb")
		for _, tool := range []string{"node", "npm"} {
			if _, err := exec.LookPath(tool); err != nil {
				duckErr, duckSkip = err, true
				return
			}
		}
		if _, err := os.Stat(filepath.Join(duckDir, "node_modules", "@duckdb", "node-api", "package.json")); err == nil {
			return
		}
		cmd := exec.Command("npm", "install", "--prefix", duckDir, "--no-save", "--no-audit", "--no-fund", "--loglevel=error")
		if out, err := cmd.CombinedOutput(); err != nil {
			duckErr = &exec.Error{Name: "npm install --prefix tools/duckdb", Err: errorString(strings.TrimSpace(string(out)) + ": " + err.Error())}
		}
	})
	if duckErr != nil {
		if duckSkip && os.Getenv("CI") != "true" {
			t.Skipf("DuckDB check skipped: %v (install Node.js and npm)", duckErr)
		}
		t.Fatalf("DuckDB check unavailable: %v", duckErr)
	}
	return duckDir
}

type errorString string

func (e errorString) Error() string { return string(e) }

// lakecheck runs tools/duckdb/lakecheck.mjs and returns its stdout.
func lakecheck(t testing.TB, args ...string) []byte {
	t.Helper()
	dir := duckdbTool(t)
	cmd := exec.Command("node", append([]string{filepath.Join(dir, "lakecheck.mjs")}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("lakecheck %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

type duckInspect struct {
	DuckDB string     `json:"duckdb"`
	Files  []duckFile `json:"files"`
}

type duckFile struct {
	Path         string `json:"path"`
	NumRows      int64  `json:"num_rows"`
	Rows         int64  `json:"rows"`
	NumRowGroups int    `json:"num_row_groups"`
	Schema       []struct {
		Name        string `json:"name"`
		Type        string `json:"type"`
		LogicalType string `json:"logical_type"`
		Repetition  string `json:"repetition"`
		DuckDBType  string `json:"duckdb_type"`
	} `json:"schema"`
	Types map[string]string `json:"types"`
	Sort  struct {
		Violations       int64 `json:"violations"`
		IDTiesOutOfOrder int64 `json:"id_ties_out_of_order"`
	} `json:"sort"`
	Columns map[string]struct {
		Compression          []string `json:"compression"`
		Encodings            []string `json:"encodings"`
		BloomFilterRowGroups int      `json:"bloom_filter_row_groups"`
		StatsRowGroups       int      `json:"stats_row_groups"`
		RowGroups            int      `json:"row_groups"`
		CompressedBytes      int64    `json:"compressed_bytes"`
	} `json:"columns"`
	KV      map[string]string `json:"kv"`
	Lookups []struct {
		Column          string `json:"column"`
		Value           string `json:"value"`
		Rows            int64  `json:"rows"`
		RowGroups       int    `json:"row_groups"`
		BloomCandidates []int  `json:"bloom_candidates"`
		StatsCandidates []int  `json:"stats_candidates"`
		ReadRowGroups   []int  `json:"read_row_groups"`
	} `json:"lookups"`
}

func inspectFiles(t testing.TB, lookups []string, files ...string) duckInspect {
	t.Helper()
	var args []string
	args = append(args, "inspect")
	for _, l := range lookups {
		args = append(args, "--lookup", l)
	}
	args = append(args, files...)
	var out duckInspect
	if err := json.Unmarshal(lakecheck(t, args...), &out); err != nil {
		t.Fatalf("lakecheck output: %v", err)
	}
	return out
}

// checkDuckFile asserts what every file we write must look like to DuckDB.
func checkDuckFile(t testing.TB, f duckFile) {
	t.Helper()
	wantTypes := map[string]string{"timestamp": "TIMESTAMP WITH TIME ZONE"}
	for _, c := range Columns[1:] {
		wantTypes[c] = "VARCHAR"
	}
	for c, want := range wantTypes {
		if f.Types[c] != want {
			t.Errorf("%s: DuckDB reads %s as %q, want %q", f.Path, c, f.Types[c], want)
		}
	}
	var names []string
	optional := map[string]bool{"level": true, "trace_id": true, "fields": true}
	for _, s := range f.Schema {
		names = append(names, s.Name)
		wantRep := "REQUIRED"
		if optional[s.Name] {
			wantRep = "OPTIONAL"
		}
		if s.Repetition != wantRep {
			t.Errorf("%s: column %s is %s, want %s", f.Path, s.Name, s.Repetition, wantRep)
		}
		if s.Name == "timestamp" && (s.Type != "INT64" || !strings.Contains(s.LogicalType, "isAdjustedToUTC=1") || !strings.Contains(s.LogicalType, "MILLIS=MilliSeconds()")) {
			t.Errorf("%s: timestamp is %s %s, want INT64 TIMESTAMP(MILLIS, UTC)", f.Path, s.Type, s.LogicalType)
		}
	}
	if !slices.Equal(names, Columns) {
		t.Errorf("%s: columns %v, want %v", f.Path, names, Columns)
	}
	if f.Rows != f.NumRows || f.Rows == 0 {
		t.Errorf("%s: DuckDB counts %d rows, footer says %d", f.Path, f.Rows, f.NumRows)
	}
	if f.Sort.Violations != 0 || f.Sort.IDTiesOutOfOrder != 0 {
		t.Errorf("%s: %d rows out of (log_group, timestamp) order, %d ties out of id order", f.Path, f.Sort.Violations, f.Sort.IDTiesOutOfOrder)
	}
	for name, c := range f.Columns {
		if !slices.Equal(c.Compression, []string{"ZSTD"}) {
			t.Errorf("%s: %s compression %v", f.Path, name, c.Compression)
		}
	}
	for _, name := range []string{"owner", "log_group", "log_stream", "source_type"} {
		if !slices.Contains(f.Columns[name].Encodings, "RLE_DICTIONARY") {
			t.Errorf("%s: %s encodings %v, want a dictionary", f.Path, name, f.Columns[name].Encodings)
		}
	}
	for _, name := range BloomColumns {
		if c := f.Columns[name]; c.BloomFilterRowGroups != c.RowGroups {
			t.Errorf("%s: %s has bloom filters in %d of %d row groups", f.Path, name, c.BloomFilterRowGroups, c.RowGroups)
		}
	}
	for _, name := range []string{"timestamp", "id", "owner", "log_group", "log_stream", "message", "source_type"} {
		if c := f.Columns[name]; c.StatsRowGroups != c.RowGroups {
			t.Errorf("%s: %s has statistics in %d of %d row groups", f.Path, name, c.StatsRowGroups, c.RowGroups)
		}
	}
}

// TestDuckDBReadsConvertedFiles: DuckDB reads every converted file with the
// right schema, types, row count and sort order, and a point lookup by
// trace_id (or id) leaves one row group to read once bloom filters and
// statistics are consulted.
func TestDuckDBReadsConvertedFiles(t *testing.T) {
	t.Parallel()
	duckdbTool(t)
	in, good := sampleWithBadLines(t)
	got := convertBytes(t, in, ConvertConfig{Writer: WriterConfig{RowGroupBytes: 4 << 10}})
	dir := t.TempDir()
	var files []string
	rowGroupsOf := map[string]map[int]bool{} // trace id -> row groups holding it, hour 00
	var idInFirst string
	for _, p := range got.order {
		path := filepath.Join(dir, strings.ReplaceAll(p, "/", "_")+".parquet")
		if err := os.WriteFile(path, got.files[p], 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, path)
		if p != "dt=2025-11-20/hour=00" {
			continue
		}
		_, f := readParquet(t, got.files[p])
		for gi, rg := range f.RowGroups() {
			rows := make([]Row, rg.NumRows())
			r := parquetRowGroupRows(t, rg, rows)
			for _, row := range r {
				if row.TraceID != "" {
					if rowGroupsOf[row.TraceID] == nil {
						rowGroupsOf[row.TraceID] = map[int]bool{}
					}
					rowGroupsOf[row.TraceID][gi] = true
				}
				if gi == 0 && idInFirst == "" {
					idInFirst = row.ID
				}
			}
		}
	}
	var trace string
	for _, id := range slices.Sorted(mapKeysOf(rowGroupsOf)) {
		if len(rowGroupsOf[id]) == 1 {
			trace = id
			break
		}
	}
	if trace == "" {
		t.Fatal("no trace id confined to one row group in the sample")
	}
	out := inspectFiles(t, []string{"trace_id=" + trace, "id=" + idInFirst}, files...)
	var total int64
	for _, f := range out.Files {
		checkDuckFile(t, f)
		total += f.Rows
	}
	if total != int64(good) {
		t.Errorf("DuckDB reads %d rows in all, want %d", total, good)
	}
	hour0 := out.Files[0]
	if hour0.NumRowGroups < 3 {
		t.Fatalf("hour 00 has %d row groups; the lookup check needs several", hour0.NumRowGroups)
	}
	for _, l := range hour0.Lookups {
		if l.Rows == 0 {
			t.Errorf("lookup %s=%s found no row", l.Column, l.Value)
		}
		if len(l.ReadRowGroups) != 1 {
			t.Errorf("lookup %s=%s: DuckDB would read row groups %v of %d (bloom %v, statistics %v), want exactly one",
				l.Column, l.Value, l.ReadRowGroups, l.RowGroups, l.BloomCandidates, l.StatsCandidates)
		}
	}
}

func mapKeysOf[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
