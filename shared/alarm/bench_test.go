package alarm

import (
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
