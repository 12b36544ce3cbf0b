// Package opsgenietest is a local Opsgenie / JSM Operations Alert API v2
// server for tests and the demo. It checks requests as strictly as the
// service (GenieKey authentication, JSON content type, field limits,
// priorities, responders) and stricter where that catches our own mistakes
// (unknown fields are a 422), answers like the service (202 with
// {"result","took","requestId"}; 401/415/400/422/429/5xx with
// {"message","took","requestId"}), and keeps alert state by alias the way
// Opsgenie deduplicates: a create for an alias with an open alert raises
// that alert's count; after a close, the same alias opens a new alert.
//
// Faults can be injected: an outage (every request 503), or the next n
// requests answered with a given status (a 429 storm).
//
// Both APIs are served on one port: /v2/alerts (Opsgenie) and
// /jsm/ops/integration/v2/alerts (JSM), each with its own alerts.
package opsgenietest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// DefaultKey is the API key a server accepts unless Options.Keys says otherwise.
const DefaultKey = "00000000-test-4000-8000-genie0key000"

// API names as recorded in Request.API and Alert.API.
const (
	APIOpsgenie = "opsgenie"
	APIJSM      = "jsm"
)

// JSMPrefix is the JSM Operations integration API's path prefix.
const JSMPrefix = "/jsm/ops/integration"

// Field limits the server enforces (Opsgenie's documented limits).
const (
	MaxMessage      = 130
	MaxAlias        = 512
	MaxDescription  = 15000
	MaxTags         = 20
	MaxTagLen       = 50
	MaxDetailsChars = 8000
	MaxEntity       = 512
	MaxSource       = 100
	MaxUser         = 100
	MaxNote         = 25000
	MaxActions      = 10
	MaxActionLen    = 50
	MaxResponders   = 50
	MaxBodyBytes    = 1 << 20
)

// Options configure a server.
type Options struct {
	// Keys are the accepted API keys; default [DefaultKey].
	Keys []string
	// Addr to listen on; default 127.0.0.1:0 (a free port).
	Addr string
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Responder is a responder as received.
type Responder struct {
	Type     string `json:"type"`
	ID       string `json:"id,omitempty"`
	Name     string `json:"name,omitempty"`
	Username string `json:"username,omitempty"`
}

// Alert is the server's state of one alert.
type Alert struct {
	API         string            `json:"api"`
	ID          string            `json:"id"`
	TinyID      string            `json:"tinyId"`
	Alias       string            `json:"alias"`
	Message     string            `json:"message"`
	Description string            `json:"description,omitempty"`
	Priority    string            `json:"priority"`
	Tags        []string          `json:"tags,omitempty"`
	Details     map[string]string `json:"details,omitempty"`
	Entity      string            `json:"entity,omitempty"`
	Source      string            `json:"source,omitempty"`
	Responders  []Responder       `json:"responders,omitempty"`
	User        string            `json:"user,omitempty"`
	Note        string            `json:"note,omitempty"`
	Status      string            `json:"status"` // open, closed
	Count       int               `json:"count"`
	CreatedAt   time.Time         `json:"createdAt"`
	UpdatedAt   time.Time         `json:"updatedAt"`
	ClosedAt    time.Time         `json:"closedAt,omitzero"`
	CloseNote   string            `json:"closeNote,omitempty"`
}

// Request is one request as the server saw it. The Authorization header is
// not kept; KeyOK says whether it was accepted.
type Request struct {
	API       string    `json:"api"`
	Method    string    `json:"method"`
	Path      string    `json:"path"`
	Query     string    `json:"query,omitempty"`
	Op        string    `json:"op"` // create, close, get, list, unknown
	Alias     string    `json:"alias,omitempty"`
	Body      []byte    `json:"body,omitempty"`
	KeyOK     bool      `json:"keyOk"`
	Status    int       `json:"status"`
	Error     string    `json:"error,omitempty"`
	RequestID string    `json:"requestId"`
	At        time.Time `json:"at"`
}

// Server is a running (or embeddable) fake Alert API.
type Server struct {
	URL string // http://127.0.0.1:port, empty when only Handler is used

	opts Options
	srv  *http.Server
	ln   net.Listener

	mu       sync.Mutex
	alerts   []*Alert          // every alert ever created, in order
	open     map[string]*Alert // api+"\x00"+alias -> current (latest) alert
	requests []Request
	outage   int // status for every request, 0 = none
	faults   []int
	seq      int
}

// New returns a server that is not listening (use Handler).
func New(opts Options) *Server {
	if len(opts.Keys) == 0 {
		opts.Keys = []string{DefaultKey}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Server{opts: opts, open: map[string]*Alert{}}
}

// Start returns a server listening on opts.Addr (default a free loopback port).
func Start(opts Options) (*Server, error) {
	s := New(opts)
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("opsgenietest: listen %s: %w", addr, err)
	}
	s.ln = ln
	s.URL = "http://" + ln.Addr().String()
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// TB is the part of testing.TB that StartForTest needs.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// StartForTest starts a server and closes it when the test ends.
func StartForTest(t TB, opts Options) *Server {
	t.Helper()
	s, err := Start(opts)
	if err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// Close stops a started server.
func (s *Server) Close() error {
	if s.srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return s.srv.Shutdown(ctx)
}

// Handler returns the server as an http.Handler.
func (s *Server) Handler() http.Handler { return s }

// Key returns the first accepted key.
func (s *Server) Key() string { return s.opts.Keys[0] }

// SetOutage makes every request fail with 503 (on) or ends the outage.
func (s *Server) SetOutage(on bool) {
	status := 0
	if on {
		status = http.StatusServiceUnavailable
	}
	s.SetOutageStatus(status)
}

// SetOutageStatus makes every request fail with status (0 ends the outage).
func (s *Server) SetOutageStatus(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outage = status
}

// FailNext answers the next n requests with status (e.g. 429, 500, 502).
func (s *Server) FailNext(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults = append(s.faults, status)
	}
}

// Reset forgets alerts, requests and faults.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.alerts, s.requests, s.faults, s.outage = nil, nil, nil, 0
	s.open = map[string]*Alert{}
}

// Requests returns a copy of every request received, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Alerts returns copies of every alert created, in order (closed ones too).
func (s *Server) Alerts() []Alert {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Alert, len(s.alerts))
	for i, a := range s.alerts {
		out[i] = *a
	}
	return out
}

