package localpipeline

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/tributary-logs/tributary/shared/bootstraptest"
	"github.com/tributary-logs/tributary/shared/bulktest"
	"github.com/tributary-logs/tributary/shared/faultproxy"
	"github.com/tributary-logs/tributary/shared/localaws"
)

// TestEndToEndUnderFaults drives a fixed-seed workload through the real
// bootstraps with injected faults and fails on any event lost or
// duplicated between the generator and its end.
func TestEndToEndUnderFaults(t *testing.T) {
	localaws.MotoForTest(t).Stop() // skip or fail early, with the reason, when moto is unavailable
	build := t.TempDir()
	for _, fn := range []string{"transform", "lake", "indexer", "opsgenie", "alarm"} {
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
		Faults: faultproxy.Faults{FirehoseEntryFailure: 0.3, S3PutFailure: 0.2},
		// No index template: dynamic mapping meets a field whose type
		// changes between sources, a real mapping conflict.
		IndexerEnv: []string{"SETUP_INDEX_TEMPLATE=false", "BULK_MAX_BYTES=131072"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	w, err := r.Workload()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Transform(ctx, w.Firehose); err != nil {
		t.Fatal(err)
	}
	// S3 refuses a fifth of the lake's writes (503 SlowDown).
	if err := r.Lake(ctx); err != nil {
		t.Fatal(err)
	}
	// OpenSearch under pressure: 429 storms (a fifth of the documents
	// rejected twice), whole-request 503s, and 413 above 96 KiB.
	if err := r.StartSearch(ctx, true, bulktest.Faults{ThrottleRatio: 0.2, ThrottleTimes: 2, FailRequests: 3,
		ServerErrorStatus: 503, MaxContentLength: 96 << 10}); err != nil {
		t.Fatal(err)
	}
	if err := r.Index(ctx, w.Subscription); err != nil {
		t.Fatal(err)
	}
	// An Opsgenie outage: the first two invocations that reach it fail (SNS
	// still gets the alert) and are retried.
	if err := r.StartAlerting(ctx); err != nil {
		t.Fatal(err)
	}
	r.InjectOpsgenieOutage(2)
	if err := r.Alert(ctx, filepath.Join(bootstraptest.RepoRoot(t), "events"), w); err != nil {
		t.Fatal(err)
	}
	rep, err := r.Finish()
	if err != nil {
		t.Fatal(err)
	}
	inj := r.Injected()
	t.Logf("report: %+v %+v; injected %+v", rep.Transform, rep.Indexer, inj)
	if inj.FirehoseEntriesFailed == 0 || rep.Transform.ReingestedPieces == 0 {
		t.Fatalf("no re-ingest failure was injected (%+v): the test proves nothing", inj)
	}
	if a := rep.Alerts; a.FailedInvocations < 2 || a.Pages == 0 || a.Deduplicated == 0 || a.SNSMessages == 0 || a.Closed["P3"]+a.Closed["P2"]+a.Closed["P1"]+a.Closed["P4"]+a.Closed["P5"] == 0 {
		t.Errorf("alerting: %+v (want the outage retried, pages, deduplicated repeats, SNS messages and the alarm closed)", a)
	}
	if rep.Lake.Rows != rep.EventsGenerated || inj.S3PutsFailed == 0 {
		t.Errorf("lake holds %d rows for %d events; %d S3 puts refused", rep.Lake.Rows, rep.EventsGenerated, inj.S3PutsFailed)
	}
	if rep.Indexer.DeadLettered == 0 {
		t.Error("no dead letters: the mapping conflict and the corrupt payload must be dead-lettered with reasons")
	}
	for _, p := range rep.Problems {
		t.Error(p)
	}
	if rep.Transform.ProcessingFailed != 1 {
		t.Errorf("%d records ProcessingFailed, want exactly the one corrupt record", rep.Transform.ProcessingFailed)
	}
}
