package alarm

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
)

// AlarmAPI is what the handler needs of CloudWatch: the alarm's tags (for
// its priority) and, for composite alarms, the triggering children's
// metrics. The SDK's cloudwatch.Client satisfies it.
type AlarmAPI interface {
	DescribeAlarms(ctx context.Context, in *cloudwatch.DescribeAlarmsInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error)
	ListTagsForResource(ctx context.Context, in *cloudwatch.ListTagsForResourceInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.ListTagsForResourceOutput, error)
}

// LogsAPI is what the handler needs of CloudWatch Logs. The SDK's
// cloudwatchlogs.Client satisfies it.
type LogsAPI interface {
	DescribeMetricFilters(ctx context.Context, in *cloudwatchlogs.DescribeMetricFiltersInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeMetricFiltersOutput, error)
	FilterLogEvents(ctx context.Context, in *cloudwatchlogs.FilterLogEventsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.FilterLogEventsOutput, error)
}

var (
	_ AlarmAPI = (*cloudwatch.Client)(nil)
	_ LogsAPI  = (*cloudwatchlogs.Client)(nil)
)

// FilterRef is a log metric filter behind an alarm's metric.
type FilterRef struct {
	LogGroup  string `json:"logGroup"`
	Name      string `json:"name"`
	Pattern   string `json:"pattern"`
	Namespace string `json:"namespace"`
	Metric    string `json:"metric"`
}

// LogLine is one log event that matched a metric filter.
type LogLine struct {
	Time      time.Time `json:"time"`
	LogGroup  string    `json:"logGroup"`
	LogStream string    `json:"logStream"`
	Message   string    `json:"message"`
}

// Evidence is what the log metric filters behind an alarm matched in its
// evaluation window.
type Evidence struct {
	Filters     []FilterRef `json:"filters,omitempty"`
	Lines       []LogLine   `json:"lines,omitempty"` // newest first
	Matched     int         `json:"matched"`         // lines read; more than len(Lines) when cut
	Complete    bool        `json:"complete"`        // every page was read
	Start       time.Time   `json:"start"`
	End         time.Time   `json:"end"`
	InsightsURL string      `json:"insightsUrl,omitempty"`
	Errors      []string    `json:"errors,omitempty"`
}

// Finder looks up the log lines behind an alarm.
type Finder struct {
	Alarms AlarmAPI // may be nil: composite alarms then get no log lines
	Logs   LogsAPI
	// MaxPages bounds FilterLogEvents pages per filter; default 5.
	MaxPages int
	// MaxLineChars cuts each line; default 1000.
	MaxLineChars int
}

type metricKey struct{ namespace, name string }

// Find returns the evidence for n, with at most limit lines. Lookup errors
// are recorded in Evidence.Errors; the alert goes out anyway.
func (f *Finder) Find(ctx context.Context, n *Notification, limit int) Evidence {
	ev := Evidence{End: n.Time, Complete: true}
	metrics, window, period := f.metricsOf(ctx, n, &ev)
	// CloudWatch evaluates whole periods: the window starts at a period
	// boundary, evaluation periods before the last one begun. EventBridge
	// says exactly where (reasonData.startDate).
	ev.Start = n.Time.Truncate(period).Add(-window)
	if !n.WindowStart.IsZero() {
		ev.Start = n.WindowStart
	}
	for _, m := range metrics {
		filters, err := f.filters(ctx, m)
		if err != nil {
			ev.Errors = append(ev.Errors, fmt.Sprintf("DescribeMetricFilters %s/%s: %v", m.namespace, m.name, err))
			continue
		}
		ev.Filters = append(ev.Filters, filters...)
	}
	if len(ev.Filters) == 0 {
		return ev
	}
	maxPages := f.MaxPages
	if maxPages <= 0 {
		maxPages = 5
	}
	maxChars := f.MaxLineChars
	if maxChars <= 0 {
		maxChars = 1000
	}
	var lines []LogLine
	for _, flt := range ev.Filters {
		in := &cloudwatchlogs.FilterLogEventsInput{
			LogGroupName:  aws.String(flt.LogGroup),
			FilterPattern: aws.String(flt.Pattern),
			StartTime:     aws.Int64(ev.Start.UnixMilli()),
			EndTime:       aws.Int64(ev.End.UnixMilli() + 999),
			Limit:         aws.Int32(int32(min(max(limit, 50), 10000))),
		}
		pages := 0
		for {
			out, err := f.Logs.FilterLogEvents(ctx, in)
			if err != nil {
				ev.Errors = append(ev.Errors, fmt.Sprintf("FilterLogEvents %s: %v", flt.LogGroup, err))
				ev.Complete = false
				break
			}
			for _, e := range out.Events {
				msg := strings.TrimRight(aws.ToString(e.Message), "\r\n")
				if len([]rune(msg)) > maxChars {
					msg = string([]rune(msg)[:maxChars-1]) + "…"
				}
				lines = append(lines, LogLine{Time: time.UnixMilli(aws.ToInt64(e.Timestamp)).UTC(), LogGroup: flt.LogGroup, LogStream: aws.ToString(e.LogStreamName), Message: msg})
				ev.Matched++
			}
			// Keep memory bounded on busy groups: only the newest survive.
			if len(lines) > 4*limit+1000 {
				lines = newest(lines, limit)
			}
			pages++
			if out.NextToken == nil || aws.ToString(out.NextToken) == aws.ToString(in.NextToken) {
				break
			}
			if pages >= maxPages || ctx.Err() != nil {
				ev.Complete = false
				break
			}
			in.NextToken = out.NextToken
		}
	}
	ev.Lines = newest(lines, limit)
	ev.InsightsURL = InsightsURL(n.Region, ev.Filters, ev.Start, ev.End, limit)
	return ev
}

