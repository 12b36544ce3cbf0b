package emf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParseLogGroupAllowList(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		entries []string
		limit   int
		allowed []string
		refused []string
		wantErr string
	}{
		{name: "unset", entries: nil, limit: 20},
		{name: "only blanks", entries: []string{" ", ""}, limit: 20},
		{
			name:    "exact and prefix",
			entries: []string{"/aws/lambda/orders", " /ecs/payments-* "},
			limit:   5,
			allowed: []string{"/aws/lambda/orders", "/ecs/payments-api", "/ecs/payments-"},
			refused: []string{"/aws/lambda/orders-v2", "/aws/lambda/order", "/ecs/payment", ""},
		},
		{name: "bare star", entries: []string{"*"}, limit: 20, wantErr: `invalid log group entry "*": a bare * would count every log group; list names or prefixes such as /aws/lambda/orders-*`},
		{name: "bad name", entries: []string{"/aws/lambda/a b"}, limit: 20, wantErr: `invalid log group entry "/aws/lambda/a b": want a log group name (letters, digits, . - _ / #), optionally ending in *`},
		{name: "star inside", entries: []string{"/aws/*/x"}, limit: 20, wantErr: `invalid log group entry "/aws/*/x": want a log group name (letters, digits, . - _ / #), optionally ending in *`},
		{name: "too long", entries: []string{"/" + strings.Repeat("a", 512)}, limit: 20, wantErr: "invalid log group entry"},
		{name: "more names than the limit", entries: []string{"a", "b", "c"}, limit: 2, wantErr: "log group limit: 3 exact log group names exceed the limit of 2 metrics"},
		{name: "limit zero", entries: []string{"a"}, limit: 0, wantErr: "log group limit is 0; want 1..100"},
		{name: "limit above the hard cap", entries: []string{"a"}, limit: MaxLogGroups + 1, wantErr: "log group limit is 101; want 1..100"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, err := ParseLogGroupAllowList(tc.entries, tc.limit)
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("error %v; want %q", err, tc.wantErr)
				}
				if !errors.Is(err, ErrLogGroupPattern) && !errors.Is(err, ErrLogGroupLimit) {
					t.Errorf("error %v wraps neither sentinel", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(tc.allowed) == 0 && a != nil {
				t.Fatalf("got an allow-list %+v for no entries; want nil (off)", a)
			}
			for _, g := range tc.allowed {
				if !a.Allowed(g) {
					t.Errorf("%q refused", g)
				}
			}
			for _, g := range tc.refused {
				if a.Allowed(g) {
					t.Errorf("%q allowed", g)
				}
			}
		})
	}
}

func fixedCounter(t *testing.T, entries []string, limit int) *LogGroupCounter {
	t.Helper()
	a, err := ParseLogGroupAllowList(entries, limit)
	if err != nil {
		t.Fatal(err)
	}
	c := NewLogGroupCounter("transform", a)
	c.now = func() time.Time { return time.UnixMilli(1763787888000) }
	return c
}

func TestLogGroupCounterFlush(t *testing.T) {
	t.Parallel()
	c := fixedCounter(t, []string{"/aws/lambda/orders", "/ecs/*"}, 3)
	c.Count("/aws/lambda/orders", 5)
	c.Count("/aws/lambda/orders", 2)
	c.Count("/aws/lambda/other", 100) // not allow-listed
	c.Count("/ecs/api", 3)
	c.Count("/ecs/web", 1)
	c.Count("/ecs/worker", 4) // over the limit of 3 (the exact name holds one place)
	c.Count("/ecs/batch", 6)  // also over
	c.Count("/ecs/api", 0)    // nothing
	var buf bytes.Buffer
	if err := c.Flush(&buf); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`{"Function":"transform","LogGroup":"(other)","LogGroupEvents":10,"_aws":{"CloudWatchMetrics":[{"Dimensions":[["Function","LogGroup"]],"Metrics":[{"Name":"LogGroupEvents","Unit":"Count"}],"Namespace":"Tributary"}],"Timestamp":1763787888000}}`,
		`{"Function":"transform","LogGroup":"/aws/lambda/orders","LogGroupEvents":7,"_aws":{"CloudWatchMetrics":[{"Dimensions":[["Function","LogGroup"]],"Metrics":[{"Name":"LogGroupEvents","Unit":"Count"}],"Namespace":"Tributary"}],"Timestamp":1763787888000}}`,
		`{"Function":"transform","LogGroup":"/ecs/api","LogGroupEvents":3,"_aws":{"CloudWatchMetrics":[{"Dimensions":[["Function","LogGroup"]],"Metrics":[{"Name":"LogGroupEvents","Unit":"Count"}],"Namespace":"Tributary"}],"Timestamp":1763787888000}}`,
		`{"Function":"transform","LogGroup":"/ecs/web","LogGroupEvents":1,"_aws":{"CloudWatchMetrics":[{"Dimensions":[["Function","LogGroup"]],"Metrics":[{"Name":"LogGroupEvents","Unit":"Count"}],"Namespace":"Tributary"}],"Timestamp":1763787888000}}`,
	}
	got := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("flush:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Every line is EMF CloudWatch accepts: the dimension values are top-level keys.
	for _, line := range got {
		var doc map[string]any
		if err := json.Unmarshal([]byte(line), &doc); err != nil {
			t.Fatal(err)
		}
		m, _ := Lookup(LogGroupEvents)
		if !m.HasDimensions([]string{DimensionFunction, DimensionLogGroup}) || doc[DimensionLogGroup] == nil {
			t.Errorf("line %s does not match the catalogue entry %+v", line, m)
		}
	}
	buf.Reset()
	if err := c.Flush(&buf); err != nil || buf.Len() != 0 {
		t.Errorf("second flush wrote %q (err %v), want nothing", buf.String(), err)
	}
	// /ecs/worker got no place at the cap and does not get one later either;
	// /ecs/api keeps its own value across flushes.
	c.Count("/ecs/worker", 1)
	c.Count("/ecs/api", 1)
	if err := c.Flush(&buf); err != nil {
		t.Fatal(err)
	}
	if s := buf.String(); !strings.Contains(s, `"LogGroup":"(other)","LogGroupEvents":1`) || !strings.Contains(s, `"LogGroup":"/ecs/api","LogGroupEvents":1`) || strings.Count(s, "\n") != 2 {
		t.Errorf("after the cap: %s", s)
	}
}

