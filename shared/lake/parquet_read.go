package lake

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/parquet-go/parquet-go"
)

// parquetSource reads one of our Parquet files row by row, checking that the
// rows come in compareRows order (a file that is not sorted cannot be
// merged and is reported rather than silently mixed).
type parquetSource struct {
	f    *os.File
	r    *parquet.GenericReader[Row]
	rows []Row
	i, n int
	eof  bool
	v    rowView
	prev rowView
	pbuf []byte
	name string
}

func openParquetSource(path string) (*parquetSource, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	pf, err := parquet.OpenFile(f, st.Size(), parquet.SkipBloomFilters(true))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open parquet: %w", err)
	}
	if err := checkSchema(pf.Schema()); err != nil {
		f.Close()
		return nil, err
	}
	return &parquetSource{
		f:    f,
		r:    parquet.NewGenericReader[Row](pf),
		rows: make([]Row, 256),
		name: path,
	}, nil
}

func (p *parquetSource) next() (*rowView, error) {
	for p.i >= p.n {
		if p.eof {
			return nil, errEnd
		}
		clear(p.rows)
		n, err := p.r.Read(p.rows)
		p.i, p.n = 0, n
		if errors.Is(err, io.EOF) {
			p.eof = true
		} else if err != nil {
			return nil, fmt.Errorf("read %s: %w", p.name, err)
		}
	}
	p.v.fromRow(&p.rows[p.i])
	p.i++
	if p.prev.s[colID] != nil && compareRows(&p.prev, &p.v) > 0 {
		return nil, fmt.Errorf("read %s: rows are not sorted by (log_group, timestamp) at row %d", p.name, p.i)
	}
	// remember the sort key of this row for the next check
	p.pbuf = append(p.pbuf[:0], p.v.s[colGroup]...)
	n := len(p.pbuf)
	p.pbuf = append(p.pbuf, p.v.s[colID]...)
	p.prev.ts = p.v.ts
	p.prev.s[colGroup] = p.pbuf[:n:n]
	p.prev.s[colID] = p.pbuf[n:]
	return &p.v, nil
}

func (p *parquetSource) close() error {
	err := p.r.Close()
	return errors.Join(err, p.f.Close())
}

// checkSchema accepts files whose columns are ours (by name and type).
func checkSchema(s *parquet.Schema) error {
	want := parquet.SchemaOf(Row{})
	for _, c := range Columns {
		wl, _ := want.Lookup(c)
		gl, ok := s.Lookup(c)
		if !ok {
			return fmt.Errorf("not a lake file: no column %q", c)
		}
		if gl.Node.Type().Kind() != wl.Node.Type().Kind() {
			return fmt.Errorf("not a lake file: column %q is %s, want %s", c, gl.Node.Type(), wl.Node.Type())
		}
	}
	return nil
}

// fileBound returns a lower bound of the first row of a sorted lake file
// from its footer statistics: (its least log group, its least timestamp).
func fileBound(path string) (rowView, error) {
	var b rowView
	f, err := os.Open(path)
	if err != nil {
		return b, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return b, err
	}
	pf, err := parquet.OpenFile(f, st.Size(), parquet.SkipBloomFilters(true), parquet.SkipPageIndex(true))
	if err != nil {
		return b, fmt.Errorf("open parquet: %w", err)
	}
	if err := checkSchema(pf.Schema()); err != nil {
		return b, err
	}
	gl, _ := pf.Schema().Lookup("log_group")
	tl, _ := pf.Schema().Lookup("timestamp")
	first := true
	for _, rg := range pf.RowGroups() {
		if rg.NumRows() == 0 {
			continue
		}
		chunks := rg.ColumnChunks()
		gc, ok1 := chunks[gl.ColumnIndex].(*parquet.FileColumnChunk)
		tc, ok2 := chunks[tl.ColumnIndex].(*parquet.FileColumnChunk)
		if !ok1 || !ok2 {
			return rowView{}, nil // no statistics: the smallest bound there is
		}
		gmin, _, gok := gc.Bounds()
		tmin, _, tok := tc.Bounds()
		if !gok || !tok {
			return rowView{}, nil
		}
		g, t := gmin.ByteArray(), tmin.Int64()
		if first || string(g) < string(b.s[colGroup]) {
			b.s[colGroup] = append([]byte(nil), g...)
		}
		if first || t < b.ts {
			b.ts = t
		}
		first = false
	}
	return b, nil
}

// DigestFile reads a lake Parquet file and returns the digest of its rows,
// failing if the rows are not sorted.
func DigestFile(path string) (Digest, error) {
	src, err := openParquetSource(path)
	if err != nil {
		return Digest{}, err
	}
	defer src.close()
	var d Digest
	var scratch []byte
	for {
		v, err := src.next()
		if errors.Is(err, errEnd) {
			return d, nil
		}
		if err != nil {
			return d, err
		}
		scratch = d.add(v, scratch)
	}
}
