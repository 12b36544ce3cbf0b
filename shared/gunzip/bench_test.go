package gunzip

import (
	"bytes"
	"io"
	"testing"

	"github.com/klauspost/compress/gzip"

	"github.com/tributary-logs/tributary/shared/workloadtest"
)

// workloadRecords are the gzip'd records of the shared workload's 5 MB
// Firehose event ($TRIBUTARY_WORKLOAD, which make bench sets), or a stand-in
// made of the test inputs when it is absent.
func workloadRecords(tb testing.TB) [][]byte {
	if all := workloadtest.FirehoseRecords(tb, "firehose-5.json"); all != nil {
		var recs [][]byte
		for _, r := range all {
			if len(r) > 2 && r[0] == 0x1f && r[1] == 0x8b {
				recs = append(recs, r)
			}
		}
		return recs
	}
	var recs [][]byte
	for _, data := range inputs() {
		recs = append(recs, compress(tb, data, 6))
	}
	return recs
}

// TestWorkloadMatchesReference decodes every workload record both ways.
func TestWorkloadMatchesReference(t *testing.T) {
	var z Inflater
	for i, src := range workloadRecords(t) {
		got, err := z.Append(nil, src, 64<<20)
		want, werr := reference(src)
		if err != nil || werr != nil || !bytes.Equal(got, want) {
			t.Fatalf("record %d: %v / %v, equal %v", i, err, werr, bytes.Equal(got, want))
		}
	}
}

func inflatedSize(tb testing.TB, recs [][]byte) int64 {
	var n int64
	for _, src := range recs {
		out, err := reference(src)
		if err != nil {
			tb.Fatal(err)
		}
		n += int64(len(out))
	}
	return n
}

// BenchmarkInflate reports MB/s of inflated bytes.
func BenchmarkInflate(b *testing.B) {
	recs := workloadRecords(b)
	size := inflatedSize(b, recs)
	b.Run("gunzip", func(b *testing.B) {
		var z Inflater
		var out []byte
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			for _, src := range recs {
				var err error
				if out, err = z.Append(out[:0], src, 64<<20); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("klauspost", func(b *testing.B) {
		zr := new(gzip.Reader)
		var out bytes.Buffer
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			for _, src := range recs {
				if err := zr.Reset(bytes.NewReader(src)); err != nil {
					b.Fatal(err)
				}
				out.Reset()
				if _, err := io.Copy(&out, zr); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
