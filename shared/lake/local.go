package lake

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// LocalOptions tune ConvertFile; zero values take the lake's defaults.
type LocalOptions struct {
	Table           string // default "logs"
	RowGroupBytes   int64
	SortBufferBytes int
}

// LocalResult is what ConvertFile wrote.
type LocalResult struct {
	Files         []string // Parquet files, in partition order
	RejectedFile  string   // NDJSON of rejected lines; "" when none
	Rows          int64
	RejectedLines int64
	Root          string // outDir/<table>
}

// ConvertFile converts a local NDJSON file (gzip or plain, normalized
// records or the flattened {owner,log_group,log_stream,id,timestamp,message}
// shape) into the lake's layout under outDir:
// outDir/<table>/dt=YYYY-MM-DD/hour=HH/<name>.parquet, and rejected lines
// into outDir/rejected/<name>.ndjson. Running it again overwrites the same
// files. It is what `make demo` uses to show the lake without AWS.
func ConvertFile(ctx context.Context, inPath, outDir string, opts LocalOptions) (LocalResult, error) {
	var res LocalResult
	if opts.Table == "" {
		opts.Table = "logs"
	}
	in, err := os.Open(inPath)
	if err != nil {
		return res, err
	}
	defer in.Close()
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return res, err
	}
	tmp, err := os.MkdirTemp(outDir, ".lake-tmp-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(tmp)

	layout := Layout{Table: opts.Table}
	res.Root = filepath.Join(outDir, opts.Table)
	name := OutputName("file", filepath.Base(inPath), "")
	conv := NewConverter(ConvertConfig{
		SortBufferBytes: opts.SortBufferBytes,
		TempDir:         tmp,
		Writer: WriterConfig{
			RowGroupBytes: opts.RowGroupBytes,
			TempDir:       tmp,
			Metadata:      map[string]string{"tributary.source": "file://" + inPath},
		},
	})

	var rejected *os.File
	var rw *bufio.Writer
	defer func() {
		if rejected != nil {
			rejected.Close()
		}
	}()
	var line []byte
	cr, err := conv.Convert(ctx, in, func(f *OutputFile) error {
		rel := strings.TrimPrefix(layout.ParquetKey(f.Partition, name), layout.TablePrefix())
		dst := filepath.Join(res.Root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.Rename(f.Path, dst); err != nil {
			return err
		}
		res.Files = append(res.Files, dst)
		return nil
	}, func(r *Rejection) error {
		if rejected == nil {
			res.RejectedFile = filepath.Join(outDir, "rejected", name+".ndjson")
			if err := os.MkdirAll(filepath.Dir(res.RejectedFile), 0o755); err != nil {
				return err
			}
			f, err := os.Create(res.RejectedFile)
			if err != nil {
				return err
			}
			rejected, rw = f, bufio.NewWriter(f)
		}
		line = append(AppendRejection(line[:0], "file://"+inPath, r), '\n')
		_, err := rw.Write(line)
		return err
	})
	if err != nil {
		return res, fmt.Errorf("convert %s: %w", inPath, err)
	}
	if rw != nil {
		if err := rw.Flush(); err != nil {
			return res, err
		}
		if err := rejected.Close(); err != nil {
			return res, err
		}
		rejected = nil
	}
	res.Rows, res.RejectedLines = cr.Rows, cr.Rejected
	return res, nil
}

// DuckDBQuery returns a DuckDB query over a table ConvertFile wrote under
// root (outDir/<table>): errors by log group and hour, using the Hive
// partition columns.
func DuckDBQuery(root string) string {
	glob := filepath.ToSlash(filepath.Join(root, "*", "*", "*.parquet"))
	return "SELECT dt, hour, log_group, count(*) AS errors\n" +
		"FROM read_parquet('" + strings.ReplaceAll(glob, "'", "''") + "', hive_partitioning = true)\n" +
		"WHERE level IN ('ERROR', 'FATAL')\n" +
		"GROUP BY ALL ORDER BY dt, hour, errors DESC;"
}
