package alert

import (
	"strings"
	"testing"
)

// BenchmarkNormalizeAndEncode cuts a large alert to the limits and encodes
// the Create Alert body.
func BenchmarkNormalizeAndEncode(b *testing.B) {
	details := map[string]string{}
	for _, k := range []string{"principal", "principalType", "sourceIP", "userAgent", "eventName", "eventSource", "request.groupId", "request.rules", "cloudTrailURL"} {
		details[k] = strings.Repeat("v", 120)
	}
	src := Alert{Action: Create, Message: strings.Repeat("m", 200), Alias: "cis-security-group-changes:0b1c2d3e-4f5a-4b6c-9d7e-8f9a0b1c2d3e",
		Description: strings.Repeat("description line\n", 1200), Priority: P3, Tags: []string{"cis", "cis-4.10", "network"}, Details: details}
	s := &OpsgenieSink{user: "Tributary"}
	b.SetBytes(int64(len(src.Description) + len(src.Message)))
	b.ReportAllocs()
	for b.Loop() {
		a := src
		a.Normalize(P3)
		if _, err := s.CreateBody(&a); err != nil {
			b.Fatal(err)
		}
	}
}
