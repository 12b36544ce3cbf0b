package lake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// compactNow is when hours 00 and 01 of 2025-11-20 are closed (a full hour
// after they end).
var compactNow = time.Date(2025, 11, 20, 4, 0, 0, 0, time.UTC)

func fixedClock(t time.Time) Option { return WithClock(func() time.Time { return t }) }

type lakeFixture struct {
	c      *s3.Client
	bucket string
	cfg    Config
	names  []string // converted file names
	want   map[Partition]Digest
}

// newLakeFixture converts n raw objects into a fresh bucket and records the
// digest of each partition before compaction.
func newLakeFixture(t *testing.T, n int) *lakeFixture {
	t.Helper()
	c, bucket := testBucket(t)
	f := &lakeFixture{c: c, bucket: bucket, want: map[Partition]Digest{},
		cfg: Config{Bucket: bucket, TempDir: t.TempDir(), RowGroupBytes: 4 << 10}.withDefaults()}
	svc := f.service(t, compactNow)
	for i, part := range sampleParts(t, n) {
		key := fmt.Sprintf(rawKeyFmt, i, i)
		putObject(t, c, bucket, key, part)
		res, err := svc.ConvertObject(context.Background(), ObjectRef{Bucket: bucket, Key: key})
		if err != nil {
			t.Fatal(err)
		}
		f.names = append(f.names, nameOf(res.Files[0]))
	}
	for _, p := range []Partition{hour0, hour1} {
		d, keys := partitionDigest(t, c, bucket, f.cfg.Layout, p)
		if len(keys) != n {
			t.Fatalf("%s holds %d files before compaction, want %d", p, len(keys), n)
		}
		f.want[p] = d
	}
	return f
}

func (f *lakeFixture) service(t *testing.T, now time.Time, opts ...Option) *Service {
	return NewService(f.cfg, &S3Store{Client: f.c}, quietLog(), append([]Option{fixedClock(now)}, opts...)...)
}

// check asserts the end state: each partition holds exactly its rows, in
// one sorted compacted file, and no compaction state is left.
func (f *lakeFixture) check(t *testing.T) {
	t.Helper()
	l := (&Config{}).withDefaults().Layout
	for p, want := range f.want {
		got, keys := partitionDigest(t, f.c, f.bucket, l, p)
		if got != want {
			t.Errorf("%s: rows %+v, want %+v", p, got, want)
		}
		if len(keys) != 1 || !strings.Contains(keys[0], "/compact-") {
			t.Errorf("%s: files %v, want one compacted file", p, keys)
		}
		var led ledger
		if err := json.Unmarshal(getObject(t, f.c, f.bucket, l.LedgerKey(p)), &led); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(led.Compacted, slices.Sorted(slices.Values(f.names))) {
			t.Errorf("%s: ledger %v, want %v", p, led.Compacted, f.names)
		}
	}
	for _, k := range listKeys(t, f.c, f.bucket, l.StatePrefix()) {
		if !strings.HasSuffix(k, "/ledger.json") {
			t.Errorf("state left behind: %s", k)
		}
	}
}

