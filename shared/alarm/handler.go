package alarm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"

	"github.com/tributary-logs/tributary/shared/alert"
	"github.com/tributary-logs/tributary/shared/emf"
)

// INSUFFICIENT_DATA handling.
const (
	InsufficientIgnore = "ignore"
	InsufficientAlert  = "alert"
	InsufficientClose  = "close"
)

// Rule is the rule name alarm alerts carry (SNS attribute "rule").
const Rule = "cloudwatch-alarm"

// Options configure a Handler.
type Options struct {
	Logger          *slog.Logger
	MetricsOut      io.Writer
	Metrics         *emf.Set // shared with the sinks' retry counter; default a new set
	DefaultPriority alert.Priority
	// PriorityTag is the alarm tag holding P1..P5; "" or "none": no tag
	// lookup at all (pipeline alarms are then recognised by their
	// description only).
	PriorityTag string
	TagCacheTTL time.Duration // default 15 minutes
	// InsufficientData is ignore (default), alert or close.
	InsufficientData string
	MaxLogLines      int           // 0: no log lookup
	LookupTimeout    time.Duration // bounds tag + log lookups per notification; default 15s
	Alarms           AlarmAPI      // may be nil
	Logs             LogsAPI       // may be nil
	// LogGroups lists log groups and their newest events for the context of
	// the pipeline's silence alarms; may be nil.
	LogGroups LogGroupsAPI
	// MaxLogGroups bounds the log groups a silence alert checks; default 50.
	MaxLogGroups int
	// RunbookURL is docs/operations.md, whose sections are the pipeline
	// alarms' kinds; default "docs/operations.md".
	RunbookURL string
	Tags       []string
	Responders []alert.Responder
	Now        func() time.Time
}

// Handler is the alarm function's core.
type Handler struct {
	mu       sync.Mutex
	opts     Options
	dispatch *alert.Dispatcher
	finder   *Finder
	log      *slog.Logger
	metrics  *emf.Set

	cacheMu sync.Mutex
	cache   map[string]cachedTags
}

// cachedTags are an alarm's tags and the priority they give.
type cachedTags struct {
	tags    map[string]string
	p       alert.Priority // "" when the alarm has no usable priority tag
	expires time.Time
}

var (
	errTagsOff     = errors.New("tag lookup off (PRIORITY_TAG=none)")
	errNoAlarmsAPI = errors.New("no CloudWatch client")
	errNoAlarmARN  = errors.New("no alarm ARN")
)

// New returns a handler sending through d.
func New(d *alert.Dispatcher, opts Options) *Handler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MetricsOut == nil {
		opts.MetricsOut = io.Discard
	}
	if _, ok := alert.ParsePriority(string(opts.DefaultPriority)); !ok {
		opts.DefaultPriority = alert.P3
	}
	if strings.EqualFold(opts.PriorityTag, "none") {
		opts.PriorityTag = ""
	}
	if opts.TagCacheTTL <= 0 {
		opts.TagCacheTTL = 15 * time.Minute
	}
	if opts.LookupTimeout <= 0 {
		opts.LookupTimeout = 15 * time.Second
	}
	if opts.InsufficientData == "" {
		opts.InsufficientData = InsufficientIgnore
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Metrics == nil {
		opts.Metrics = emf.New("alarm")
	}
	if opts.MaxLogGroups <= 0 {
		opts.MaxLogGroups = 50
	}
	if opts.RunbookURL == "" {
		opts.RunbookURL = "docs/operations.md"
	}
	h := &Handler{opts: opts, dispatch: d, log: opts.Logger, metrics: opts.Metrics, cache: map[string]cachedTags{}}
	if opts.Logs != nil && opts.MaxLogLines > 0 {
		h.finder = &Finder{Alarms: opts.Alarms, Logs: opts.Logs}
	}
	return h
}

// Outcome is one alert sent.
type Outcome struct {
	Action   alert.Action   `json:"action"`
	Priority alert.Priority `json:"priority,omitempty"`
	Alias    string         `json:"alias"`
	Alarm    string         `json:"alarm"`
	State    string         `json:"state"`
	Message  string         `json:"message"`
	// PipelineAlarm is the kind of one of Tributary's own alarms.
	PipelineAlarm string `json:"pipelineAlarm,omitempty"`
}

// Skipped is a notification that raised no alert.
type Skipped struct {
	Alarm  string `json:"alarm"`
	State  string `json:"state"`
	Reason string `json:"reason"`
}

// Response is the invocation's result.
type Response struct {
	Notifications int             `json:"notifications"`
	Alerts        []Outcome       `json:"alerts"`
	Skipped       []Skipped       `json:"skipped,omitempty"`
	Rejected      []Rejection     `json:"rejected,omitempty"`
	Failures      []alert.Failure `json:"failures,omitempty"`
	Sinks         []string        `json:"sinks"`
}

