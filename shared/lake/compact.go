package lake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tributary-logs/tributary/shared/emf"
)

// CompactReport is what one compaction run did.
type CompactReport struct {
	Partitions int               `json:"partitions"` // closed partitions looked at
	Compacted  []PartitionReport `json:"compacted,omitempty"`
	Recovered  []string          `json:"recovered,omitempty"` // manifests of earlier runs finished or undone
	Busy       []string          `json:"busy,omitempty"`      // leased by another run
	Failed     []string          `json:"failed,omitempty"`
	Stopped    bool              `json:"stopped,omitempty"` // out of time; the next run goes on
}

// PartitionReport is one merged group of files.
type PartitionReport struct {
	Partition string   `json:"partition"`
	Inputs    int      `json:"inputs"`
	Outputs   []string `json:"outputs"`
	Rows      int64    `json:"rows"`
	// Duplicates were rows of the inputs repeated (same log group, time and
	// id): an event Firehose delivered twice is kept once.
	Duplicates int64 `json:"duplicates,omitempty"`
	BytesIn    int64 `json:"bytes_in"`
	BytesOut   int64 `json:"bytes_out"`
}

// manifest records one merge in progress, so a crashed run can be finished
// (verified: the outputs hold every row) or undone (pending) by the next.
type manifest struct {
	Version      int           `json:"version"`
	ID           string        `json:"id"`
	Partition    string        `json:"partition"`
	State        string        `json:"state"` // pending, verified
	Owner        string        `json:"owner"`
	Created      time.Time     `json:"created"`
	Inputs       []manifestObj `json:"inputs"`
	OutputPrefix string        `json:"output_prefix"`
	Outputs      []manifestObj `json:"outputs,omitempty"`
	Digest       Digest        `json:"digest"`
	Duplicates   int64         `json:"duplicates,omitempty"`
}

type manifestObj struct {
	Key  string `json:"key"`
	ETag string `json:"etag,omitempty"`
	Size int64  `json:"size"`
	Rows int64  `json:"rows,omitempty"`
}

const (
	statePending  = "pending"
	stateVerified = "verified"
)

// lockBody is the content of a lease object.
type lockBody struct {
	Owner     string    `json:"owner"`
	Partition string    `json:"partition"`
	Expires   time.Time `json:"expires"`
}

type lease struct {
	key     string
	etag    string
	expires time.Time
}

// leaseSafety: destructive steps need at least this much lease left.
const leaseSafety = 30 * time.Second

// CrashError is returned when a test hook stops compaction at a step, as if
// the process had died there: nothing is cleaned up, the lease is kept.
type CrashError struct{ Step string }

func (e *CrashError) Error() string { return "simulated crash before " + e.Step }

// Compaction steps, in order, as the crash hook sees them.
const (
	StepManifestPending  = "manifest-pending"
	StepWriteOutputs     = "write-outputs"
	StepVerify           = "verify"
	StepManifestVerified = "manifest-verified"
	StepLedger           = "ledger"
	StepDeleteInputs     = "delete-inputs"
	StepManifestDelete   = "manifest-delete"
)

// WithCrashAt makes compaction stop with a *CrashError before the named
// step (tests of crash safety).
func WithCrashAt(step string) Option {
	return func(s *Service) {
		s.step = func(name string) error {
			if name == step {
				return &CrashError{Step: step}
			}
			return nil
		}
	}
}

func (s *Service) at(step string) error {
	if s.step == nil {
		return nil
	}
	return s.step(step)
}

