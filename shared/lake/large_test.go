package lake

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/klauspost/compress/gzip"
)

// TestBootstrapLargeObject converts one big gzip'd raw object with the real
// bootstrap under the local Runtime API, reporting the process's peak RSS
// and the duration, to show memory stays bounded by the sort buffer and a
// row group, not by the input. Opt-in (it takes minutes):
//
//	LAKE_LARGE_MB=1024 TRIBUTARY_WORKLOAD=.workload go test ./shared/lake -run TestBootstrapLargeObject -v
//
// The input is the workload's events-200.ndjson repeated (each copy's ids
// made unique and its times shifted) to LAKE_LARGE_MB MiB. The function
// runs with AWS_LAMBDA_FUNCTION_MEMORY_SIZE=LAKE_LARGE_MEMORY (default 512)
// and fails if its RSS exceeds that.
func TestBootstrapLargeObject(t *testing.T) {
	mb, _ := strconv.Atoi(os.Getenv("LAKE_LARGE_MB"))
	if mb <= 0 {
		t.Skip("set LAKE_LARGE_MB (and TRIBUTARY_WORKLOAD) to run; tools/bench-lake.sh does")
	}
	memory := 512
	if m, err := strconv.Atoi(os.Getenv("LAKE_LARGE_MEMORY")); err == nil && m > 0 {
		memory = m
	}
	src := filepath.Join(os.Getenv("TRIBUTARY_WORKLOAD"), "events-200.ndjson")
	gzPath := filepath.Join(t.TempDir(), "large.ndjson.gz")
	inBytes, err := buildLargeInput(src, gzPath, int64(mb)<<20)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(gzPath)

	c, bucket := testBucket(t)
	f, err := os.Open(gzPath)
	if err != nil {
		t.Fatal(err)
	}
	key := "raw/owner=1/log_group=bench/dt=2025-11-20/hour=00/large.gz"
	_, err = c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: f, ContentLength: aws.Int64(st.Size())})
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	fn := startLakeConfig(t, bucket, memory, 15*time.Minute)
	ev := fmt.Sprintf(`{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":%q},"object":{"key":%q}}}]}`, bucket, key)
	res := invoke(t, fn, []byte(ev))
	if res.FunctionError {
		t.Fatalf("%s: %s", res.ErrorType, res.ErrorMessage)
	}
	var rep ConvertReport
	if err := json.Unmarshal(res.Payload, &rep); err != nil {
		t.Fatal(err)
	}
	var parquetBytes int64
	objs, err := (&S3Store{Client: c}).List(context.Background(), bucket, "lake/")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		parquetBytes += o.Size
	}
	out := map[string]any{
		"input_mib":      float64(inBytes) / (1 << 20),
		"gzip_mib":       float64(st.Size()) / (1 << 20),
		"rows":           rep.Objects[0].Rows,
		"files":          len(rep.Objects[0].Files),
		"parquet_mib":    float64(parquetBytes) / (1 << 20),
		"seconds":        res.Duration.Seconds(),
		"max_rss_mib":    float64(res.MaxRSSKiB) / 1024,
		"memory_size_mb": memory,
	}
	line, _ := json.Marshal(out)
	fmt.Println("LAKE_LARGE_RESULT " + string(line))
	if res.MaxRSSKiB > memory*1024 {
		t.Errorf("peak RSS %d MiB exceeds the function's %d MB", res.MaxRSSKiB/1024, memory)
	}
}

// buildLargeInput writes copies of the flattened workload, each with its
// ids suffixed and its times shifted by a few minutes, gzip'd, until n
// uncompressed bytes; it returns the uncompressed size.
func buildLargeInput(src, dst string, n int64) (int64, error) {
	out, err := os.Create(dst)
	if err != nil {
		return 0, err
	}
	defer out.Close()
	zw, _ := gzip.NewWriterLevel(out, gzip.BestSpeed)
	bw := bufio.NewWriterSize(zw, 1<<20)
	var written int64
	for copyN := 0; written < n; copyN++ {
		in, err := os.Open(src)
		if err != nil {
			return 0, err
		}
		sc := bufio.NewScanner(in)
		sc.Buffer(nil, 16<<20)
		var ev flatEvent
		for sc.Scan() && written < n {
			ev = flatEvent{}
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				in.Close()
				return 0, err
			}
			if copyN > 0 {
				ev.ID += strconv.Itoa(copyN)
				ev.Timestamp += int64(copyN) * 7 * 60 * 1000
			}
			b, _ := json.Marshal(ev)
			b = append(b, '\n')
			if _, err := bw.Write(b); err != nil {
				in.Close()
				return 0, err
			}
			written += int64(len(b))
		}
		in.Close()
		if err := sc.Err(); err != nil {
			return 0, err
		}
	}
	if err := bw.Flush(); err != nil {
		return 0, err
	}
	if err := zw.Close(); err != nil {
		return 0, err
	}
	return written, nil
}
