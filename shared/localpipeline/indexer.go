package localpipeline

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tributary-logs/tributary/shared/bulktest"
	"github.com/tributary-logs/tributary/shared/cwlogs"
	"github.com/tributary-logs/tributary/shared/opensearchnode"
)

// IndexerReport counts the OpenSearch stage.
type IndexerReport struct {
	Backend       string   `json:"backend"`
	Invocations   int      `json:"invocations"`
	Retried       int      `json:"retried_invocations"`
	Indexed       int      `json:"documents_indexed"`
	DeadLettered  int      `json:"dead_lettered"`
	DeadReasons   []string `json:"dead_letter_reasons,omitempty"`
	Search        string   `json:"search,omitempty"`
	FallbackCause string   `json:"fallback_cause,omitempty"`
}

const dlqPrefix = "dlq/"

// StartSearch starts what the indexer writes to: OPENSEARCH_URL when set,
// else a local OpenSearch node, else the strict local bulk server; fake
// forces the bulk server with the given faults (the end-to-end test).
func (r *Run) StartSearch(ctx context.Context, fake bool, faults bulktest.Faults) error {
	if fake {
		s := bulktest.Start()
		s.SetFaults(faults)
		r.backend = &opensearchnode.Backend{Kind: opensearchnode.KindFake, URL: s.URL, Fake: s}
		r.Report.Indexer.Backend = opensearchnode.KindFake
		return nil
	}
	r.step("starting OpenSearch (OPENSEARCH_URL, else a local node from Maven, else the local bulk server)")
	b, err := opensearchnode.StartBackend(ctx, r.opts.Logs)
	if err != nil {
		return err
	}
	r.backend = b
	r.Report.Indexer.Backend = b.Kind
	r.Report.Indexer.FallbackCause = b.Why
	return nil
}

// Index delivers each subscription payload to the indexer as CloudWatch
// Logs invokes it. A failed invocation is retried twice, as Lambda retries
// asynchronous invocations.
func (r *Run) Index(ctx context.Context, payloads [][]byte) error {
	if r.backend == nil {
		return fmt.Errorf("StartSearch first")
	}
	if _, err := r.function("indexer", append(append(r.backend.IndexerEnv(), "DLQ_BUCKET="+Bucket, "DLQ_PREFIX="+dlqPrefix), r.opts.IndexerEnv...)...); err != nil {
		return err
	}
	rep := &r.Report.Indexer
	for i, p := range payloads {
		ev := map[string]any{"awslogs": map[string]string{"data": base64.StdEncoding.EncodeToString(p)}}
		var err error
		for attempt := 0; attempt < 3; attempt++ {
			rep.Invocations++
			if attempt > 0 {
				rep.Retried++
			}
			if _, err = r.invoke(ctx, "indexer", ev); err == nil {
				break
			}
		}
		if err != nil {
			return fmt.Errorf("indexer payload %d failed three times: %w", i, err)
		}
		if (i+1)%40 == 0 || i == len(payloads)-1 {
			r.step("indexer: %d of %d subscription payloads delivered", i+1, len(payloads))
		}
	}
	return r.countIndexed(ctx)
}

// countIndexed reads back what OpenSearch and the dead-letter prefix hold
// and enters it in the ledger.
func (r *Run) countIndexed(ctx context.Context) error {
	rep := &r.Report.Indexer
	if f := r.backend.Fake; f != nil {
		for _, idx := range f.Indices() {
			for id := range f.Docs(idx) {
				r.ledger.indexed(id)
				rep.Indexed++
			}
		}
	} else {
		st, err := r.backend.Stored(ctx, "cwl-*", nil, 3)
		if err != nil {
			return err
		}
		rep.Indexed = st.Count
		rep.Search = st.Search
		r.ledger.indexedCount = st.Count
		if err := r.writeJSON("indexed-samples.json", st.Samples); err != nil {
			return err
		}
	}
	reasons := map[string]int{}
	list, err := r.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(Bucket), Prefix: aws.String(dlqPrefix)})
	if err != nil {
		return fmt.Errorf("list dead letters: %w", err)
	}
	var all bytes.Buffer
	for _, o := range list.Contents {
		obj, err := r.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(Bucket), Key: o.Key})
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(obj.Body)
		obj.Body.Close()
		all.Write(body)
		sc := bufio.NewScanner(bytes.NewReader(body))
		sc.Buffer(nil, 64<<20)
		for sc.Scan() {
			var dl struct {
				ID      string `json:"id"`
				Payload string `json:"payload"`
				Error   struct {
					Type   string `json:"type"`
					Reason string `json:"reason"`
				} `json:"error"`
			}
			if err := json.Unmarshal(sc.Bytes(), &dl); err != nil {
				return fmt.Errorf("dead-letter line is not JSON: %w", err)
			}
			if dl.Error.Type == "" || dl.Error.Reason == "" {
				return fmt.Errorf("dead-letter line without its reason: %s", sc.Bytes())
			}
			rep.DeadLettered++
			reasons[dl.Error.Type]++
			if dl.ID != "" {
				r.ledger.deadLettered(dl.ID)
			} else if raw, err := base64.StdEncoding.DecodeString(dl.Payload); err == nil {
				if env, err := cwlogs.NewDecoder(cwlogs.DefaultLimits).Decode(raw); err == nil {
					for _, e := range env.LogEvents {
						r.ledger.deadLettered(e.ID)
					}
				}
			}
		}
	}
	for t, n := range reasons {
		rep.DeadReasons = append(rep.DeadReasons, fmt.Sprintf("%s ×%d", t, n))
	}
	if all.Len() > 0 {
		return writeFile(r.opts.OutDir, "dead-letters.ndjson", all.Bytes())
	}
	return nil
}
