package lake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tributary-logs/tributary/shared/localaws"
)

// One moto server for the whole test binary; each test gets its own bucket.
var (
	motoOnce sync.Once
	motoSrv  *localaws.Moto
	motoErr  error
	bucketN  atomic.Int64
)

func TestMain(m *testing.M) {
	code := m.Run()
	if motoSrv != nil {
		motoSrv.Stop()
	}
	if normPath != "" { // the benchmarks' normalized workload
		_ = os.Remove(normPath)
	}
	os.Exit(code)
}

// testBucket returns an S3 client on moto and a new, empty bucket.
func testBucket(t testing.TB) (*s3.Client, string) {
	t.Helper()
	motoOnce.Do(func() { motoSrv, motoErr = localaws.StartMoto(context.Background(), nil) })
	if motoErr != nil {
		if errors.Is(motoErr, localaws.ErrUnavailable) && os.Getenv("CI") != "true" {
			t.Skipf("skipping: %v", motoErr)
		}
		t.Fatalf("start moto: %v", motoErr)
	}
	cfg, err := motoSrv.Config(context.Background(), "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle, o.DisableLogOutputChecksumValidationSkipped = true, true })
	bucket := fmt.Sprintf("lake-test-%d", bucketN.Add(1))
	if _, err := client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	return client, bucket
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func putObject(t testing.TB, c *s3.Client, bucket, key string, body []byte) {
	t.Helper()
	if _, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
}

func getObject(t testing.TB, c *s3.Client, bucket, key string) []byte {
	t.Helper()
	out, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func listKeys(t testing.TB, c *s3.Client, bucket, prefix string) []string {
	t.Helper()
	objs, err := (&S3Store{Client: c}).List(context.Background(), bucket, prefix)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range objs {
		keys = append(keys, o.Key)
	}
	return keys
}

// partitionDigest digests every Parquet file of a partition.
func partitionDigest(t testing.TB, c *s3.Client, bucket string, l Layout, p Partition) (Digest, []string) {
	t.Helper()
	var d Digest
	keys := listKeys(t, c, bucket, l.PartitionPrefix(p))
	for _, k := range keys {
		path := filepath.Join(t.TempDir(), "f.parquet")
		if err := os.WriteFile(path, getObject(t, c, bucket, k), 0o644); err != nil {
			t.Fatal(err)
		}
		fd, err := DigestFile(path)
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		d.Merge(fd)
	}
	return d, keys
}

// sampleParts splits the sample round-robin into n raw objects, each with
// rows in both hours, gzip'd as Firehose writes them.
func sampleParts(t testing.TB, n int) [][]byte {
	t.Helper()
	lines := strings.SplitAfter(string(sampleNDJSON(t)), "\n")
	parts := make([][]byte, n)
	for i, l := range lines {
		parts[i%n] = append(parts[i%n], l...)
	}
	for i := range parts {
		parts[i] = gzipBytes(t, parts[i])
	}
	return parts
}

const rawKeyFmt = "raw/owner=123456789012/log_group=shop/dt=2025-11-20/hour=00/tributary-1-2025-11-20-00-%02d-00-1a2b3c4d-%d.gz"

var (
	hour0 = PartitionOf(1763596800000)
	hour1 = Partition{Hour: hour0.Hour + 1}
)

func TestConvertObjectS3(t *testing.T) {
	t.Parallel()
	c, bucket := testBucket(t)
	in, good := sampleWithBadLines(t)
	key := "raw/owner=123456789012/log_group=%2Fecs%2Fshop-api/dt=2025-11-20/hour=00/tributary-1-2025-11-20-00-00-00-abc.gz"
	putObject(t, c, bucket, key, gzipBytes(t, in))
	svc := NewService(Config{Bucket: bucket, TempDir: t.TempDir(), RowGroupBytes: 4 << 10}, &S3Store{Client: c}, quietLog())
	ctx := context.Background()

	res, err := svc.ConvertObject(ctx, ObjectRef{Bucket: bucket, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	name := OutputName(bucket, key, etagOf(t, c, bucket, key))
	wantFiles := []string{
		"lake/logs/dt=2025-11-20/hour=00/" + name + ".parquet",
		"lake/logs/dt=2025-11-20/hour=01/" + name + ".parquet",
	}
	if res.Status != StatusConverted || res.Rows != int64(good) || res.Rejected != 4 || !equalStrings(res.Files, wantFiles) {
		t.Fatalf("result %+v, want %d rows, 4 rejected, files %v", res, good, wantFiles)
	}
	if !equalStrings(listKeys(t, c, bucket, "lake/logs/"), wantFiles) {
		t.Fatalf("lake holds %v", listKeys(t, c, bucket, "lake/"))
	}
	wantRejected := "rejected/logs/owner=123456789012/log_group=_2Fecs_2Fshop-api/dt=2025-11-20/hour=00/" + name + ".rejected.ndjson.gz"
	if res.RejectedKey != wantRejected {
		t.Errorf("rejected key %s, want %s", res.RejectedKey, wantRejected)
	}
	rej := gunzip(t, getObject(t, c, bucket, wantRejected))
	if n := strings.Count(string(rej), "\n"); n != 4 || !strings.Contains(string(rej), `"line":7,"reason":"missing required key: id"`) ||
		!strings.Contains(string(rej), `"source":"s3://`+bucket+"/"+key+`"`) {
		t.Errorf("rejected object:\n%s", rej)
	}
	d0, _ := partitionDigest(t, c, bucket, svc.cfg.Layout, hour0)
	d1, _ := partitionDigest(t, c, bucket, svc.cfg.Layout, hour1)
	if d0.Rows+d1.Rows != int64(good) {
		t.Errorf("lake rows %d+%d, want %d", d0.Rows, d1.Rows, good)
	}

	// A re-delivered notification overwrites the same objects.
	if _, err := svc.ConvertObject(ctx, ObjectRef{Bucket: bucket, Key: key}); err != nil {
		t.Fatal(err)
	}
	if got := listKeys(t, c, bucket, "lake/logs/"); !equalStrings(got, wantFiles) {
		t.Errorf("after re-delivery the lake holds %v", got)
	}
	again, _ := partitionDigest(t, c, bucket, svc.cfg.Layout, hour0)
	if again != d0 {
		t.Errorf("re-delivery changed hour 00: %+v vs %+v", again, d0)
	}

	// An object that is not there fails alone, with a clear error.
	_, err = svc.ConvertObject(ctx, ObjectRef{Bucket: bucket, Key: "raw/missing.gz"})
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "get s3://"+bucket+"/raw/missing.gz") {
		t.Errorf("missing object: err = %v", err)
	}
}

func etagOf(t testing.TB, c *s3.Client, bucket, key string) string {
	t.Helper()
	out, err := c.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	return trimETag(aws.ToString(out.ETag))
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func gunzip(t testing.TB, b []byte) []byte {
	t.Helper()
	lr, err := NewLineReader(bytes.NewReader(b), 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	for {
		line, _, _, err := lr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(append(out, line...), '\n')
	}
}
