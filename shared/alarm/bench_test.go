package alarm

import (
	"context"
	"os"
	"testing"

	"github.com/tributary-logs/tributary/shared/alert"
)

// BenchmarkDecodeAndBuild decodes alarm notifications and builds their alerts.
func BenchmarkDecodeAndBuild(b *testing.B) {
	for _, name := range []string{"sns-metric-math-alarm", "eventbridge-composite-alarm"} {
		raw, err := os.ReadFile("testdata/events/" + name + ".json")
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				notes, _ := Decode(raw)
				for i := range notes {
					a := Build(&notes[i], alert.Create, alert.P3, nil, nil, nil)
					a.Normalize(alert.P3)
				}
			}
		})
	}
}

// BenchmarkPipelineAlert decodes the composite pipeline alarm's notification
// and builds its alert with the members' context already looked up (the
// lookups are network calls, bounded by LOG_LOOKUP_TIMEOUT).
func BenchmarkPipelineAlert(b *testing.B) {
	raw, err := os.ReadFile("testdata/pipeline/sns-pipeline-degraded.json")
	if err != nil {
		b.Fatal(err)
	}
	notes, _ := Decode(raw)
	_, cw := pipelineWorld(b)
	h := New(alert.NewDispatcher(nil), Options{PriorityTag: "Priority", Alarms: cw, LogGroups: newFakeGroups()})
	p := h.pipeline(context.Background(), &notes[0], nil, errTagsOff)
	if p == nil || len(p.Members) != 4 {
		b.Fatalf("context %+v", p)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		notes, _ := Decode(raw)
		a := BuildPipeline(&notes[0], alert.Create, alert.P2, p, nil, nil)
		a.Normalize(alert.P3)
	}
}