func TestCompaction(t *testing.T) {
	t.Parallel()
	f := newLakeFixture(t, 3)
	svc := f.service(t, compactNow)
	rep, err := svc.Compact(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Compacted) != 2 || rep.Compacted[0].Partition != hour0.Path() || rep.Compacted[0].Inputs != 3 ||
		rep.Compacted[0].Rows != f.want[hour0].Rows || len(rep.Busy)+len(rep.Failed)+len(rep.Recovered) != 0 || rep.Stopped {
		t.Fatalf("report %+v", rep)
	}
	if rep.Partitions != 2 {
		t.Errorf("looked at %d partitions, want the 2 closed hours that hold files", rep.Partitions)
	}
	f.check(t)

	// DuckDB reads the merged file like any other.
	if _, err := os.Stat(filepath.Join(duckdbTool(t), "lakecheck.mjs")); err == nil {
		path := filepath.Join(t.TempDir(), "merged.parquet")
		if err := os.WriteFile(path, getObject(t, f.c, f.bucket, rep.Compacted[0].Outputs[0]), 0o644); err != nil {
			t.Fatal(err)
		}
		out := inspectFiles(t, nil, path)
		checkDuckFile(t, out.Files[0])
		if out.Files[0].KV["tributary.compaction"] == "" {
			t.Errorf("merged file metadata %v lacks tributary.compaction", out.Files[0].KV)
		}
	}

	// Nothing left to do: a second run changes nothing.
	rep, err = svc.Compact(context.Background())
	if err != nil || len(rep.Compacted) != 0 {
		t.Fatalf("second run: %+v, %v", rep, err)
	}

	// A notification re-delivered after compaction does not bring the rows
	// back: the ledger says they are already in the merged file.
	key := fmt.Sprintf(rawKeyFmt, 0, 0)
	res, err := svc.ConvertObject(context.Background(), ObjectRef{Bucket: f.bucket, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Files) != 0 || len(res.AlreadyCompacted) != 2 {
		t.Errorf("re-delivery result %+v, want both files already compacted", res)
	}
	f.check(t)

	// Hours that are not closed yet are left alone.
	early := f.service(t, time.Date(2025, 11, 20, 1, 30, 0, 0, time.UTC))
	if rep, err := early.Compact(context.Background()); err != nil || rep.Partitions != 0 {
		t.Errorf("early run: %+v %v", rep, err)
	}
}

// TestCompactionCrashSafety stops compaction before each of its steps, as
// a crash would (the lease is not released), checks that no row is lost at
// that point and that duplicates exist only while a manifest does, then
// lets a later run (after the lease expired) finish the job.
func TestCompactionCrashSafety(t *testing.T) {
	t.Parallel()
	steps := []string{StepManifestPending, StepWriteOutputs, StepVerify, StepManifestVerified, StepLedger, StepDeleteInputs, StepManifestDelete}
	for _, step := range steps {
		t.Run(step, func(t *testing.T) {
			t.Parallel()
			f := newLakeFixture(t, 3)
			_, err := f.service(t, compactNow, WithCrashAt(step)).Compact(context.Background())
			var crash *CrashError
			if !errors.As(err, &crash) || crash.Step != step {
				t.Fatalf("err = %v, want a crash before %s", err, step)
			}
			l := f.cfg.withDefaults().Layout
			manifestLeft := len(listKeys(t, f.c, f.bucket, l.ManifestKey(hour0))) == 1
			got, keys := partitionDigest(t, f.c, f.bucket, l, hour0)
			want := f.want[hour0]
			switch {
			case got == want:
			case got.Rows > want.Rows && manifestLeft:
				// duplicates, but only inside the window a manifest closes
			default:
				t.Fatalf("after a crash before %s: %s holds %+v in %v (manifest left: %v), want %+v", step, hour0, got, keys, manifestLeft, want)
			}
			if got.Rows < want.Rows {
				t.Fatalf("rows lost")
			}

			// While the dead run's lease lasts, others keep off.
			rep, err := f.service(t, compactNow.Add(time.Minute)).Compact(context.Background())
			if err != nil || !slices.Contains(rep.Busy, hour0.Path()) {
				t.Fatalf("run during the lease: %+v, %v", rep, err)
			}

			// After it expires the next run recovers and finishes.
			rep, err = f.service(t, compactNow.Add(30*time.Minute)).Compact(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if step != StepManifestPending && !slices.ContainsFunc(rep.Recovered, func(s string) bool { return strings.HasPrefix(s, hour0.Path()) }) {
				t.Errorf("report %+v: no recovery of %s", rep, hour0)
			}
			f.check(t)
		})
	}
}

// TestCompactionConcurrent: runs on the same partitions at the same time
// do not corrupt each other; the lease lets one work, the other skips.
func TestCompactionConcurrent(t *testing.T) {
	t.Parallel()
	f := newLakeFixture(t, 4)
	const runs = 3
	var wg sync.WaitGroup
	reps := make([]CompactReport, runs)
	errs := make([]error, runs)
	for i := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reps[i], errs[i] = f.service(t, compactNow).Compact(context.Background())
		}()
	}
	wg.Wait()
	merged := map[string]int{}
	for i := range runs {
		if errs[i] != nil {
			t.Fatalf("run %d: %v", i, errs[i])
		}
		for _, c := range reps[i].Compacted {
			merged[c.Partition]++
		}
	}
	for _, p := range []Partition{hour0, hour1} {
		if merged[p.Path()] != 1 {
			t.Errorf("%s merged %d times (reports %+v)", p, merged[p.Path()], reps)
		}
	}
	f.check(t)
}

