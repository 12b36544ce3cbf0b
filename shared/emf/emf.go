// Package emf writes CloudWatch Embedded Metric Format lines: JSON log lines
// that CloudWatch turns into metrics without any API call, so counting costs
// no latency. The metric names are a catalogue of constants so the template's
// alarms and dashboard can be checked against what the code emits.
package emf

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"
)

// Namespace is where every Tributary metric lives.
const Namespace = "Tributary"

// DimensionFunction is the one dimension every metric carries.
const DimensionFunction = "Function"

// DimensionLogGroup is the second dimension of the optional, allow-listed
// per-log-group counts (LogGroupEvents); see LogGroupCounter.
const DimensionLogGroup = "LogGroup"

// Unit is a CloudWatch metric unit.
type Unit string

// Units used in the catalogue.
const (
	Count        Unit = "Count"
	Bytes        Unit = "Bytes"
	Milliseconds Unit = "Milliseconds"
	Seconds      Unit = "Seconds"
)

// Metric names: the catalogue. Keep docs/operations.md in step.
const (
	RecordsIn          = "RecordsIn"          // Firehose records received (transform)
	RecordsOk          = "RecordsOk"          // records returned Ok
	RecordsDropped     = "RecordsDropped"     // control messages and filtered-out records
	RecordsFailed      = "RecordsFailed"      // ProcessingFailed (undecodable, or re-ingest failed)
	RecordsReingested  = "RecordsReingested"  // originals split and put back into the stream
	ReingestPuts       = "ReingestPuts"       // payloads put back by PutRecordBatch / PutRecords
	ReingestRetries    = "ReingestRetries"    // entries retried after a partial failure
	EventsIn           = "EventsIn"           // log events decoded
	EventsOut          = "EventsOut"          // normalized records written
	EventsFiltered     = "EventsFiltered"     // dropped by include/exclude filters
	Redactions         = "Redactions"         // secrets and personal data replaced
	FieldsTruncated    = "FieldsTruncated"    // keys or values cut from fields by the limits
	BytesIn            = "BytesIn"            // uncompressed log message bytes in
	BytesOut           = "BytesOut"           // bytes of normalized output
	EventsIndexed      = "EventsIndexed"      // indexer: documents created
	EventsAlreadyThere = "EventsAlreadyThere" // indexer: 409, already indexed
	EventsRetried      = "EventsRetried"      // indexer: items retried after 429/5xx
	EventsDeadLettered = "EventsDeadLettered" // indexer: items written to the dead-letter prefix
	BulkLatency        = "BulkLatency"        // indexer: one _bulk round trip
	Throttled          = "Throttled"          // indexer: 429 responses
	EventsRejected     = "EventsRejected"     // indexer: permanent failures with no dead-letter bucket (logged, not kept)
)

// Lake freshness (lake): the lag alarm and dashboard widget watch it.
const (
	LakeLagSeconds = "LakeLagSeconds" // lake: now minus the newest event time of a converted object (Seconds)
)

// Per-log-group metric (transform), emitted only for METRIC_LOG_GROUPS.
const (
	LogGroupEvents = "LogGroupEvents" // log events decoded from one allow-listed log group (dimensions Function, LogGroup)
)

// Alerting metrics (alarm, opsgenie).
const (
	AlertEventsIn       = "AlertEventsIn"       // events and alarm notifications received
	AlertEventsRejected = "AlertEventsRejected" // inputs that could not be decoded (reported in the response)
	AlertEventsNoMatch  = "AlertEventsNoMatch"  // events no enabled rule matched
	AlertsOpened        = "AlertsOpened"        // create requests sent (after storm control)
	AlertsClosed        = "AlertsClosed"        // close requests sent
	AlertsSuppressed    = "AlertsSuppressed"    // rule matches dropped by a suppression
	AlertsBelowSeverity = "AlertsBelowSeverity" // findings under MIN_FINDING_SEVERITY
	AlertsCollapsed     = "AlertsCollapsed"     // alerts merged into another with the same alias
	AlertsTruncated     = "AlertsTruncated"     // alerts with a field cut to the Opsgenie limits
	SinkDeliveries      = "SinkDeliveries"      // successful deliveries, all sinks
	SinkFailures        = "SinkFailures"        // deliveries that failed after retries (invocation fails)
	SinkRetries         = "SinkRetries"         // HTTP retries after 429/5xx/network errors
	AlarmLogLines       = "AlarmLogLines"       // matching log lines attached to alarm alerts
	AlarmLookupErrors   = "AlarmLookupErrors"   // tag / metric filter / log lookups that failed
)

// Set accumulates values for one invocation and writes them as one line.
// It is safe for concurrent use.
type Set struct {
	mu       sync.Mutex
	function string
	units    map[string]Unit
	values   map[string]float64
	now      func() time.Time
}

// New returns an empty set for the named function.
func New(function string) *Set {
	return &Set{function: function, units: map[string]Unit{}, values: map[string]float64{}, now: time.Now}
}

// Add adds v to the named metric.
func (s *Set) Add(name string, unit Unit, v float64) {
	s.mu.Lock()
	s.units[name] = unit
	s.values[name] += v
	s.mu.Unlock()
}

// Count adds n to a Count metric.
func (s *Set) Count(name string, n int) { s.Add(name, Count, float64(n)) }

// Value returns the accumulated value of a metric (tests, summaries).
func (s *Set) Value(name string) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.values[name]
}

// Flush writes the metrics as one EMF line and resets the set. Nothing is
// written when no metric was recorded.
func (s *Set) Flush(w io.Writer) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.values) == 0 {
		return nil
	}
	names := make([]string, 0, len(s.values))
	for n := range s.values {
		names = append(names, n)
	}
	sort.Strings(names)
	type metricDef struct {
		Name string `json:"Name"`
		Unit Unit   `json:"Unit"`
	}
	defs := make([]metricDef, len(names))
	doc := map[string]any{DimensionFunction: s.function}
	for i, n := range names {
		defs[i] = metricDef{n, s.units[n]}
		doc[n] = s.values[n]
	}
	doc["_aws"] = map[string]any{
		"Timestamp": s.now().UnixMilli(),
		"CloudWatchMetrics": []any{map[string]any{
			"Namespace":  Namespace,
			"Dimensions": [][]string{{DimensionFunction}},
			"Metrics":    defs,
		}},
	}
	line, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("encode metrics: %w", err)
	}
	clear(s.values)
	clear(s.units)
	_, err = w.Write(append(line, '\n'))
	return err
}

// Data lake metrics (lake).
const (
	LakeObjects           = "LakeObjects"           // lake: raw objects converted
	LakeObjectsFailed     = "LakeObjectsFailed"     // lake: raw objects that failed (retried by the trigger)
	LakeRows              = "LakeRows"              // lake: rows written to Parquet
	LakeRowsRejected      = "LakeRowsRejected"      // lake: lines written to the rejected prefix
	LakeFiles             = "LakeFiles"             // lake: Parquet files written by conversion
	LakeBytes             = "LakeBytes"             // lake: Parquet bytes written by conversion
	LakeCompactedInputs   = "LakeCompactedInputs"   // lake: small files merged and deleted
	LakeCompactedOutputs  = "LakeCompactedOutputs"  // lake: merged files written
	LakeCompactionsFailed = "LakeCompactionsFailed" // lake: partitions whose compaction failed
)
