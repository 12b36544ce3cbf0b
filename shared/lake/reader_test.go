package lake

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

type lineOut struct {
	n       int
	text    string
	tooLong bool
}

func readLines(t *testing.T, in []byte, max int) ([]lineOut, error) {
	t.Helper()
	lr, err := NewLineReader(bytes.NewReader(in), max)
	if err != nil {
		return nil, err
	}
	defer lr.Close()
	var out []lineOut
	for {
		line, n, long, err := lr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, lineOut{n, string(line), long})
	}
}

func TestLineReader(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 3<<20)
	tests := []struct {
		name string
		in   string
		max  int
		want []lineOut
	}{
		{name: "empty", in: "", want: nil},
		{name: "lines", in: "a\nbb\n\nccc\n", want: []lineOut{{1, "a", false}, {2, "bb", false}, {3, "", false}, {4, "ccc", false}}},
		{name: "CRLF and no final newline", in: "a\r\nb", want: []lineOut{{1, "a", false}, {2, "b", false}}},
		{name: "line longer than the buffer", in: "a\n" + big + "\nb\n", want: []lineOut{{1, "a", false}, {2, big, false}, {3, "b", false}}},
		{name: "too long", in: "a\n" + big + "\nb", max: 1 << 20, want: []lineOut{{1, "a", false}, {2, big[:1<<20], true}, {3, "b", false}}},
		{name: "too long at the end", in: big, max: 1 << 20, want: []lineOut{{1, big[:1<<20], true}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, gz := range []bool{false, true} {
				in := []byte(tc.in)
				if gz {
					in = gzipBytes(t, in)
				}
				got, err := readLines(t, in, tc.max)
				if err != nil {
					t.Fatalf("gzip=%v: %v", gz, err)
				}
				if len(got) != len(tc.want) {
					t.Fatalf("gzip=%v: got %d lines, want %d", gz, len(got), len(tc.want))
				}
				for i := range got {
					if got[i] != tc.want[i] {
						t.Errorf("gzip=%v: line %d = {%d %.20q %v}, want {%d %.20q %v}", gz, i, got[i].n, got[i].text, got[i].tooLong, tc.want[i].n, tc.want[i].text, tc.want[i].tooLong)
					}
				}
			}
		})
	}
}

func TestLineReaderGzip(t *testing.T) {
	t.Parallel()
	// Two gzip members back to back (concatenated objects) read as one.
	two := append(gzipBytes(t, []byte("a\nb\n")), gzipBytes(t, []byte("c\n"))...)
	got, err := readLines(t, two, 0)
	if err != nil || len(got) != 3 || got[2].text != "c" {
		t.Fatalf("multistream: %v %+v", err, got)
	}

	// A truncated or corrupt stream is an error, not a silent end.
	whole := gzipBytes(t, []byte(strings.Repeat("line of log text\n", 2000)))
	if _, err := readLines(t, whole[:len(whole)/2], 0); err == nil || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated gzip: err = %v, want unexpected EOF", err)
	}
	bad := bytes.Clone(whole)
	bad[len(bad)-6] ^= 0xff // the CRC/size trailer
	if _, err := readLines(t, bad, 0); err == nil {
		t.Error("corrupt gzip trailer: no error")
	}
	if _, err := NewLineReader(bytes.NewReader([]byte{0x1f, 0x8b, 0, 0}), 0); err == nil || !strings.Contains(err.Error(), "gzip header") {
		t.Errorf("bad gzip header: err = %v", err)
	}
}
