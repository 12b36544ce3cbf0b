package bulk_test

import (
	"testing"
)

// BenchmarkBatchAdd: encoding records as create actions and documents.
func BenchmarkBatchAdd(b *testing.B) {
	recs := records(2000)
	size := 0
	for i := range recs {
		size += len(recs[i].Message)
	}
	bt := newBatch(b, nil)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		bt.Reset()
		for i := range recs {
			bt.Add(&recs[i], i)
		}
	}
}
