package securityevent

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"sync"

	"github.com/valyala/fastjson"

	"github.com/tributary-logs/tributary/shared/alert"
	"github.com/tributary-logs/tributary/shared/cwlogs"
	"github.com/tributary-logs/tributary/shared/emf"
	"github.com/tributary-logs/tributary/shared/rules"
)

// Options configure a Handler.
type Options struct {
	Logger          *slog.Logger
	MetricsOut      io.Writer // EMF lines; default io.Discard
	Metrics         *emf.Set  // shared with the sinks' retry counter; default a new set
	DefaultPriority alert.Priority
	Build           BuildOptions
	Limits          cwlogs.Limits
}

// Handler is the opsgenie function's core: payload in, alerts out.
type Handler struct {
	mu       sync.Mutex
	rules    *rules.Set
	dispatch *alert.Dispatcher
	dec      *Decoder
	parser   fastjson.Parser
	opts     Options
	log      *slog.Logger
	metrics  *emf.Set
}

// New returns a handler evaluating set and sending through d.
func New(set *rules.Set, d *alert.Dispatcher, opts Options) *Handler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MetricsOut == nil {
		opts.MetricsOut = io.Discard
	}
	if _, ok := alert.ParsePriority(string(opts.DefaultPriority)); !ok {
		opts.DefaultPriority = alert.P3
	}
	if opts.Metrics == nil {
		opts.Metrics = emf.New("opsgenie")
	}
	return &Handler{rules: set, dispatch: d, dec: NewDecoder(opts.Limits), opts: opts, log: opts.Logger, metrics: opts.Metrics}
}

// Outcome is one alert sent (after storm control).
type Outcome struct {
	Action   alert.Action   `json:"action"`
	Priority alert.Priority `json:"priority,omitempty"`
	Alias    string         `json:"alias"`
	Rule     string         `json:"rule"`
	Message  string         `json:"message"`
	Count    int            `json:"count,omitempty"`
}

// Skipped is a rule match that raised no alert, and why.
type Skipped struct {
	Rule   string `json:"rule"`
	Alias  string `json:"alias"`
	Reason string `json:"reason"`
}

// Response is the invocation's result: what was decided for each input.
type Response struct {
	Events     int             `json:"events"`
	Alerts     []Outcome       `json:"alerts"`
	Skipped    []Skipped       `json:"skipped,omitempty"`
	Unmatched  int             `json:"unmatched"`
	Rejected   []Rejection     `json:"rejected,omitempty"`
	Failures   []alert.Failure `json:"failures,omitempty"`
	Sinks      []string        `json:"sinks"`
	Collapsed  int             `json:"collapsed,omitempty"`
	TruncatedN int             `json:"truncated,omitempty"`
}

// Handle processes one invocation. It returns an error (so Lambda retries,
// then sends the event to the failure destination) only when a sink could not
// take an alert; inputs that cannot be read are reported in the response,
// because retrying them cannot help.
func (h *Handler) Handle(ctx context.Context, payload json.RawMessage) (Response, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	defer func() { _ = h.metrics.Flush(h.opts.MetricsOut) }()

	resp := Response{Alerts: []Outcome{}, Sinks: h.dispatch.Sinks()}
	events, rejected := h.dec.Decode(payload)
	resp.Events, resp.Rejected = len(events), rejected
	h.metrics.Count(emf.AlertEventsIn, len(events)+len(rejected))
	h.metrics.Count(emf.AlertEventsRejected, len(rejected))
	for _, r := range rejected {
		h.log.WarnContext(ctx, "input rejected", "ref", r.Ref, "reason", r.Reason)
	}

	alerts, skipped, unmatched := h.Evaluate(events)
	resp.Skipped, resp.Unmatched = skipped, unmatched
	h.metrics.Count(emf.AlertEventsNoMatch, unmatched)
	for _, s := range skipped {
		if s.Reason == reasonBelowSeverity {
			h.metrics.Count(emf.AlertsBelowSeverity, 1)
		} else {
			h.metrics.Count(emf.AlertsSuppressed, 1)
		}
	}

	alerts, collapsed := alert.Collapse(alerts)
	resp.Collapsed = collapsed
	h.metrics.Count(emf.AlertsCollapsed, collapsed)
	for i := range alerts {
		if cut := alerts[i].Normalize(h.opts.DefaultPriority); len(cut) > 0 {
			resp.TruncatedN++
			h.log.InfoContext(ctx, "alert fields cut to Opsgenie limits", "alias", alerts[i].Alias, "fields", cut)
		}
		a := &alerts[i]
		resp.Alerts = append(resp.Alerts, Outcome{Action: a.Action, Priority: a.Priority, Alias: a.Alias, Rule: a.Rule, Message: a.Message, Count: a.Count})
		if a.Action == alert.Close {
			resp.Alerts[i].Priority = ""
			h.metrics.Count(emf.AlertsClosed, 1)
		} else {
			h.metrics.Count(emf.AlertsOpened, 1)
		}
		h.log.InfoContext(ctx, "alert", "action", string(a.Action), "alias", a.Alias, "rule", a.Rule, "priority", string(a.Priority), "count", a.Count)
	}
	h.metrics.Count(emf.AlertsTruncated, resp.TruncatedN)

	rep := h.dispatch.Send(ctx, alerts)
	for _, n := range rep.Delivered {
		h.metrics.Count(emf.SinkDeliveries, n)
	}
	h.metrics.Count(emf.SinkFailures, len(rep.Failures))
	resp.Failures = rep.Failures
	h.log.InfoContext(ctx, "invocation done", "events", resp.Events, "alerts", len(resp.Alerts), "skipped", len(resp.Skipped),
		"unmatched", resp.Unmatched, "rejected", len(resp.Rejected), "failures", len(resp.Failures))
	return resp, rep.Err()
}

const reasonBelowSeverity = "below MIN_FINDING_SEVERITY"

// Evaluate runs the rules over events and builds the alerts (before storm
// control and normalization). unmatched counts events no rule matched.
func (h *Handler) Evaluate(events []Event) (alerts []alert.Alert, skipped []Skipped, unmatched int) {
	for _, e := range events {
		v, err := h.parser.ParseBytes(e.Doc)
		if err != nil {
			// Decode produced it, so this cannot happen; count it anyway.
			unmatched++
			continue
		}
		matches := h.rules.Evaluate(v)
		if len(matches) == 0 {
			unmatched++
			continue
		}
		for i := range matches {
			m := &matches[i]
			switch {
			case m.Suppressed != "":
				skipped = append(skipped, Skipped{Rule: m.Rule.ID, Alias: m.Alias, Reason: "suppressed: " + m.Suppressed})
			case m.BelowMinimum:
				skipped = append(skipped, Skipped{Rule: m.Rule.ID, Alias: m.Alias, Reason: reasonBelowSeverity})
			default:
				alerts = append(alerts, Build(m, v, h.opts.Build))
			}
		}
	}
	return alerts, skipped, unmatched
}
