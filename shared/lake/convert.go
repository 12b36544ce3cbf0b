package lake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

// ConvertConfig sets up a Converter.
type ConvertConfig struct {
	Writer WriterConfig
	// SortBufferBytes is the memory for rows before a sorted run is spilled
	// (default DefaultSortBufferBytes).
	SortBufferBytes int
	// MaxLineBytes bounds one input line (default DefaultMaxLineBytes).
	MaxLineBytes int
	// TempDir receives spilled runs and Parquet files ("" : os.TempDir()).
	TempDir string
	// RawSpillBytes: runs are spilled uncompressed until this many bytes
	// were spilled, S2-compressed after (0: DefaultRawSpillBytes; negative:
	// always compressed).
	RawSpillBytes int64
}

// Rejection is one input line that is not a record.
type Rejection struct {
	Line   int    // 1-based line number in the (decompressed) input
	Reason string // why, starting with one of the Err* sentinels' text
	Text   []byte // the line (cut at MaxLineBytes); valid during the callback
	// Truncated is true when Text is only the start of a longer line.
	Truncated bool
}

// ConvertResult counts what one conversion did.
type ConvertResult struct {
	Lines      int64 // lines read, blank ones included
	Rows       int64 // records written (parsed, less duplicates)
	Rejected   int64 // lines rejected
	Duplicates int64 // records dropped as repeats of another (same log group, time and id)
	InputBytes int64 // bytes of NDJSON read (after gunzip)
	Compressed bool  // the input was gzip
	Runs       int   // sorted runs spilled to disk (0: sorted in memory)
	Files      []OutputFile
}

// Converter turns NDJSON into sorted, partitioned Parquet files. It keeps
// its buffers between calls, so build one per container and reuse it; it is
// not safe for concurrent use.
type Converter struct {
	cfg ConvertConfig
	buf *sortBuffer
	p   parser
}

// NewConverter returns a converter; memory is allocated on first use.
func NewConverter(cfg ConvertConfig) *Converter {
	if cfg.SortBufferBytes <= 0 {
		cfg.SortBufferBytes = DefaultSortBufferBytes
	}
	if cfg.MaxLineBytes <= 0 {
		cfg.MaxLineBytes = DefaultMaxLineBytes
	}
	if cfg.TempDir == "" {
		cfg.TempDir = os.TempDir()
	}
	if cfg.RawSpillBytes == 0 {
		cfg.RawSpillBytes = DefaultRawSpillBytes
	}
	if cfg.Writer.TempDir == "" {
		cfg.Writer.TempDir = cfg.TempDir
	}
	return &Converter{cfg: cfg}
}

// Convert reads r (gzip or plain NDJSON) to the end and writes its records
// as Parquet files, one per hour partition in ascending order, each sorted
// by (log_group, timestamp). emit receives every finished file (its Path is
// removed when emit returns); reject receives every line that is not a
// record. An error from r (unreadable input), emit or reject stops the
// conversion and is returned; files already emitted stay emitted.
func (c *Converter) Convert(ctx context.Context, r io.Reader, emit func(*OutputFile) error, reject func(*Rejection) error) (res ConvertResult, err error) {
	if c.buf == nil {
		c.buf = newSortBuffer(c.cfg.SortBufferBytes)
	}
	buf := c.buf
	buf.reset()
	c.p.hasPrev = false

	lr, err := NewLineReader(r, c.cfg.MaxLineBytes)
	if err != nil {
		return res, err
	}
	defer lr.Close()
	res.Compressed = lr.Compressed

	type run struct {
		path       string
		compressed bool
	}
	var runs []run
	var spilled int64
	defer func() {
		for _, r := range runs {
			_ = os.Remove(r.path)
		}
	}()
	var rj Rejection
	rejectLine := func(n int, reason string, text []byte, truncated bool) error {
		res.Rejected++
		rj = Rejection{Line: n, Reason: reason, Text: text, Truncated: truncated}
		if err := reject(&rj); err != nil {
			return fmt.Errorf("record rejected line %d: %w", n, err)
		}
		return nil
	}

	for {
		if res.Lines&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return res, err
			}
		}
		line, n, tooLong, err := lr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return res, err
		}
		res.Lines++
		res.InputBytes += int64(len(line)) + 1
		if tooLong {
			if err := rejectLine(n, reject2(ErrLineTooLong, fmt.Sprintf("more than %d bytes", c.cfg.MaxLineBytes)), line, true); err != nil {
				return res, err
			}
			continue
		}
		// A line normally holds one record; records concatenated on one line
		// (Firehose without a newline delimiter) are taken one by one.
		for i := skipWS(line, 0); i < len(line); i = skipWS(line, i) {
			if !buf.fits(len(line)-i) && buf.len() > 0 {
				buf.sort()
				compress := spilled >= c.cfg.RawSpillBytes
				path, err := spillRun(c.cfg.TempDir, buf, compress)
				if err != nil {
					return res, err
				}
				runs = append(runs, run{path, compress})
				spilled += int64(len(buf.arena))
				buf.reset()
				c.p.hasPrev = false
			}
			var row slotRow
			var perr error
			buf.arena, i, perr = c.p.parseRecord(line, i, buf.arena, &row)
			if perr != nil {
				if err := rejectLine(n, perr.Error(), line, false); err != nil {
					return res, err
				}
				break
			}
			buf.rows = append(buf.rows, row)
			res.Rows++
		}
	}
	res.Runs = len(runs)

	buf.sort()
	srcs := make([]rowSource, 0, len(runs)+1)
	for _, r := range runs {
		rs, err := openRun(r.path, r.compressed)
		if err != nil {
			for _, s := range srcs {
				_ = s.close()
			}
			return res, err
		}
		srcs = append(srcs, rs)
	}
	srcs = append(srcs, &memSource{b: buf})
	m, err := newMerger(srcs, nil)
	if err != nil {
		return res, err
	}
	defer m.close()
	s := newSink(c.cfg.Writer, func(f *OutputFile) error {
		res.Files = append(res.Files, *f)
		return emit(f)
	})
	defer s.abort()
	var written int64
	var dd deduper
	for {
		v, err := m.next()
		if errors.Is(err, errEnd) {
			break
		}
		if err != nil {
			return res, err
		}
		if dd.dup(v) {
			res.Duplicates++
			continue
		}
		if err := s.write(v); err != nil {
			return res, err
		}
		written++
		if written&4095 == 0 {
			if err := ctx.Err(); err != nil {
				return res, err
			}
		}
	}
	if err := s.close(); err != nil {
		return res, err
	}
	if written+res.Duplicates != res.Rows {
		return res, fmt.Errorf("internal error: %d rows parsed but %d written and %d duplicates", res.Rows, written, res.Duplicates)
	}
	res.Rows = written
	return res, nil
}

func reject2(err error, detail string) string { return reject(err, detail).Error() }
