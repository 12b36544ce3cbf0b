package main

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	fhtypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/tributary-logs/tributary/shared/localaws"
)

// TestMotoFailedToFirehose replays a gzip'd processing-failed object through the real SDK clients into
// a Firehose stream served by moto, and finds the original records in the stream's destination.
func TestMotoFailedToFirehose(t *testing.T) {
	t.Parallel()
	m := localaws.MotoForTest(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cfg, err := m.Config(ctx, "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	fh := firehose.NewFromConfig(cfg)
	for _, b := range []string{"logs-bucket", "delivery-bucket"} {
		if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b), CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraintEuWest1}}); err != nil {
			t.Fatal(err)
		}
	}
	key := "processing-failed/processing-failed/2026/11/22/tributary-1-2026-11-22-13-00-00-abc.gz"
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("logs-bucket"), Key: aws.String(key), Body: bytes.NewReader(gz(t, fixture(t)))}); err != nil {
		t.Fatal(err)
	}
	if _, err := fh.CreateDeliveryStream(ctx, &firehose.CreateDeliveryStreamInput{
		DeliveryStreamName: aws.String("tributary-stream"),
		DeliveryStreamType: fhtypes.DeliveryStreamTypeDirectPut,
		ExtendedS3DestinationConfiguration: &fhtypes.ExtendedS3DestinationConfiguration{
			BucketARN: aws.String("arn:aws:s3:::delivery-bucket"),
			RoleARN:   aws.String("arn:aws:iam::123456789012:role/firehose"),
		},
	}); err != nil {
		t.Fatal(err)
	}
	rp := &Replayer{S3: s3c, Firehose: fh}
	rep, err := rp.Failed(ctx, FailedOptions{Selection: Selection{Bucket: "logs-bucket", Prefix: "processing-failed/", Since: time.Now().Add(-time.Hour)}, To: "firehose", Stream: "tributary-stream"})
	if err != nil || rep.Err() != nil {
		t.Fatal(err, rep.Err())
	}
	if rep.Objects != 1 || rep.Records != 2 || rep.Calls != 1 {
		t.Errorf("report %+v", rep)
	}
	list, err := s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("delivery-bucket")})
	if err != nil {
		t.Fatal(err)
	}
	var delivered []byte
	for _, o := range list.Contents {
		out, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("delivery-bucket"), Key: o.Key})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(out.Body)
		out.Body.Close()
		delivered = append(delivered, b...)
	}
	for i, r := range fixtureRecords(t) {
		if !bytes.Contains(delivered, r) {
			t.Errorf("record %d (%d bytes) not delivered; the stream holds %d bytes in %d objects", i, len(r), len(delivered), len(list.Contents))
		}
	}
}