// Handle processes one invocation; it fails (for Lambda to retry) only when
// a sink could not take an alert.
func (h *Handler) Handle(ctx context.Context, payload json.RawMessage) (Response, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	defer func() { _ = h.metrics.Flush(h.opts.MetricsOut) }()
	resp := Response{Alerts: []Outcome{}, Sinks: h.dispatch.Sinks()}
	notes, rejected := Decode(payload)
	resp.Notifications, resp.Rejected = len(notes), rejected
	h.metrics.Count(emf.AlertEventsIn, len(notes)+len(rejected))
	h.metrics.Count(emf.AlertEventsRejected, len(rejected))
	for _, r := range rejected {
		h.log.WarnContext(ctx, "input rejected", "ref", r.Ref, "reason", r.Reason)
	}
	var alerts []alert.Alert
	for i := range notes {
		a, ok, why := h.alertFor(ctx, &notes[i])
		if !ok {
			resp.Skipped = append(resp.Skipped, Skipped{Alarm: notes[i].AlarmName, State: notes[i].State, Reason: why})
			continue
		}
		alerts = append(alerts, a)
	}
	alerts, collapsed := alert.Collapse(alerts)
	h.metrics.Count(emf.AlertsCollapsed, collapsed)
	for i := range alerts {
		a := &alerts[i]
		if cut := a.Normalize(h.opts.DefaultPriority); len(cut) > 0 {
			h.metrics.Count(emf.AlertsTruncated, 1)
			h.log.InfoContext(ctx, "alert fields cut to Opsgenie limits", "alias", a.Alias, "fields", cut)
		}
		o := Outcome{Action: a.Action, Priority: a.Priority, Alias: a.Alias, Alarm: a.Details["alarmName"], State: a.Details["state"], Message: a.Message,
			PipelineAlarm: a.Details["pipelineAlarm"]}
		if a.Action == alert.Close {
			o.Priority = ""
			h.metrics.Count(emf.AlertsClosed, 1)
		} else {
			h.metrics.Count(emf.AlertsOpened, 1)
		}
		resp.Alerts = append(resp.Alerts, o)
		h.log.InfoContext(ctx, "alert", "action", string(a.Action), "alias", a.Alias, "priority", string(a.Priority), "logLines", a.Details["matchedLogLines"],
			"pipelineAlarm", a.Details["pipelineAlarm"])
	}
	rep := h.dispatch.Send(ctx, alerts)
	for _, n := range rep.Delivered {
		h.metrics.Count(emf.SinkDeliveries, n)
	}
	h.metrics.Count(emf.SinkFailures, len(rep.Failures))
	resp.Failures = rep.Failures
	return resp, rep.Err()
}

// alertFor decides what a state change does and builds the alert.
func (h *Handler) alertFor(ctx context.Context, n *Notification) (alert.Alert, bool, string) {
	action := alert.Create
	switch n.State {
	case StateAlarm:
	case StateOK:
		action = alert.Close
	case StateInsufficientData:
		switch h.opts.InsufficientData {
		case InsufficientAlert:
		case InsufficientClose:
			action = alert.Close
		default:
			return alert.Alert{}, false, "INSUFFICIENT_DATA_ACTION is ignore"
		}
	default:
		return alert.Alert{}, false, fmt.Sprintf("unknown state %q", n.State)
	}
	lctx, cancel := context.WithTimeout(ctx, h.opts.LookupTimeout)
	defer cancel()
	prio := h.opts.DefaultPriority
	var ev *Evidence
	var pipe *Pipeline
	if action == alert.Create {
		tags, err := h.tags(lctx, n.AlarmARN)
		if err == nil && tags.p != "" {
			prio = tags.p
		}
		pipe = h.pipeline(lctx, n, tags.tags, err)
		if pipe != nil {
			// Tributary's own alarms watch EMF and AWS metrics: no metric
			// filter, no log lines to find.
			if errs := pipe.errorCount(); errs > 0 {
				h.metrics.Count(emf.AlarmLookupErrors, errs)
				h.log.WarnContext(ctx, "pipeline alarm context incomplete", "alarm", n.AlarmName, "kind", pipe.Kind, "errors", pipe.allErrors())
			}
		} else if h.finder != nil {
			e := h.finder.Find(lctx, n, h.opts.MaxLogLines)
			ev = &e
			h.metrics.Count(emf.AlarmLogLines, len(e.Lines))
			if len(e.Errors) > 0 {
				h.metrics.Count(emf.AlarmLookupErrors, len(e.Errors))
				h.log.WarnContext(ctx, "log line lookup incomplete", "alarm", n.AlarmName, "errors", e.Errors)
			}
		}
	}
	return build(n, action, prio, ev, pipe, h.opts.Tags, h.opts.Responders), true, ""
}

