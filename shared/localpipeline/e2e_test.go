package localpipeline

import (
	"context"
	"io"
	"os"
	"testing"

	"github.com/tributary-logs/tributary/shared/bootstraptest"
	"github.com/tributary-logs/tributary/shared/faultproxy"
	"github.com/tributary-logs/tributary/shared/localaws"
)

// TestEndToEndUnderFaults drives a fixed-seed workload through the real
// bootstraps with injected faults and fails on any event lost or
// duplicated between the generator and its end.
func TestEndToEndUnderFaults(t *testing.T) {
	localaws.MotoForTest(t).Stop() // skip or fail early, with the reason, when moto is unavailable
	build := t.TempDir()
	for _, fn := range []string{"transform"} {
		if err := os.MkdirAll(build+"/"+fn, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(bootstraptest.Path(t, fn), build+"/"+fn+"/bootstrap"); err != nil {
			t.Fatal(err)
		}
	}
	var logs io.Writer
	if testing.Verbose() {
		logs = os.Stderr
	}
	ctx := context.Background()
	r, err := Start(ctx, Options{
		BuildDir: build, OutDir: t.TempDir(), Seed: 42, Payloads: 80, Logs: logs,
		Faults: faultproxy.Faults{FirehoseEntryFailure: 0.3},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	records, err := r.Workload()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Transform(ctx, records); err != nil {
		t.Fatal(err)
	}
	rep, err := r.Finish()
	if err != nil {
		t.Fatal(err)
	}
	inj := r.Injected()
	t.Logf("report: %+v; injected %+v", rep.Transform, inj)
	if inj.FirehoseEntriesFailed == 0 || rep.Transform.ReingestedPieces == 0 {
		t.Fatalf("no re-ingest failure was injected (%+v): the test proves nothing", inj)
	}
	for _, p := range rep.Problems {
		t.Error(p)
	}
	if rep.Transform.ProcessingFailed != 1 {
		t.Errorf("%d records ProcessingFailed, want exactly the one corrupt record", rep.Transform.ProcessingFailed)
	}
}
