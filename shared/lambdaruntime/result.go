package lambdaruntime

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"
)

// Error types of failures the emulator detects itself (the function reports
// its own types through /error and /init/error).
const (
	// ErrorTypeTimeout: the invocation overran its deadline (or init overran
	// InitTimeout) and the process was killed.
	ErrorTypeTimeout = "Sandbox.Timedout"
	// ErrorTypeExit: the runtime process exited before answering.
	ErrorTypeExit = "Runtime.ExitError"
	// ErrorTypeResponseTooLarge: the response exceeded MaxResponseSize.
	ErrorTypeResponseTooLarge = "Function.ResponseSizeTooLarge"
	// ErrorTypeUnknown: an /error or /init/error post that named no type.
	ErrorTypeUnknown = "Runtime.Unknown"
)

// Result is the outcome of one invocation, as Lambda's Invoke API would
// report it plus the timings of the local run.
type Result struct {
	RequestID string
	// Payload is the response body on success. On a function error it is the
	// JSON error document {"errorMessage","errorType",...}: the one the
	// function posted, or one the emulator built for timeouts and crashes.
	Payload []byte
	// FunctionError is true when the invocation failed (Lambda's
	// X-Amz-Function-Error); ErrorType and ErrorMessage then say how.
	FunctionError bool
	ErrorType     string
	ErrorMessage  string
	// InitError is true when the failure happened during init, before the
	// runtime asked for its first event (/init/error, crash, init timeout).
	InitError bool
	// Cold is true for the first invocation of a process. Duration of a cold
	// invocation runs from process start, so it includes init; InitDuration
	// is process start to the first /next call (zero when warm).
	Cold         bool
	Duration     time.Duration
	InitDuration time.Duration
	// PID is the runtime process that handled (or failed) the invocation.
	PID int
	// MaxRSSKiB is the process's peak resident memory so far, in KiB, read
	// after a successful invocation (Lambda's "Max Memory Used"); 0 if unknown.
	MaxRSSKiB int
}

// Err returns nil on success, or a *FunctionError describing the failure.
func (r Result) Err() error {
	if !r.FunctionError {
		return nil
	}
	return &FunctionError{RequestID: r.RequestID, Type: r.ErrorType, Message: r.ErrorMessage, Init: r.InitError}
}

// FunctionError is a failed invocation as an error value (see Result.Err).
type FunctionError struct {
	RequestID string
	Type      string
	Message   string
	Init      bool
}

func (e *FunctionError) Error() string {
	phase := "invocation"
	if e.Init {
		phase = "init"
	}
	return fmt.Sprintf("lambda %s failed: %s: %s", phase, e.Type, e.Message)
}

// InvokeOptions carries the optional per-invocation context Lambda passes to
// the runtime. Empty fields are not sent.
type InvokeOptions struct {
	// ClientContext is JSON, sent as Lambda-Runtime-Client-Context.
	ClientContext string
	// CognitoIdentity is JSON, sent as Lambda-Runtime-Cognito-Identity.
	CognitoIdentity string
	// TraceID replaces the generated Lambda-Runtime-Trace-Id.
	TraceID string
}

// randomHex returns n random bytes as 2n hex digits.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}

// newRequestID returns a random (version 4) UUID, the form Lambda uses.
func newRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// newTraceID returns an X-Ray trace header: the root id is "1-", the epoch
// seconds in 8 hex digits and 24 random hex digits; the parent is 16 hex.
func newTraceID(now time.Time) string {
	return fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", now.Unix(), randomHex(12), randomHex(8))
}