// tags reads the alarm's tags, once per TagCacheTTL. Failures are not
// cached: the next state change tries again.
func (h *Handler) tags(ctx context.Context, arn string) (cachedTags, error) {
	switch {
	case h.opts.PriorityTag == "":
		return cachedTags{}, errTagsOff
	case h.opts.Alarms == nil:
		return cachedTags{}, errNoAlarmsAPI
	case arn == "":
		return cachedTags{}, errNoAlarmARN
	}
	now := h.opts.Now()
	h.cacheMu.Lock()
	c, ok := h.cache[arn]
	h.cacheMu.Unlock()
	if ok && now.Before(c.expires) {
		return c, nil
	}
	out, err := h.opts.Alarms.ListTagsForResource(ctx, &cloudwatch.ListTagsForResourceInput{ResourceARN: aws.String(arn)})
	if err != nil {
		h.metrics.Count(emf.AlarmLookupErrors, 1)
		h.log.WarnContext(ctx, "alarm tags unavailable; using the default priority", "alarm", arn, "error", err.Error())
		return cachedTags{}, fmt.Errorf("ListTagsForResource: %w", err)
	}
	c = cachedTags{tags: make(map[string]string, len(out.Tags)), expires: now.Add(h.opts.TagCacheTTL)}
	for _, t := range out.Tags {
		k, v := aws.ToString(t.Key), aws.ToString(t.Value)
		c.tags[k] = v
		if strings.EqualFold(k, h.opts.PriorityTag) {
			if pp, ok := alert.ParsePriority(v); ok {
				c.p = pp
			} else {
				h.log.WarnContext(ctx, "alarm priority tag is not P1..P5", "alarm", arn, "value", v)
			}
		}
	}
	h.cacheMu.Lock()
	h.cache[arn] = c
	h.cacheMu.Unlock()
	return c, nil
}

// Build makes the alert of a state change. ev may be nil (no lookup).
func Build(n *Notification, action alert.Action, prio alert.Priority, ev *Evidence, tags []string, responders []alert.Responder) alert.Alert {
	return build(n, action, prio, ev, nil, tags, responders)
}

// BuildPipeline makes the alert of a state change of one of Tributary's own
// alarms, with its context p.
func BuildPipeline(n *Notification, action alert.Action, prio alert.Priority, p *Pipeline, tags []string, responders []alert.Responder) alert.Alert {
	return build(n, action, prio, nil, p, tags, responders)
}

