package lake

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
)

// DefaultMaxLineBytes bounds one NDJSON line. CloudWatch Logs events are at
// most 1 MiB; with fields extracted from them a record stays well below this.
const DefaultMaxLineBytes = 8 << 20

// LineReader splits a stream of NDJSON, gzip-compressed or plain (told apart
// by the gzip magic bytes), into numbered lines without holding more than
// one line and a read buffer in memory.
type LineReader struct {
	br      *bufio.Reader
	gz      *gzip.Reader
	n       int // line number of the last line returned
	long    []byte
	maxLine int
	// Compressed is true when the input was gzip.
	Compressed bool
}

// NewLineReader detects gzip and prepares to read lines of at most maxLine
// bytes (0: DefaultMaxLineBytes).
func NewLineReader(r io.Reader, maxLine int) (*LineReader, error) {
	if maxLine <= 0 {
		maxLine = DefaultMaxLineBytes
	}
	br := bufio.NewReaderSize(r, 256<<10)
	lr := &LineReader{maxLine: maxLine}
	magic, err := br.Peek(2)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read input: %w", err)
	}
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip header: %w", err)
		}
		lr.gz, lr.Compressed = gz, true
		br = bufio.NewReaderSize(gz, 1<<20)
	}
	lr.br = br
	return lr, nil
}

// Next returns the next line without its line ending, and its 1-based line
// number. The bytes are valid until the next call. A line longer than the
// limit is returned cut to the limit with tooLong set (the rest of it is
// skipped). At the end of the input err is io.EOF; any other error means the
// input could not be read (a corrupt or truncated gzip stream, a broken
// connection).
func (lr *LineReader) Next() (line []byte, n int, tooLong bool, err error) {
	lr.long = lr.long[:0]
	for {
		chunk, err := lr.br.ReadSlice('\n')
		switch {
		case err == nil:
			if len(lr.long) == 0 {
				lr.n++
				return trimEOL(chunk), lr.n, false, nil
			}
			lr.long, tooLong = lr.appendLong(chunk)
			lr.n++
			return trimEOL(lr.long), lr.n, tooLong, nil
		case errors.Is(err, bufio.ErrBufferFull):
			lr.long, tooLong = lr.appendLong(chunk)
			if tooLong {
				// keep the start for the rejected record, drop the rest
				if err := lr.skipLine(); err != nil && !errors.Is(err, io.EOF) {
					return nil, lr.n, false, fmt.Errorf("read line %d: %w", lr.n+1, err)
				}
				lr.n++
				return lr.long, lr.n, true, nil
			}
		case errors.Is(err, io.EOF):
			if len(chunk) == 0 && len(lr.long) == 0 {
				return nil, lr.n, false, io.EOF
			}
			lr.long, tooLong = lr.appendLong(chunk)
			lr.n++
			return trimEOL(lr.long), lr.n, tooLong, nil
		default:
			return nil, lr.n, false, fmt.Errorf("read line %d: %w", lr.n+1, err)
		}
	}
}

func (lr *LineReader) appendLong(chunk []byte) ([]byte, bool) {
	if room := lr.maxLine - len(lr.long); len(chunk) > room {
		return append(lr.long, chunk[:max(room, 0)]...), true
	}
	return append(lr.long, chunk...), false
}

func (lr *LineReader) skipLine() error {
	for {
		_, err := lr.br.ReadSlice('\n')
		if err == nil {
			return nil
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return err
		}
	}
}

// Close releases the gzip reader.
func (lr *LineReader) Close() error {
	if lr.gz != nil {
		return lr.gz.Close()
	}
	return nil
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte{'\n'})
	return bytes.TrimSuffix(b, []byte{'\r'})
}
