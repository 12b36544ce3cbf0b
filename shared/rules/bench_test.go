package rules

import (
	"os"
	"testing"

	"github.com/valyala/fastjson"
)

// BenchmarkEvaluate runs the built-in rule set over real-shaped events.
func BenchmarkEvaluate(b *testing.B) {
	set, err := Compile(nil, nil, Options{MinFindingSeverity: 4})
	if err != nil {
		b.Fatal(err)
	}
	for _, name := range []string{"ct-sg-authorize-ingress", "signin-root", "guardduty-credential-exfiltration", "ct-unmatched-ssm-putparameter"} {
		raw, err := os.ReadFile("../securityevent/testdata/events/" + name + ".json")
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			var p fastjson.Parser
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				v, err := p.ParseBytes(raw)
				if err != nil {
					b.Fatal(err)
				}
				_ = set.Evaluate(v)
			}
		})
	}
}
