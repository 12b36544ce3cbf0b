// Command lake turns the NDJSON that Firehose writes under the raw prefix
// into partitioned, sorted zstd Parquet (S3 notifications direct, via SQS or
// via EventBridge) and compacts closed hours on a schedule. Wiring only; the
// logic lives in shared/lake.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tributary-logs/tributary/shared/config"
	"github.com/tributary-logs/tributary/shared/lake"
	"github.com/tributary-logs/tributary/shared/lambdalog"
	"github.com/tributary-logs/tributary/shared/memlimit"
)

func main() {
	cfg, err := config.LoadLake(os.LookupEnv)
	if err != nil {
		lambdalog.Fatal("lake", err)
	}
	log := lambdalog.New(os.Stdout, cfg.LogLevel, "lake")
	memlimit.Apply(0.8, 0)
	awsCfg, err := awsconfig.LoadDefaultConfig(context.Background(), awsconfig.WithRegion(cfg.Region))
	if err != nil {
		lambdalog.Fatal("lake", err)
	}
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		// A local endpoint (moto, MinIO) serves buckets by path.
		o.UsePathStyle = os.Getenv("AWS_ENDPOINT_URL_S3") != ""
		// Parquet and state objects are verified by their own means; the
		// SDK's note about responses without checksums is noise.
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	tmp, err := lake.PrepareTempDir(os.TempDir())
	if err != nil {
		lambdalog.Fatal("lake", err)
	}
	svc := lake.NewService(lake.Config{
		Layout: lake.Layout{
			Prefix:         cfg.Prefix,
			Table:          cfg.Table,
			RawPrefix:      cfg.RawPrefix,
			RejectedPrefix: cfg.RejectedPrefix,
		},
		Bucket:          cfg.Bucket,
		TargetFileBytes: cfg.TargetFileBytes,
		RowGroupBytes:   cfg.RowGroupBytes,
		SortBufferBytes: int(cfg.SortBufferBytes),
		CompactAfter:    cfg.CompactAfter,
		CompactLookback: cfg.CompactLookback,
		TempDir:         tmp,
	}, &lake.S3Store{Client: client}, log)
	lambda.Start(lake.NewHandler(svc, log, os.Stdout).Handle)
}
