package indexer

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/klauspost/compress/gzip"

	"github.com/tributary-logs/tributary/shared/bulk"
	"github.com/tributary-logs/tributary/shared/bulktest"
	"github.com/tributary-logs/tributary/shared/config"
	"github.com/tributary-logs/tributary/shared/ingest"
	"github.com/tributary-logs/tributary/shared/opensearch"
)

// memS3 is an in-memory bucket store for unit tests.
type memS3 struct {
	mu      sync.Mutex
	objects map[string][]byte // bucket/key
	putErr  error
}

func newMemS3() *memS3 { return &memS3{objects: map[string][]byte{}} }

func (m *memS3) PutObject(ctx context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	if m.putErr != nil {
		return nil, m.putErr
	}
	b, err := io.ReadAll(in.Body)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.objects[aws.ToString(in.Bucket)+"/"+aws.ToString(in.Key)] = b
	m.mu.Unlock()
	return &s3.PutObjectOutput{}, nil
}

func (m *memS3) GetObject(ctx context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	m.mu.Lock()
	b, ok := m.objects[aws.ToString(in.Bucket)+"/"+aws.ToString(in.Key)]
	m.mu.Unlock()
	if !ok {
		return nil, errors.New("NoSuchKey: " + aws.ToString(in.Key))
	}
	return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(b)), ContentLength: aws.Int64(int64(len(b)))}, nil
}

func (m *memS3) put(bucket, key string, b []byte) {
	m.mu.Lock()
	m.objects[bucket+"/"+key] = b
	m.mu.Unlock()
}

// keys lists the keys of a bucket under prefix.
func (m *memS3) get(bucket, prefix string) map[string][]byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string][]byte{}
	for k, v := range m.objects {
		if len(k) >= len(bucket)+1+len(prefix) && k[:len(bucket)+1+len(prefix)] == bucket+"/"+prefix {
			out[k[len(bucket)+1:]] = v
		}
	}
	return out
}

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// awslogsEvent wraps a decoded subscription payload as Lambda delivers it.
func awslogsEvent(t testing.TB, payload []byte) []byte {
	t.Helper()
	return []byte(`{"awslogs":{"data":"` + base64.StdEncoding.EncodeToString(gz(t, payload)) + `"}}`)
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testConfig is the indexer's configuration from an environment map.
func testConfig(t testing.TB, env map[string]string) config.Indexer {
	t.Helper()
	base := map[string]string{"AWS_REGION": "eu-west-1", "OPENSEARCH_ENDPOINT": "http://127.0.0.1:9", "OPENSEARCH_AUTH": "none"}
	for k, v := range env {
		base[k] = v
	}
	cfg, err := config.LoadIndexer(func(k string) (string, bool) { v, ok := base[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

type rig struct {
	srv *bulktest.Server
	s3  *memS3
	h   *Handler
}

// newRig builds a handler against a fresh fake cluster; dlq false leaves it
// without a dead-letter target.
func newRig(t testing.TB, dlq bool, env map[string]string) *rig {
	t.Helper()
	srv := bulktest.Start()
	t.Cleanup(srv.Close)
	cfg := testConfig(t, env)
	proc, err := ingest.New(cfg.Normalize)
	if err != nil {
		t.Fatal(err)
	}
	client, err := opensearch.New(opensearch.Options{Endpoint: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	p, err := bulk.ParsePattern(cfg.IndexPattern)
	if err != nil {
		t.Fatal(err)
	}
	m := newMemS3()
	o := Options{
		Pattern: p,
		Sender: bulk.NewSender(client, bulk.Options{MaxBytes: int(cfg.BulkMaxBytes), MaxDocs: cfg.BulkMaxDocs,
			InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}),
		Objects: m,
		Margin:  50 * time.Millisecond,
		Budget:  2 * time.Second,
		Setup: func(ctx context.Context) error {
			_, err := client.Setup(ctx, opensearch.SetupFromConfig(cfg, p.TemplatePattern()))
			return err
		},
	}
	if dlq {
		o.DeadLetter = &DeadLetter{S3: m, Bucket: "dlq-bucket", Prefix: "dlq/"}
	}
	return &rig{srv: srv, s3: m, h: New(proc, o)}
}

func (r *rig) invoke(t testing.TB, event []byte) Summary {
	t.Helper()
	sum, err := r.h.Process(context.Background(), event)
	if err != nil {
		t.Fatalf("Process: %v (summary %+v)", err, sum)
	}
	return sum
}

func putIndex(t testing.TB, url, index string, body []byte) {
	t.Helper()
	c, err := opensearch.New(opensearch.Options{Endpoint: url})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CreateIndex(context.Background(), index, body); err != nil {
		t.Fatal(err)
	}
}

func deleteIndex(t testing.TB, url, index string) {
	t.Helper()
	c, _ := opensearch.New(opensearch.Options{Endpoint: url})
	if err := c.DeleteIndex(context.Background(), index); err != nil {
		t.Fatal(err)
	}
}
