package alert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
)

// Sink delivers alerts somewhere. Deliver must be safe to call again for the
// same alert (a retried invocation does): Opsgenie dedupes by alias.
type Sink interface {
	Name() string
	Deliver(ctx context.Context, a *Alert) error
}

// ErrUnavailable marks failures that mean the sink itself is down (5xx,
// 429 or network errors after every retry): the dispatcher stops sending to
// that sink for the rest of the invocation instead of waiting out each alert.
var ErrUnavailable = errors.New("sink unavailable")

// Dispatcher sends each alert to every sink. Sinks run side by side and
// independently: one failing, slow or down never holds back another. Within
// a sink alerts go in order, so an open and a close of one alias arrive in
// the order they happened.
//
// When one sink fails, the invocation fails and Lambda retries the event;
// the sinks that had delivered would get it again, and SNS, unlike
// Opsgenie, does not dedupe. So the dispatcher remembers, for the life of
// the execution environment, what each sink delivered (by sink, the
// alert's Event, alias and action), and a retry that reaches the same warm
// environment, as Lambda's retries a minute or two later usually do,
// delivers only what had failed. Alerts without an Event are always sent.
type Dispatcher struct {
	sinks     []Sink
	log       *slog.Logger
	delivered recentSet
}

// NewDispatcher returns a dispatcher over sinks; log may be nil.
func NewDispatcher(log *slog.Logger, sinks ...Sink) *Dispatcher {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Dispatcher{sinks: sinks, log: log}
}

// deliveryKey names one delivery of a to sink, or "" when a does not name
// its event and so cannot be told apart from another alert of its alias.
func deliveryKey(sink string, a *Alert) string {
	if a.Event == "" {
		return ""
	}
	return sink + "\x00" + a.Event + "\x00" + a.Alias + "\x00" + string(a.Action)
}

// recentSet holds the last maxRecent delivery keys, oldest dropped first.
type recentSet struct {
	mu    sync.Mutex
	keys  map[string]struct{}
	order []string
}

// maxRecent bounds the memory: far more alerts than one event produces.
const maxRecent = 4096

func (r *recentSet) has(k string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.keys[k]
	return ok
}

func (r *recentSet) add(k string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.keys == nil {
		r.keys = make(map[string]struct{})
	}
	if _, ok := r.keys[k]; ok {
		return
	}
	if len(r.order) >= maxRecent {
		delete(r.keys, r.order[0])
		r.order = r.order[1:]
	}
	r.keys[k] = struct{}{}
	r.order = append(r.order, k)
}

// Sinks returns the names of the sinks, in order.
func (d *Dispatcher) Sinks() []string {
	out := make([]string, len(d.sinks))
	for i, s := range d.sinks {
		out[i] = s.Name()
	}
	return out
}

// Failure is one alert a sink could not deliver.
type Failure struct {
	Sink   string `json:"sink"`
	Alias  string `json:"alias"`
	Action Action `json:"action"`
	Error  string `json:"error"`
	err    error
}

// Report is the outcome of one Send.
type Report struct {
	Delivered map[string]int `json:"delivered"` // by sink
	Failures  []Failure      `json:"failures,omitempty"`
}

// Err returns nil when everything was delivered, else one error naming each
// failed sink and alias (with the API's message).
func (r Report) Err() error {
	if len(r.Failures) == 0 {
		return nil
	}
	errs := make([]error, len(r.Failures))
	for i, f := range r.Failures {
		errs[i] = fmt.Errorf("%s %s %q: %w", f.Sink, f.Action, f.Alias, f.err)
	}
	return fmt.Errorf("alert delivery failed for %d of the deliveries: %w", len(r.Failures), errors.Join(errs...))
}

// Send delivers alerts to every sink and waits for all of them.
func (d *Dispatcher) Send(ctx context.Context, alerts []Alert) Report {
	rep := Report{Delivered: make(map[string]int, len(d.sinks))}
	if len(alerts) == 0 {
		return rep
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, s := range d.sinks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, fails := d.sendTo(ctx, s, alerts)
			mu.Lock()
			rep.Delivered[s.Name()] += ok
			rep.Failures = append(rep.Failures, fails...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	// Stable order for responses and tests: by sink order, then alert order.
	order := map[string]int{}
	for i, s := range d.sinks {
		order[s.Name()] = i
	}
	slices.SortStableFunc(rep.Failures, func(a, b Failure) int { return order[a.Sink] - order[b.Sink] })
	return rep
}

func (d *Dispatcher) sendTo(ctx context.Context, s Sink, alerts []Alert) (int, []Failure) {
	ok := 0
	var fails []Failure
	var down error
	for i := range alerts {
		a := &alerts[i]
		if down != nil {
			err := fmt.Errorf("not sent: %s was unavailable earlier in this invocation: %w", s.Name(), down)
			fails = append(fails, Failure{Sink: s.Name(), Alias: a.Alias, Action: a.Action, Error: err.Error(), err: err})
			continue
		}
		key := deliveryKey(s.Name(), a)
		if key != "" && d.delivered.has(key) {
			d.log.InfoContext(ctx, "alert already delivered by an earlier attempt", "sink", s.Name(), "alias", a.Alias, "action", string(a.Action))
			ok++
			continue
		}
		err := s.Deliver(ctx, a)
		if err == nil {
			if key != "" {
				d.delivered.add(key)
			}
			ok++
			continue
		}
		d.log.ErrorContext(ctx, "alert delivery failed", "sink", s.Name(), "alias", a.Alias, "action", string(a.Action), "error", err.Error())
		fails = append(fails, Failure{Sink: s.Name(), Alias: a.Alias, Action: a.Action, Error: err.Error(), err: err})
		if errors.Is(err, ErrUnavailable) || errors.Is(err, ErrKey) || ctx.Err() != nil {
			down = err
		}
	}
	return ok, fails
}

// LogSink writes each alert as one JSON log line: a dry run that shows what
// would be sent.
type LogSink struct{ Log *slog.Logger }

// Name is "log".
func (LogSink) Name() string { return "log" }

// Deliver logs the alert.
func (s LogSink) Deliver(ctx context.Context, a *Alert) error {
	b, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("encode alert: %w", err)
	}
	s.Log.InfoContext(ctx, "alert", "alert", json.RawMessage(b))
	return nil
}

// Recorder is a Sink that keeps what it is given (tests, the demo).
type Recorder struct {
	SinkName string
	mu       sync.Mutex
	alerts   []Alert
	Fail     func(a *Alert) error // optional: make deliveries fail
}

// Name returns SinkName, or "recorder".
func (r *Recorder) Name() string {
	if r.SinkName == "" {
		return "recorder"
	}
	return r.SinkName
}

// Deliver records a copy of the alert.
func (r *Recorder) Deliver(_ context.Context, a *Alert) error {
	if r.Fail != nil {
		if err := r.Fail(a); err != nil {
			return err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c := *a
	c.Tags = append([]string(nil), a.Tags...)
	if a.Details != nil {
		c.Details = make(map[string]string, len(a.Details))
		for k, v := range a.Details {
			c.Details[k] = v
		}
	}
	r.alerts = append(r.alerts, c)
	return nil
}

// Alerts returns what was delivered so far.
func (r *Recorder) Alerts() []Alert {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Alert(nil), r.alerts...)
}

// Summary is one line per alert, for test failure messages.
func Summary(alerts []Alert) string {
	var b strings.Builder
	for _, a := range alerts {
		fmt.Fprintf(&b, "%s %s %s %q\n", a.Action, a.Priority, a.Alias, a.Message)
	}
	return b.String()
}
