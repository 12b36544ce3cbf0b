package config

import (
	"regexp"

	"github.com/tributary-logs/tributary/shared/emf"
	"slices"
	"strings"
	"time"
)

// RedactRules are the built-in redaction rules, by the names REDACT accepts.
// The redact package implements exactly these (its tests check the list).
var RedactRules = []string{
	"aws_access_key_id",
	"aws_secret_access_key",
	"bearer_token",
	"jwt",
	"password",
	"email",
	"card_number",
	"kr_rrn",
}

// Normalize holds the decoding and normalizing settings that transform and
// indexer share, so the same event looks the same in S3 and in OpenSearch.
type Normalize struct {
	Redact              []string         // built-in rule names to apply
	RedactPatterns      []*regexp.Regexp // custom rules
	IncludeLogGroups    []*regexp.Regexp // empty: all
	ExcludeLogGroups    []*regexp.Regexp
	ExcludeMessages     []*regexp.Regexp
	MaxFields           int
	MaxFieldDepth       int
	MaxFieldValueBytes  int
	MaxInflatedBytes    int64
	MaxCompressionRatio int64
}

func readNormalize(r *reader) Normalize {
	n := Normalize{
		RedactPatterns:      r.regexps("REDACT_PATTERNS"),
		IncludeLogGroups:    r.regexps("INCLUDE_LOG_GROUPS"),
		ExcludeLogGroups:    r.regexps("EXCLUDE_LOG_GROUPS"),
		ExcludeMessages:     r.regexps("EXCLUDE_MESSAGES"),
		MaxFields:           int(r.integer("MAX_FIELDS", 100, 1, 10000)),
		MaxFieldDepth:       int(r.integer("MAX_FIELD_DEPTH", 4, 1, 32)),
		MaxFieldValueBytes:  int(r.integer("MAX_FIELD_VALUE_BYTES", 8192, 16, 1<<20)),
		MaxInflatedBytes:    r.integer("MAX_INFLATED_BYTES", 64<<20, 1<<10, 1<<30),
		MaxCompressionRatio: r.integer("MAX_COMPRESSION_RATIO", 200, 2, 100000),
	}
	n.Redact = readRedact(r)
	return n
}

// readRedact resolves REDACT: "all" (the default: personal data never
// reaches storage unless someone opts out), "none", or a list of rule names.
func readRedact(r *reader) []string {
	names := r.list("REDACT")
	if len(names) == 0 {
		return slices.Clone(RedactRules)
	}
	if len(names) == 1 {
		switch strings.ToLower(names[0]) {
		case "all":
			return slices.Clone(RedactRules)
		case "none":
			return nil
		}
	}
	var out []string
	for _, n := range names {
		n = strings.ToLower(n)
		if !slices.Contains(RedactRules, n) {
			r.fail("REDACT", "names unknown rule %q; known: all, none, %s", n, strings.Join(RedactRules, ", "))
			continue
		}
		out = append(out, n)
	}
	return out
}

// Transform is the Firehose transformation function's configuration.
type Transform struct {
	Common
	Normalize
	// MetricLogGroups, when set, adds a per-log-group event count for the
	// listed groups (custom metrics cost money: the list is bounded).
	MetricLogGroups *emf.LogGroupAllowList
}

// LoadTransform reads the transform's configuration.
func LoadTransform(lookup LookupFunc) (Transform, error) {
	r := newReader(lookup)
	c := Transform{Common: readCommon(r), Normalize: readNormalize(r), MetricLogGroups: readMetricLogGroups(r)}
	return c, r.err()
}

func readMetricLogGroups(r *reader) *emf.LogGroupAllowList {
	entries := r.list("METRIC_LOG_GROUPS")
	limit := int(r.integer("METRIC_LOG_GROUPS_LIMIT", emf.DefaultLogGroupLimit, 1, emf.MaxLogGroups))
	a, err := emf.ParseLogGroupAllowList(entries, limit)
	if err != nil {
		r.fail("METRIC_LOG_GROUPS", "%v", err)
	}
	return a
}

// Indexer is the OpenSearch indexer's configuration.
type Indexer struct {
	Common
	Normalize
	Endpoint           string
	Auth               string // sigv4, basic, none
	Service            string // es, aoss
	SecretARN          string // basic auth: {"username","password"}
	IndexPattern       string
	BulkMaxBytes       int64
	BulkMaxDocs        int
	BulkConcurrency    int
	DLQBucket          string
	DLQPrefix          string
	SetupIndexTemplate bool
	WarmAfterDays      int
	DeleteAfterDays    int
	DeadlineMargin     time.Duration
}

