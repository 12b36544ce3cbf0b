package lambdaruntime

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// APIVersion is the Runtime API version this package serves.
const APIVersion = "2018-06-01"

// MaxResponseSize is Lambda's limit for a synchronous response (6 MB). A
// larger /response is answered 413 and the invocation fails with
// ErrorTypeResponseTooLarge, as on Lambda.
const MaxResponseSize = 6 << 20 // 6291456 bytes

// Header names of the Runtime API contract.
const (
	headerRequestID       = "Lambda-Runtime-Aws-Request-Id"
	headerDeadline        = "Lambda-Runtime-Deadline-Ms"
	headerFunctionARN     = "Lambda-Runtime-Invoked-Function-Arn"
	headerTraceID         = "Lambda-Runtime-Trace-Id"
	headerClientContext   = "Lambda-Runtime-Client-Context"
	headerCognitoIdentity = "Lambda-Runtime-Cognito-Identity"
	headerErrorType       = "Lambda-Runtime-Function-Error-Type"
	// A runtime that fails while streaming a response body reports the error
	// in trailers; aws-lambda-go does this when the handler's io.Reader fails.
	trailerErrorBody = "Lambda-Runtime-Function-Error-Body"
)

// Error types the Runtime API itself answers with (bodies of 4xx replies).
const (
	apiErrInvalidRequestID = "InvalidRequestID"
	apiErrInvalidState     = "InvalidStateTransition"
	apiErrTooLarge         = "RequestEntityTooLarge"
	apiErrInternal         = "InternalServerError"
)

// invocation is one event on its way through the runtime.
type invocation struct {
	id       string
	payload  []byte
	deadline time.Time
	arn      string
	traceID  string
	opts     InvokeOptions

	once sync.Once
	done chan struct{} // closed by resolve
	out  outcome       // written once, before done is closed
}

// outcome is what became of an invocation: a response or an error document.
type outcome struct {
	payload []byte
	errType string // "" means success
	errMsg  string
}

func newInvocation(id string, payload []byte) *invocation {
	return &invocation{id: id, payload: payload, done: make(chan struct{})}
}

// resolve records the outcome if none was recorded yet. The first writer
// wins, so a response that races a timeout or a process exit is decided in
// one place; the loser learns it lost from the false return.
func (inv *invocation) resolve(o outcome) bool {
	won := false
	inv.once.Do(func() {
		inv.out = o
		close(inv.done)
		won = true
	})
	return won
}

func (inv *invocation) resolved() bool {
	select {
	case <-inv.done:
		return true
	default:
		return false
	}
}

// runtimeAPI serves the Runtime API to exactly one runtime process; each
// process gets its own, so a killed process can never pick up or answer an
// event meant for its successor.
type runtimeAPI struct {
	next        chan *invocation // Invoke hands an event to a waiting /next
	closing     chan struct{}    // closed at shutdown to release blocked /next calls
	closeOnce   sync.Once
	maxResponse int64

	readyOnce sync.Once
	ready     chan struct{} // closed at the first /next: init is over
	readyAt   time.Time     // written before ready is closed

	initOnce   sync.Once
	initFailed chan struct{} // closed when the runtime posts /init/error
	initErr    outcome       // written before initFailed is closed

	mu      sync.Mutex
	current *invocation // the last event handed out by /next
}

func newRuntimeAPI() *runtimeAPI {
	return &runtimeAPI{
		next:        make(chan *invocation),
		closing:     make(chan struct{}),
		maxResponse: MaxResponseSize,
		ready:       make(chan struct{}),
		initFailed:  make(chan struct{}),
	}
}

func (a *runtimeAPI) close() { a.closeOnce.Do(func() { close(a.closing) }) }

// handler routes the four Runtime API endpoints. The method-qualified
// patterns make net/http answer 405 (with Allow) for a wrong method and 404
// for an unknown path.
func (a *runtimeAPI) handler() http.Handler {
	p := "/" + APIVersion + "/runtime"
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+p+"/invocation/next", a.handleNext)
	mux.HandleFunc("POST "+p+"/invocation/{id}/response", a.handleResponse)
	mux.HandleFunc("POST "+p+"/invocation/{id}/error", a.handleInvocationError)
	mux.HandleFunc("POST "+p+"/init/error", a.handleInitError)
	return mux
}

func (a *runtimeAPI) handleNext(w http.ResponseWriter, r *http.Request) {
	a.readyOnce.Do(func() {
		a.readyAt = time.Now()
		close(a.ready)
	})
	a.mu.Lock()
	cur := a.current
	a.mu.Unlock()
	if cur != nil && !cur.resolved() {
		// Lambda only moves to the next event once the current one is
		// answered; asking early is a state-machine violation (403).
		writeAPIError(w, http.StatusForbidden, apiErrInvalidState,
			fmt.Sprintf("next invocation requested before invocation %s was answered", cur.id))
		return
	}

	var inv *invocation
	select {
	case inv = <-a.next:
	case <-r.Context().Done():
		return
	case <-a.closing:
		writeAPIError(w, http.StatusInternalServerError, apiErrInternal, "runtime API is shutting down")
		return
	}
	a.mu.Lock()
	a.current = inv
	a.mu.Unlock()

	h := w.Header()
	h.Set(headerRequestID, inv.id)
	h.Set(headerDeadline, strconv.FormatInt(inv.deadline.UnixMilli(), 10))
	h.Set(headerFunctionARN, inv.arn)
	h.Set(headerTraceID, inv.traceID)
	if inv.opts.ClientContext != "" {
		h.Set(headerClientContext, inv.opts.ClientContext)
	}
	if inv.opts.CognitoIdentity != "" {
		h.Set(headerCognitoIdentity, inv.opts.CognitoIdentity)
	}
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(inv.payload)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(inv.payload) // a failed write means the runtime died; Invoke sees the exit
}