// Alert returns the current (latest) alert with alias in the Opsgenie API,
// else in the JSM API.
func (s *Server) Alert(alias string) (Alert, bool) {
	if a, ok := s.Lookup(APIOpsgenie, alias); ok {
		return a, true
	}
	return s.Lookup(APIJSM, alias)
}

// Lookup returns the current (latest) alert with alias in one API.
func (s *Server) Lookup(api, alias string) (Alert, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.open[api+"\x00"+alias]
	if !ok {
		return Alert{}, false
	}
	return *a, true
}

// Pages is the number of alerts created: what would have notified someone.
// Deduplicated creates only raise a count and do not page.
func (s *Server) Pages() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.alerts)
}

// OpenAlerts returns the alerts that are open now.
func (s *Server) OpenAlerts() []Alert {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Alert
	for _, a := range s.alerts {
		if a.Status == "open" {
			out = append(out, *a)
		}
	}
	return out
}

// response writing

type okBody struct {
	Result    string  `json:"result"`
	Took      float64 `json:"took"`
	RequestID string  `json:"requestId"`
}

type errBody struct {
	Message   string            `json:"message"`
	Errors    map[string]string `json:"errors,omitempty"`
	Took      float64           `json:"took"`
	RequestID string            `json:"requestId"`
}

func writeJSON(w http.ResponseWriter, status int, reqID string, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Request-Id", reqID)
	w.Header().Set("X-Response-Time", "0.1")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// ServeHTTP implements the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := newID()
	rec := Request{Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery, RequestID: reqID, At: s.opts.Now()}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err == nil && len(body) > MaxBodyBytes {
		err = errors.New("request body too large")
	}
	rec.Body = body
	status, out := s.serve(r, body, err, &rec)
	rec.Status = status
	if eb, ok := out.(errBody); ok {
		eb.RequestID = reqID
		rec.Error = eb.Message
		if len(eb.Errors) > 0 {
			keys := make([]string, 0, len(eb.Errors))
			for k := range eb.Errors {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				rec.Error += "; " + k + ": " + eb.Errors[k]
			}
		}
		out = eb
	}
	if ob, ok := out.(okBody); ok {
		ob.RequestID = reqID
		out = ob
	}
	if m, ok := out.(map[string]any); ok {
		m["requestId"] = reqID
	}
	s.mu.Lock()
	s.requests = append(s.requests, rec)
	s.mu.Unlock()
	writeJSON(w, status, reqID, out)
}

