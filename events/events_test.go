// Package events_test runs every built bootstrap against every sample event
// under events/<function>/ through the local Lambda Runtime API, and checks
// each response against the X.expected.json file beside the event X.json
// (go test ./events -update rewrites them). These are the same events
// `make invoke` and `sam local invoke -e` use, so the samples cannot rot.
package events_test

import (
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tributary-logs/tributary/shared/bootstraptest"
	"github.com/tributary-logs/tributary/shared/config"
	"github.com/tributary-logs/tributary/shared/lambdaruntime"
	"github.com/tributary-logs/tributary/shared/localaws"
	"github.com/tributary-logs/tributary/shared/localworld"
)

var update = flag.Bool("update", false, "rewrite the expected responses")

func TestSampleEvents(t *testing.T) {
	moto := localaws.MotoForTest(t)
	for _, fn := range config.Functions {
		events, _ := filepath.Glob(filepath.Join(fn, "*.json"))
		var samples []string
		for _, e := range events {
			if !strings.HasSuffix(e, ".expected.json") {
				samples = append(samples, e)
			}
		}
		t.Run(fn, func(t *testing.T) {
			if len(samples) == 0 {
				t.Fatalf("events/%s has no sample events", fn)
			}
			if err := moto.Reset(); err != nil {
				t.Fatal(err)
			}
			world, err := localworld.Start(context.Background(), moto, fn)
			if err != nil {
				t.Fatal(err)
			}
			defer world.Close()
			f, err := lambdaruntime.New(lambdaruntime.Config{
				Bootstrap: bootstraptest.Path(t, fn),
				Name:      fn,
				Timeout:   2 * time.Minute, // above the lake's 30 s SQS margin
				Env:       world.Env,
				Output:    functionLogs(t),
			})
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			for _, sample := range samples {
				t.Run(filepath.Base(sample), func(t *testing.T) {
					payload, err := os.ReadFile(sample)
					if err != nil {
						t.Fatal(err)
					}
					res, err := f.Invoke(context.Background(), payload)
					if err != nil {
						t.Fatal(err)
					}
					got, err := lambdaruntime.NormalizeJSON(res.Payload)
					if err != nil {
						t.Fatalf("response is not JSON: %v\n%s", err, res.Payload)
					}
					expected := strings.TrimSuffix(sample, ".json") + ".expected.json"
					if *update {
						if err := os.WriteFile(expected, got, 0o644); err != nil {
							t.Fatal(err)
						}
					}
					want, err := os.ReadFile(expected)
					if err != nil {
						t.Fatalf("%v (go test ./events -update writes it)", err)
					}
					if eq, err := lambdaruntime.EqualJSON(got, want); err != nil || !eq {
						t.Errorf("response differs from %s (err %v):\n%s", expected, err, got)
					}
				})
			}
		})
	}
}

// functionLogs shows the function's own logs with go test -v.
func functionLogs(t *testing.T) io.Writer {
	if !testing.Verbose() {
		return nil
	}
	return os.Stderr
}
