// Package lake turns the normalized NDJSON that Firehose writes under the raw
// prefix into the data lake: zstd Parquet, partitioned by each event's own
// hour (lake/<table>/dt=YYYY-MM-DD/hour=HH/<name>.parquet), sorted by
// (log_group, timestamp), with column statistics, page indexes and bloom
// filters on id and trace_id, so Athena and DuckDB prune most of a file.
//
// # Conversion
//
// [Converter] reads one input (gzip or plain NDJSON, one record per line)
// as a stream. Rows go into a sort buffer of bounded size; a full buffer is
// sorted by (hour, log_group, timestamp, id) and spilled to a temporary run
// (S2-compressed once the first 128 MiB are on disk); at the end the runs
// are merged, so the output is fully sorted while memory stays bounded by
// the buffer and one row group, not by the input. A line that is not a
// record is rejected with its line number and reason; the rest converts. A
// record repeating another's (log_group, timestamp, id) is dropped: Firehose
// delivers at least once, and the id is the dedupe key.
//
// The output name comes from the input object (bucket, key and ETag), so a
// re-delivered notification overwrites the same objects instead of adding
// duplicates.
//
// # Compaction
//
// [Service.Compact] merges the small files of closed hour partitions into
// files of the target size, dropping repeated rows. Per partition it takes
// a lease object created with If-None-Match: *, records a manifest, writes
// the merged files, reads them back from S3 to check the row count and a
// digest of the ids (and of whole rows), marks the manifest verified, adds
// the merged names to the partition's ledger and only then deletes the
// inputs. A run that finds a manifest finishes (verified) or undoes
// (pending) what the crashed run started. Conversion consults the ledger
// before and after writing, so a notification re-delivered after its file
// was compacted does not bring the rows back a second time.
package lake
