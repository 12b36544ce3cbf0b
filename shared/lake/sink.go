package lake

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/bloom/xxhash"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

// Partition is one hour of the lake: dt=YYYY-MM-DD/hour=HH.
type Partition struct {
	Hour int64 // hours since the Unix epoch
}

// PartitionOf returns the partition of a millisecond timestamp.
func PartitionOf(ms int64) Partition { return Partition{Hour: hourOf(ms)} }

// Start returns the first instant of the partition.
func (p Partition) Start() time.Time { return time.UnixMilli(p.Hour * hourMillis).UTC() }

// Date is the dt partition value, YYYY-MM-DD.
func (p Partition) Date() string { return p.Start().Format("2006-01-02") }

// HourString is the hour partition value, 00..23.
func (p Partition) HourString() string { return p.Start().Format("15") }

// Path is dt=YYYY-MM-DD/hour=HH.
func (p Partition) Path() string { return "dt=" + p.Date() + "/hour=" + p.HourString() }

func (p Partition) String() string { return p.Path() }

// OutputFile is one finished Parquet file in a temporary directory.
type OutputFile struct {
	Partition Partition
	Seq       int    // 0, 1, ...: files of the same partition from one run
	Path      string // local path; removed after the emit callback returns
	Size      int64
	Rows      int64
	RowGroups int
	MinTime   int64
	MaxTime   int64
	Digest    Digest
}

// Digest is an order-independent fingerprint of a set of rows: the count,
// the sum and xor of the 64-bit hashes of the ids, and the sum of hashes of
// whole rows. Equal row multisets give equal digests; a lost, duplicated or
// altered row changes it (except with probability ~2^-64).
type Digest struct {
	Rows   int64  `json:"rows"`
	IDSum  uint64 `json:"id_sum"`
	IDXor  uint64 `json:"id_xor"`
	RowSum uint64 `json:"row_sum"`
}

// add counts one row.
func (d *Digest) add(v *rowView, scratch []byte) []byte {
	h := xxhash.Sum64(v.s[colID])
	d.Rows++
	d.IDSum += h
	d.IDXor ^= h
	scratch = appendRun(scratch[:0], v)
	d.RowSum += xxhash.Sum64(scratch)
	return scratch
}

// Merge adds another digest.
func (d *Digest) Merge(o Digest) {
	d.Rows += o.Rows
	d.IDSum += o.IDSum
	d.IDXor ^= o.IDXor
	d.RowSum += o.RowSum
}

// WriterConfig is how Parquet files are written.
type WriterConfig struct {
	// RowGroupBytes cuts a row group after this many uncompressed bytes of
	// row data. Memory while writing is about one row group compressed.
	RowGroupBytes int64
	// MaxFileBytes starts a new file of the same partition once a file
	// reaches this size (0: no limit).
	MaxFileBytes int64
	// PageBytes is the uncompressed page size (default 1 MiB).
	PageBytes int
	// TempDir holds the files until they are emitted ("" : os.TempDir()).
	TempDir string
	// Metadata is written into each file's key/value metadata.
	Metadata map[string]string
	// Digest computes OutputFile.Digest (compaction verifies with it).
	Digest bool
}

// DefaultRowGroupBytes is the default RowGroupBytes.
const DefaultRowGroupBytes = 32 << 20

func (c WriterConfig) withDefaults() WriterConfig {
	if c.RowGroupBytes <= 0 {
		c.RowGroupBytes = DefaultRowGroupBytes
	}
	if c.PageBytes <= 0 {
		c.PageBytes = 4 << 20
	}
	if c.TempDir == "" {
		c.TempDir = os.TempDir()
	}
	return c
}

// zstdCodec is shared: it pools its encoders.
var zstdCodec = &zstd.Codec{Level: zstd.SpeedBetterCompression, Concurrency: 1}

func parquetOptions(c WriterConfig) []parquet.WriterOption {
	opts := []parquet.WriterOption{
		parquet.Compression(zstdCodec),
		// Version 1 data pages: what every engine (Athena, Redshift Spectrum,
		// Spark, DuckDB) reads without surprises.
		parquet.DataPageVersion(1),
		parquet.DefaultEncodingFor(parquet.ByteArray, &parquet.Plain),
		parquet.PageBufferSize(c.PageBytes),
		parquet.DataPageStatistics(true),
		parquet.BloomFilters(
			parquet.SplitBlockFilter(10, "id"),
			parquet.SplitBlockFilter(10, "trace_id"),
		),
		parquet.SortingWriterConfig(parquet.SortingColumns(
			parquet.Ascending("log_group"),
			parquet.Ascending("timestamp"),
		)),
		// A column with more distinct values than this per row group falls
		// back to plain encoding instead of growing a huge dictionary.
		parquet.DictionaryMaxBytes(4 << 20),
		// Longer min/max in the page index than the default 16 bytes, so
		// log group names and ids prune pages precisely.
		parquet.ColumnIndexSizeLimit(func([]string) int { return 64 }),
		parquet.KeyValueMetadata("tributary.schema", "1"),
	}
	return opts
}

// sink writes rows arriving in compareRows order into one file per
// partition (or several, with MaxFileBytes), and hands each finished file to
// emit.
type sink struct {
	cfg  WriterConfig
	emit func(*OutputFile) error
	w    *parquet.GenericWriter[Row]

	f   *os.File
	bw  *bufio.Writer
	cw  countingWriter
	out OutputFile

	batch   []Row
	arena   []byte
	rgBytes int64
	scratch []byte
	files   int
}