// LoadIndexer reads the indexer's configuration.
func LoadIndexer(lookup LookupFunc) (Indexer, error) {
	r := newReader(lookup)
	c := Indexer{
		Common:             readCommon(r),
		Normalize:          readNormalize(r),
		Endpoint:           r.required("OPENSEARCH_ENDPOINT"),
		Auth:               r.oneOf("OPENSEARCH_AUTH", "sigv4", "sigv4", "basic", "none"),
		Service:            r.oneOf("OPENSEARCH_SERVICE", "es", "es", "aoss"),
		IndexPattern:       r.str("INDEX_PATTERN", "cwl-{yyyy.MM.dd}"),
		BulkMaxBytes:       r.integer("BULK_MAX_BYTES", 5<<20, 1<<10, 100<<20),
		BulkMaxDocs:        int(r.integer("BULK_MAX_DOCS", 5000, 1, 100000)),
		BulkConcurrency:    int(r.integer("BULK_CONCURRENCY", 2, 1, 16)),
		DLQBucket:          r.str("DLQ_BUCKET", ""),
		DLQPrefix:          r.str("DLQ_PREFIX", "dlq/"),
		SetupIndexTemplate: r.boolean("SETUP_INDEX_TEMPLATE", true),
		WarmAfterDays:      int(r.integer("ISM_WARM_AFTER_DAYS", 7, 0, 3650)),
		DeleteAfterDays:    int(r.integer("ISM_DELETE_AFTER_DAYS", 30, 1, 3650)),
		DeadlineMargin:     r.duration("DEADLINE_MARGIN", 5*time.Second),
	}
	c.SecretARN = r.arn("OPENSEARCH_SECRET_ARN", c.Auth == "basic")
	if !strings.HasPrefix(c.Endpoint, "https://") && !strings.HasPrefix(c.Endpoint, "http://") && c.Endpoint != "" {
		r.fail("OPENSEARCH_ENDPOINT", "is %q; want a URL such as https://search-logs-abc.eu-west-1.es.amazonaws.com", c.Endpoint)
	}
	return c, r.err()
}

// Lake is the Parquet converter's configuration.
type Lake struct {
	Common
	Bucket          string
	Prefix          string
	Table           string
	RawPrefix       string
	RejectedPrefix  string
	TargetFileBytes int64
	RowGroupBytes   int64
	SortBufferBytes int64         // SORT_BUFFER_MB: rows sorted in memory before a run is spilled
	CompactAfter    time.Duration // COMPACT_AFTER: an hour is compacted this long after it ends
	CompactLookback time.Duration // COMPACT_LOOKBACK: how far back compaction looks
}

// LoadLake reads the lake function's configuration.
func LoadLake(lookup LookupFunc) (Lake, error) {
	r := newReader(lookup)
	c := Lake{
		Common:          readCommon(r),
		Bucket:          r.required("LAKE_BUCKET"),
		Prefix:          r.str("LAKE_PREFIX", "lake/"),
		Table:           r.str("LAKE_TABLE", "logs"),
		RawPrefix:       r.str("RAW_PREFIX", "raw/"),
		RejectedPrefix:  r.str("REJECTED_PREFIX", "rejected/"),
		TargetFileBytes: r.integer("TARGET_FILE_MB", 256, 1, 4096) << 20,
		RowGroupBytes:   r.integer("ROW_GROUP_MB", 32, 1, 512) << 20,
		SortBufferBytes: r.integer("SORT_BUFFER_MB", 64, 4, 2048) << 20,
		CompactAfter:    r.duration("COMPACT_AFTER", time.Hour),
		CompactLookback: r.duration("COMPACT_LOOKBACK", 48*time.Hour),
	}
	return c, r.err()
}

// Alerting is what alarm and opsgenie share: where alerts go.
type Alerting struct {
	Sinks           []string // opsgenie, jsm, sns, log
	OpsgenieAPIURL  string
	APIKeySecretARN string // Secrets Manager secret or SSM SecureString parameter
	TopicARN        string
	DefaultPriority string
	// JSMAPIURL is the JSM Operations base URL. It is OpsgenieAPIURL unless
	// both opsgenie and jsm are sinks (then JSM_API_URL, default
	// https://api.atlassian.com), so one variable points either at a test server.
	JSMAPIURL string
	// Responders are added to every alert: "team:Name", "user:someone@example.com",
	// "escalation:Name", "schedule:Name" (ALERT_RESPONDERS).
	Responders []string
	// Tags are added to every alert (ALERT_TAGS).
	Tags []string
}

// "log" writes each alert as a JSON log line instead of sending it: a dry run
// for sam local invoke and for trying rules.
var alertSinks = []string{"opsgenie", "jsm", "sns", "log"}

var responderTypes = []string{"team", "user", "escalation", "schedule"}