func fail(status int, msg string, fields map[string]string) (int, any) {
	return status, errBody{Message: msg, Errors: fields, Took: 0.001}
}

// route splits the escaped path into API, alert identifier and operation.
func route(escapedPath string) (api, ident, op string, ok bool) {
	p := escapedPath
	api = APIOpsgenie
	if rest, found := strings.CutPrefix(p, JSMPrefix); found {
		api, p = APIJSM, rest
	}
	rest, found := strings.CutPrefix(p, "/v2/alerts")
	if !found {
		return api, "", "", false
	}
	switch {
	case rest == "" || rest == "/":
		return api, "", "alerts", true
	case strings.HasPrefix(rest, "/"):
		parts := strings.Split(rest[1:], "/")
		id, err := url.PathUnescape(parts[0])
		if err != nil || id == "" {
			return api, "", "", false
		}
		switch {
		case len(parts) == 1:
			return api, id, "alert", true
		case len(parts) == 2 && parts[1] == "close":
			return api, id, "close", true
		}
	}
	return api, "", "", false
}

func (s *Server) serve(r *http.Request, body []byte, readErr error, rec *Request) (int, any) {
	api, ident, op, ok := route(r.URL.EscapedPath())
	rec.API = api
	rec.Op = "unknown"
	if !ok {
		return fail(http.StatusNotFound, "Could not find the requested resource", nil)
	}

	s.mu.Lock()
	outage := s.outage
	fault := 0
	if outage == 0 && len(s.faults) > 0 {
		fault, s.faults = s.faults[0], s.faults[1:]
	}
	s.mu.Unlock()
	if outage != 0 {
		return fail(outage, http.StatusText(outage), nil)
	}
	if fault == http.StatusTooManyRequests {
		return fail(fault, "You are making too many requests! Please slow down and try again.", nil)
	}
	if fault != 0 {
		return fail(fault, http.StatusText(fault), nil)
	}

	auth := r.Header.Get("Authorization")
	key, hasPrefix := strings.CutPrefix(auth, "GenieKey ")
	rec.KeyOK = hasPrefix && slices.Contains(s.opts.Keys, key)
	if !rec.KeyOK {
		return fail(http.StatusUnauthorized, "Could not authenticate: a valid Authorization: GenieKey <key> header is required", nil)
	}
	if readErr != nil {
		return fail(http.StatusBadRequest, readErr.Error(), nil)
	}

	switch {
	case op == "alerts" && r.Method == http.MethodPost:
		rec.Op = "create"
		return s.create(api, r, body, rec)
	case op == "close" && r.Method == http.MethodPost:
		rec.Op = "close"
		rec.Alias = ident
		return s.closeAlert(api, ident, r, body)
	case op == "alert" && r.Method == http.MethodGet:
		rec.Op = "get"
		return s.get(api, ident, r)
	case op == "alerts" && r.Method == http.MethodGet:
		rec.Op = "list"
		return s.list(api)
	}
	return fail(http.StatusMethodNotAllowed, "Method "+r.Method+" is not allowed for "+r.URL.Path, nil)
}

func jsonContent(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/json"
}

type createBody struct {
	Message     string            `json:"message"`
	Alias       string            `json:"alias"`
	Description string            `json:"description"`
	Responders  []Responder       `json:"responders"`
	VisibleTo   []Responder       `json:"visibleTo"`
	Actions     []string          `json:"actions"`
	Tags        []string          `json:"tags"`
	Details     map[string]string `json:"details"`
	Entity      string            `json:"entity"`
	Source      string            `json:"source"`
	Priority    string            `json:"priority"`
	User        string            `json:"user"`
	Note        string            `json:"note"`
}

func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("data after the JSON object")
	}
	return nil
}

