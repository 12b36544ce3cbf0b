package opensearchnode

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tributary-logs/tributary/shared/bulk"
	"github.com/tributary-logs/tributary/shared/bulktest"
	"github.com/tributary-logs/tributary/shared/opensearch"
	"github.com/tributary-logs/tributary/shared/record"
)

func TestStartAnswersAndStopKillsByPID(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a JVM")
	}
	n, skip, err := ForTests(Options{Settings: map[string]string{"http.max_content_length": "1mb"}})
	if err != nil {
		t.Fatal(err)
	}
	if n == nil {
		t.Skip(skip)
	}
	defer n.Stop()
	c, err := opensearch.New(opensearch.Options{Endpoint: n.URL})
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(context.Background())
	if err != nil || info.Distribution != "opensearch" || !strings.HasPrefix(info.Version, "2.19.") {
		t.Fatalf("info = %+v, %v", info, err)
	}
	if !strings.HasPrefix(n.URL, "http://127.0.0.1:") {
		t.Errorf("URL %s is not loopback", n.URL)
	}
	pid, dir := n.PID(), n.dir
	n.Stop()
	n.Stop() // idempotent
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("JVM %d still running after Stop", pid)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("data folder %s left behind", dir)
	}
}

func TestStoredReportsDocumentsAndASearch(t *testing.T) {
	t.Parallel()
	fake := bulktest.Start()
	c, _ := opensearch.New(opensearch.Options{Endpoint: fake.URL})
	b := &Backend{Kind: KindFake, URL: fake.URL, Client: c, Fake: fake}
	defer b.Stop()
	p, _ := bulk.ParsePattern("cwl-{yyyy.MM.dd}")
	bt := bulk.NewBatch(p)
	for i, msg := range []string{"payment declined", "ok"} {
		bt.Add(&record.Record{TimestampMillis: 1763787888000, ID: string(rune('a' + i)), LogGroup: "/g", Message: msg, Level: []string{"ERROR", "INFO"}[i]}, i)
	}
	if rep := bulk.NewSender(c, bulk.Options{}).Send(context.Background(), bt, farFuture()); rep.Created != 2 {
		t.Fatalf("report %+v", rep)
	}
	st, err := b.Stored(context.Background(), "cwl-*", json.RawMessage(`{"term":{"level":"ERROR"}}`), 5)
	if err != nil {
		t.Fatal(err)
	}
	if st.Count != 1 || len(st.Samples) != 1 || !strings.Contains(string(st.Samples[0].Source), "payment declined") {
		t.Errorf("stored = %+v", st)
	}
	if !strings.Contains(st.Search, fake.URL+"/cwl-*/_search") || !strings.Contains(st.Search, `"level":"ERROR"`) {
		t.Errorf("search command = %s", st.Search)
	}
	env := strings.Join(b.IndexerEnv(), " ")
	if !strings.Contains(env, "OPENSEARCH_ENDPOINT="+fake.URL) || !strings.Contains(env, "OPENSEARCH_AUTH=none") {
		t.Errorf("env = %s", env)
	}
}

func farFuture() time.Time { return time.Now().Add(time.Hour) }