func build(n *Notification, action alert.Action, prio alert.Priority, ev *Evidence, p *Pipeline, tags []string, responders []alert.Responder) alert.Alert {
	a := alert.Alert{
		Action:     action,
		Alias:      n.AlarmARN,
		Priority:   prio,
		Entity:     n.AlarmName,
		Source:     "Amazon CloudWatch",
		Rule:       Rule,
		Account:    n.Account,
		Region:     n.Region,
		Time:       n.Time.Format(time.RFC3339),
		Event:      n.AlarmARN + "@" + n.Time.Format(time.RFC3339Nano),
		Tags:       append([]string{"cloudwatch", "alarm", n.Kind}, tags...),
		Responders: responders,
		Message:    n.State + ": " + n.AlarmName,
	}
	alarmURL := ConsoleURL(n.Region, n.AlarmName)
	d := map[string]string{
		"alarmName": n.AlarmName, "alarmArn": n.AlarmARN, "state": n.State, "previousState": n.PreviousState,
		"stateChangeTime": n.Time.Format(time.RFC3339), "kind": n.Kind, "account": n.Account, "region": n.Region,
		"comparison": n.Comparison, "alarmRule": n.AlarmRule, "alarmURL": alarmURL,
	}
	reason, _ := alert.Truncate(n.Reason, 500)
	d["reason"] = reason
	if n.Threshold != nil {
		d["threshold"] = strconv.FormatFloat(*n.Threshold, 'g', -1, 64)
	}
	if n.Period > 0 {
		d["period"] = strconv.FormatInt(n.Period, 10)
	}
	if n.EvaluationPeriods > 0 {
		d["evaluationPeriods"] = strconv.FormatInt(n.EvaluationPeriods, 10)
	}
	var metricNames []string
	for _, m := range n.Metrics {
		if m.Name != "" {
			metricNames = append(metricNames, m.Namespace+"/"+m.Name)
		}
	}
	d["metrics"] = strings.Join(metricNames, ", ")
	var children []string
	for _, c := range n.Children {
		children = append(children, c.Name)
	}
	d["triggeredBy"] = strings.Join(children, ", ")

	var b strings.Builder
	fmt.Fprintf(&b, "CloudWatch alarm %s is %s", n.AlarmName, n.State)
	if n.PreviousState != "" {
		fmt.Fprintf(&b, " (was %s)", n.PreviousState)
	}
	fmt.Fprintf(&b, " since %s.\n", n.Time.Format(time.RFC3339))
	if n.Description != "" {
		b.WriteString(n.Description + "\n")
	}
	fmt.Fprintf(&b, "\nReason: %s\n", n.Reason)
	fmt.Fprintf(&b, "Where: account %s, region %s\n", n.Account, n.Region)
	if len(n.Metrics) > 0 {
		b.WriteString("\nMetrics:\n")
		for _, m := range n.Metrics {
			fmt.Fprintf(&b, "  %s\n", m)
		}
	}
	if n.Comparison != "" && n.Threshold != nil {
		fmt.Fprintf(&b, "Condition: %s %s", n.Comparison, d["threshold"])
		if n.EvaluationPeriods > 0 {
			fmt.Fprintf(&b, " for %d period(s) of %d s", n.EvaluationPeriods, n.Period)
		}
		b.WriteString("\n")
	}
	if n.AlarmRule != "" {
		fmt.Fprintf(&b, "\nComposite rule: %s\n", n.AlarmRule)
	}
	if len(n.Children) > 0 {
		b.WriteString("Triggered by:\n")
		for _, c := range n.Children {
			fmt.Fprintf(&b, "  %s (%s at %s)\n", c.Name, c.State, c.Time)
		}
	}
	if ev != nil {
		writeEvidence(&b, ev, d)
	}
	if p != nil {
		p.write(&b, d)
		a.Tags = append(a.Tags, p.alertTags()...)
		if kinds := p.memberKinds(); len(kinds) > 0 {
			a.Message += " (" + strings.Join(kinds, ", ") + ")"
		}
	}
	b.WriteString("\nLinks\n")
	fmt.Fprintf(&b, "  Alarm: %s\n", alarmURL)
	if p != nil {
		fmt.Fprintf(&b, "  Runbook: %s\n", p.Runbook)
	}
	if ev != nil && ev.InsightsURL != "" {
		fmt.Fprintf(&b, "  Logs Insights: %s\n", ev.InsightsURL)
		d["insightsURL"] = ev.InsightsURL
	}
	fmt.Fprintf(&b, "\nAlias: %s", a.Alias)
	a.Description = b.String()
	for k, v := range d {
		if v == "" {
			delete(d, k)
		}
	}
	a.Details = d
	if action == alert.Close {
		a.Note = fmt.Sprintf("Alarm %s is %s: %s", n.AlarmName, n.State, reason)
	}
	return a
}

func writeEvidence(b *strings.Builder, ev *Evidence, d map[string]string) {
	if len(ev.Filters) == 0 {
		if len(ev.Errors) > 0 {
			fmt.Fprintf(b, "\nLog lines unavailable: %s\n", strings.Join(ev.Errors, "; "))
		}
		return
	}
	var groups, filters []string
	for _, f := range ev.Filters {
		groups = append(groups, f.LogGroup)
		filters = append(filters, fmt.Sprintf("%s on %s: pattern %s", f.Name, f.LogGroup, quotePattern(f.Pattern)))
	}
	d["logGroups"] = strings.Join(groups, ", ")
	d["metricFilters"] = strings.Join(filters, "; ")
	d["matchedLogLines"] = strconv.Itoa(ev.Matched)
	fmt.Fprintf(b, "\nMetric filter: %s\n", strings.Join(filters, "\n  "))
	more := ""
	if ev.Matched > len(ev.Lines) || !ev.Complete {
		more = " (more in Logs Insights)"
	}
	fmt.Fprintf(b, "Matching log lines, newest first: %d of %d between %s and %s%s\n", len(ev.Lines), ev.Matched,
		ev.Start.Format(time.RFC3339), ev.End.Format(time.RFC3339), more)
	for _, l := range ev.Lines {
		fmt.Fprintf(b, "  %s [%s] %s\n", l.Time.Format("2006-01-02T15:04:05.000Z"), l.LogStream, l.Message)
	}
	if len(ev.Errors) > 0 {
		fmt.Fprintf(b, "Lookup errors: %s\n", strings.Join(ev.Errors, "; "))
	}
}

func quotePattern(p string) string {
	if p == "" {
		return `"" (every event)`
	}
	return p
}

// ConsoleURL opens the alarm in the CloudWatch console.
func ConsoleURL(region, name string) string {
	if region == "" {
		return ""
	}
	return fmt.Sprintf("https://%s.console.aws.amazon.com/cloudwatch/home?region=%s#alarmsV2:alarm/%s", region, region, url.PathEscape(name))
}
