package lake

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/tributary-logs/tributary/shared/emf"
	"github.com/tributary-logs/tributary/shared/record"
)

// Config is the lake's configuration (see config.Lake).
type Config struct {
	Layout
	Bucket string // the lake bucket: Parquet, rejected lines and state
	// TargetFileBytes is the size compaction merges small files up to.
	TargetFileBytes int64
	// RowGroupBytes cuts row groups (uncompressed bytes).
	RowGroupBytes int64
	// SortBufferBytes is the memory for sorting before spilling.
	SortBufferBytes int
	// CompactAfter: an hour partition is closed, and compacted, this long
	// after the hour ends (late Firehose deliveries land before that).
	CompactAfter time.Duration
	// CompactLookback: how far back compaction looks for partitions.
	CompactLookback time.Duration
	// MaxMergeFiles bounds the inputs of one merged file.
	MaxMergeFiles int
	// Lease is how long a compaction lease lasts when the context has no
	// deadline (with one, the deadline plus a margin).
	Lease time.Duration
	// TempDir holds spilled runs and files being written or read back.
	TempDir string
}

func (c Config) withDefaults() Config {
	if c.Prefix == "" {
		c.Prefix = "lake/"
	}
	if c.Table == "" {
		c.Table = "logs"
	}
	if c.RawPrefix == "" {
		c.RawPrefix = "raw/"
	}
	if c.RejectedPrefix == "" {
		c.RejectedPrefix = "rejected/"
	}
	if c.TargetFileBytes <= 0 {
		c.TargetFileBytes = 256 << 20
	}
	if c.RowGroupBytes <= 0 {
		c.RowGroupBytes = DefaultRowGroupBytes
	}
	if c.SortBufferBytes <= 0 {
		c.SortBufferBytes = DefaultSortBufferBytes
	}
	if c.CompactAfter <= 0 {
		c.CompactAfter = time.Hour
	}
	if c.CompactLookback <= 0 {
		c.CompactLookback = 48 * time.Hour
	}
	if c.MaxMergeFiles <= 1 {
		// Inputs whose key ranges overlap are open together, each with a
		// page per column in memory: this bounds that.
		c.MaxMergeFiles = 32
	}
	if c.Lease <= 0 {
		c.Lease = 15 * time.Minute
	}
	if c.TempDir == "" {
		c.TempDir = os.TempDir()
	}
	return c
}

