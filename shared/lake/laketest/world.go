// Package laketest prepares, on moto's S3, what the lake function's sample
// events under events/lake assume: the bucket they name holding the raw
// object they name. shared/localworld uses it for the events test and
// make invoke.
package laketest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// The bucket and raw object the samples under events/lake name. The
// object's content is shared/lake/testdata/raw-sample.ndjson (normalized
// NDJSON, uncompressed so its ETag, and so the output names in the expected
// responses, never change).
const (
	Bucket = "tributary-example"
	RawKey = "raw/owner=123456789012/log_group=checkout/dt=2025-11-20/hour=00/tributary-logs-1-2025-11-20-00-05-07-5f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
)

// Put creates Bucket (if needed) and writes the sample raw object at RawKey.
func Put(ctx context.Context, client *s3.Client) error {
	_, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(Bucket)})
	var owned *types.BucketAlreadyOwnedByYou
	if err != nil && !errors.As(err, &owned) {
		return err
	}
	body, err := os.ReadFile(SamplePath())
	if err != nil {
		return err
	}
	_, err = client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(Bucket), Key: aws.String(RawKey), Body: bytes.NewReader(body)})
	return err
}

// SamplePath is the sample raw object's content in the repository.
func SamplePath() string {
	return filepath.Join(repoRoot(), "shared", "lake", "testdata", "raw-sample.ndjson")
}

// repoRoot is the folder holding go.mod, above the working directory.
func repoRoot() string {
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "."
		}
		dir = parent
	}
}