// Compact merges the small files of closed hour partitions (older than
// CompactAfter past their end, within CompactLookback) into files of about
// TargetFileBytes, oldest partition first, and finishes or undoes what
// crashed runs left. Partitions another run holds are skipped. It stops
// early, with Stopped set, when the context's deadline comes close.
func (s *Service) Compact(ctx context.Context) (CompactReport, error) {
	var rep CompactReport
	now := s.now()
	last := hourOf(now.Add(-s.cfg.CompactAfter).UnixMilli()) - 1
	first := hourOf(now.Add(-s.cfg.CompactLookback).UnixMilli())

	parts, err := s.closedPartitions(ctx, first, last)
	if err != nil {
		return rep, fmt.Errorf("compact: %w", err)
	}
	// Manifests left by crashed runs are finished whatever their age.
	state, err := s.store.List(ctx, s.cfg.Bucket, s.cfg.StatePrefix())
	if err != nil {
		return rep, fmt.Errorf("compact: %w", err)
	}
	pending := map[int64]bool{}
	for _, o := range state {
		if strings.HasSuffix(o.Key, "/manifest.json") {
			if p, ok := parsePartitionPath(strings.TrimPrefix(o.Key, s.cfg.StatePrefix())); ok {
				pending[p.Hour] = true
				if _, seen := parts[p.Hour]; !seen {
					parts[p.Hour] = nil
				}
			}
		}
	}
	hours := slices.Sorted(maps.Keys(parts))

	var errs []error
	for _, h := range hours {
		p := Partition{Hour: h}
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		rep.Partitions++
		files := parts[h]
		if len(s.plan(files)) == 0 && !pending[h] {
			continue
		}
		if !s.timeFor(ctx, sumSize(files)) {
			rep.Stopped = true
			break
		}
		if err := s.compactPartition(ctx, p, &rep); err != nil {
			var crash *CrashError
			if errors.As(err, &crash) {
				return rep, err
			}
			rep.Failed = append(rep.Failed, p.Path())
			errs = append(errs, err)
			s.metrics.Count(emf.LakeCompactionsFailed, 1)
			s.log.ErrorContext(ctx, "compaction failed", "partition", p.Path(), "error", err)
		}
	}
	if len(errs) > 0 {
		return rep, fmt.Errorf("compact: %d partitions failed: %w", len(errs), errors.Join(errs...))
	}
	return rep, nil
}

// closedPartitions lists the Parquet files of the partitions between hours
// first and last that hold any: the dt= folders of the table first, then
// one listing per day in the window.
func (s *Service) closedPartitions(ctx context.Context, first, last int64) (map[int64][]ObjectInfo, error) {
	out := map[int64][]ObjectInfo{}
	if first > last {
		return out, nil
	}
	table := s.cfg.TablePrefix()
	days, err := s.store.ListDirs(ctx, s.cfg.Bucket, table)
	if err != nil {
		return nil, err
	}
	firstDay, lastDay := Partition{Hour: first}.Date(), Partition{Hour: last}.Date()
	for _, d := range days {
		day, ok := strings.CutPrefix(d, table+"dt=")
		day = strings.TrimSuffix(day, "/")
		if !ok || day < firstDay || day > lastDay {
			continue
		}
		objs, err := s.store.List(ctx, s.cfg.Bucket, d)
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			p, ok := parsePartitionPath(strings.TrimPrefix(o.Key, table))
			rest := strings.TrimPrefix(o.Key, s.cfg.PartitionPrefix(p))
			if !ok || p.Hour < first || p.Hour > last || !strings.HasSuffix(o.Key, ".parquet") || strings.Contains(rest, "/") {
				continue
			}
			out[p.Hour] = append(out[p.Hour], o)
		}
	}
	return out, nil
}

// timeFor reports whether the context's deadline leaves time to merge
// about n bytes (at a pessimistic 10 MiB/s, plus a fixed margin).
func (s *Service) timeFor(ctx context.Context, n int64) bool {
	dl, ok := ctx.Deadline()
	if !ok {
		return true
	}
	need := 5*time.Second + time.Duration(n/(10<<20))*time.Second
	return time.Until(dl) > need
}

func sumSize(files []ObjectInfo) int64 {
	var n int64
	for _, f := range files {
		n += f.Size
	}
	return n
}

