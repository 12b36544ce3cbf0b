package main

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tributary-logs/tributary/shared/bootstraptest"
	"github.com/tributary-logs/tributary/shared/lambdaruntime"
	"github.com/tributary-logs/tributary/shared/localaws"
	"github.com/tributary-logs/tributary/shared/opsgenietest"
)

var updateSamples = flag.Bool("update", false, "rewrite events/opsgenie/*.expected.json")

// TestSampleEvents checks events/opsgenie/X.json against X.expected.json the way
// events/events_test.go does, with opsgenietest.SampleWorld's environment.
func TestSampleEvents(t *testing.T) {
	moto := localaws.MotoForTest(t)
	env := opsgenietest.SampleWorld("opsgenie")(t, moto)
	f, err := lambdaruntime.New(lambdaruntime.Config{Bootstrap: bootstraptest.Path(t, "opsgenie"), Name: "opsgenie", Timeout: 30 * time.Second, Env: env})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	samples, _ := filepath.Glob(filepath.Join("..", "..", "events", "opsgenie", "*.json"))
	n := 0
	for _, sample := range samples {
		if strings.HasSuffix(sample, ".expected.json") {
			continue
		}
		n++
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
			t.Fatalf("%s: response is not JSON: %v\n%s", sample, err, res.Payload)
		}
		expected := strings.TrimSuffix(sample, ".json") + ".expected.json"
		if *updateSamples {
			if err := os.WriteFile(expected, got, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(expected)
		if err != nil {
			t.Fatalf("%v (go test -run TestSampleEvents -update writes it)", err)
		}
		if eq, err := lambdaruntime.EqualJSON(got, want); err != nil || !eq {
			t.Errorf("%s: response differs from %s:\n%s", sample, expected, got)
		}
	}
	if n < 5 {
		t.Errorf("%d sample events under events/opsgenie, want at least 5", n)
	}
}