func runes(s string) int { return utf8.RuneCountInString(s) }

func checkLen(errs map[string]string, field, v string, max int) {
	if runes(v) > max {
		errs[field] = fmt.Sprintf("%s can not be longer than %d characters (got %d)", field, max, runes(v))
	}
	if !utf8.ValidString(v) {
		errs[field] = field + " is not valid UTF-8"
	}
}

func checkResponders(errs map[string]string, field string, rs []Responder) {
	if len(rs) > MaxResponders {
		errs[field] = fmt.Sprintf("at most %d %s are allowed", MaxResponders, field)
		return
	}
	for i, r := range rs {
		switch r.Type {
		case "team", "escalation", "schedule":
			if r.ID == "" && r.Name == "" {
				errs[fmt.Sprintf("%s[%d]", field, i)] = r.Type + " responder needs id or name"
			}
		case "user":
			if r.ID == "" && r.Username == "" {
				errs[fmt.Sprintf("%s[%d]", field, i)] = "user responder needs id or username"
			}
		default:
			errs[fmt.Sprintf("%s[%d]", field, i)] = fmt.Sprintf("responder type %q is not one of team, user, escalation, schedule", r.Type)
		}
	}
}

// Validate checks a Create Alert body as the service does and returns the
// field errors (empty when valid). Exported for tests of senders.
func Validate(body []byte) map[string]string {
	var c createBody
	if err := decodeStrict(body, &c); err != nil {
		return map[string]string{"body": err.Error()}
	}
	return validate(&c)
}

func validate(c *createBody) map[string]string {
	errs := map[string]string{}
	if strings.TrimSpace(c.Message) == "" {
		errs["message"] = "Message can not be empty."
	}
	checkLen(errs, "message", c.Message, MaxMessage)
	checkLen(errs, "alias", c.Alias, MaxAlias)
	checkLen(errs, "description", c.Description, MaxDescription)
	checkLen(errs, "entity", c.Entity, MaxEntity)
	checkLen(errs, "source", c.Source, MaxSource)
	checkLen(errs, "user", c.User, MaxUser)
	checkLen(errs, "note", c.Note, MaxNote)
	if c.Priority != "" && !slices.Contains([]string{"P1", "P2", "P3", "P4", "P5"}, c.Priority) {
		errs["priority"] = fmt.Sprintf("Priority %q is not one of P1, P2, P3, P4, P5", c.Priority)
	}
	if len(c.Tags) > MaxTags {
		errs["tags"] = fmt.Sprintf("at most %d tags are allowed (got %d)", MaxTags, len(c.Tags))
	}
	for _, t := range c.Tags {
		if runes(t) > MaxTagLen {
			errs["tags"] = fmt.Sprintf("tag %q is longer than %d characters", t, MaxTagLen)
		}
		if strings.TrimSpace(t) == "" {
			errs["tags"] = "tags can not be empty"
		}
	}
	if len(c.Actions) > MaxActions {
		errs["actions"] = fmt.Sprintf("at most %d actions are allowed", MaxActions)
	}
	for _, a := range c.Actions {
		if runes(a) > MaxActionLen {
			errs["actions"] = fmt.Sprintf("action %q is longer than %d characters", a, MaxActionLen)
		}
	}
	total := 0
	for k, v := range c.Details {
		total += runes(k) + runes(v)
		if strings.TrimSpace(k) == "" {
			errs["details"] = "details keys can not be empty"
		}
	}
	if total > MaxDetailsChars {
		errs["details"] = fmt.Sprintf("details can not be longer than %d characters in total (got %d)", MaxDetailsChars, total)
	}
	checkResponders(errs, "responders", c.Responders)
	checkResponders(errs, "visibleTo", c.VisibleTo)
	return errs
}

