package localaws

import (
	"context"
	"strings"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func TestMotoServesS3AndStops(t *testing.T) {
	m := MotoForTest(t)
	ctx := context.Background()
	cfg, err := m.Config(ctx, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("tributary-test")}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("tributary-test"), Key: aws.String("a"), Body: strings.NewReader("x")}); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	out, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("tributary-test")})
	if err != nil || len(out.Contents) != 1 || aws.ToString(out.Contents[0].Key) != "a" {
		t.Fatalf("ListObjectsV2 = %+v, %v", out, err)
	}
	if err := m.Reset(); err != nil {
		t.Fatal(err)
	}
	if _, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("tributary-test")}); err == nil {
		t.Error("bucket survived Reset")
	}
	pid := m.cmd.Process.Pid
	m.Stop()
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("moto (pid %d) still running after Stop", pid)
	}
}