// TestLogGroupCounterBounded: however many groups match, one container never
// emits more distinct LogGroup values than the limit plus OtherLogGroups.
func TestLogGroupCounterBounded(t *testing.T) {
	t.Parallel()
	c := fixedCounter(t, []string{"/app/*", "/exact/one"}, 10)
	values := map[string]bool{}
	for round := range 3 {
		for i := range 500 {
			c.Count(fmt.Sprintf("/app/service-%d", (i*7+round)%1000), 1)
		}
		c.Count("/exact/one", 1)
		var buf bytes.Buffer
		if err := c.Flush(&buf); err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			var doc map[string]any
			if err := json.Unmarshal([]byte(line), &doc); err != nil {
				t.Fatal(err)
			}
			values[doc[DimensionLogGroup].(string)] = true
		}
	}
	if len(values) != 11 || !values[OtherLogGroups] || !values["/exact/one"] {
		t.Errorf("%d distinct values %v; want 10 (9 prefix-matched + the exact name) + %s", len(values), values, OtherLogGroups)
	}
}

func TestLogGroupCounterDisabled(t *testing.T) {
	t.Parallel()
	for _, c := range []*LogGroupCounter{nil, NewLogGroupCounter("transform", nil)} {
		c.Count("/aws/lambda/x", 3)
		var buf bytes.Buffer
		if err := c.Flush(&buf); err != nil || buf.Len() != 0 {
			t.Errorf("disabled counter wrote %q (err %v)", buf.String(), err)
		}
		if c.Enabled() {
			t.Error("Enabled() = true")
		}
	}
}

func TestLogGroupCounterConcurrent(t *testing.T) {
	t.Parallel()
	c := fixedCounter(t, []string{"/g/*"}, 5)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 1000 {
				c.Count(fmt.Sprintf("/g/%d", (i+j)%3), 1)
			}
		})
	}
	wg.Wait()
	var buf bytes.Buffer
	if err := c.Flush(&buf); err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var doc map[string]any
		if err := json.Unmarshal([]byte(line), &doc); err != nil {
			t.Fatal(err)
		}
		total += doc[LogGroupEvents].(float64)
	}
	if total != 8000 {
		t.Errorf("total %v; want 8000", total)
	}
}

func FuzzParseLogGroupAllowList(f *testing.F) {
	f.Add("/aws/lambda/orders,/ecs/*", 20)
	f.Add("*", 1)
	f.Add("a,b,c", 2)
	f.Fuzz(func(t *testing.T, spec string, limit int) {
		a, err := ParseLogGroupAllowList(strings.Split(spec, ","), limit)
		if err != nil {
			return
		}
		if a == nil {
			return
		}
		if len(a.exact) > a.limit || a.limit < 1 || a.limit > MaxLogGroups {
			t.Fatalf("accepted %q with limit %d: %d exact names", spec, limit, len(a.exact))
		}
		for _, p := range a.prefixes {
			if p == "" {
				t.Fatalf("accepted an empty prefix from %q", spec)
			}
		}
		c := NewLogGroupCounter("transform", a)
		for _, g := range strings.Split(spec, ",") {
			c.Count(strings.TrimSuffix(g, "*")+"x", 1)
		}
		if len(c.admitted)+len(a.exact) > a.limit {
			t.Fatalf("admitted %d values over the limit %d", len(c.admitted)+len(a.exact), a.limit)
		}
	})
}

// BenchmarkLogGroupCounterCount is the transform's per-payload cost: one
// call per CloudWatch Logs envelope (bytes = the log group name).
func BenchmarkLogGroupCounterCount(b *testing.B) {
	a, err := ParseLogGroupAllowList([]string{"/aws/lambda/orders", "/ecs/*"}, 20)
	if err != nil {
		b.Fatal(err)
	}
	for _, group := range []string{"/aws/lambda/orders", "/ecs/payments-api", "/aws/lambda/not-listed"} {
		b.Run(strings.ReplaceAll(group, "/", "_"), func(b *testing.B) {
			c := NewLogGroupCounter("transform", a)
			b.SetBytes(int64(len(group)))
			b.ReportAllocs()
			for b.Loop() {
				c.Count(group, 25)
			}
		})
	}
}
