// Command demo runs Tributary's pipeline on this machine with no AWS
// account: `make demo`. It starts the local services, generates a realistic
// workload, drives it through the real function binaries as AWS would, and
// prints what came out. Everything it produced stays in -out.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/tributary-logs/tributary/shared/bulktest"
	"github.com/tributary-logs/tributary/shared/localpipeline"
)

func main() {
	build := flag.String("build", "build", "folder with <function>/bootstrap (make build)")
	out := flag.String("out", "demo-out", "folder for what the demo produces")
	seed := flag.Uint64("seed", 1, "workload seed")
	payloads := flag.Int("payloads", 120, "CloudWatch Logs payloads to generate")
	verbose := flag.Bool("v", false, "show the functions' own logs")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *build, *out, *seed, *payloads, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, build, out string, seed uint64, payloads int, verbose bool) error {
	began := time.Now()
	var logs io.Writer
	logFile, err := os.Create(filepath.Join(mustMkdir(out), "functions.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	logs = logFile
	if verbose {
		logs = io.MultiWriter(logFile, os.Stderr)
	}
	r, err := localpipeline.Start(ctx, localpipeline.Options{
		BuildDir: build, OutDir: out, Seed: seed, Payloads: payloads, Progress: os.Stdout, Logs: logs,
	})
	if err != nil {
		return err
	}
	// Close stops every process the demo started, on success or failure.
	defer r.Close()
	// OpenSearch takes a while to start: bring it up while transform runs.
	search := make(chan error, 1)
	go func() { search <- r.StartSearch(ctx, false, bulktest.Faults{}) }()
	w, err := r.Workload()
	if err != nil {
		return err
	}
	if err := r.Transform(ctx, w.Firehose); err != nil {
		return err
	}
	if err := r.Lake(ctx); err != nil {
		return err
	}
	if err := <-search; err != nil {
		return err
	}
	if err := r.Index(ctx, w.Subscription); err != nil {
		return err
	}
	if err := r.StartAlerting(ctx); err != nil {
		return err
	}
	if err := r.Alert(ctx, "events", w); err != nil {
		return err
	}
	rep, err := r.Finish()
	if err != nil {
		return err
	}
	rep.Print(os.Stdout)
	q := strings.Join(strings.Fields(rep.Lake.Query), " ")
	fmt.Printf("\n  look at the lake (errors per log group and hour) with DuckDB:\n    duckdb -c %q\n", q)
	fmt.Printf("  or with the DuckDB the tests installed from npm:\n    node tools/duckdb/lakecheck.mjs query %q\n", q)
	fmt.Printf("\n  artefacts in %s/: lake/ (Parquet), report.json, alerts.json, indexed-samples.json, dead-letters.ndjson, functions.log\n", out)
	fmt.Printf("  finished in %.1fs; every process the demo started is stopped\n", time.Since(began).Seconds())
	if len(rep.Problems) > 0 {
		return fmt.Errorf("%d accounting problems", len(rep.Problems))
	}
	return nil
}

func mustMkdir(dir string) string {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
	return dir
}
