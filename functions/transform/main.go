// Command transform is the Firehose data-transformation Lambda: CloudWatch
// Logs subscription payloads in, normalized NDJSON with partition keys out.
// Wiring only; the logic lives in shared/transform.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/tributary-logs/tributary/shared/config"
	"github.com/tributary-logs/tributary/shared/cwlogs"
	"github.com/tributary-logs/tributary/shared/ingest"
	"github.com/tributary-logs/tributary/shared/lambdalog"
	"github.com/tributary-logs/tributary/shared/memlimit"
	"github.com/tributary-logs/tributary/shared/transform"
)

func main() {
	// Batches are large and short-lived: GOGC 50 keeps peak memory about a
	// third lower for a few percent of CPU; the soft limit guards 128 MB.
	memlimit.Apply(0.8, 50)
	cfg, err := config.LoadTransform(os.LookupEnv)
	if err != nil {
		lambdalog.Fatal("transform", err)
	}
	log := lambdalog.New(os.Stdout, cfg.LogLevel, "transform")
	awsCfg, err := awsconfig.LoadDefaultConfig(context.Background(), awsconfig.WithRegion(cfg.Region))
	if err != nil {
		lambdalog.Fatal("transform", err)
	}
	proc, err := ingest.New(cfg.Normalize)
	if err != nil {
		lambdalog.Fatal("transform", err)
	}
	h := transform.New(proc, transform.Options{
		Logger:     log,
		MetricsOut: os.Stdout,
		Decode:     cwlogs.Limits{MaxInflatedBytes: cfg.MaxInflatedBytes, MaxRatio: cfg.MaxCompressionRatio},
		LogGroups:  cfg.MetricLogGroups,
		Reingester: &transform.Reingester{
			Firehose: firehose.NewFromConfig(awsCfg),
			Kinesis:  kinesis.NewFromConfig(awsCfg),
			Margin:   transform.DefaultReingestMargin,
		},
	})
	lambda.Start(h)
}
