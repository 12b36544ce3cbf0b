package opensearchnode

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/tributary-logs/tributary/shared/bulktest"
	"github.com/tributary-logs/tributary/shared/opensearch"
)

// Backend kinds, in the order StartBackend tries them.
const (
	KindRemote = "remote"   // the cluster at OPENSEARCH_URL
	KindNode   = "node"     // a local OpenSearch node (this package)
	KindFake   = "bulktest" // the strict local _bulk server
)

// Backend is an OpenSearch to index into, for the demo and tools.
type Backend struct {
	Kind   string
	URL    string
	Client *opensearch.Client
	Fake   *bulktest.Server // set when Kind is KindFake
	Why    string           // why a fallback was used, when one was
	node   *Node
}

// StartBackend returns the cluster at OPENSEARCH_URL when it is set (basic
// auth may be given in the URL), otherwise starts a local node, otherwise
// (no java or mvn, or the node failed) the strict local bulk server. logs
// receives the node's output.
func StartBackend(ctx context.Context, logs io.Writer) (*Backend, error) {
	if u := os.Getenv("OPENSEARCH_URL"); u != "" {
		c, err := opensearch.New(opensearch.Options{Endpoint: u})
		if err != nil {
			return nil, err
		}
		return &Backend{Kind: KindRemote, URL: u, Client: c}, nil
	}
	b := &Backend{}
	n, err := Start(ctx, Options{Logs: logs})
	if err == nil {
		b.Kind, b.URL, b.node = KindNode, n.URL, n
	} else {
		b.Why = err.Error()
		b.Fake = bulktest.Start()
		b.Kind, b.URL = KindFake, b.Fake.URL
	}
	c, err := opensearch.New(opensearch.Options{Endpoint: b.URL})
	if err != nil {
		b.Stop()
		return nil, err
	}
	b.Client = c
	return b, nil
}

// IndexerEnv is the environment that points the indexer bootstrap at this
// backend (add DLQ_BUCKET and the AWS endpoint variables for S3).
func (b *Backend) IndexerEnv() []string {
	u := b.URL
	auth := "none"
	return []string{"OPENSEARCH_ENDPOINT=" + u, "OPENSEARCH_AUTH=" + auth, "SETUP_INDEX_TEMPLATE=true"}
}

// Stop stops what StartBackend started (nothing for a remote cluster).
func (b *Backend) Stop() {
	if b == nil {
		return
	}
	if b.node != nil {
		b.node.Stop()
	}
	if b.Fake != nil {
		b.Fake.Close()
	}
}

// Stored is what a backend holds for an index pattern, for a report.
type Stored struct {
	Count   int
	Samples []opensearch.Hit
	// Search is a command a user can run to see the documents.
	Search string
}

// Stored refreshes the indices and returns their document count, the first
// few documents matching query (nil: all), and an equivalent curl command.
func (b *Backend) Stored(ctx context.Context, indices string, query json.RawMessage, samples int) (Stored, error) {
	if err := b.Client.Refresh(ctx, indices); err != nil {
		return Stored{}, fmt.Errorf("refresh %s: %w", indices, err)
	}
	hits, total, err := b.Client.Search(ctx, indices, query, samples)
	if err != nil {
		return Stored{}, fmt.Errorf("search %s: %w", indices, err)
	}
	q := `{"query":{"match_all":{}}}`
	if query != nil {
		q = `{"query":` + string(query) + `}`
	}
	cmd := fmt.Sprintf("curl -s -H 'Content-Type: application/json' '%s/%s/_search?pretty' -d '%s'",
		strings.TrimRight(b.URL, "/"), indices, strings.ReplaceAll(q, "'", `'\''`))
	return Stored{Count: total, Samples: hits, Search: cmd}, nil
}
