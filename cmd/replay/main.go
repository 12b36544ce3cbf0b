// Command replay sends what the pipeline kept aside back through it, once
// the cause is fixed (docs/operations.md explains when to use which):
//
//	replay objects -to indexer -function F -bucket B -prefix dlq/            indexer dead letters (or raw/ NDJSON) into OpenSearch
//	replay objects -to lake    -function F -bucket B -prefix raw/dt=…/       raw objects into the Parquet lake
//	replay failed  -to firehose -stream S  -bucket B -prefix processing-failed/   the original records back into Firehose
//	replay failed  -to indexer  -function F -bucket B -prefix processing-failed/  the same records straight into OpenSearch
//	replay queue   -queue-url U [-function F]                                 a dead-letter or on-failure queue, message by message
//
// -since and -until select objects by LastModified (RFC 3339, or a duration
// back from now such as 6h); -dry-run lists what would be sent. Every path is
// idempotent: OpenSearch document ids and lake file names come from the
// data, so replaying something twice overwrites instead of duplicating.
// Credentials, Region and endpoints come from the usual AWS SDK settings.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, awsClients)
	os.Exit(code)
}

// clientsFunc builds the AWS clients for a Region ("" = the SDK's default).
type clientsFunc func(ctx context.Context, region string) (*Replayer, string, error)

func awsClients(ctx context.Context, region string) (*Replayer, string, error) {
	var opts []func(*awsconfig.LoadOptions) error
	if region != "" {
		opts = append(opts, awsconfig.WithRegion(region))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, "", err
	}
	return &Replayer{
		S3:       s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = os.Getenv("AWS_ENDPOINT_URL_S3") != "" }),
		Lambda:   lambda.NewFromConfig(cfg),
		Firehose: firehose.NewFromConfig(cfg),
		SQS:      sqs.NewFromConfig(cfg),
	}, cfg.Region, nil
}

const usage = `usage: replay <objects|failed|queue> [flags]; replay <mode> -h for the flags of a mode`

// run parses args, replays and prints a JSON report; it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, clients clientsFunc) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	mode := args[0]
	fs := flag.NewFlagSet("replay "+mode, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		sel                  Selection
		since, until         string
		to, function, stream string
		queueURL, region     string
		codes                string
		batch, max           int
		dryRun, keep         bool
	)
	fs.StringVar(&region, "region", "", "AWS Region (default: the SDK's)")
	fs.BoolVar(&dryRun, "dry-run", false, "list what would be replayed, send nothing")
	switch mode {
	case "objects", "failed":
		fs.StringVar(&sel.Bucket, "bucket", "", "bucket of the objects (required)")
		fs.StringVar(&sel.Prefix, "prefix", "", "key prefix, e.g. dlq/2026/11/22/")
		fs.StringVar(&since, "since", "", "only objects modified at or after this time (RFC 3339, or a duration back from now such as 6h)")
		fs.StringVar(&until, "until", "", "only objects modified before this time (same forms)")
		fs.StringVar(&function, "function", "", "function to invoke (name or ARN)")
		if mode == "objects" {
			fs.StringVar(&to, "to", "indexer", "indexer or lake")
			fs.IntVar(&batch, "batch", 10, "objects per invocation")
		} else {
			fs.StringVar(&to, "to", "firehose", "firehose or indexer")
			fs.StringVar(&stream, "stream", "", "Firehose stream (with -to firehose)")
			fs.StringVar(&codes, "codes", "", "only records with these comma-separated Firehose errorCodes, e.g. Lambda.FunctionError")
		}
	case "queue":
		fs.StringVar(&queueURL, "queue-url", "", "SQS queue URL (required)")
		fs.StringVar(&function, "function", "", "function for messages that are plain events (a dead-letter queue)")
		fs.IntVar(&max, "max", 0, "stop after this many messages (0: all)")
		fs.BoolVar(&keep, "keep", false, "keep messages in the queue after replaying them")
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "replay: unknown mode %q\n%s\n", mode, usage)
		return 2
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "replay %s: unexpected arguments %q\n", mode, fs.Args())
		return 2
	}
	now := time.Now()
	var err error
	if sel.Since, err = parseTime(since, now); err != nil {
		fmt.Fprintf(stderr, "replay %s: -since: %v\n", mode, err)
		return 2
	}
	if sel.Until, err = parseTime(until, now); err != nil {
		fmt.Fprintf(stderr, "replay %s: -until: %v\n", mode, err)
		return 2
	}
	rp, resolvedRegion, err := clients(ctx, region)
	if err != nil {
		fmt.Fprintf(stderr, "replay %s: AWS configuration: %v\n", mode, err)
		return 1
	}
	rp.Out, rp.DryRun = stdout, dryRun
	var rep *Report
	switch mode {
	case "objects":
		rep, err = rp.Objects(ctx, ObjectsOptions{Selection: sel, To: to, Function: function, Batch: batch, Region: resolvedRegion})
	case "failed":
		var cs []string
		for _, c := range strings.Split(codes, ",") {
			if c = strings.TrimSpace(c); c != "" {
				cs = append(cs, c)
			}
		}
		rep, err = rp.Failed(ctx, FailedOptions{Selection: sel, To: to, Stream: stream, Function: function, Codes: cs})
	case "queue":
		rep, err = rp.Queue(ctx, QueueOptions{QueueURL: queueURL, Function: function, Max: max, Keep: keep})
	}
	if rep != nil {
		b, _ := json.MarshalIndent(rep, "", "  ")
		fmt.Fprintln(stdout, string(b))
	}
	if err == nil && rep != nil {
		err = rep.Err()
	}
	if err != nil {
		fmt.Fprintf(stderr, "replay %s: %v\n", mode, err)
		return 1
	}
	return 0
}

// parseTime reads RFC 3339 or a duration back from now; "" is no bound.
func parseTime(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time (2026-11-22T13:00:00Z) nor a duration (6h)", s)
}
