package lake

import (
	"crypto/sha256"
	"encoding/hex"
	"path"
	"strings"
)

// Layout names every object the lake reads and writes.
//
//	<Prefix><Table>/dt=YYYY-MM-DD/hour=HH/<name>.parquet   the table (Glue/Athena location)
//	<Prefix>_state/<Table>/dt=YYYY-MM-DD/hour=HH/lock      compaction lease
//	<Prefix>_state/<Table>/dt=YYYY-MM-DD/hour=HH/manifest.json
//	<Prefix>_state/<Table>/dt=YYYY-MM-DD/hour=HH/ledger.json  names compacted away
//	<RejectedPrefix><Table>/<raw key without RawPrefix>.<hash>.rejected.ndjson.gz
//
// The state lives outside the table's location (and starts with "_", which
// Spark and Hive skip), so no query engine ever reads it as data.
type Layout struct {
	Prefix         string // "lake/"
	Table          string // "logs"
	RawPrefix      string // "raw/"
	RejectedPrefix string // "rejected/"
}

func dir(p string) string {
	if p == "" || strings.HasSuffix(p, "/") {
		return p
	}
	return p + "/"
}

// TablePrefix is the table's location: <Prefix><Table>/.
func (l Layout) TablePrefix() string { return dir(l.Prefix) + l.Table + "/" }

// PartitionPrefix is <Prefix><Table>/dt=YYYY-MM-DD/hour=HH/.
func (l Layout) PartitionPrefix(p Partition) string { return l.TablePrefix() + p.Path() + "/" }

// StatePrefix is the table's compaction state.
func (l Layout) StatePrefix() string { return dir(l.Prefix) + "_state/" + l.Table + "/" }

func (l Layout) partitionState(p Partition) string { return l.StatePrefix() + p.Path() + "/" }

// LockKey is a partition's compaction lease.
func (l Layout) LockKey(p Partition) string { return l.partitionState(p) + "lock" }

// ManifestKey is a partition's compaction manifest.
func (l Layout) ManifestKey(p Partition) string { return l.partitionState(p) + "manifest.json" }

// LedgerKey lists the converted files of a partition that compaction merged.
func (l Layout) LedgerKey(p Partition) string { return l.partitionState(p) + "ledger.json" }

// IsRaw reports whether key is under the raw prefix.
func (l Layout) IsRaw(key string) bool { return strings.HasPrefix(key, dir(l.RawPrefix)) }

// OutputName is the base name (without ".parquet") of the files converted
// from one input object: the input's file name, readable, plus a hash of
// bucket, key and ETag, so the same object always gives the same name and a
// changed object a new one.
func OutputName(bucket, key, etag string) string {
	sum := sha256.Sum256([]byte(bucket + "\x00" + key + "\x00" + etag))
	base := path.Base(key)
	for _, ext := range []string{".gz", ".gzip", ".ndjson", ".jsonl", ".json"} {
		base = strings.TrimSuffix(base, ext)
	}
	base = sanitize(base, 80)
	if base == "" || base == "." || base == "/" {
		base = "part"
	}
	return base + "-" + hex.EncodeToString(sum[:8])
}

// ParquetKey is where one converted file goes.
func (l Layout) ParquetKey(p Partition, name string) string {
	return l.PartitionPrefix(p) + name + ".parquet"
}

// RejectedKey is where an input's rejected lines go.
func (l Layout) RejectedKey(rawKey, name string) string {
	rel := strings.TrimPrefix(rawKey, dir(l.RawPrefix))
	d := path.Dir(rel)
	if d == "." {
		d = ""
	} else {
		d = sanitizePath(d) + "/"
	}
	return dir(l.RejectedPrefix) + l.Table + "/" + d + name + ".rejected.ndjson.gz"
}

// sanitize keeps [A-Za-z0-9._=-] and replaces anything else with '_'.
func sanitize(s string, max int) string {
	b := []byte(s)
	if len(b) > max {
		b = b[:max]
	}
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '=' || c == '-') {
			b[i] = '_'
		}
	}
	return string(b)
}

func sanitizePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = sanitize(s, 200)
	}
	return strings.Join(parts, "/")
}

// nameOf returns a lake file's base name without ".parquet".
func nameOf(key string) string { return strings.TrimSuffix(path.Base(key), ".parquet") }
