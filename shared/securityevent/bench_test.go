package securityevent

import (
	"context"
	"os"
	"testing"

	"github.com/tributary-logs/tributary/shared/alert"
)

type discard struct{}

func (discard) Name() string                                { return "discard" }
func (discard) Deliver(context.Context, *alert.Alert) error { return nil }

// BenchmarkHandle measures one invocation end to end without I/O: decode,
// rules, alert building, storm control, normalization.
func BenchmarkHandle(b *testing.B) {
	set := builtinSet(b)
	for _, name := range []string{"ct-sg-authorize-ingress", "securityhub-two-findings", "awslogs-cloudtrail"} {
		raw, err := os.ReadFile("testdata/events/" + name + ".json")
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			h := New(set, alert.NewDispatcher(nil, discard{}), Options{})
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := h.Handle(context.Background(), raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