func readAlerting(r *reader) Alerting {
	a := Alerting{
		Sinks:           r.list("ALERT_SINKS"),
		DefaultPriority: strings.ToUpper(r.str("DEFAULT_PRIORITY", "P3")),
	}
	if len(a.Sinks) == 0 {
		r.fail("ALERT_SINKS", "is required but not set (one or more of %s)", strings.Join(alertSinks, ", "))
	}
	needKey, needTopic := false, false
	for i, s := range a.Sinks {
		s = strings.ToLower(s)
		a.Sinks[i] = s
		switch s {
		case "opsgenie", "jsm":
			needKey = true
		case "sns":
			needTopic = true
		case "log":
		default:
			r.fail("ALERT_SINKS", "names unknown sink %q; want %s", s, strings.Join(alertSinks, ", "))
		}
	}
	defURL := "https://api.opsgenie.com"
	both := slices.Contains(a.Sinks, "jsm") && slices.Contains(a.Sinks, "opsgenie")
	if slices.Contains(a.Sinks, "jsm") && !both {
		defURL = "https://api.atlassian.com"
	}
	a.OpsgenieAPIURL = strings.TrimRight(r.str("OPSGENIE_API_URL", defURL), "/")
	a.JSMAPIURL = a.OpsgenieAPIURL
	if both {
		a.JSMAPIURL = strings.TrimRight(r.str("JSM_API_URL", "https://api.atlassian.com"), "/")
	}
	for _, u := range []struct{ name, v string }{{"OPSGENIE_API_URL", a.OpsgenieAPIURL}, {"JSM_API_URL", a.JSMAPIURL}} {
		if !strings.HasPrefix(u.v, "https://") && !strings.HasPrefix(u.v, "http://") {
			r.fail(u.name, "is %q; want a URL such as https://api.eu.opsgenie.com", u.v)
		}
	}
	a.Responders = r.list("ALERT_RESPONDERS")
	for _, resp := range a.Responders {
		typ, name, ok := strings.Cut(resp, ":")
		if !ok || name == "" || !slices.Contains(responderTypes, strings.ToLower(typ)) {
			r.fail("ALERT_RESPONDERS", "has %q; want type:name with type one of %s", resp, strings.Join(responderTypes, ", "))
		}
	}
	a.Tags = r.list("ALERT_TAGS")
	a.APIKeySecretARN = r.arn("OPSGENIE_API_KEY_SECRET_ARN", needKey)
	a.TopicARN = r.arn("ALERT_TOPIC_ARN", needTopic)
	if !slices.Contains([]string{"P1", "P2", "P3", "P4", "P5"}, a.DefaultPriority) {
		r.fail("DEFAULT_PRIORITY", "is %q; want P1..P5", a.DefaultPriority)
	}
	return a
}

// Alarm is the CloudWatch alarm router's configuration.
type Alarm struct {
	Common
	Alerting
	InsufficientData string // ignore, alert, close
	MaxLogLines      int
	// PriorityTag is the alarm tag whose value (P1..P5) sets the alert's
	// priority; "none" turns the ListTagsForResource lookup off.
	PriorityTag string
	// TagCacheTTL is how long an alarm's tags are remembered per container.
	TagCacheTTL time.Duration
	// LogLookupTimeout bounds the search for the log lines behind an alarm.
	LogLookupTimeout time.Duration
}

// LoadAlarm reads the alarm function's configuration.
func LoadAlarm(lookup LookupFunc) (Alarm, error) {
	r := newReader(lookup)
	c := Alarm{
		Common:           readCommon(r),
		Alerting:         readAlerting(r),
		InsufficientData: r.oneOf("INSUFFICIENT_DATA_ACTION", "ignore", "ignore", "alert", "close"),
		MaxLogLines:      int(r.integer("MAX_LOG_LINES", 20, 0, 1000)),
		PriorityTag:      r.str("PRIORITY_TAG", "Priority"),
		TagCacheTTL:      r.duration("TAG_CACHE_TTL", 15*time.Minute),
		LogLookupTimeout: r.duration("LOG_LOOKUP_TIMEOUT", 15*time.Second),
	}
	return c, r.err()
}

// Opsgenie is the security-event router's configuration.
type Opsgenie struct {
	Common
	Alerting
	RulesFile          string
	RulesParameter     string
	MinFindingSeverity float64
	DisabledRules      []string
}

// LoadOpsgenie reads the opsgenie function's configuration.
func LoadOpsgenie(lookup LookupFunc) (Opsgenie, error) {
	r := newReader(lookup)
	c := Opsgenie{
		Common:         readCommon(r),
		Alerting:       readAlerting(r),
		RulesFile:      r.str("RULES_FILE", ""),
		RulesParameter: r.str("RULES_PARAMETER", ""),
		DisabledRules:  r.list("DISABLED_RULES"),
	}
	sev := r.integer("MIN_FINDING_SEVERITY", 4, 0, 10)
	c.MinFindingSeverity = float64(sev)
	return c, r.err()
}

// Variables lists every environment variable the named function's loader
// reads, so the template test can check that the template sets each one.
func Variables(function string) []string {
	r := newReader(func(string) (string, bool) { return "", false })
	switch function {
	case "transform":
		_, _ = loadInto(r, LoadTransform)
	case "indexer":
		_, _ = loadInto(r, LoadIndexer)
	case "lake":
		_, _ = loadInto(r, LoadLake)
	case "alarm":
		_, _ = loadInto(r, LoadAlarm)
	case "opsgenie":
		_, _ = loadInto(r, LoadOpsgenie)
	default:
		return nil
	}
	return r.names()
}

// loadInto runs a loader with r's lookup and copies the names it read into r.
func loadInto[T any](r *reader, load func(LookupFunc) (T, error)) (T, error) {
	return load(func(name string) (string, bool) {
		r.read[name] = true
		return r.lookup(name)
	})
}

// Functions are the Lambda functions, by folder name under functions/.
var Functions = []string{"transform", "indexer", "lake", "alarm", "opsgenie"}