func (s *Server) create(api string, r *http.Request, body []byte, rec *Request) (int, any) {
	if !jsonContent(r) {
		return fail(http.StatusUnsupportedMediaType, "Unsupported Media Type: send Content-Type: application/json", nil)
	}
	var c createBody
	if err := decodeStrict(body, &c); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fail(http.StatusBadRequest, "Could not parse the request body as JSON: "+err.Error(), nil)
		}
		return fail(http.StatusUnprocessableEntity, "Request body is not processable. Please check the errors.", map[string]string{"body": err.Error()})
	}
	if errs := validate(&c); len(errs) > 0 {
		return fail(http.StatusUnprocessableEntity, "Request body is not processable. Please check the errors.", errs)
	}
	rec.Alias = c.Alias
	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	alias := c.Alias
	if alias == "" {
		alias = newID() // Opsgenie assigns one when none is given
	}
	k := api + "\x00" + alias
	if a, ok := s.open[k]; ok && a.Status == "open" {
		a.Count++
		a.UpdatedAt = now
		return http.StatusAccepted, okBody{Result: "Request will be processed", Took: 0.1}
	}
	s.seq++
	prio := c.Priority
	if prio == "" {
		prio = "P3"
	}
	a := &Alert{
		API: api, ID: newID(), TinyID: fmt.Sprint(s.seq), Alias: alias, Message: c.Message,
		Description: c.Description, Priority: prio, Tags: c.Tags, Details: c.Details,
		Entity: c.Entity, Source: c.Source, Responders: c.Responders, User: c.User, Note: c.Note,
		Status: "open", Count: 1, CreatedAt: now, UpdatedAt: now,
	}
	s.alerts = append(s.alerts, a)
	s.open[k] = a
	return http.StatusAccepted, okBody{Result: "Request will be processed", Took: 0.1}
}

type closeBody struct {
	User   string `json:"user"`
	Source string `json:"source"`
	Note   string `json:"note"`
}

func (s *Server) closeAlert(api, ident string, r *http.Request, body []byte) (int, any) {
	idType := r.URL.Query().Get("identifierType")
	if idType == "" {
		idType = "id"
	}
	if idType != "id" && idType != "alias" && idType != "tiny" {
		return fail(http.StatusUnprocessableEntity, "Request is not processable.", map[string]string{"identifierType": "must be id, alias or tiny"})
	}
	var c closeBody
	if len(bytes.TrimSpace(body)) > 0 {
		if !jsonContent(r) {
			return fail(http.StatusUnsupportedMediaType, "Unsupported Media Type: send Content-Type: application/json", nil)
		}
		if err := decodeStrict(body, &c); err != nil {
			return fail(http.StatusUnprocessableEntity, "Request body is not processable. Please check the errors.", map[string]string{"body": err.Error()})
		}
	}
	errs := map[string]string{}
	checkLen(errs, "user", c.User, MaxUser)
	checkLen(errs, "source", c.Source, MaxSource)
	checkLen(errs, "note", c.Note, MaxNote)
	if len(errs) > 0 {
		return fail(http.StatusUnprocessableEntity, "Request body is not processable. Please check the errors.", errs)
	}
	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	// Like the service, accept asynchronously even when nothing matches.
	if a := s.find(api, ident, idType); a != nil && a.Status == "open" {
		a.Status = "closed"
		a.ClosedAt = now
		a.UpdatedAt = now
		a.CloseNote = c.Note
	}
	return http.StatusAccepted, okBody{Result: "Request will be processed", Took: 0.1}
}

// find must be called with s.mu held.
func (s *Server) find(api, ident, idType string) *Alert {
	if idType == "alias" {
		return s.open[api+"\x00"+ident]
	}
	for i := len(s.alerts) - 1; i >= 0; i-- {
		a := s.alerts[i]
		if a.API == api && (idType == "id" && a.ID == ident || idType == "tiny" && a.TinyID == ident) {
			return a
		}
	}
	return nil
}

func (s *Server) get(api, ident string, r *http.Request) (int, any) {
	idType := r.URL.Query().Get("identifierType")
	if idType == "" {
		idType = "id"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.find(api, ident, idType)
	if a == nil {
		return fail(http.StatusNotFound, "Alert does not exist", nil)
	}
	return http.StatusOK, map[string]any{"data": *a, "took": 0.01}
}

func (s *Server) list(api string) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	data := []Alert{}
	for i := len(s.alerts) - 1; i >= 0; i-- {
		if s.alerts[i].API == api {
			data = append(data, *s.alerts[i])
		}
	}
	return http.StatusOK, map[string]any{"data": data, "took": 0.01}
}
