package emf

import "slices"

// Function names: the value of the Function dimension, as each function
// passes it to New.
const (
	FunctionTransform = "transform"
	FunctionIndexer   = "indexer"
	FunctionLake      = "lake"
	FunctionAlarm     = "alarm"
	FunctionOpsgenie  = "opsgenie"
)

// Metric describes one metric of the catalogue: what the code emits, so that
// what the template's alarms and dashboard name can be checked against it.
type Metric struct {
	Name string
	Unit Unit
	// Dimensions are the dimension sets it is emitted with, each in the order
	// EMF declares them. Most metrics have the one set [Function].
	Dimensions [][]string
	// Functions are the values of the Function dimension: who emits it.
	Functions []string
	// Doc says what it counts, for docs/operations.md and the dashboard.
	Doc string
	// Pending, when set, says why a function listed above does not emit it
	// yet (its code is being written). The catalogue test then only logs the
	// gap, and fails once the metric is emitted, so the note gets removed.
	Pending string
}

// byFunction is the usual dimension set.
var byFunction = [][]string{{DimensionFunction}}

func counted(name string, doc string, fns ...string) Metric {
	return Metric{Name: name, Unit: Count, Dimensions: byFunction, Functions: fns, Doc: doc}
}

var (
	transformOnly = []string{FunctionTransform}
	ingesters     = []string{FunctionTransform, FunctionIndexer}
	readers       = []string{FunctionTransform, FunctionIndexer, FunctionLake}
	alerters      = []string{FunctionAlarm, FunctionOpsgenie}
)

// Catalogue is every metric Tributary emits, in namespace Namespace. A test
// checks that the code emits nothing outside it (and, for functions whose
// code exists, everything in it), and the template test checks every alarm
// and dashboard widget in the Tributary namespace against it.
var Catalogue = []Metric{
	// transform: Firehose records
	counted(RecordsIn, "Firehose records received", transformOnly...),
	counted(RecordsOk, "records returned Ok (normalized NDJSON)", transformOnly...),
	counted(RecordsDropped, "control messages and records whose log group is excluded", transformOnly...),
	counted(RecordsFailed, "records returned ProcessingFailed: Firehose writes them to processing-failed/", transformOnly...),
	counted(RecordsReingested, "records too large for one response, split and put back into the stream", transformOnly...),
	counted(ReingestPuts, "payloads put back by PutRecordBatch / PutRecords", transformOnly...),
	counted(ReingestRetries, "re-ingest entries retried after a partial failure", transformOnly...),

	// transform and indexer: log events
	counted(EventsIn, "log events decoded", ingesters...),
	counted(EventsOut, "normalized records written", transformOnly...),
	counted(EventsFiltered, "log events dropped by the include/exclude filters", ingesters...),
	counted(Redactions, "secrets and personal data replaced", ingesters...),
	counted(FieldsTruncated, "keys or values cut from fields by the limits", ingesters...),
	{Name: BytesIn, Unit: Bytes, Dimensions: byFunction, Functions: readers, Doc: "uncompressed bytes in: log messages (transform, indexer), raw NDJSON (lake)"},
	{Name: BytesOut, Unit: Bytes, Dimensions: byFunction, Functions: ingesters, Doc: "bytes of normalized output (NDJSON, or _bulk bodies)"},

	// indexer: OpenSearch
	counted(EventsIndexed, "documents created in OpenSearch", FunctionIndexer),
	counted(EventsAlreadyThere, "documents OpenSearch already had (409: a re-delivery)", FunctionIndexer),
	counted(EventsRetried, "items retried after 429/5xx", FunctionIndexer),
	counted(EventsDeadLettered, "items written to the dead-letter prefix dlq/", FunctionIndexer),
	counted(EventsRejected, "permanent failures with no dead-letter bucket: logged, not kept", FunctionIndexer),
	{Name: BulkLatency, Unit: Milliseconds, Dimensions: byFunction, Functions: []string{FunctionIndexer}, Doc: "mean _bulk round trip of one invocation"},
	counted(Throttled, "429 responses from OpenSearch", FunctionIndexer),

	// lake
	counted(LakeObjects, "raw objects converted to Parquet", FunctionLake),
	counted(LakeObjectsFailed, "raw objects whose conversion failed (retried by the queue, then its dead-letter queue)", FunctionLake),
	counted(LakeRows, "rows written to Parquet", FunctionLake),
	counted(LakeRowsRejected, "lines written to rejected/ (not a record)", FunctionLake),
	counted(LakeFiles, "Parquet files written by conversion", FunctionLake),
	{Name: LakeBytes, Unit: Bytes, Dimensions: byFunction, Functions: []string{FunctionLake}, Doc: "Parquet bytes written by conversion (LakeBytes / LakeFiles = mean file size)"},
	counted(LakeCompactedInputs, "small files merged by compaction and deleted", FunctionLake),
	counted(LakeCompactedOutputs, "merged files written by compaction", FunctionLake),
	counted(LakeCompactionsFailed, "hour partitions whose compaction failed", FunctionLake),
	{Name: LakeLagSeconds, Unit: Seconds, Dimensions: byFunction, Functions: []string{FunctionLake},
		Doc: "now minus the newest event time of an object just converted: how far the lake trails the logs"},

	// per log group, allow-listed (METRIC_LOG_GROUPS)
	{Name: LogGroupEvents, Unit: Count, Dimensions: [][]string{{DimensionFunction, DimensionLogGroup}}, Functions: transformOnly,
		Doc: "log events decoded per allow-listed log group (METRIC_LOG_GROUPS)"},

	// alerting
	counted(AlertEventsIn, "events and alarm notifications received", alerters...),
	counted(AlertEventsRejected, "inputs that could not be decoded", alerters...),
	counted(AlertEventsNoMatch, "events no enabled rule matched", FunctionOpsgenie),
	counted(AlertsOpened, "create requests sent (after storm control)", alerters...),
	counted(AlertsClosed, "close requests sent", alerters...),
	counted(AlertsSuppressed, "rule matches dropped by a suppression", FunctionOpsgenie),
	counted(AlertsBelowSeverity, "findings under MIN_FINDING_SEVERITY", FunctionOpsgenie),
	counted(AlertsCollapsed, "alerts merged into another with the same alias", alerters...),
	counted(AlertsTruncated, "alerts with a field cut to the Opsgenie limits", alerters...),
	counted(SinkDeliveries, "successful deliveries, all sinks", alerters...),
	counted(SinkFailures, "deliveries that failed after retries", alerters...),
	counted(SinkRetries, "HTTP retries after 429/5xx/network errors", alerters...),
	counted(AlarmLogLines, "matching log lines attached to alarm alerts", FunctionAlarm),
	counted(AlarmLookupErrors, "tag / metric filter / log lookups that failed", FunctionAlarm),
}

// Lookup returns the catalogue entry of a metric name.
func Lookup(name string) (Metric, bool) {
	i := slices.IndexFunc(Catalogue, func(m Metric) bool { return m.Name == name })
	if i < 0 {
		return Metric{}, false
	}
	return Catalogue[i], true
}

// HasDimensions reports whether the metric is emitted with exactly this
// dimension set (in any order: CloudWatch identifies a metric by the set).
func (m Metric) HasDimensions(names []string) bool {
	want := slices.Sorted(slices.Values(names))
	for _, set := range m.Dimensions {
		if slices.Equal(slices.Sorted(slices.Values(set)), want) {
			return true
		}
	}
	return false
}

// EmittedBy reports whether function emits the metric.
func (m Metric) EmittedBy(function string) bool { return slices.Contains(m.Functions, function) }
