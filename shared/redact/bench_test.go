package redact

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/tributary-logs/tributary/shared/config"
)

// workloadMessages reads up to limit bytes of messages from the shared
// benchmark workload ($TRIBUTARY_WORKLOAD/events-200.ndjson), or returns nil
// when it is not there.
func workloadMessages(b *testing.B, limit int) []string {
	dir := os.Getenv("TRIBUTARY_WORKLOAD")
	if dir == "" {
		return nil
	}
	f, err := os.Open(filepath.Join(dir, "events-200.ndjson"))
	if err != nil {
		b.Logf("no workload: %v", err)
		return nil
	}
	defer f.Close()
	var out []string
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 4<<20)
	for n < limit && sc.Scan() {
		var ev struct {
			Message string `json:"message"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			b.Fatal(err)
		}
		out = append(out, ev.Message)
		n += len(ev.Message)
	}
	if err := sc.Err(); err != nil {
		b.Fatal(err)
	}
	return out
}

// corpora are the message sets the benchmarks run on: the fixture mix
// without secrets, the one with them, and, when TRIBUTARY_WORKLOAD is set,
// the first 8 MiB of messages of the shared workload (no secrets either).
func corpora(b *testing.B) []struct {
	name string
	msgs []string
} {
	c := []struct {
		name string
		msgs []string
	}{
		{"clean", readMessages(b, "testdata/clean.jsonl")},
		{"dirty", readMessages(b, "testdata/dirty.jsonl")},
	}
	if wl := workloadMessages(b, 8<<20); wl != nil {
		c = append(c, struct {
			name string
			msgs []string
		}{"workload", wl})
	}
	return c
}

func benchMessages(b *testing.B, r *Redactor, msgs []string) {
	size := 0
	for _, m := range msgs {
		size += len(m)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	var c Counts
	for b.Loop() {
		for _, m := range msgs {
			_, n := r.Redact(m)
			c.Add(n)
		}
	}
	b.ReportMetric(float64(c.Total())/float64(b.N), "redactions/op")
}

// BenchmarkRedact measures every built-in rule together (the default,
// REDACT=all), and with a custom expression as well, on each corpus.
func BenchmarkRedact(b *testing.B) {
	r := all(b)
	custom, err := New(config.RedactRules, []*regexp.Regexp{regexp.MustCompile(`emp-\d{6}`)})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range corpora(b) {
		b.Run(c.name, func(b *testing.B) { benchMessages(b, r, c.msgs) })
		b.Run(c.name+"+custom", func(b *testing.B) { benchMessages(b, custom, c.msgs) })
	}
}

// BenchmarkRule measures each built-in rule alone, and none, on the corpora
// without secrets, to show where the time goes.
func BenchmarkRule(b *testing.B) {
	for _, c := range corpora(b) {
		if c.name == "dirty" {
			continue
		}
		for _, name := range append(config.RedactRules[:len(config.RedactRules):len(config.RedactRules)], "none") {
			rules := []string{name}
			if name == "none" {
				rules = nil
			}
			r, err := New(rules, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.Run(c.name+"/"+name, func(b *testing.B) { benchMessages(b, r, c.msgs) })
		}
	}
}
