package opensearch_test

import (
	"flag"
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/tributary-logs/tributary/shared/opensearchnode"
)

// The real node is started once for the package: it takes 8-15 s.
var (
	node           *opensearchnode.Node
	nodeSkipReason string
)

// Node settings that let the suite provoke real back-pressure: a small HTTP
// body limit (413) and a one-thread, one-slot write queue (429
// es_rejected_execution_exception).
const nodeMaxContent = 32 << 10

func TestMain(m *testing.M) {
	flag.Parse()
	if wantNode() {
		var err error
		node, nodeSkipReason, err = opensearchnode.ForTests(opensearchnode.Options{
			Settings: map[string]string{
				"http.max_content_length":      fmt.Sprintf("%db", nodeMaxContent),
				"thread_pool.write.size":       "1",
				"thread_pool.write.queue_size": "1",
			},
			Logs: nodeLogs(),
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "start OpenSearch node (CI=true):", err)
			os.Exit(1)
		}
	} else {
		nodeSkipReason = "local OpenSearch node disabled (-short or TRIBUTARY_SKIP_OPENSEARCH_NODE)"
	}
	code := m.Run()
	node.Stop()
	os.Exit(code)
}

// wantNode reports whether this run needs the node: not with -short, not
// when TRIBUTARY_SKIP_OPENSEARCH_NODE is set, and not when no test will run
// (make bench's -run '^$', make fuzz's -list).
func wantNode() bool {
	if testing.Short() || os.Getenv("TRIBUTARY_SKIP_OPENSEARCH_NODE") != "" {
		return false
	}
	if f := flag.Lookup("test.list"); f != nil && f.Value.String() != "" {
		return false
	}
	if f := flag.Lookup("test.run"); f != nil && f.Value.String() == "^$" {
		return false
	}
	return true
}

// nodeLogs sends the node's output to a file named by
// TRIBUTARY_OPENSEARCH_LOG, when set.
func nodeLogs() io.Writer {
	if p := os.Getenv("TRIBUTARY_OPENSEARCH_LOG"); p != "" {
		if f, err := os.Create(p); err == nil {
			return f
		}
	}
	return nil
}
