package faultproxy

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	fhtypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tributary-logs/tributary/shared/localaws"
)

func TestInjectsFirehosePartialFailuresAndS3SlowDown(t *testing.T) {
	moto := localaws.MotoForTest(t)
	ctx := context.Background()
	p, err := Start(moto.Endpoint, Faults{FirehoseEntryFailure: 0.3, S3PutFailure: 1}, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	direct, _ := moto.Config(ctx, "us-east-1")
	viaProxy, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion("us-east-1"),
		awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("testing", "testing", "")),
		awsconfig.WithBaseEndpoint(p.URL))
	if err != nil {
		t.Fatal(err)
	}
	s3direct := s3.NewFromConfig(direct, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3direct.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("fp-bucket")}); err != nil {
		t.Fatal(err)
	}
	if _, err := firehose.NewFromConfig(direct).CreateDeliveryStream(ctx, &firehose.CreateDeliveryStreamInput{
		DeliveryStreamName: aws.String("fp"),
		ExtendedS3DestinationConfiguration: &fhtypes.ExtendedS3DestinationConfiguration{
			BucketARN: aws.String("arn:aws:s3:::fp-bucket"), RoleARN: aws.String("arn:aws:iam::123456789012:role/r")},
	}); err != nil {
		t.Fatal(err)
	}
	in := &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String("fp")}
	for i := 0; i < 50; i++ {
		in.Records = append(in.Records, fhtypes.Record{Data: []byte(fmt.Sprintf("r%02d;", i))})
	}
	out, err := firehose.NewFromConfig(viaProxy).PutRecordBatch(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	failed := int(aws.ToInt32(out.FailedPutCount))
	if failed == 0 || failed == 50 || failed != p.Counts().FirehoseEntriesFailed || len(out.RequestResponses) != 50 {
		t.Fatalf("FailedPutCount %d, injected %d, %d responses", failed, p.Counts().FirehoseEntriesFailed, len(out.RequestResponses))
	}
	var want strings.Builder
	for i, rr := range out.RequestResponses {
		if rr.ErrorCode == nil {
			fmt.Fprintf(&want, "r%02d;", i)
		} else if aws.ToString(rr.ErrorCode) != "ServiceUnavailableException" {
			t.Errorf("entry %d: error code %q", i, aws.ToString(rr.ErrorCode))
		}
	}
	list, err := s3direct.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("fp-bucket")})
	if err != nil || len(list.Contents) != 1 {
		t.Fatalf("objects %v %v", list, err)
	}
	obj, _ := s3direct.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("fp-bucket"), Key: list.Contents[0].Key})
	got, _ := io.ReadAll(obj.Body)
	if string(got) != want.String() {
		t.Errorf("delivered %q, want exactly the accepted entries %q", got, want.String())
	}

	s3proxy := s3.NewFromConfig(viaProxy, func(o *s3.Options) { o.UsePathStyle = true; o.RetryMaxAttempts = 2 })
	_, err = s3proxy.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("fp-bucket"), Key: aws.String("k"), Body: bytes.NewReader([]byte("x"))})
	if err == nil || !strings.Contains(err.Error(), "SlowDown") || p.Counts().S3PutsFailed != 2 {
		t.Errorf("PutObject err %v, injected %d (want 2 attempts refused)", err, p.Counts().S3PutsFailed)
	}
	// Reads pass through untouched.
	if _, err := s3proxy.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("fp-bucket")}); err != nil {
		t.Errorf("list via proxy: %v", err)
	}
}