// newest sorts lines newest first and keeps n.
func newest(lines []LogLine, n int) []LogLine {
	sort.SliceStable(lines, func(i, j int) bool { return lines[i].Time.After(lines[j].Time) })
	if len(lines) > n {
		lines = lines[:n]
	}
	return lines
}

// metricsOf returns the metrics to look filters up for, the evaluation
// window (period x evaluation periods, one period at least) and the period.
func (f *Finder) metricsOf(ctx context.Context, n *Notification, ev *Evidence) ([]metricKey, time.Duration, time.Duration) {
	var keys []metricKey
	add := func(ns, name string) {
		k := metricKey{ns, name}
		if ns != "" && name != "" && !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	window := windowOf(n.Period, n.EvaluationPeriods)
	period := n.Period
	for _, m := range n.Metrics {
		add(m.Namespace, m.Name)
		if w := windowOf(m.Period, n.EvaluationPeriods); w > window {
			window = w
		}
		period = max(period, m.Period)
	}
	if n.Kind == KindComposite && len(n.Children) > 0 && f.Alarms != nil {
		names := make([]string, 0, len(n.Children))
		for _, c := range n.Children {
			names = append(names, c.Name)
		}
		if len(names) > 100 {
			names = names[:100]
		}
		out, err := f.Alarms.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: names,
			AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm}})
		if err != nil {
			ev.Errors = append(ev.Errors, fmt.Sprintf("DescribeAlarms %s: %v", strings.Join(names, ", "), err))
		} else {
			for _, a := range out.MetricAlarms {
				add(aws.ToString(a.Namespace), aws.ToString(a.MetricName))
				p := int64(aws.ToInt32(a.Period))
				for _, q := range a.Metrics {
					if q.MetricStat != nil && q.MetricStat.Metric != nil {
						add(aws.ToString(q.MetricStat.Metric.Namespace), aws.ToString(q.MetricStat.Metric.MetricName))
						p = max(p, int64(aws.ToInt32(q.MetricStat.Period)))
					}
				}
				if w := windowOf(p, int64(aws.ToInt32(a.EvaluationPeriods))); w > window {
					window = w
				}
				period = max(period, p)
			}
		}
	}
	if window == 0 {
		window = 5 * time.Minute
	}
	if period <= 0 {
		period = 60
	}
	return keys, window, time.Duration(period) * time.Second
}

func windowOf(period, evals int64) time.Duration {
	if period <= 0 {
		return 0
	}
	return time.Duration(period*max(evals, 1)) * time.Second
}