func (s *Service) listParquet(ctx context.Context, p Partition) ([]ObjectInfo, error) {
	objs, err := s.store.List(ctx, s.cfg.Bucket, s.cfg.PartitionPrefix(p))
	if err != nil {
		return nil, err
	}
	out := objs[:0]
	for _, o := range objs {
		if strings.HasSuffix(o.Key, ".parquet") && !strings.Contains(strings.TrimPrefix(o.Key, s.cfg.PartitionPrefix(p)), "/") {
			out = append(out, o)
		}
	}
	return out, nil
}

// plan groups the files below the target size, in key order, into bins
// whose total stays within the target (and MaxMergeFiles). Only bins of two
// or more files are worth merging.
func (s *Service) plan(files []ObjectInfo) [][]ObjectInfo {
	var bins [][]ObjectInfo
	var cur []ObjectInfo
	var sum int64
	for _, f := range files {
		if f.Size >= s.cfg.TargetFileBytes {
			continue
		}
		if len(cur) > 0 && (sum+f.Size > s.cfg.TargetFileBytes || len(cur) >= s.cfg.MaxMergeFiles) {
			if len(cur) >= 2 {
				bins = append(bins, cur)
			}
			cur, sum = nil, 0
		}
		cur = append(cur, f)
		sum += f.Size
	}
	if len(cur) >= 2 {
		bins = append(bins, cur)
	}
	return bins
}

func (s *Service) compactPartition(ctx context.Context, p Partition, rep *CompactReport) (err error) {
	l, err := s.acquire(ctx, p)
	if err != nil {
		return err
	}
	if l == nil {
		rep.Busy = append(rep.Busy, p.Path())
		return nil
	}
	defer func() {
		var crash *CrashError
		if errors.As(err, &crash) {
			return // a dead process releases nothing
		}
		if rerr := s.store.Delete(context.WithoutCancel(ctx), s.cfg.Bucket, l.key, l.etag); rerr != nil {
			s.log.WarnContext(ctx, "release compaction lease", "key", l.key, "error", rerr)
		}
	}()

	var m manifest
	_, err = s.getJSON(ctx, s.cfg.ManifestKey(p), &m)
	switch {
	case err == nil:
		if err := s.recover(ctx, p, &m, l); err != nil {
			return err
		}
		rep.Recovered = append(rep.Recovered, p.Path()+" "+m.State)
	case !errors.Is(err, ErrNotFound):
		return err
	}

	files, err := s.listParquet(ctx, p)
	if err != nil {
		return err
	}
	for _, bin := range s.plan(files) {
		if !s.timeFor(ctx, sumSize(bin)) {
			rep.Stopped = true
			return nil
		}
		pr, err := s.compactBin(ctx, p, bin, l)
		if err != nil {
			return err
		}
		if pr != nil {
			rep.Compacted = append(rep.Compacted, *pr)
		}
	}
	return nil
}

// acquire takes the partition's lease: a lock object created only if absent
// (If-None-Match: *). An expired lease (its holder died) is taken over by
// deleting exactly that lock (If-Match) and creating a new one. nil: another
// live run holds it.
func (s *Service) acquire(ctx context.Context, p Partition) (*lease, error) {
	now := s.now()
	exp := now.Add(s.cfg.Lease)
	if dl, ok := ctx.Deadline(); ok {
		// outlive the invocation: Lambda stops it at the deadline
		exp = now.Add(time.Until(dl) + 2*time.Minute)
	}
	key := s.cfg.LockKey(p)
	body := lockBody{Owner: s.runID, Partition: p.Path(), Expires: exp.UTC()}
	for attempt := 0; attempt < 2; attempt++ {
		etag, err := s.putJSON(ctx, key, body, PutOptions{IfNoneMatch: true})
		if err == nil {
			return &lease{key: key, etag: etag, expires: exp}, nil
		}
		if !errors.Is(err, ErrPrecondition) {
			return nil, fmt.Errorf("acquire lease %s: %w", key, err)
		}
		if attempt > 0 {
			return nil, nil
		}
		var cur lockBody
		curTag, err := s.getJSON(ctx, key, &cur)
		switch {
		case errors.Is(err, ErrNotFound):
			continue // released meanwhile
		case err != nil:
			return nil, fmt.Errorf("read lease %s: %w", key, err)
		case now.Before(cur.Expires):
			return nil, nil
		}
		s.log.WarnContext(ctx, "taking over an expired compaction lease", "key", key, "owner", cur.Owner, "expired", cur.Expires)
		if err := s.store.Delete(ctx, s.cfg.Bucket, key, curTag); err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrPrecondition) {
			return nil, fmt.Errorf("remove expired lease %s: %w", key, err)
		}
	}
	return nil, nil
}

