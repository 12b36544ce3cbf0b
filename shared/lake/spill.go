package lake

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/klauspost/compress/s2"
)

// A run is a sorted part of an input spilled to a temporary file: rows as
// uvarint(timestamp) then uvarint(length)+bytes for each string. The first
// runs of an input are written as they are (cheapest); once
// DefaultRawSpillBytes have been spilled, further runs are S2-compressed
// (Snappy-like, ~GB/s), which keeps the disk footprint of a 1 GB input
// within Lambda's default 512 MB of /tmp.
const DefaultRawSpillBytes = 128 << 20

// spillRun writes the sorted buffer to a new temporary file in dir.
func spillRun(dir string, b *sortBuffer, compress bool) (path string, err error) {
	f, err := os.CreateTemp(dir, "lake-run-*")
	if err != nil {
		return "", fmt.Errorf("spill: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("spill: %w", cerr)
		}
		if err != nil {
			_ = os.Remove(f.Name())
		}
	}()
	var zw interface {
		Write([]byte) (int, error)
		Close() error
	} = nopCloser{f}
	if compress {
		zw = s2.NewWriter(f, s2.WriterConcurrency(1), s2.WriterBlockSize(1<<20))
	}
	buf := make([]byte, 0, 512<<10)
	var v rowView
	for i := range b.idx {
		b.view(i, &v)
		buf = appendRun(buf, &v)
		if len(buf) >= 256<<10 {
			if _, err := zw.Write(buf); err != nil {
				return "", fmt.Errorf("spill: %w", err)
			}
			buf = buf[:0]
		}
	}
	if _, err := zw.Write(buf); err != nil {
		return "", fmt.Errorf("spill: %w", err)
	}
	if err := zw.Close(); err != nil {
		return "", fmt.Errorf("spill: %w", err)
	}
	return f.Name(), nil
}

func appendRun(dst []byte, v *rowView) []byte {
	dst = binary.AppendUvarint(dst, uint64(v.ts))
	for _, s := range v.s {
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		dst = append(dst, s...)
	}
	return dst
}

// runSource reads a run back.
type runSource struct {
	f    *os.File
	br   *bufio.Reader
	buf  []byte
	v    rowView
	path string
}

func openRun(path string, compressed bool) (*runSource, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open run: %w", err)
	}
	var r io.Reader = f
	if compressed {
		r = s2.NewReader(f)
	}
	return &runSource{f: f, br: bufio.NewReaderSize(r, 256<<10), path: path}, nil
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

func (r *runSource) next() (*rowView, error) {
	ts, err := binary.ReadUvarint(r.br)
	if errors.Is(err, io.EOF) {
		return nil, errEnd
	}
	if err != nil {
		return nil, fmt.Errorf("read run: %w", err)
	}
	r.v.ts = int64(ts)
	var lens [numStr]int
	// lengths are interleaved with the bytes, so read into one buffer and
	// slice it afterwards (the buffer may move while it grows)
	r.buf = r.buf[:0]
	for c := range lens {
		n, err := binary.ReadUvarint(r.br)
		if err != nil {
			return nil, fmt.Errorf("read run: %w", noEOF(err))
		}
		if n > 1<<30 {
			return nil, fmt.Errorf("read run: corrupt length %d", n)
		}
		lens[c] = int(n)
		r.buf = grow(r.buf, int(n))
		if _, err := io.ReadFull(r.br, r.buf[len(r.buf)-int(n):]); err != nil {
			return nil, fmt.Errorf("read run: %w", noEOF(err))
		}
	}
	off := 0
	for c, n := range lens {
		r.v.s[c] = r.buf[off : off+n : off+n]
		off += n
	}
	return &r.v, nil
}

func (r *runSource) close() error {
	err := r.f.Close()
	if rerr := os.Remove(r.path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
		err = errors.Join(err, rerr)
	}
	return err
}

// grow extends b by n bytes.
func grow(b []byte, n int) []byte {
	if len(b)+n > cap(b) {
		nb := make([]byte, len(b), 2*cap(b)+n)
		copy(nb, b)
		b = nb
	}
	return b[:len(b)+n]
}

func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