// PrepareTempDir empties and returns <parent>/tributary-lake, the
// function's scratch space. Lambda keeps /tmp between invocations of a
// warm container, and an invocation that timed out leaves its runs and
// half-written files there; at cold start nothing in it is in use.
func PrepareTempDir(parent string) (string, error) {
	dir := filepath.Join(parent, "tributary-lake")
	if err := os.RemoveAll(dir); err != nil {
		return "", fmt.Errorf("clean %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	return dir, nil
}

// Service converts raw objects and compacts partitions. One per container;
// not for concurrent use (the converter's buffers are reused).
type Service struct {
	cfg     Config
	store   Store
	conv    *Converter
	log     *slog.Logger
	metrics *emf.Set
	now     func() time.Time
	runID   string
	// lag is the largest (now - newest event time) of the objects converted
	// since the last takeLag, in seconds; -1 when none.
	lag float64
	// hooks for crash tests: called with a step name before it runs; an
	// error aborts the compaction there as a crash would.
	step func(string) error
}

// Option configures a Service.
type Option func(*Service)

// WithClock replaces time.Now (tests).
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithMetrics counts into m.
func WithMetrics(m *emf.Set) Option { return func(s *Service) { s.metrics = m } }

// NewService builds the service.
func NewService(cfg Config, store Store, log *slog.Logger, opts ...Option) *Service {
	cfg = cfg.withDefaults()
	var id [8]byte
	_, _ = rand.Read(id[:])
	s := &Service{
		cfg:   cfg,
		store: store,
		log:   log,
		now:   time.Now,
		runID: hex.EncodeToString(id[:]),
		lag:   -1,
		conv: NewConverter(ConvertConfig{
			SortBufferBytes: cfg.SortBufferBytes,
			TempDir:         cfg.TempDir,
			Writer: WriterConfig{
				RowGroupBytes: cfg.RowGroupBytes,
				TempDir:       cfg.TempDir,
			},
		}),
	}
	for _, o := range opts {
		o(s)
	}
	if s.metrics == nil {
		s.metrics = emf.New("lake")
	}
	return s
}

// Config returns the effective configuration.
func (s *Service) Config() Config { return s.cfg }

// ObjectRef names a raw object to convert.
type ObjectRef struct {
	Bucket    string
	Key       string
	VersionID string
}

func (r ObjectRef) String() string { return "s3://" + r.Bucket + "/" + r.Key }

// ObjectResult is what converting one object did.
type ObjectResult struct {
	Bucket      string   `json:"bucket"`
	Key         string   `json:"key"`
	Status      string   `json:"status"` // converted, skipped, failed
	Rows        int64    `json:"rows,omitempty"`
	Rejected    int64    `json:"rejected,omitempty"`
	Duplicates  int64    `json:"duplicates,omitempty"` // records repeated in the object, kept once
	Files       []string `json:"files,omitempty"`
	RejectedKey string   `json:"rejected_key,omitempty"`
	// AlreadyCompacted lists files not written because compaction had
	// already merged them (a late re-delivery).
	AlreadyCompacted []string `json:"already_compacted,omitempty"`
}

// Statuses of an ObjectResult.
const (
	StatusConverted = "converted"
	StatusSkipped   = "skipped"
	StatusFailed    = "failed"
)

// ConvertObject converts one raw object into Parquet files in the lake and
// its bad lines into one rejected object. Re-running it for the same object
// writes the same keys. An error means the object could not be read or a
// result could not be stored; the object should be retried.
func (s *Service) ConvertObject(ctx context.Context, ref ObjectRef) (ObjectResult, error) {
	res := ObjectResult{Bucket: ref.Bucket, Key: ref.Key, Status: StatusFailed}
	body, info, err := s.store.Get(ctx, ref.Bucket, ref.Key, ref.VersionID)
	if err != nil {
		return res, err
	}
	defer body.Close()
	name := OutputName(ref.Bucket, ref.Key, info.ETag)
	source := ref.String() + "#" + info.ETag

	rej := &rejectWriter{dir: s.cfg.TempDir, source: ref.String()}
	defer rej.discard()

	s.conv.cfg.Writer.Metadata = map[string]string{"tributary.source": source}
	cr, err := s.conv.Convert(ctx, body, func(f *OutputFile) error {
		key := s.cfg.ParquetKey(f.Partition, name)
		written, err := s.putConverted(ctx, f, key, name)
		if err != nil {
			return err
		}
		if written {
			res.Files = append(res.Files, key)
			s.metrics.Count(emf.LakeFiles, 1)
			s.metrics.Add(emf.LakeBytes, emf.Bytes, float64(f.Size))
		} else {
			res.AlreadyCompacted = append(res.AlreadyCompacted, key)
		}
		return nil
	}, rej.add)
	if err != nil {
		return res, fmt.Errorf("convert %s: %w", ref, err)
	}
	if rej.n > 0 {
		key := s.cfg.RejectedKey(ref.Key, name)
		if err := rej.upload(ctx, s.store, s.cfg.Bucket, key); err != nil {
			return res, fmt.Errorf("store rejected lines of %s: %w", ref, err)
		}
		res.RejectedKey = key
	}
	res.Status, res.Rows, res.Rejected, res.Duplicates = StatusConverted, cr.Rows, cr.Rejected, cr.Duplicates
	if len(cr.Files) > 0 {
		newest := cr.Files[0].MaxTime
		for _, f := range cr.Files {
			newest = max(newest, f.MaxTime)
		}
		s.lag = max(s.lag, max(0, float64(s.now().UnixMilli()-newest)/1000))
	}
	s.metrics.Count(emf.LakeObjects, 1)
	s.metrics.Count(emf.LakeRows, int(cr.Rows))
	s.metrics.Count(emf.LakeRowsRejected, int(cr.Rejected))
	s.metrics.Add(emf.BytesIn, emf.Bytes, float64(cr.InputBytes))
	s.log.InfoContext(ctx, "converted", "source", source, "rows", cr.Rows, "rejected", cr.Rejected,
		"duplicates", cr.Duplicates, "files", len(cr.Files), "runs", cr.Runs, "gzip", cr.Compressed)
	return res, nil
}

// takeLag returns the largest lag of the objects converted since the last
// call: now minus the newest event time of each, in seconds.
func (s *Service) takeLag() (float64, bool) {
	lag := s.lag
	s.lag = -1
	return lag, lag >= 0
}

// putConverted stores one converted file unless compaction has already
// merged (and deleted) a file of that name: the ledger is checked before
// writing and again after, and compaction updates the ledger before it
// deletes, so whichever order things happen in, the rows are there once.
func (s *Service) putConverted(ctx context.Context, f *OutputFile, key, name string) (bool, error) {
	led, _, err := s.readLedger(ctx, f.Partition)
	if err != nil {
		return false, err
	}
	if led.has(name) {
		s.log.InfoContext(ctx, "already compacted; not written again", "key", key)
		return false, nil
	}
	if err := s.putFile(ctx, key, f.Path, f.Size, PutOptions{ContentType: "application/vnd.apache.parquet"}); err != nil {
		return false, err
	}
	led, _, err = s.readLedger(ctx, f.Partition)
	if err != nil {
		return false, err
	}
	if led.has(name) {
		// compaction merged the earlier copy while this one was written
		if err := s.store.Delete(ctx, s.cfg.Bucket, key, ""); err != nil {
			return false, err
		}
		s.log.InfoContext(ctx, "compacted meanwhile; removed the copy just written", "key", key)
		return false, nil
	}
	return true, nil
}

func (s *Service) putFile(ctx context.Context, key, path string, size int64, opts PutOptions) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = s.store.Put(ctx, s.cfg.Bucket, key, f, size, opts)
	return err
}

// ledger is the set of converted file names a partition's compaction has
// merged and deleted.
type ledger struct {
	Partition string   `json:"partition"`
	Compacted []string `json:"compacted"` // sorted
}

func (l *ledger) has(name string) bool {
	_, ok := slices.BinarySearch(l.Compacted, name)
	return ok
}

func (l *ledger) add(names ...string) bool {
	changed := false
	for _, n := range names {
		if i, ok := slices.BinarySearch(l.Compacted, n); !ok {
			l.Compacted = slices.Insert(l.Compacted, i, n)
			changed = true
		}
	}
	return changed
}

func (s *Service) readLedger(ctx context.Context, p Partition) (ledger, string, error) {
	var l ledger
	etag, err := s.getJSON(ctx, s.cfg.LedgerKey(p), &l)
	if errors.Is(err, ErrNotFound) {
		return ledger{Partition: p.Path()}, "", nil
	}
	return l, etag, err
}

func (s *Service) getJSON(ctx context.Context, key string, v any) (string, error) {
	body, info, err := s.store.Get(ctx, s.cfg.Bucket, key, "")
	if err != nil {
		return "", err
	}
	defer body.Close()
	data, err := io.ReadAll(io.LimitReader(body, 64<<20))
	if err != nil {
		return "", fmt.Errorf("read %s: %w", key, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return "", fmt.Errorf("decode %s: %w", key, err)
	}
	return info.ETag, nil
}

func (s *Service) putJSON(ctx context.Context, key string, v any, opts PutOptions) (string, error) {
	data, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return "", fmt.Errorf("encode %s: %w", key, err)
	}
	opts.ContentType = "application/json"
	return s.store.Put(ctx, s.cfg.Bucket, key, bytes.NewReader(data), int64(len(data)), opts)
}

// rejectWriter collects rejected lines as gzip'd NDJSON in a temporary
// file, created on the first one.
type rejectWriter struct {
	dir    string
	source string
	f      *os.File
	zw     *gzip.Writer
	buf    []byte
	n      int
}

func (w *rejectWriter) add(r *Rejection) error {
	if w.f == nil {
		f, err := os.CreateTemp(w.dir, "lake-rejected-*.ndjson.gz")
		if err != nil {
			return err
		}
		w.f, w.zw = f, gzip.NewWriter(f)
	}
	w.buf = AppendRejection(w.buf[:0], w.source, r)
	w.buf = append(w.buf, '\n')
	w.n++
	_, err := w.zw.Write(w.buf)
	return err
}

// AppendRejection appends the JSON line that records one rejected line:
// {"source","line","reason","truncated"?,"text"}.
func AppendRejection(dst []byte, source string, r *Rejection) []byte {
	dst = append(dst, `{"source":`...)
	dst = record.AppendString(dst, source)
	dst = append(dst, `,"line":`...)
	dst = strconv.AppendInt(dst, int64(r.Line), 10)
	dst = append(dst, `,"reason":`...)
	dst = record.AppendString(dst, r.Reason)
	if r.Truncated {
		dst = append(dst, `,"truncated":true`...)
	}
	dst = append(dst, `,"text":`...)
	dst = record.AppendString(dst, bstr(r.Text))
	return append(dst, '}')
}

func (w *rejectWriter) upload(ctx context.Context, st Store, bucket, key string) error {
	if err := w.zw.Close(); err != nil {
		return err
	}
	size, err := w.f.Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	if _, err := w.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	_, err = st.Put(ctx, bucket, key, w.f, size, PutOptions{ContentType: "application/gzip"})
	return err
}

func (w *rejectWriter) discard() {
	if w.f != nil {
		_ = w.f.Close()
		_ = os.Remove(w.f.Name())
		w.f = nil
	}
}