// lookup returns the in-flight invocation with this id, or nil when the id is
// unknown or already answered (both are 400 InvalidRequestID on Lambda).
func (a *runtimeAPI) lookup(id string) *invocation {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.current == nil || a.current.id != id || a.current.resolved() {
		return nil
	}
	return a.current
}

func (a *runtimeAPI) handleResponse(w http.ResponseWriter, r *http.Request) {
	inv := a.lookup(r.PathValue("id"))
	if inv == nil {
		writeAPIError(w, http.StatusBadRequest, apiErrInvalidRequestID, "Invalid request ID")
		return
	}
	body, size, err := readLimited(r.Body, a.maxResponse)
	if err != nil {
		writeAPIError(w, http.StatusInternalServerError, apiErrInternal, fmt.Sprintf("reading response body: %v", err))
		return
	}
	if size > a.maxResponse {
		msg := fmt.Sprintf("Response payload size (%d bytes) exceeded maximum allowed payload size (%d bytes).", size, a.maxResponse)
		if !inv.resolve(platformError(ErrorTypeResponseTooLarge, msg)) {
			writeAPIError(w, http.StatusBadRequest, apiErrInvalidRequestID, "Invalid request ID")
			return
		}
		writeAPIError(w, http.StatusRequestEntityTooLarge, apiErrTooLarge,
			fmt.Sprintf("Exceeded maximum allowed payload size (%d bytes).", a.maxResponse))
		return
	}

	o := outcome{payload: body}
	// Trailers are only populated once the body has been read to EOF.
	if t := r.Trailer.Get(headerErrorType); t != "" {
		errBody, _ := base64.StdEncoding.DecodeString(r.Trailer.Get(trailerErrorBody))
		o = errorOutcome(t, errBody)
	}
	if !inv.resolve(o) {
		writeAPIError(w, http.StatusBadRequest, apiErrInvalidRequestID, "Invalid request ID")
		return
	}
	writeAccepted(w)
}

func (a *runtimeAPI) handleInvocationError(w http.ResponseWriter, r *http.Request) {
	inv := a.lookup(r.PathValue("id"))
	if inv == nil {
		writeAPIError(w, http.StatusBadRequest, apiErrInvalidRequestID, "Invalid request ID")
		return
	}
	body, size, err := readLimited(r.Body, a.maxResponse)
	if err != nil {
		writeAPIError(w, http.StatusInternalServerError, apiErrInternal, fmt.Sprintf("reading error body: %v", err))
		return
	}
	if size > a.maxResponse {
		body = nil // keep the type, drop an absurd body
	}
	if !inv.resolve(errorOutcome(r.Header.Get(headerErrorType), body)) {
		writeAPIError(w, http.StatusBadRequest, apiErrInvalidRequestID, "Invalid request ID")
		return
	}
	writeAccepted(w)
}

func (a *runtimeAPI) handleInitError(w http.ResponseWriter, r *http.Request) {
	select {
	case <-a.ready:
		writeAPIError(w, http.StatusForbidden, apiErrInvalidState, "init error reported after init completed")
		return
	default:
	}
	body, size, err := readLimited(r.Body, a.maxResponse)
	if err != nil {
		writeAPIError(w, http.StatusInternalServerError, apiErrInternal, fmt.Sprintf("reading error body: %v", err))
		return
	}
	if size > a.maxResponse {
		body = nil
	}
	o := errorOutcome(r.Header.Get(headerErrorType), body)
	a.initOnce.Do(func() {
		a.initErr = o
		close(a.initFailed)
	})
	writeAccepted(w)
}

// readLimited reads up to max bytes and, past that, only counts the rest so
// the 413 message can state the real size, as Lambda's does.
func readLimited(r io.Reader, max int64) ([]byte, int64, error) {
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(r, max+1))
	if err != nil {
		return nil, n, err
	}
	if n <= max {
		return buf.Bytes(), n, nil
	}
	rest, err := io.Copy(io.Discard, r)
	return nil, n + rest, err
}

// errorDoc is the documented error body shape of the Runtime API; stackTrace
// is kept raw because runtimes disagree on its element type.
type errorDoc struct {
	ErrorMessage string          `json:"errorMessage"`
	ErrorType    string          `json:"errorType"`
	StackTrace   json.RawMessage `json:"stackTrace,omitempty"`
}

// errorOutcome turns a posted error into an outcome. The type comes from the
// Lambda-Runtime-Function-Error-Type header, else the body's errorType, else
// ErrorTypeUnknown. A JSON body is passed on verbatim (that is what Lambda's
// Invoke returns); anything else is wrapped into an error document.
func errorOutcome(headerType string, body []byte) outcome {
	var doc errorDoc
	isDoc := json.Unmarshal(body, &doc) == nil
	typ := headerType
	if typ == "" {
		typ = doc.ErrorType
	}
	if typ == "" {
		typ = ErrorTypeUnknown
	}
	if isDoc {
		return outcome{payload: bytes.Clone(body), errType: typ, errMsg: doc.ErrorMessage}
	}
	return platformError(typ, strings.TrimSpace(string(body)))
}

// platformError builds an error outcome that the emulator itself detected.
func platformError(typ, msg string) outcome {
	b, _ := json.Marshal(errorDoc{ErrorMessage: msg, ErrorType: typ}) // cannot fail on strings
	return outcome{payload: b, errType: typ, errMsg: msg}
}

func writeAPIError(w http.ResponseWriter, code int, typ, msg string) {
	b, _ := json.Marshal(errorDoc{ErrorMessage: msg, ErrorType: typ})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

func writeAccepted(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{"status":"OK"}`)
}