// TestCompactionExpiredLease: a lease left by a dead run is taken over once
// it has expired, and respected before.
func TestCompactionExpiredLease(t *testing.T) {
	t.Parallel()
	f := newLakeFixture(t, 2)
	svc := f.service(t, compactNow)
	l := svc.cfg.Layout
	body := fmt.Sprintf(`{"owner":"dead","partition":%q,"expires":%q}`, hour0.Path(), compactNow.Add(10*time.Minute).Format(time.RFC3339))
	putObject(t, f.c, f.bucket, l.LockKey(hour0), []byte(body))
	rep, err := svc.Compact(context.Background())
	if err != nil || !slices.Equal(rep.Busy, []string{hour0.Path()}) || len(rep.Compacted) != 1 {
		t.Fatalf("with a live lease: %+v %v", rep, err)
	}
	rep, err = f.service(t, compactNow.Add(11*time.Minute)).Compact(context.Background())
	if err != nil || len(rep.Busy) != 0 || len(rep.Compacted) != 1 || rep.Compacted[0].Partition != hour0.Path() {
		t.Fatalf("after it expired: %+v %v", rep, err)
	}
	f.check(t)
}

func TestPlan(t *testing.T) {
	t.Parallel()
	svc := NewService(Config{TargetFileBytes: 100, MaxMergeFiles: 3}, nil, quietLog())
	files := func(sizes ...int64) []ObjectInfo {
		var out []ObjectInfo
		for i, s := range sizes {
			out = append(out, ObjectInfo{Key: fmt.Sprintf("k%02d", i), Size: s})
		}
		return out
	}
	keys := func(bins [][]ObjectInfo) string {
		var parts []string
		for _, b := range bins {
			var ks []string
			for _, o := range b {
				ks = append(ks, o.Key)
			}
			parts = append(parts, strings.Join(ks, "+"))
		}
		return strings.Join(parts, " ")
	}
	for _, tc := range []struct {
		sizes []int64
		want  string
	}{
		{[]int64{10}, ""},
		{[]int64{10, 20}, "k00+k01"},
		{[]int64{150, 10, 20}, "k01+k02"},                                // big files stay
		{[]int64{60, 50, 30}, "k01+k02"},                                 // 60+50 > 100
		{[]int64{10, 10, 10, 10, 10, 10, 10}, "k00+k01+k02 k03+k04+k05"}, // MaxMergeFiles
		{[]int64{99, 99}, ""},
	} {
		if got := keys(svc.plan(files(tc.sizes...))); got != tc.want {
			t.Errorf("plan(%v) = %q, want %q", tc.sizes, got, tc.want)
		}
	}
}

func TestParsePartitionPath(t *testing.T) {
	t.Parallel()
	p, ok := parsePartitionPath("dt=2025-11-20/hour=01/manifest.json")
	if !ok || p != hour1 {
		t.Errorf("got %v %v", p, ok)
	}
	for _, bad := range []string{"", "dt=2025-11-20", "dt=2025-13-20/hour=01/x", "xx=2025-11-20/hour=01/x", "dt=2025-11-20/hour=25/x"} {
		if _, ok := parsePartitionPath(bad); ok {
			t.Errorf("parsePartitionPath(%q) accepted", bad)
		}
	}
}

// TestDuplicatesDropped: an event delivered twice (Firehose is at least
// once) is kept once, within one object and across objects merged by
// compaction.
func TestDuplicatesDropped(t *testing.T) {
	t.Parallel()
	sample := sampleNDJSON(t)
	lines := strings.SplitAfter(string(sample), "\n")
	twice := []byte(lines[0] + string(sample) + lines[3])
	got := convertBytes(t, twice, ConvertConfig{})
	if got.res.Rows != 54 || got.res.Duplicates != 2 {
		t.Fatalf("one object: %+v, want 54 rows and 2 duplicates", got.res)
	}

	c, bucket := testBucket(t)
	cfg := Config{Bucket: bucket, TempDir: t.TempDir()}.withDefaults()
	svc := NewService(cfg, &S3Store{Client: c}, quietLog(), fixedClock(compactNow))
	for i := range 2 { // the same records in two raw objects
		key := fmt.Sprintf(rawKeyFmt, i, i)
		putObject(t, c, bucket, key, gzipBytes(t, sample))
		if _, err := svc.ConvertObject(context.Background(), ObjectRef{Bucket: bucket, Key: key}); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := svc.Compact(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var rows, dups int64
	for _, p := range rep.Compacted {
		rows += p.Rows
		dups += p.Duplicates
	}
	if rows != 54 || dups != 54 {
		t.Errorf("compaction kept %d rows and dropped %d duplicates, want 54 and 54: %+v", rows, dups, rep)
	}
	d0, _ := partitionDigest(t, c, bucket, cfg.Layout, hour0)
	d1, _ := partitionDigest(t, c, bucket, cfg.Layout, hour1)
	if d0.Rows+d1.Rows != 54 {
		t.Errorf("lake holds %d rows after compaction, want 54", d0.Rows+d1.Rows)
	}
}
