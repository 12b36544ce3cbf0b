package normalize

import (
	"os"
	"testing"

	"github.com/tributary-logs/tributary/shared/record"
)

// seedCorpus adds every fixture and every format's example.
func seedCorpus(f *testing.F, add func(msg string)) {
	for _, path := range fixtures(f) {
		msg, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		add(string(msg))
	}
	for _, fm := range formats {
		add(fm.example)
	}
}

// FuzzNormalize: any message, any limits. Normalize never panics, keeps the
// message, and yields a valid level, source type and fields object.
func FuzzNormalize(f *testing.F) {
	seedCorpus(f, func(msg string) {
		f.Add(msg, uint8(0), uint8(0), uint16(0))
		f.Add(msg, uint8(3), uint8(1), uint16(16))
	})
	f.Fuzz(func(t *testing.T, msg string, maxFields, maxDepth uint8, maxValue uint16) {
		n := New(Limits{MaxFields: int(maxFields), MaxDepth: int(maxDepth), MaxValueBytes: int(maxValue)})
		rec := record.Record{Message: msg, Fields: []byte("stale")}
		st := n.Normalize(&rec)
		checkInvariants(t, &rec, msg, st)
		// the same Normalizer again gives the same answer
		first := string(rec.Fields)
		level, trace, source := rec.Level, rec.TraceID, rec.SourceType
		st2 := n.Normalize(&rec)
		if string(rec.Fields) != first || rec.Level != level || rec.TraceID != trace || rec.SourceType != source || st2 != st {
			t.Errorf("second call differs")
		}
	})
}

// FuzzParsers runs every parser directly on any input, bypassing the
// first-byte dispatch, so each one meets inputs it would normally never see.
// A parser may reject the input, but must not panic, and what it accepts must
// still be a valid fields object.
func FuzzParsers(f *testing.F) {
	seedCorpus(f, func(msg string) { f.Add(msg) })
	f.Fuzz(func(t *testing.T, msg string) {
		n := New(Limits{})
		for _, fm := range formats {
			rec := record.Record{Message: msg}
			n.msg = msg
			n.jsonState = jsonUntried
			n.traceRank = noTrace
			n.w.reset(rec.Fields, n.lim)
			if !fm.parse(n, &rec, msg) {
				continue
			}
			rec.SourceType = fm.source
			rec.Fields = n.w.finish()
			checkInvariants(t, &rec, msg, Stats{Parser: fm.name, FieldsDropped: n.w.dropped})
		}
	})
}
