package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Base URLs of the Alert API.
const (
	OpsgenieUS = "https://api.opsgenie.com"
	OpsgenieEU = "https://api.eu.opsgenie.com"
	JSMBase    = "https://api.atlassian.com"
)

// API names an Alert API v2 flavour: where alerts live below the base URL.
type API struct {
	Name   string // sink name: "opsgenie" or "jsm"
	Prefix string // path before /v2/alerts
}

// The two flavours. JSM Operations takes the same alert model and
// GenieKey authentication at /jsm/ops/integration/v2/alerts.
var (
	OpsgenieAPI = API{Name: "opsgenie", Prefix: ""}
	JSMAPI      = API{Name: "jsm", Prefix: "/jsm/ops/integration"}
)

// Retry bounds retries of 429, 5xx and network failures.
type Retry struct {
	Attempts int           // total tries, first included; default 4
	Base     time.Duration // first backoff, doubled each time; default 250ms
	Max      time.Duration // longest backoff (and longest Retry-After obeyed); default 4s
	// Margin is left of the context's deadline: no try starts later than
	// that, so the function can still answer. Default 2s.
	Margin time.Duration
}

// DefaultRetry suits a Lambda with a 30-60 s timeout.
var DefaultRetry = Retry{Attempts: 4, Base: 250 * time.Millisecond, Max: 4 * time.Second, Margin: 2 * time.Second}

func (r Retry) withDefaults() Retry {
	if r.Attempts <= 0 {
		r.Attempts = DefaultRetry.Attempts
	}
	if r.Base <= 0 {
		r.Base = DefaultRetry.Base
	}
	if r.Max <= 0 {
		r.Max = DefaultRetry.Max
	}
	if r.Margin < 0 {
		r.Margin = 0
	}
	return r
}

// HTTPDoer is what the sink needs of an HTTP client.
type HTTPDoer interface {
	Do(*http.Request) (*http.Response, error)
}

// OpsgenieSink creates and closes alerts through the Alert API v2 of
// Opsgenie or JSM Operations.
type OpsgenieSink struct {
	api     API
	alerts  string // base + prefix + /v2/alerts
	key     KeyFunc
	client  HTTPDoer
	retry   Retry
	user    string
	onRetry func()
	onAuth  func()
	sleep   func(context.Context, time.Duration) error
}

// OpsgenieOptions configure an OpsgenieSink.
type OpsgenieOptions struct {
	API     API
	BaseURL string // e.g. OpsgenieUS, OpsgenieEU, JSMBase or a test server
	Key     KeyFunc
	Client  HTTPDoer // default: an http.Client with a 10 s timeout
	Retry   Retry
	User    string // "user" field of requests (shown in the alert log); default "Tributary"
	OnRetry func() // called before each retry (metrics)
	// OnUnauthorized is called on a 401, e.g. KeySource.Forget so a rotated
	// key is read again on the next delivery.
	OnUnauthorized func()
}

