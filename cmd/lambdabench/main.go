// Command lambdabench runs built bootstraps through the local Lambda Runtime
// API on workload events and reports what Lambda would: init time, cold and
// warm durations, max memory used, and throughput in MiB/s of log messages.
// AWS APIs are served by moto, OpenSearch by the local bulk server, Opsgenie
// by its test server. `make bench` runs it after the Go benchmarks.
//
//	go run ./cmd/lambdabench -workload .workload -build build
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	fhtypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tributary-logs/tributary/shared/bulktest"
	"github.com/tributary-logs/tributary/shared/lambdaruntime"
	"github.com/tributary-logs/tributary/shared/localaws"
	"github.com/tributary-logs/tributary/shared/localworld"
)

func main() {
	workload := flag.String("workload", ".workload", "folder with the shared workload's files")
	build := flag.String("build", "build", "folder with <function>/bootstrap")
	runs := flag.Int("n", 5, "warm invocations per event")
	flag.Parse()
	if err := run(*workload, *build, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "lambdabench:", err)
		os.Exit(1)
	}
}

// benchCase is one function and event, at the memory size the template
// gives the function.
type benchCase struct {
	fn, event string
	memoryMB  int
	env       []string
}

func run(workload, build string, runs int) error {
	ctx := context.Background()
	moto, err := localaws.StartMoto(ctx, nil)
	if err != nil {
		return err
	}
	defer moto.Stop()
	cfg, err := moto.Config(ctx, "us-east-1")
	if err != nil {
		return err
	}
	// The workload's Firehose events name this delivery stream; re-ingested
	// pieces land in moto's S3 as they would in the stream's bucket.
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bench-raw")}); err != nil {
		return fmt.Errorf("create bucket: %w", err)
	}
	if _, err := firehose.NewFromConfig(cfg).CreateDeliveryStream(ctx, &firehose.CreateDeliveryStreamInput{
		DeliveryStreamName: aws.String("central-logging"),
		ExtendedS3DestinationConfiguration: &fhtypes.ExtendedS3DestinationConfiguration{
			BucketARN: aws.String("arn:aws:s3:::bench-raw"), RoleARN: aws.String("arn:aws:iam::123456789012:role/firehose"),
		},
	}); err != nil {
		return fmt.Errorf("create delivery stream: %w", err)
	}
	// The indexer writes to the local bulk server, cleared before each run
	// so every run indexes afresh instead of meeting 409s.
	bulk := bulktest.Start()
	defer bulk.Close()
	envOf := map[string][]string{"indexer": {"OPENSEARCH_ENDPOINT=" + bulk.URL, "OPENSEARCH_AUTH=none"}}
	// The alarm's and opsgenie's worlds: what their samples need.
	for _, fn := range []string{"opsgenie", "alarm"} {
		w, err := localworld.Start(ctx, moto, fn)
		if err != nil {
			return err
		}
		defer w.Close()
		envOf[fn] = w.Env
	}

	cases := []benchCase{
		{"transform", filepath.Join("events", "transform", "firehose-cloudwatch.json"), 1024, nil},
		{"transform", filepath.Join(workload, "firehose-5.json"), 1024, nil},
		{"indexer", filepath.Join(workload, "awslogs-1.json"), 512, envOf["indexer"]},
		{"opsgenie", filepath.Join("events", "opsgenie", "cloudtrail-security-group-open.json"), 256, envOf["opsgenie"]},
		{"alarm", filepath.Join("events", "alarm", "sns-metric-alarm.json"), 256, envOf["alarm"]},
	}
	fmt.Printf("%-10s %-34s %8s %8s %8s %8s %8s %10s\n", "function", "event", "init ms", "cold ms", "warm ms", "p50 ms", "max MiB", "MiB/s p50")
	for _, c := range cases {
		event, err := os.ReadFile(c.event)
		if err != nil {
			fmt.Printf("%-10s %-34s skipped: %v\n", c.fn, filepath.Base(c.event), err)
			continue
		}
		fn, err := lambdaruntime.New(lambdaruntime.Config{
			Bootstrap: filepath.Join(build, c.fn, "bootstrap"), Name: c.fn, Timeout: 5 * time.Minute,
			MemoryMB: c.memoryMB, Env: append(moto.Env("us-east-1"), c.env...),
		})
		if err != nil {
			return err
		}
		var cold lambdaruntime.Result
		var warm []time.Duration
		maxRSS := 0
		for i := 0; i <= runs; i++ {
			if c.fn == "indexer" {
				bulk.ClearIndices()
			}
			res, err := fn.Invoke(ctx, event)
			if err == nil {
				err = res.Err()
			}
			if err != nil {
				fn.Close()
				return fmt.Errorf("%s %s: %w", c.fn, c.event, err)
			}
			if i == 0 {
				cold = res
			} else {
				warm = append(warm, res.Duration)
			}
			maxRSS = max(maxRSS, res.MaxRSSKiB)
		}
		fn.Close()
		sort.Slice(warm, func(i, j int) bool { return warm[i] < warm[j] })
		p50 := warm[len(warm)/2]
		rate := "-"
		if mb := messageMiB(c.event); mb > 0 {
			rate = fmt.Sprintf("%.1f", mb/p50.Seconds())
		}
		fmt.Printf("%-10s %-34s %8.1f %8.1f %8.1f %8.1f %8.1f %10s\n", c.fn, filepath.Base(c.event),
			ms(cold.InitDuration), ms(cold.Duration), ms(warm[0]), ms(p50), float64(maxRSS)/1024, rate)
	}
	return nil
}

// messageMiB reads the workload generator's stats file beside an event.
func messageMiB(event string) float64 {
	b, err := os.ReadFile(event + ".stats.json")
	if err != nil {
		return 0
	}
	var st struct {
		MessageBytes float64 `json:"message_bytes"`
	}
	if json.Unmarshal(b, &st) != nil {
		return 0
	}
	return st.MessageBytes / (1 << 20)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
