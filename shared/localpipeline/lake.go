package localpipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/parquet-go/parquet-go"

	"github.com/tributary-logs/tributary/shared/lake"
)

// LakeReport counts the Parquet stage.
type LakeReport struct {
	Invocations     int    `json:"invocations"`
	ObjectsRetried  int    `json:"objects_retried"`
	ParquetFiles    int    `json:"parquet_files"`
	Rows            int    `json:"rows"`
	ParquetBytes    int64  `json:"parquet_bytes"`
	RawBytes        int64  `json:"raw_gzip_bytes"`
	CompactedMerged int    `json:"compaction_runs"`
	Query           string `json:"duckdb_query"`
}

const lakePrefix = "lake/"

// Lake sends the S3 notifications for every object delivered under raw/ to
// the lake function, wrapped in SQS messages as the template wires it; an
// object reported in batchItemFailures is delivered again, as SQS would.
// Then a scheduled compaction runs, and the lake is copied to the output
// folder and counted.
func (r *Run) Lake(ctx context.Context) error {
	rep := &r.Report.Lake
	if _, err := r.function("lake", "LAKE_BUCKET="+Bucket, "LAKE_PREFIX="+lakePrefix, "COMPACT_AFTER=1m"); err != nil {
		return err
	}
	pending := append([]string(nil), r.rawKeys...)
	for round := 0; len(pending) > 0; round++ {
		if round == 5 {
			return fmt.Errorf("lake: %d objects still failing after 5 deliveries", len(pending))
		}
		var failed []string
		for start := 0; start < len(pending); start += 10 {
			batch := pending[start:min(start+10, len(pending))]
			ev, err := r.sqsBatch(ctx, batch)
			if err != nil {
				return err
			}
			rep.Invocations++
			out, err := r.invoke(ctx, "lake", ev)
			if err != nil {
				failed = append(failed, batch...)
				continue
			}
			var resp events.SQSEventResponse
			if err := json.Unmarshal(out, &resp); err != nil {
				return fmt.Errorf("lake response: %w", err)
			}
			for _, f := range resp.BatchItemFailures {
				var i int
				fmt.Sscanf(f.ItemIdentifier, "msg-%d", &i)
				failed = append(failed, batch[i])
			}
		}
		rep.ObjectsRetried += len(failed)
		pending = failed
	}
	r.step("lake: %d raw objects converted to Parquet (%d deliveries retried)", len(r.rawKeys), rep.ObjectsRetried)
	rep.Invocations++
	if _, err := r.invoke(ctx, "lake", map[string]string{"action": "compact"}); err != nil {
		return fmt.Errorf("compaction: %w", err)
	}
	rep.CompactedMerged++
	return r.collectLake(ctx)
}

// sqsBatch builds the SQS event whose messages carry S3 notifications.
func (r *Run) sqsBatch(ctx context.Context, keys []string) (events.SQSEvent, error) {
	var ev events.SQSEvent
	for i, key := range keys {
		head, err := r.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(Bucket), Key: aws.String(key)})
		if err != nil {
			return ev, fmt.Errorf("head %s: %w", key, err)
		}
		n := events.S3Event{Records: []events.S3EventRecord{{
			EventVersion: "2.1", EventSource: "aws:s3", AWSRegion: Region, EventTime: time.Now().UTC(), EventName: "ObjectCreated:Put",
			S3: events.S3Entity{SchemaVersion: "1.0", ConfigurationID: "raw-objects",
				Bucket: events.S3Bucket{Name: Bucket, Arn: "arn:aws:s3:::" + Bucket},
				Object: events.S3Object{Key: key, Size: aws.ToInt64(head.ContentLength), ETag: strings.Trim(aws.ToString(head.ETag), `"`),
					VersionID: aws.ToString(head.VersionId), Sequencer: fmt.Sprintf("%016X", i)}},
		}}}
		body, _ := json.Marshal(n)
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: fmt.Sprintf("msg-%d", i), Body: string(body),
			EventSource: "aws:sqs", EventSourceARN: "arn:aws:sqs:" + Region + ":" + Account + ":tributary-raw-objects", AWSRegion: Region})
	}
	return ev, nil
}

// collectLake copies the Parquet files to the output folder, counts every
// row's id in the ledger, and prepares the DuckDB query.
func (r *Run) collectLake(ctx context.Context) error {
	rep := &r.Report.Lake
	root := filepath.Join(r.opts.OutDir, "lake")
	if err := os.RemoveAll(root); err != nil {
		return err
	}
	p := s3.NewListObjectsV2Paginator(r.s3, &s3.ListObjectsV2Input{Bucket: aws.String(Bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			if strings.HasPrefix(key, "raw/") {
				rep.RawBytes += aws.ToInt64(o.Size)
			}
			if !strings.HasPrefix(key, lakePrefix) || !strings.HasSuffix(key, ".parquet") {
				continue
			}
			obj, err := r.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(Bucket), Key: o.Key})
			if err != nil {
				return err
			}
			body, err := io.ReadAll(obj.Body)
			obj.Body.Close()
			if err != nil {
				return err
			}
			dst := filepath.Join(root, strings.TrimPrefix(key, lakePrefix))
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(dst, body, 0o644); err != nil {
				return err
			}
			rep.ParquetFiles++
			rep.ParquetBytes += int64(len(body))
			if err := r.countParquet(body); err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
		}
	}
	rep.Query = lake.DuckDBQuery(filepath.Join(root, "logs"))
	r.ledger.lakeChecked = true
	return nil
}

type lakeRow struct {
	ID string `parquet:"id"`
}

func (r *Run) countParquet(body []byte) error {
	f, err := parquet.OpenFile(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		return err
	}
	rd := parquet.NewGenericReader[lakeRow](f)
	defer rd.Close()
	buf := make([]lakeRow, 1024)
	for {
		n, err := rd.Read(buf)
		for _, row := range buf[:n] {
			r.Report.Lake.Rows++
			r.ledger.inLake(row.ID)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