// NewOpsgenieSink checks the options and returns the sink.
func NewOpsgenieSink(o OpsgenieOptions) (*OpsgenieSink, error) {
	if o.API.Name == "" {
		o.API = OpsgenieAPI
	}
	u, err := url.Parse(o.BaseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("%s: base URL %q is not an http(s) URL", o.API.Name, o.BaseURL)
	}
	if o.Key == nil {
		return nil, fmt.Errorf("%s: no API key source", o.API.Name)
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if o.User == "" {
		o.User = "Tributary"
	}
	return &OpsgenieSink{
		api:     o.API,
		alerts:  strings.TrimRight(o.BaseURL, "/") + o.API.Prefix + "/v2/alerts",
		key:     o.Key,
		client:  o.Client,
		retry:   o.Retry.withDefaults(),
		user:    o.User,
		onRetry: o.OnRetry,
		onAuth:  o.OnUnauthorized,
		sleep:   sleepCtx,
	}, nil
}

// Name is the API's name ("opsgenie" or "jsm").
func (s *OpsgenieSink) Name() string { return s.api.Name }

// AlertsURL is where alerts are created.
func (s *OpsgenieSink) AlertsURL() string { return s.alerts }

// createRequest is the Create Alert body: only the fields the API knows.
type createRequest struct {
	Message     string            `json:"message"`
	Alias       string            `json:"alias,omitempty"`
	Description string            `json:"description,omitempty"`
	Responders  []Responder       `json:"responders,omitempty"`
	Tags        []string          `json:"tags,omitempty"`
	Details     map[string]string `json:"details,omitempty"`
	Entity      string            `json:"entity,omitempty"`
	Source      string            `json:"source,omitempty"`
	Priority    Priority          `json:"priority,omitempty"`
	User        string            `json:"user,omitempty"`
	Note        string            `json:"note,omitempty"`
}

// closeRequest is the Close Alert body.
type closeRequest struct {
	User   string `json:"user,omitempty"`
	Source string `json:"source,omitempty"`
	Note   string `json:"note,omitempty"`
}

// CreateBody returns the JSON the sink posts to create a.
func (s *OpsgenieSink) CreateBody(a *Alert) ([]byte, error) {
	return json.Marshal(createRequest{
		Message: a.Message, Alias: a.Alias, Description: a.Description, Responders: a.Responders,
		Tags: a.Tags, Details: a.Details, Entity: a.Entity, Source: a.Source, Priority: a.Priority,
		User: s.user, Note: a.Note,
	})
}

// Deliver creates or closes the alert by alias.
func (s *OpsgenieSink) Deliver(ctx context.Context, a *Alert) error {
	var body []byte
	var err error
	target := s.alerts
	switch a.Action {
	case Close:
		if a.Alias == "" {
			return fmt.Errorf("%s: cannot close an alert without an alias", s.api.Name)
		}
		target = s.alerts + "/" + url.PathEscape(a.Alias) + "/close?identifierType=alias"
		note, _ := Truncate(a.Note, MaxNote)
		src, _ := Truncate(a.Source, MaxSource)
		body, err = json.Marshal(closeRequest{User: s.user, Source: src, Note: note})
	default:
		body, err = s.CreateBody(a)
	}
	if err != nil {
		return fmt.Errorf("%s: encode request: %w", s.api.Name, err)
	}
	key, err := s.key(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", s.api.Name, err)
	}
	return s.post(ctx, target, body, key)
}

// APIError is a response other than 202 from the Alert API, with the API's
// own message (and field errors, for 422).
type APIError struct {
	API       string
	Status    int
	Message   string
	Errors    map[string]string
	RequestID string
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s API: HTTP %d", e.API, e.Status)
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if len(e.Errors) > 0 {
		keys := make([]string, 0, len(e.Errors))
		for k := range e.Errors {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b.WriteString(" (")
		for i, k := range keys {
			if i > 0 {
				b.WriteString("; ")
			}
			fmt.Fprintf(&b, "%s: %s", k, e.Errors[k])
		}
		b.WriteString(")")
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " [requestId %s]", e.RequestID)
	}
	return b.String()
}

// Retryable reports whether trying again may succeed (429 and 5xx).
func (e *APIError) Retryable() bool { return e.Status == http.StatusTooManyRequests || e.Status >= 500 }

type apiResponse struct {
	Result    string            `json:"result"`
	Message   string            `json:"message"`
	Errors    map[string]string `json:"errors"`
	RequestID string            `json:"requestId"`
}

func (s *OpsgenieSink) post(ctx context.Context, target string, body []byte, key Secret) error {
	var last error
	for attempt := 1; ; attempt++ {
		retryAfter, err := s.try(ctx, target, body, key)
		if err == nil {
			return nil
		}
		last = err
		var apiErr *APIError
		retryable := !errors.As(err, &apiErr) || apiErr.Retryable()
		if !retryable {
			if apiErr.Status == http.StatusUnauthorized && s.onAuth != nil {
				s.onAuth()
			}
			return err
		}
		if attempt >= s.retry.Attempts || ctx.Err() != nil {
			break
		}
		wait := s.backoff(attempt, retryAfter)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl)-s.retry.Margin < wait {
			break
		}
		if s.onRetry != nil {
			s.onRetry()
		}
		if err := s.sleep(ctx, wait); err != nil {
			break
		}
	}
	return fmt.Errorf("%w: %s: %w", ErrUnavailable, s.api.Name, last)
}

// backoff is exponential with full jitter over the upper half, or the
// server's Retry-After when it is given and shorter than Max.
func (s *OpsgenieSink) backoff(attempt int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return min(retryAfter, s.retry.Max)
	}
	d := s.retry.Base << (attempt - 1)
	if d > s.retry.Max || d <= 0 {
		d = s.retry.Max
	}
	return d/2 + rand.N(d/2+1)
}

func (s *OpsgenieSink) try(ctx context.Context, target string, body []byte, key Secret) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("%s: build request: %w", s.api.Name, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "GenieKey "+key.Reveal())
	resp, err := s.client.Do(req)
	if err != nil {
		// url.Error carries the URL, never the header: safe to return.
		return 0, fmt.Errorf("%s: %w", s.api.Name, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode == http.StatusAccepted || resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusCreated {
		return 0, nil
	}
	e := &APIError{API: s.api.Name, Status: resp.StatusCode, RequestID: resp.Header.Get("X-Request-Id")}
	var ar apiResponse
	if json.Unmarshal(raw, &ar) == nil {
		e.Message, e.Errors = ar.Message, ar.Errors
		if e.Message == "" {
			e.Message = ar.Result
		}
		if ar.RequestID != "" {
			e.RequestID = ar.RequestID
		}
	} else if text := strings.TrimSpace(string(raw)); text != "" {
		e.Message, _ = Truncate(singleLine(text), 300)
	}
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	return parseRetryAfter(resp.Header.Get("Retry-After")), e
}

func parseRetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