func (f *Finder) filters(ctx context.Context, m metricKey) ([]FilterRef, error) {
	in := &cloudwatchlogs.DescribeMetricFiltersInput{MetricName: aws.String(m.name), MetricNamespace: aws.String(m.namespace)}
	var out []FilterRef
	for page := 0; page < 5; page++ {
		resp, err := f.Logs.DescribeMetricFilters(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, mf := range resp.MetricFilters {
			out = append(out, FilterRef{LogGroup: aws.ToString(mf.LogGroupName), Name: aws.ToString(mf.FilterName),
				Pattern: aws.ToString(mf.FilterPattern), Namespace: m.namespace, Metric: m.name})
		}
		if resp.NextToken == nil {
			break
		}
		in.NextToken = resp.NextToken
	}
	return out, nil
}

// InsightsURL opens CloudWatch Logs Insights on the filters' log groups for
// the window, with a query equivalent to the filter pattern where one can
// be written (term and simple JSON patterns), newest first.
func InsightsURL(region string, filters []FilterRef, start, end time.Time, limit int) string {
	if region == "" || len(filters) == 0 {
		return ""
	}
	var groups []string
	for _, f := range filters {
		if !slices.Contains(groups, f.LogGroup) {
			groups = append(groups, f.LogGroup)
		}
	}
	query := InsightsQuery(filters[0].Pattern, max(limit, 20))
	enc := func(s string) string {
		s = strings.ReplaceAll(url.QueryEscape(s), "~", "%7E")
		return strings.ReplaceAll(s, "%", "*")
	}
	const tilde, open, quote, close = "$257E", "$2528", "$2527", "$2529"
	var b strings.Builder
	fmt.Fprintf(&b, "https://%s.console.aws.amazon.com/cloudwatch/home?region=%s#logsV2:logs-insights$3FqueryDetail$3D", region, region)
	b.WriteString(tilde + open)
	pair := func(k, v string) { b.WriteString(k + tilde + quote + enc(v) + tilde) }
	pair("end", end.UTC().Add(time.Second).Format("2006-01-02T15:04:05.000Z"))
	pair("start", start.UTC().Format("2006-01-02T15:04:05.000Z"))
	pair("timeType", "ABSOLUTE")
	pair("tz", "UTC")
	pair("editorString", query)
	b.WriteString("source" + tilde + open)
	for _, g := range groups {
		b.WriteString(tilde + quote + enc(g))
	}
	b.WriteString(close + close)
	return b.String()
}

// InsightsQuery translates a metric filter pattern into a Logs Insights
// query: term patterns ("ERROR", ?a ?b, -x) and simple JSON comparisons
// ({ $.level = "error" && $.status >= 500 }). Other patterns get no filter
// line (the link then shows every event of the window).
func InsightsQuery(pattern string, limit int) string {
	var b strings.Builder
	b.WriteString("fields @timestamp, @logStream, @message")
	if cond, ok := insightsFilter(strings.TrimSpace(pattern)); ok && cond != "" {
		b.WriteString("\n| filter " + cond)
	}
	fmt.Fprintf(&b, "\n| sort @timestamp desc\n| limit %d", limit)
	return b.String()
}

func insightsFilter(p string) (string, bool) {
	switch {
	case p == "":
		return "", true
	case strings.HasPrefix(p, "{"):
		return jsonFilter(p)
	case strings.HasPrefix(p, "["):
		return "", false // space-delimited patterns have no simple equivalent
	}
	terms, ok := splitTerms(p)
	if !ok {
		return "", false
	}
	var and, or []string
	for _, t := range terms {
		switch {
		case strings.HasPrefix(t, "?"):
			or = append(or, "@message like "+strconv.Quote(strings.TrimPrefix(t, "?")))
		case strings.HasPrefix(t, "-"):
			and = append(and, "@message not like "+strconv.Quote(strings.TrimPrefix(t, "-")))
		default:
			and = append(and, "@message like "+strconv.Quote(t))
		}
	}
	if len(or) > 0 {
		and = append(and, "("+strings.Join(or, " or ")+")")
	}
	return strings.Join(and, " and "), true
}

// splitTerms splits a term pattern on spaces, keeping quoted phrases.
func splitTerms(p string) ([]string, bool) {
	var out []string
	for p = strings.TrimSpace(p); p != ""; p = strings.TrimSpace(p) {
		prefix := ""
		if p[0] == '?' || p[0] == '-' {
			prefix, p = p[:1], p[1:]
		}
		if strings.HasPrefix(p, `"`) {
			end := strings.Index(p[1:], `"`)
			if end < 0 {
				return nil, false
			}
			out = append(out, prefix+p[1:1+end])
			p = p[2+end:]
			continue
		}
		end := strings.IndexAny(p, " \t")
		if end < 0 {
			end = len(p)
		}
		out = append(out, prefix+p[:end])
		p = p[end:]
	}
	return out, len(out) > 0
}

// jsonFilter handles { $.a.b = "x" && $.c > 5 } (one operator kind, no
// parentheses inside).
func jsonFilter(p string) (string, bool) {
	p = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(p, "{"), "}"))
	join := " and "
	parts := strings.Split(p, "&&")
	if strings.Contains(p, "||") {
		if len(parts) > 1 {
			return "", false
		}
		join, parts = " or ", strings.Split(p, "||")
	}
	var conds []string
	for _, part := range parts {
		part = strings.TrimSpace(strings.Trim(strings.TrimSpace(part), "()"))
		var op string
		for _, o := range []string{"!=", ">=", "<=", "=", ">", "<"} {
			if strings.Contains(part, o) {
				op = o
				break
			}
		}
		if op == "" {
			return "", false
		}
		field, value, _ := strings.Cut(part, op)
		field, value = strings.TrimSpace(field), strings.TrimSpace(value)
		if !strings.HasPrefix(field, "$.") || value == "" || strings.ContainsAny(field, " []*") {
			return "", false
		}
		field = strings.TrimPrefix(field, "$.")
		if strings.Contains(value, "*") {
			return "", false
		}
		if !strings.HasPrefix(value, `"`) {
			if _, err := strconv.ParseFloat(value, 64); err != nil {
				value = strconv.Quote(value)
			}
		}
		conds = append(conds, fmt.Sprintf("%s %s %s", field, op, value))
	}
	return strings.Join(conds, join), true
}
