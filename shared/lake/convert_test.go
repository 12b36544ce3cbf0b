package lake

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// badLines are inserted into the sample to check rejects: line number in
// the combined input -> the line.
var badLines = []struct {
	at   int // insert before this 0-based sample line
	line string
}{
	{0, `this is not JSON`},
	{5, `{"@timestamp":"2025-11-20T00:00:00.000Z","message":"no id"}`},
	{5, ``}, // blank: skipped, not rejected
	{20, `{"@timestamp":"2025-11-20T00:00:00.000Z","id":"x","message":"cut off`},
	{30, `{"timestamp":"soon","id":"y"}`},
}

// sampleWithBadLines returns the sample with badLines mixed in, and the
// number of good records.
func sampleWithBadLines(t testing.TB) ([]byte, int) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(string(sampleNDJSON(t)), "\n"), "\n")
	var out []string
	for i, l := range lines {
		for _, b := range badLines {
			if b.at == i {
				out = append(out, b.line)
			}
		}
		out = append(out, l)
	}
	return []byte(strings.Join(out, "\n") + "\n"), len(lines)
}

type converted struct {
	res      ConvertResult
	files    map[string][]byte // partition path -> file bytes
	order    []string
	rejected []byte
}

func convertBytes(t *testing.T, in []byte, cfg ConvertConfig) converted {
	t.Helper()
	if cfg.TempDir == "" {
		cfg.TempDir = t.TempDir()
	}
	c := NewConverter(cfg)
	out := converted{files: map[string][]byte{}}
	res, err := c.Convert(context.Background(), bytes.NewReader(in), func(f *OutputFile) error {
		b, err := os.ReadFile(f.Path)
		if err != nil {
			return err
		}
		if int64(len(b)) != f.Size {
			t.Errorf("%s: OutputFile.Size %d, file has %d bytes", f.Partition, f.Size, len(b))
		}
		out.files[f.Partition.Path()] = b
		out.order = append(out.order, f.Partition.Path())
		return nil
	}, func(r *Rejection) error {
		out.rejected = append(AppendRejection(out.rejected, "test", r), '\n')
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	out.res = res
	left, _ := filepath.Glob(filepath.Join(cfg.TempDir, "*"))
	if len(left) > 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
	return out
}

// readParquet reads back every row of a file with parquet-go.
func readParquet(t testing.TB, b []byte) ([]Row, *parquet.File) {
	t.Helper()
	f, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	r := parquet.NewGenericReader[Row](f)
	defer r.Close()
	rows := make([]Row, f.NumRows())
	n, err := r.Read(rows)
	if err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	return rows[:n], f
}

func TestConvertSample(t *testing.T) {
	t.Parallel()
	in, good := sampleWithBadLines(t)
	for _, gz := range []bool{false, true} {
		data := in
		if gz {
			data = gzipBytes(t, in)
		}
		got := convertBytes(t, data, ConvertConfig{})
		if got.res.Rows != int64(good) || got.res.Rejected != 4 || got.res.Compressed != gz || got.res.Runs != 0 {
			t.Fatalf("gzip=%v: result %+v, want %d rows, 4 rejected, no runs", gz, got.res, good)
		}
		// One file per hour, in hour order, placed by each event's time.
		if want := []string{"dt=2025-11-20/hour=00", "dt=2025-11-20/hour=01"}; !slices.Equal(got.order, want) {
			t.Fatalf("partitions %v, want %v", got.order, want)
		}
		var total int
		for _, p := range got.order {
			rows, _ := readParquet(t, got.files[p])
			total += len(rows)
			for i, r := range rows {
				if PartitionOf(r.Timestamp).Path() != p {
					t.Errorf("%s: row %s has time %d of another hour", p, r.ID, r.Timestamp)
				}
				if i > 0 {
					prev := rows[i-1]
					if prev.LogGroup > r.LogGroup || (prev.LogGroup == r.LogGroup && prev.Timestamp > r.Timestamp) {
						t.Errorf("%s: rows %d and %d out of (log_group, timestamp) order", p, i-1, i)
					}
				}
			}
		}
		if total != good {
			t.Errorf("read back %d rows, want %d", total, good)
		}
		golden(t, "raw-sample.rejected.ndjson", got.rejected)
	}
}

// TestConvertSpillIsIdentical: a sort buffer far too small for the input
// spills many runs and merges them; the files are byte-identical to the
// in-memory conversion (the sort order is total, so output is deterministic).
func TestConvertSpillIsIdentical(t *testing.T) {
	t.Parallel()
	in, _ := sampleWithBadLines(t)
	mem := convertBytes(t, in, ConvertConfig{})
	// runs raw, then S2-compressed after the first 10 KB spilled
	spilled := convertBytes(t, in, ConvertConfig{SortBufferBytes: 6 << 10, RawSpillBytes: 10 << 10})
	if spilled.res.Runs < 4 {
		t.Fatalf("only %d runs spilled; the test needs several", spilled.res.Runs)
	}
	compressed := convertBytes(t, in, ConvertConfig{SortBufferBytes: 6 << 10, RawSpillBytes: -1})
	for _, got := range []converted{spilled, compressed} {
		if !slices.Equal(mem.order, got.order) {
			t.Fatalf("partitions %v vs %v", mem.order, got.order)
		}
		for _, p := range mem.order {
			if !bytes.Equal(mem.files[p], got.files[p]) {
				t.Errorf("%s: spilled conversion differs from the in-memory one", p)
			}
		}
	}
	// And the same input twice gives the same bytes (re-delivery overwrites
	// with identical content).
	again := convertBytes(t, in, ConvertConfig{})
	for _, p := range mem.order {
		if !bytes.Equal(mem.files[p], again.files[p]) {
			t.Errorf("%s: second conversion differs", p)
		}
	}
}

// TestConvertedFileLayout checks the Parquet metadata with parquet-go: the
// schema and logical types, zstd everywhere, dictionaries on the repeating
// strings, sorting_columns, statistics, page indexes and bloom filters.
func TestConvertedFileLayout(t *testing.T) {
	t.Parallel()
	in, _ := sampleWithBadLines(t)
	got := convertBytes(t, in, ConvertConfig{Writer: WriterConfig{RowGroupBytes: 4 << 10}})
	_, f := readParquet(t, got.files["dt=2025-11-20/hour=00"])
	md := f.Metadata()
	if len(md.RowGroups) < 3 {
		t.Fatalf("%d row groups; RowGroupBytes should have cut several", len(md.RowGroups))
	}
	var names []string
	for _, c := range f.Schema().Columns() {
		names = append(names, strings.Join(c, "."))
	}
	if !slices.Equal(names, Columns) {
		t.Errorf("columns %v, want %v", names, Columns)
	}
	ts, _ := f.Schema().Lookup("timestamp")
	if lt := ts.Node.Type().LogicalType(); lt == nil || lt.String() != "TIMESTAMP(isAdjustedToUTC=true,unit=MILLIS)" {
		t.Errorf("timestamp logical type %v, want TIMESTAMP(isAdjustedToUTC=true,unit=MILLIS)", lt)
	}
	dict := map[string]bool{"owner": true, "log_group": true, "log_stream": true, "level": true, "source_type": true}
	for gi, rg := range md.RowGroups {
		if len(rg.SortingColumns) != 2 {
			t.Errorf("row group %d: sorting_columns %+v", gi, rg.SortingColumns)
		} else {
			g, _ := f.Schema().Lookup("log_group")
			if rg.SortingColumns[0].ColumnIdx != int32(g.ColumnIndex) || rg.SortingColumns[1].ColumnIdx != int32(ts.ColumnIndex) ||
				rg.SortingColumns[0].Descending || rg.SortingColumns[1].Descending {
				t.Errorf("row group %d: sorting_columns %+v, want log_group, timestamp ascending", gi, rg.SortingColumns)
			}
		}
		for _, cc := range rg.Columns {
			name := strings.Join(cc.MetaData.PathInSchema, ".")
			if cc.MetaData.Codec != format.Zstd {
				t.Errorf("row group %d %s: codec %v", gi, name, cc.MetaData.Codec)
			}
			if dict[name] && !slices.Contains(cc.MetaData.Encoding, format.RLEDictionary) {
				t.Errorf("row group %d %s: encodings %v, want a dictionary", gi, name, cc.MetaData.Encoding)
			}
			if cc.ColumnIndexOffset == 0 || cc.OffsetIndexOffset == 0 {
				t.Errorf("row group %d %s: no page index", gi, name)
			}
			if name == "id" || name == "trace_id" {
				if cc.MetaData.BloomFilterOffset == 0 {
					t.Errorf("row group %d %s: no bloom filter", gi, name)
				}
			} else if cc.MetaData.BloomFilterOffset != 0 {
				t.Errorf("row group %d %s: unexpected bloom filter", gi, name)
			}
			st := cc.MetaData.Statistics
			if name != "fields" && name != "trace_id" && name != "level" && (st.MinValue == nil || st.MaxValue == nil) {
				t.Errorf("row group %d %s: no min/max statistics", gi, name)
			}
		}
	}
}

// TestConvertRejectsAreNotFatal: an input of nothing but bad lines converts
// to no file and one rejection per line; an unreadable input is an error.
func TestConvertRejectsAreNotFatal(t *testing.T) {
	t.Parallel()
	got := convertBytes(t, []byte("x\n[1]\n{\"id\":\"a\"}\n"), ConvertConfig{})
	if got.res.Rows != 0 || got.res.Rejected != 3 || len(got.files) != 0 {
		t.Fatalf("%+v", got.res)
	}
	for i, want := range []string{`"line":1,"reason":"not a JSON object"`, `"line":2,"reason":"not a JSON object"`, `"line":3,"reason":"missing required key: @timestamp"`} {
		if line := strings.Split(string(got.rejected), "\n")[i]; !strings.Contains(line, want) {
			t.Errorf("rejection %d = %s, want %s", i, line, want)
		}
	}

	c := NewConverter(ConvertConfig{TempDir: t.TempDir()})
	whole := gzipBytes(t, sampleNDJSON(t))
	_, err := c.Convert(context.Background(), bytes.NewReader(whole[:len(whole)-20]),
		func(*OutputFile) error { t.Error("a truncated input emitted a file"); return nil },
		func(*Rejection) error { return nil })
	if err == nil || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated gzip: err = %v, want unexpected EOF", err)
	}
}

// TestConvertMaxFileBytes: a size limit splits a partition into several
// files, each sorted, numbered by Seq.
func TestConvertMaxFileBytes(t *testing.T) {
	t.Parallel()
	var seqs []int
	var rows int64
	c := NewConverter(ConvertConfig{TempDir: t.TempDir(), Writer: WriterConfig{RowGroupBytes: 2 << 10, MaxFileBytes: 6 << 10, Digest: true}})
	_, err := c.Convert(context.Background(), bytes.NewReader(sampleNDJSON(t)), func(f *OutputFile) error {
		if f.Partition.HourString() == "00" {
			seqs = append(seqs, f.Seq)
		}
		d, err := DigestFile(f.Path)
		if err != nil {
			return err
		}
		if d != f.Digest {
			t.Errorf("%s/%d: digest of the file %+v, computed while writing %+v", f.Partition, f.Seq, d, f.Digest)
		}
		rows += f.Rows
		return nil
	}, func(*Rejection) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(seqs) < 2 || seqs[0] != 0 || seqs[len(seqs)-1] != len(seqs)-1 {
		t.Errorf("hour 00 files numbered %v, want 0..n", seqs)
	}
	if rows != 54 {
		t.Errorf("%d rows, want 54", rows)
	}
}

// parquetRowGroupRows reads one row group.
func parquetRowGroupRows(t testing.TB, rg parquet.RowGroup, rows []Row) []Row {
	t.Helper()
	r := parquet.NewGenericRowGroupReader[Row](rg)
	defer r.Close()
	n, err := r.Read(rows)
	if err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	return rows[:n]
}
