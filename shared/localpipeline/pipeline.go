// Package localpipeline drives Tributary's real bootstraps the way AWS
// would, on one machine: generated CloudWatch Logs traffic becomes Firehose
// invocations of transform, whose output is delivered to S3 with the
// delivery stream's partitioning, re-ingested pieces come back through the
// stream, and so on through the lake, the indexer and the alerting
// functions. `make demo` and the end-to-end test both run it; the test
// injects faults and counts every event to its end.
package localpipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	fhtypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tributary-logs/tributary/shared/faultproxy"
	"github.com/tributary-logs/tributary/shared/lambdaruntime"
	"github.com/tributary-logs/tributary/shared/localaws"
	"github.com/tributary-logs/tributary/shared/opensearchnode"
	"github.com/tributary-logs/tributary/shared/opsgenietest"
	"github.com/tributary-logs/tributary/shared/opsgenietest/snsqueue"
)

// Names of the local resources, as the template would create them.
const (
	Region    = "us-east-1"
	Account   = "123456789012"
	Bucket    = "tributary-demo-logs"
	Stream    = "tributary-logs"
	StreamARN = "arn:aws:firehose:" + Region + ":" + Account + ":deliverystream/" + Stream
)

// Options configure one run.
type Options struct {
	BuildDir string    // folder with <function>/bootstrap
	OutDir   string    // where the run's artefacts are kept (demo-out)
	Seed     uint64    // the workload's seed
	Payloads int       // CloudWatch Logs payloads to generate
	Progress io.Writer // one line per step; nil: quiet
	Logs     io.Writer // the functions' own logs; nil: discarded
	// Faults, when set, puts a fault-injecting proxy between the functions
	// and the local AWS services (the end-to-end test's storms).
	Faults faultproxy.Faults
	// IndexerEnv adds to (and overrides) the indexer's environment.
	IndexerEnv []string
}

// Run is one drive of the pipeline.
type Run struct {
	opts    Options
	moto    *localaws.Moto
	s3      *s3.Client
	proxy   *faultproxy.Proxy
	backend *opensearchnode.Backend
	// alerting
	opsgenie    *opsgenietest.Server
	subscriber  *snsqueue.Subscriber
	alertEnv    []string
	outageUntil int // failed invocations left before an injected outage ends
	fns         map[string]*lambdaruntime.Function
	Report      Report
	ledger      *Ledger
	rawKeys     []string // objects delivered under raw/, in order
}

// Start brings up the local services and resources a run needs.
func Start(ctx context.Context, opts Options) (*Run, error) {
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	if opts.Payloads <= 0 {
		opts.Payloads = 120
	}
	if err := os.MkdirAll(opts.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", opts.OutDir, err)
	}
	r := &Run{opts: opts, fns: map[string]*lambdaruntime.Function{}, ledger: newLedger()}
	r.step("starting moto's server (local S3, Firehose, CloudWatch Logs, SNS, SQS, Secrets Manager, SSM)")
	m, err := localaws.StartMoto(ctx, nil)
	if err != nil {
		return nil, err
	}
	r.moto = m
	if opts.Faults != (faultproxy.Faults{}) {
		if r.proxy, err = faultproxy.Start(m.Endpoint, opts.Faults, opts.Seed); err != nil {
			r.Close()
			return nil, err
		}
	}
	cfg, err := m.Config(ctx, Region)
	if err != nil {
		r.Close()
		return nil, err
	}
	r.s3 = s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = true
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	if _, err := r.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(Bucket)}); err != nil {
		r.Close()
		return nil, fmt.Errorf("create bucket: %w", err)
	}
	// Without a processing configuration, moto's Firehose writes what is
	// put straight to the bucket: that is how re-ingested pieces surface.
	if _, err := firehose.NewFromConfig(cfg).CreateDeliveryStream(ctx, &firehose.CreateDeliveryStreamInput{
		DeliveryStreamName: aws.String(Stream),
		ExtendedS3DestinationConfiguration: &fhtypes.ExtendedS3DestinationConfiguration{
			BucketARN: aws.String("arn:aws:s3:::" + Bucket),
			RoleARN:   aws.String("arn:aws:iam::" + Account + ":role/tributary-firehose"),
			Prefix:    aws.String(reingestPrefix),
		},
	}); err != nil {
		r.Close()
		return nil, fmt.Errorf("create delivery stream: %w", err)
	}
	return r, nil
}

// reingestPrefix is where moto's Firehose leaves re-ingested pieces.
const reingestPrefix = "firehose-incoming/"

// function returns the running function, starting it on first use.
func (r *Run) function(name string, env ...string) (*lambdaruntime.Function, error) {
	if f, ok := r.fns[name]; ok {
		return f, nil
	}
	f, err := lambdaruntime.New(lambdaruntime.Config{
		Bootstrap: filepath.Join(r.opts.BuildDir, name, "bootstrap"),
		Name:      name,
		Timeout:   2 * time.Minute,
		MemoryMB:  1024,
		Env:       append(r.awsEnv(), env...),
		Output:    r.opts.Logs,
	})
	if err != nil {
		return nil, err
	}
	r.fns[name] = f
	return f, nil
}

// invoke runs one event through a function and fails on a function error.
func (r *Run) invoke(ctx context.Context, name string, event any) ([]byte, error) {
	f, err := r.function(name)
	if err != nil {
		return nil, err
	}
	payload, ok := event.([]byte)
	if !ok {
		if payload, err = json.Marshal(event); err != nil {
			return nil, err
		}
	}
	res, err := f.Invoke(ctx, payload)
	if err != nil {
		return nil, err
	}
	if err := res.Err(); err != nil {
		return res.Payload, err
	}
	return res.Payload, nil
}

// awsEnv points a function at the local AWS services, through the fault
// proxy when there is one.
func (r *Run) awsEnv() []string {
	env := r.moto.Env(Region)
	if r.proxy == nil {
		return env
	}
	for i, kv := range env {
		if strings.HasPrefix(kv, "AWS_ENDPOINT_URL_") {
			k, _, _ := strings.Cut(kv, "=")
			env[i] = k + "=" + r.proxy.URL
		}
	}
	return env
}

// Injected reports what the fault proxy did.
func (r *Run) Injected() faultproxy.Counts {
	if r.proxy == nil {
		return faultproxy.Counts{}
	}
	return r.proxy.Counts()
}

// Close stops every process the run started.
func (r *Run) Close() {
	for _, f := range r.fns {
		f.Close()
	}
	if r.proxy != nil {
		r.proxy.Close()
	}
	r.backend.Stop()
	if r.opsgenie != nil {
		r.opsgenie.Close()
	}
	if r.moto != nil {
		r.moto.Stop()
	}
}

func (r *Run) step(format string, args ...any) {
	fmt.Fprintf(r.opts.Progress, "• "+format+"\n", args...)
}

// writeJSON keeps an artefact in the output folder.
func (r *Run) writeJSON(name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(r.opts.OutDir, name), append(b, '\n'), 0o644)
}

func (r *Run) putObject(ctx context.Context, key string, body []byte) error {
	_, err := r.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(Bucket), Key: aws.String(key), Body: bytes.NewReader(body)})
	if err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", Bucket, key, err)
	}
	return nil
}

func writeFile(dir, name string, b []byte) error {
	return os.WriteFile(filepath.Join(dir, name), b, 0o644)
}
