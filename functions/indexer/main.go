// Command indexer is the OpenSearch indexer Lambda: CloudWatch Logs
// subscription events (and S3 events or direct invocations naming objects
// to replay) in, idempotent _bulk creates out, with per-item retries and an
// S3 dead-letter prefix. Wiring only; the logic lives in shared/indexer,
// shared/bulk and shared/opensearch.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/tributary-logs/tributary/shared/bulk"
	"github.com/tributary-logs/tributary/shared/config"
	"github.com/tributary-logs/tributary/shared/cwlogs"
	"github.com/tributary-logs/tributary/shared/indexer"
	"github.com/tributary-logs/tributary/shared/ingest"
	"github.com/tributary-logs/tributary/shared/lambdalog"
	"github.com/tributary-logs/tributary/shared/opensearch"
)

func main() {
	cfg, err := config.LoadIndexer(os.LookupEnv)
	if err != nil {
		lambdalog.Fatal("indexer", err)
	}
	log := lambdalog.New(os.Stdout, cfg.LogLevel, "indexer")
	ctx := context.Background()
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(cfg.Region))
	if err != nil {
		lambdalog.Fatal("indexer", err)
	}
	proc, err := ingest.New(cfg.Normalize)
	if err != nil {
		lambdalog.Fatal("indexer", err)
	}
	pattern, err := bulk.ParsePattern(cfg.IndexPattern)
	if err != nil {
		lambdalog.Fatal("indexer", err)
	}
	var sm opensearch.SecretGetter
	if cfg.Auth == opensearch.AuthBasic {
		sm = secretsmanager.NewFromConfig(awsCfg)
	}
	client, err := opensearch.FromConfig(ctx, cfg, awsCfg, sm)
	if err != nil {
		lambdalog.Fatal("indexer", err)
	}
	s3c := s3.NewFromConfig(awsCfg)
	o := indexer.Options{
		Pattern: pattern,
		Sender: bulk.NewSender(client, bulk.Options{
			MaxBytes:    int(cfg.BulkMaxBytes),
			MaxDocs:     cfg.BulkMaxDocs,
			Concurrency: cfg.BulkConcurrency,
		}),
		Objects:    s3c,
		Margin:     cfg.DeadlineMargin,
		Decode:     cwlogs.Limits{MaxInflatedBytes: cfg.MaxInflatedBytes, MaxRatio: cfg.MaxCompressionRatio},
		Logger:     log,
		MetricsOut: os.Stdout,
	}
	if cfg.DLQBucket != "" {
		o.DeadLetter = &indexer.DeadLetter{S3: s3c, Bucket: cfg.DLQBucket, Prefix: cfg.DLQPrefix}
	}
	if cfg.SetupIndexTemplate {
		setup := opensearch.SetupFromConfig(cfg, pattern.TemplatePattern())
		o.Setup = func(ctx context.Context) error {
			res, err := client.Setup(ctx, setup)
			if err != nil {
				return err
			}
			log.Info("index set-up", slog.String("version", res.Version), slog.Bool("flat_object", res.FlatObject),
				slog.String("template", res.Template), slog.String("ism_policy", res.Policy))
			return nil
		}
	}
	lambda.Start(indexer.New(proc, o))
}
