// Command lambdabench runs built bootstraps through the local Lambda Runtime
// API on workload events and reports what Lambda would: init time, cold and
// warm durations, and max memory used. AWS APIs are served by moto.
//
//	go run ./cmd/lambdabench -workload .workload -build build
package main

import (
	"context"
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

	"github.com/tributary-logs/tributary/shared/lambdaruntime"
	"github.com/tributary-logs/tributary/shared/localaws"
)

func main() {
	workload := flag.String("workload", ".workload", "folder with the shared workload's files")
	build := flag.String("build", "build", "folder with <function>/bootstrap")
	runs := flag.Int("n", 5, "warm invocations per event")
	memory := flag.Int("memory", 1024, "memory size reported to the function (MB)")
	flag.Parse()
	if err := run(*workload, *build, *runs, *memory); err != nil {
		fmt.Fprintln(os.Stderr, "lambdabench:", err)
		os.Exit(1)
	}
}

func run(workload, build string, runs, memory int) error {
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
	// The workload's events name this delivery stream; re-ingested pieces
	// land in moto's S3 as they would in the stream's bucket.
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

	cases := []struct{ fn, event string }{
		{"transform", filepath.Join("events", "transform", "firehose-cloudwatch.json")},
		{"transform", filepath.Join(workload, "firehose-5.json")},
	}
	fmt.Printf("%-10s %-26s %9s %9s %9s %9s %9s\n", "function", "event", "init ms", "cold ms", "warm ms", "p50 ms", "max MiB")
	for _, c := range cases {
		event, err := os.ReadFile(c.event)
		if err != nil {
			fmt.Printf("%-10s %-26s skipped: %v\n", c.fn, filepath.Base(c.event), err)
			continue
		}
		fn, err := lambdaruntime.New(lambdaruntime.Config{
			Bootstrap: filepath.Join(build, c.fn, "bootstrap"), Name: c.fn, Timeout: 5 * time.Minute,
			MemoryMB: memory, Env: moto.Env("us-east-1"),
		})
		if err != nil {
			return err
		}
		var cold lambdaruntime.Result
		var warm []time.Duration
		maxRSS := 0
		for i := 0; i <= runs; i++ {
			res, err := fn.Invoke(ctx, event)
			if err != nil {
				fn.Close()
				return err
			}
			if err := res.Err(); err != nil {
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
		fmt.Printf("%-10s %-26s %9.1f %9.1f %9.1f %9.1f %9.1f\n", c.fn, filepath.Base(c.event),
			ms(cold.InitDuration), ms(cold.Duration), ms(warm[0]), ms(warm[len(warm)/2]), float64(maxRSS)/1024)
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