const batchRows = 512

func newSink(cfg WriterConfig, emit func(*OutputFile) error) *sink {
	cfg = cfg.withDefaults()
	return &sink{
		cfg:   cfg,
		emit:  emit,
		batch: make([]Row, 0, batchRows),
		arena: make([]byte, 0, 2<<20),
	}
}

// write adds a row; its bytes are copied.
func (s *sink) write(v *rowView) error {
	p := PartitionOf(v.ts)
	if s.f != nil && p != s.out.Partition {
		if err := s.finish(); err != nil {
			return err
		}
	}
	if s.f == nil {
		seq := 0
		if s.files > 0 && s.out.Partition == p {
			seq = s.out.Seq + 1
		}
		if err := s.start(p, seq); err != nil {
			return err
		}
	}
	if len(s.batch) == cap(s.batch) || len(s.arena)+v.size() > cap(s.arena) {
		if err := s.flushBatch(); err != nil {
			return err
		}
	}
	var r Row
	if v.stable {
		v.asRow(&r)
	} else if n := v.size(); n > cap(s.arena)-len(s.arena) {
		// a huge row: give it its own buffer
		s.copyRow(&r, v, make([]byte, 0, n))
	} else {
		s.arena = s.copyRow(&r, v, s.arena)
	}
	s.batch = append(s.batch, r)
	o := &s.out
	if o.Rows == 0 || v.ts < o.MinTime {
		o.MinTime = v.ts
	}
	if o.Rows == 0 || v.ts > o.MaxTime {
		o.MaxTime = v.ts
	}
	o.Rows++
	if s.cfg.Digest {
		s.scratch = o.Digest.add(v, s.scratch)
	}
	s.rgBytes += int64(v.size())
	if s.rgBytes >= s.cfg.RowGroupBytes {
		if err := s.flushRowGroup(); err != nil {
			return err
		}
		if s.cfg.MaxFileBytes > 0 && s.cw.n >= s.cfg.MaxFileBytes {
			return s.finish()
		}
	}
	return nil
}

// copyRow appends v's strings to buf and points r at the copies.
func (s *sink) copyRow(r *Row, v *rowView, buf []byte) []byte {
	var c rowView
	c.ts = v.ts
	for i, b := range v.s {
		off := len(buf)
		buf = append(buf, b...)
		c.s[i] = buf[off:len(buf):len(buf)]
	}
	c.asRow(r)
	return buf
}

func (s *sink) start(p Partition, seq int) error {
	f, err := os.CreateTemp(s.cfg.TempDir, "lake-*.parquet")
	if err != nil {
		return fmt.Errorf("create parquet file: %w", err)
	}
	s.f = f
	if s.bw == nil {
		s.bw = bufio.NewWriterSize(&s.cw, 1<<20)
	}
	s.cw = countingWriter{w: f}
	s.bw.Reset(&s.cw)
	// A new writer per file: parquet-go v0.32's Reset leaves the column
	// chunks of the next file without path_in_schema (DuckDB then cannot
	// name them).
	opts := parquetOptions(s.cfg)
	for k, v := range s.cfg.Metadata {
		opts = append(opts, parquet.KeyValueMetadata(k, v))
	}
	s.w = parquet.NewGenericWriter[Row](s.bw, opts...)
	s.out = OutputFile{Partition: p, Seq: seq, Path: f.Name()}
	s.rgBytes = 0
	return nil
}

func (s *sink) flushBatch() error {
	if len(s.batch) == 0 {
		return nil
	}
	if _, err := s.w.Write(s.batch); err != nil {
		return fmt.Errorf("write parquet rows: %w", err)
	}
	clear(s.batch) // drop the references to the arena
	s.batch = s.batch[:0]
	s.arena = s.arena[:0]
	return nil
}

func (s *sink) flushRowGroup() error {
	if err := s.flushBatch(); err != nil {
		return err
	}
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("write row group: %w", err)
	}
	if err := s.bw.Flush(); err != nil {
		return fmt.Errorf("write parquet file: %w", err)
	}
	s.rgBytes = 0
	return nil
}

// finish closes the current file and emits it.
func (s *sink) finish() error {
	if s.f == nil {
		return nil
	}
	f := s.f
	s.f = nil
	err := s.flushBatch()
	if err == nil {
		err = s.w.Close()
	}
	if err == nil {
		if md := s.w.File().Metadata(); md != nil {
			s.out.RowGroups = len(md.RowGroups)
		}
	}
	if err == nil {
		err = s.bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("finish parquet file: %w", err)
	}
	s.out.Size = s.cw.n
	s.files++
	out := s.out
	err = s.emit(&out)
	if rerr := os.Remove(f.Name()); rerr != nil && !errors.Is(rerr, os.ErrNotExist) && err == nil {
		err = rerr
	}
	return err
}

// close finishes the last file.
func (s *sink) close() error { return s.finish() }

// abort drops the file being written.
func (s *sink) abort() {
	if s.f != nil {
		_ = s.f.Close()
		_ = os.Remove(s.f.Name())
		s.f = nil
	}
	clear(s.batch)
	s.batch = s.batch[:0]
	s.arena = s.arena[:0]
}

type countingWriter struct {
	w interface{ Write([]byte) (int, error) }
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}