func (s *Service) checkLease(l *lease) error {
	if s.now().After(l.expires.Add(-leaseSafety)) {
		return fmt.Errorf("compaction lease %s runs out at %s; stopping before deleting anything", l.key, l.expires.Format(time.RFC3339))
	}
	return nil
}

// binID names a merge by its inputs, so retrying the same merge writes the
// same output keys.
func binID(bin []ObjectInfo) string {
	h := sha256.New()
	for _, o := range bin {
		fmt.Fprintf(h, "%s\x00%s\x00", o.Key, o.ETag)
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

func (s *Service) compactBin(ctx context.Context, p Partition, bin []ObjectInfo, l *lease) (*PartitionReport, error) {
	id := binID(bin)
	m := &manifest{
		Version: 1, ID: id, Partition: p.Path(), State: statePending, Owner: s.runID,
		Created:      s.now().UTC(),
		OutputPrefix: s.cfg.PartitionPrefix(p) + "compact-" + id + "-",
	}
	for _, o := range bin {
		m.Inputs = append(m.Inputs, manifestObj{Key: o.Key, ETag: o.ETag, Size: o.Size})
	}
	if err := s.at(StepManifestPending); err != nil {
		return nil, err
	}
	if _, err := s.putJSON(ctx, s.cfg.ManifestKey(p), m, PutOptions{}); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(s.cfg.TempDir, "lake-compact-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)

	// Download the inputs; one that changed since it was listed ends this
	// merge (nothing was written yet) and waits for the next run.
	lazy := make([]lazySource, 0, len(bin))
	for i, o := range bin {
		path := filepath.Join(dir, "in-"+strconv.Itoa(i)+".parquet")
		info, err := s.download(ctx, o.Key, path)
		if err != nil {
			return nil, s.abandon(ctx, p, err)
		}
		if info.ETag != o.ETag {
			return nil, s.abandon(ctx, p, fmt.Errorf("%s changed while compacting (etag %s, listed %s)", o.Key, info.ETag, o.ETag))
		}
		bound, err := fileBound(path)
		if err != nil {
			return nil, s.abandon(ctx, p, fmt.Errorf("%s: %w", o.Key, err))
		}
		lazy = append(lazy, lazySource{bound: bound, open: func() (rowSource, error) {
			src, err := openParquetSource(path)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", o.Key, err)
			}
			src.name = o.Key
			return src, nil
		}})
	}
	slices.SortStableFunc(lazy, func(a, b lazySource) int { return compareRows(&a.bound, &b.bound) })

	if err := s.at(StepWriteOutputs); err != nil {
		return nil, err
	}
	pr := &PartitionReport{Partition: p.Path(), Inputs: len(bin), BytesIn: sumSize(bin)}
	var outputs []manifestObj
	var inDigest Digest
	sink := newSink(WriterConfig{
		RowGroupBytes: s.cfg.RowGroupBytes,
		MaxFileBytes:  s.cfg.TargetFileBytes,
		TempDir:       dir,
		Metadata:      map[string]string{"tributary.compaction": id},
	}, func(f *OutputFile) error {
		key := m.OutputPrefix + strconv.Itoa(f.Seq) + ".parquet"
		if err := s.putFile(ctx, key, f.Path, f.Size, PutOptions{ContentType: "application/vnd.apache.parquet"}); err != nil {
			return err
		}
		outputs = append(outputs, manifestObj{Key: key, Size: f.Size, Rows: f.Rows})
		pr.Outputs = append(pr.Outputs, key)
		pr.BytesOut += f.Size
		return nil
	})
	mg, err := newMerger(nil, lazy)
	if err == nil {
		var scratch []byte
		var dd deduper
		for {
			var v *rowView
			v, err = mg.next()
			if err != nil {
				break
			}
			if dd.dup(v) {
				pr.Duplicates++
				continue
			}
			scratch = inDigest.add(v, scratch)
			if err = sink.write(v); err != nil {
				break
			}
		}
		if errors.Is(err, errEnd) {
			err = sink.close()
		}
		_ = mg.close()
	}
	if err != nil {
		sink.abort()
		return nil, s.abandon(ctx, p, fmt.Errorf("merge %s: %w", p.Path(), err))
	}
	pr.Rows = inDigest.Rows
	for i := range bin { // /tmp holds the inputs or a read-back copy, not both
		_ = os.Remove(filepath.Join(dir, "in-"+strconv.Itoa(i)+".parquet"))
	}

	// Read every output back from the store and compare.
	if err := s.at(StepVerify); err != nil {
		return nil, err
	}
	var outDigest Digest
	for i, o := range outputs {
		d, err := s.readBack(ctx, o.Key, filepath.Join(dir, "check.parquet"))
		if err != nil {
			return nil, s.abandon(ctx, p, err)
		}
		outputs[i].ETag = d.etag
		outDigest.Merge(d.Digest)
	}
	if outDigest != inDigest {
		return nil, s.abandon(ctx, p, fmt.Errorf("verify %s: merged files hold %d rows (digest %x/%x), inputs %d rows (%x/%x)",
			p.Path(), outDigest.Rows, outDigest.IDSum, outDigest.RowSum, inDigest.Rows, inDigest.IDSum, inDigest.RowSum))
	}
	m.State, m.Outputs, m.Digest, m.Duplicates = stateVerified, outputs, inDigest, pr.Duplicates
	if err := s.checkLease(l); err != nil {
		return nil, err // the manifest stays pending: the next run undoes it
	}
	if err := s.at(StepManifestVerified); err != nil {
		return nil, err
	}
	if _, err := s.putJSON(ctx, s.cfg.ManifestKey(p), m, PutOptions{}); err != nil {
		return nil, err
	}
	if err := s.finish(ctx, p, m, l); err != nil {
		return nil, err
	}
	s.metrics.Count(emf.LakeCompactedInputs, len(bin))
	s.metrics.Count(emf.LakeCompactedOutputs, len(outputs))
	s.log.InfoContext(ctx, "compacted", "partition", p.Path(), "inputs", len(bin), "outputs", len(outputs),
		"rows", inDigest.Rows, "bytes_in", pr.BytesIn, "bytes_out", pr.BytesOut)
	return pr, nil
}

// abandon undoes a merge that failed before its manifest was verified:
// it deletes whatever outputs were written and the manifest. The inputs were
// never touched.
func (s *Service) abandon(ctx context.Context, p Partition, cause error) error {
	var crash *CrashError
	if errors.As(cause, &crash) {
		return cause
	}
	ctx = context.WithoutCancel(ctx)
	var m manifest
	if _, err := s.getJSON(ctx, s.cfg.ManifestKey(p), &m); err != nil {
		if errors.Is(err, ErrNotFound) {
			return cause
		}
		return errors.Join(cause, err)
	}
	if err := s.undo(ctx, p, &m); err != nil {
		return errors.Join(cause, err)
	}
	return cause
}

// recover finishes (verified) or undoes (pending) a manifest found at the
// start of a run.
func (s *Service) recover(ctx context.Context, p Partition, m *manifest, l *lease) error {
	s.log.WarnContext(ctx, "found the manifest of an unfinished compaction", "partition", p.Path(), "state", m.State, "id", m.ID, "owner", m.Owner)
	switch m.State {
	case stateVerified:
		return s.finish(ctx, p, m, l)
	case statePending:
		return s.undo(ctx, p, m)
	default:
		return fmt.Errorf("manifest %s: unknown state %q", s.cfg.ManifestKey(p), m.State)
	}
}

// undo deletes the outputs of a pending manifest, then the manifest.
func (s *Service) undo(ctx context.Context, p Partition, m *manifest) error {
	if !strings.HasPrefix(m.OutputPrefix, s.cfg.PartitionPrefix(p)+"compact-") {
		return fmt.Errorf("manifest %s: output prefix %q outside its partition", s.cfg.ManifestKey(p), m.OutputPrefix)
	}
	objs, err := s.store.List(ctx, s.cfg.Bucket, m.OutputPrefix)
	if err != nil {
		return err
	}
	for _, o := range objs {
		if err := s.store.Delete(ctx, s.cfg.Bucket, o.Key, ""); err != nil {
			return err
		}
	}
	return s.store.Delete(ctx, s.cfg.Bucket, s.cfg.ManifestKey(p), "")
}

// finish completes a verified merge: the merged names go into the ledger
// (so a late re-delivery does not bring them back), then the inputs and the
// manifest are deleted. Each step can be repeated.
func (s *Service) finish(ctx context.Context, p Partition, m *manifest, l *lease) error {
	if err := s.at(StepLedger); err != nil {
		return err
	}
	led, etag, err := s.readLedger(ctx, p)
	if err != nil {
		return err
	}
	var names []string
	for _, in := range m.Inputs {
		if n := nameOf(in.Key); !strings.HasPrefix(n, "compact-") {
			names = append(names, n)
		}
	}
	if led.add(names...) {
		opts := PutOptions{IfNoneMatch: etag == "", IfMatch: etag}
		if _, err := s.putJSON(ctx, s.cfg.LedgerKey(p), &led, opts); err != nil {
			return fmt.Errorf("update ledger: %w", err)
		}
	}
	if err := s.checkLease(l); err != nil {
		return err
	}
	if err := s.at(StepDeleteInputs); err != nil {
		return err
	}
	for _, in := range m.Inputs {
		if slices.ContainsFunc(m.Outputs, func(o manifestObj) bool { return o.Key == in.Key }) {
			continue
		}
		if err := s.store.Delete(ctx, s.cfg.Bucket, in.Key, ""); err != nil {
			return err
		}
	}
	if err := s.at(StepManifestDelete); err != nil {
		return err
	}
	return s.store.Delete(ctx, s.cfg.Bucket, s.cfg.ManifestKey(p), "")
}

func (s *Service) download(ctx context.Context, key, path string) (ObjectInfo, error) {
	body, info, err := s.store.Get(ctx, s.cfg.Bucket, key, "")
	if err != nil {
		return info, err
	}
	defer body.Close()
	f, err := os.Create(path)
	if err != nil {
		return info, err
	}
	_, err = io.Copy(f, body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return info, fmt.Errorf("download %s: %w", key, err)
	}
	return info, nil
}

type checked struct {
	Digest
	etag string
}

// readBack downloads a written file and digests every row, checking the
// sort order on the way.
func (s *Service) readBack(ctx context.Context, key, path string) (checked, error) {
	info, err := s.download(ctx, key, path)
	if err != nil {
		return checked{}, err
	}
	defer os.Remove(path)
	d, err := DigestFile(path)
	if err != nil {
		return checked{}, fmt.Errorf("verify %s: %w", key, err)
	}
	return checked{Digest: d, etag: info.ETag}, nil
}

// parsePartitionPath reads "dt=YYYY-MM-DD/hour=HH/..." .
func parsePartitionPath(s string) (Partition, bool) {
	if len(s) < len("dt=2006-01-02/hour=15") || !strings.HasPrefix(s, "dt=") || s[13:19] != "/hour=" {
		return Partition{}, false
	}
	t, err := time.Parse("2006-01-02 15", s[3:13]+" "+s[19:21])
	if err != nil {
		return Partition{}, false
	}
	return PartitionOf(t.UnixMilli()), true
}
