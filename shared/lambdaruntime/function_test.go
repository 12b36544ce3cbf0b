//go:build unix

package lambdaruntime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var (
	uuidRe      = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	traceRe     = regexp.MustCompile(`^Root=1-([0-9a-f]{8})-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0$`)
	logStreamRe = regexp.MustCompile(`^\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}$`)
)

func invoke(t *testing.T, fn *Function, event string) Result {
	t.Helper()
	res, err := fn.Invoke(context.Background(), []byte(event))
	if err != nil {
		t.Fatalf("Invoke(%s): %v", event, err)
	}
	return res
}

func wantSuccess(t *testing.T, res Result) {
	t.Helper()
	if res.FunctionError || res.ErrorType != "" || res.Err() != nil {
		t.Fatalf("function error %s: %s\npayload: %s", res.ErrorType, res.ErrorMessage, res.Payload)
	}
}

// wantError checks the error type and message, and that Payload is the
// error document wantPayload (JSON-equal).
func wantError(t *testing.T, res Result, typ, msg, wantPayload string) {
	t.Helper()
	if !res.FunctionError || res.ErrorType != typ || res.ErrorMessage != msg {
		t.Fatalf("got FunctionError=%v %q: %q, want %q: %q\npayload: %s",
			res.FunctionError, res.ErrorType, res.ErrorMessage, typ, msg, res.Payload)
	}
	wantJSON(t, res.Payload, wantPayload)
}

func wantJSON(t *testing.T, got []byte, want string) {
	t.Helper()
	eq, err := EqualJSON(got, []byte(want))
	if err != nil || !eq {
		t.Fatalf("JSON mismatch (err %v)\n got: %s\nwant: %s", err, got, want)
	}
}

// platformDoc is the error document the emulator builds itself.
func platformDoc(typ, msg string) string {
	b, _ := json.Marshal(map[string]string{"errorType": typ, "errorMessage": msg})
	return string(b)
}

type echoReply struct {
	Data        json.RawMessage   `json:"data"`
	RequestID   string            `json:"requestId"`
	FunctionArn string            `json:"functionArn"`
	DeadlineMs  int64             `json:"deadlineMs"`
	TraceID     string            `json:"traceId"`
	Pid         int               `json:"pid"`
	Env         map[string]string `json:"env"`
}

func decodeEcho(t *testing.T, res Result) echoReply {
	t.Helper()
	wantSuccess(t, res)
	var r echoReply
	if err := json.Unmarshal(res.Payload, &r); err != nil {
		t.Fatalf("decoding echo reply %s: %v", res.Payload, err)
	}
	return r
}

const echoEvent = `{"action":"echo","data":{"n":[1,2.5,-3],"s":"h\u00e9llo <&>"}}`

func TestInvokeSuccess(t *testing.T) {
	t.Parallel()
	fn, _ := newFunction(t, Config{
		Bootstrap: lambdaFnBin,
		Name:      "echo",
		Timeout:   2 * time.Second,
		MemoryMB:  256,
		Region:    "eu-west-1",
		Env:       []string{"AWS_LAMBDA_LOG_FORMAT=Text", "FOO=bar=baz"},
	})
	before := time.Now()
	res := invoke(t, fn, echoEvent)
	after := time.Now()
	got := decodeEcho(t, res)

	wantJSON(t, got.Data, `{"s":"héllo <&>","n":[1,2.5,-3]}`)
	if !uuidRe.MatchString(res.RequestID) || got.RequestID != res.RequestID {
		t.Errorf("request id: handler saw %q, result has %q; want one UUID v4", got.RequestID, res.RequestID)
	}
	if want := "arn:aws:lambda:eu-west-1:000000000000:function:echo"; got.FunctionArn != want || fn.ARN() != want {
		t.Errorf("function ARN = %q (fn.ARN %q), want %q", got.FunctionArn, fn.ARN(), want)
	}
	// The deadline is stamped when the event is handed over: within the
	// Invoke call, Timeout ahead, in the future for the handler.
	lo, hi := before.Add(2*time.Second).UnixMilli(), after.Add(2*time.Second).UnixMilli()
	if got.DeadlineMs < lo || got.DeadlineMs > hi {
		t.Errorf("deadline %d ms not in [%d, %d]", got.DeadlineMs, lo, hi)
	}
	m := traceRe.FindStringSubmatch(got.TraceID)
	if m == nil {
		t.Fatalf("trace id %q is not an X-Ray trace header", got.TraceID)
	}
	if sec, _ := strconv.ParseInt(m[1], 16, 64); sec < before.Unix()-1 || sec > after.Unix()+1 {
		t.Errorf("trace id epoch %d not within the call (%d..%d)", sec, before.Unix(), after.Unix())
	}
	if got.Pid != res.PID || res.PID != fn.PID() || res.PID == 0 {
		t.Errorf("pid: handler %d, result %d, fn.PID %d", got.Pid, res.PID, fn.PID())
	}
	if res.MaxRSSKiB <= 0 {
		t.Errorf("MaxRSSKiB = %d, want the process's peak RSS", res.MaxRSSKiB)
	}
	if !res.Cold || res.InitDuration <= 0 || res.Duration < res.InitDuration {
		t.Errorf("first invocation: Cold=%v InitDuration=%v Duration=%v", res.Cold, res.InitDuration, res.Duration)
	}

	// The complete environment: Lambda's variables, the overrides, PATH,
	// and nothing else from this process.
	if !logStreamRe.MatchString(got.Env["AWS_LAMBDA_LOG_STREAM_NAME"]) {
		t.Errorf("log stream name %q", got.Env["AWS_LAMBDA_LOG_STREAM_NAME"])
	}
	if api := got.Env["AWS_LAMBDA_RUNTIME_API"]; api != fn.RuntimeAPI() || !strings.HasPrefix(api, "127.0.0.1:") {
		t.Errorf("AWS_LAMBDA_RUNTIME_API = %q, fn.RuntimeAPI() = %q", api, fn.RuntimeAPI())
	}
	wantEnv := map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME":        "echo",
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/echo",
		"AWS_LAMBDA_LOG_FORMAT":           "Text",
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"AWS_REGION":                      "eu-west-1",
		"AWS_DEFAULT_REGION":              "eu-west-1",
		"AWS_EXECUTION_ENV":               "AWS_Lambda_provided.al2023",
		"LAMBDA_TASK_ROOT":                filepath.Dir(lambdaFnBin),
		"LAMBDA_RUNTIME_DIR":              filepath.Dir(lambdaFnBin),
		"_HANDLER":                        "bootstrap",
		"TZ":                              ":UTC",
		"LANG":                            "en_US.UTF-8",
		"PATH":                            os.Getenv("PATH"),
		"FOO":                             "bar=baz",
		"AWS_LAMBDA_RUNTIME_API":          fn.RuntimeAPI(),
		"AWS_LAMBDA_LOG_STREAM_NAME":      got.Env["AWS_LAMBDA_LOG_STREAM_NAME"],
		"_X_AMZN_TRACE_ID":                got.TraceID, // set by aws-lambda-go from the header
	}
	if !reflect.DeepEqual(got.Env, wantEnv) {
		t.Errorf("environment:\n got %v\nwant %v", got.Env, wantEnv)
	}
}

func TestColdThenWarm(t *testing.T) {
	t.Parallel()
	fn, _ := newFunction(t, Config{Bootstrap: lambdaFnBin})
	var results []Result
	for range 3 {
		res := invoke(t, fn, echoEvent)
		if got := decodeEcho(t, res); got.Pid != res.PID {
			t.Fatalf("handler pid %d, result pid %d", got.Pid, res.PID)
		}
		results = append(results, res)
	}
	cold := results[0]
	if !cold.Cold || cold.InitDuration <= 0 || cold.Duration < cold.InitDuration {
		t.Errorf("first: Cold=%v InitDuration=%v Duration=%v", cold.Cold, cold.InitDuration, cold.Duration)
	}
	seen := map[string]bool{cold.RequestID: true}
	for i, warm := range results[1:] {
		if warm.Cold || warm.InitDuration != 0 || warm.Duration <= 0 || warm.PID != cold.PID {
			t.Errorf("invocation %d: Cold=%v InitDuration=%v Duration=%v PID=%d (cold PID %d)",
				i+2, warm.Cold, warm.InitDuration, warm.Duration, warm.PID, cold.PID)
		}
		if seen[warm.RequestID] {
			t.Errorf("request id %s reused", warm.RequestID)
		}
		seen[warm.RequestID] = true
	}
}

func TestFunctionError(t *testing.T) {
	t.Parallel()
	fn, _ := newFunction(t, Config{Bootstrap: lambdaFnBin})
	res := invoke(t, fn, `{"action":"fail","message":"bad input: no records"}`)
	wantError(t, res, "BadInputError", "bad input: no records",
		`{"errorMessage":"bad input: no records","errorType":"BadInputError"}`)
	if res.InitError || !res.Cold {
		t.Errorf("InitError=%v Cold=%v", res.InitError, res.Cold)
	}
	var fe *FunctionError
	if err := res.Err(); !errors.As(err, &fe) || fe.RequestID != res.RequestID ||
		err.Error() != "lambda invocation failed: BadInputError: bad input: no records" {
		t.Errorf("Err() = %v", err)
	}
	// A reported error leaves the environment warm.
	next := invoke(t, fn, echoEvent)
	wantSuccess(t, next)
	if next.Cold || next.PID != res.PID {
		t.Errorf("after a function error: Cold=%v PID=%d (was %d)", next.Cold, next.PID, res.PID)
	}
}

func TestInitError(t *testing.T) {
	t.Parallel()
	fn, _ := newFunction(t, Config{Bootstrap: rawFnBin, Env: []string{"RAW_MODE=initerror"}})
	var pids []int
	for range 2 { // every invocation retries init in a new process
		res := invoke(t, fn, `{}`)
		wantError(t, res, "Runtime.TestInitError", "config: LAKE_BUCKET is required but not set",
			`{"errorMessage":"config: LAKE_BUCKET is required but not set","errorType":"ConfigError","stackTrace":[]}`)
		if !res.InitError || !res.Cold || res.InitDuration != 0 {
			t.Errorf("InitError=%v Cold=%v InitDuration=%v", res.InitError, res.Cold, res.InitDuration)
		}
		if err := res.Err(); err == nil || err.Error() != "lambda init failed: Runtime.TestInitError: config: LAKE_BUCKET is required but not set" {
			t.Errorf("Err() = %v", err)
		}
		if fn.PID() != 0 {
			t.Errorf("a process is still registered after an init error")
		}
		waitGone(t, res.PID)
		pids = append(pids, res.PID)
	}
	if pids[0] == pids[1] {
		t.Errorf("both invocations used pid %d", pids[0])
	}
}

func TestInitCrash(t *testing.T) {
	t.Parallel()
	fn, _ := newFunction(t, Config{Bootstrap: rawFnBin, Env: []string{"RAW_MODE=initcrash"}})
	res := invoke(t, fn, `{}`)
	msg := "RequestId: " + res.RequestID + " Error: Runtime exited with error: exit status 3"
	wantError(t, res, ErrorTypeExit, msg, platformDoc(ErrorTypeExit, msg))
	if !res.InitError || !res.Cold {
		t.Errorf("InitError=%v Cold=%v", res.InitError, res.Cold)
	}
}

func TestInitTimeout(t *testing.T) {
	t.Parallel()
	fn, _ := newFunction(t, Config{Bootstrap: rawFnBin, InitTimeout: 300 * time.Millisecond, Env: []string{"RAW_MODE=inithang"}})
	res := invoke(t, fn, `{}`)
	msg := "RequestId: " + res.RequestID + " Error: Init timed out after 0.30 seconds"
	wantError(t, res, ErrorTypeTimeout, msg, platformDoc(ErrorTypeTimeout, msg))
	if !res.InitError || res.Duration < 300*time.Millisecond {
		t.Errorf("InitError=%v Duration=%v", res.InitError, res.Duration)
	}
	waitGone(t, res.PID)
}

func TestTimeoutKillsAndRestarts(t *testing.T) {
	t.Parallel()
	fn, _ := newFunction(t, Config{Bootstrap: lambdaFnBin, Timeout: 500 * time.Millisecond})
	first := invoke(t, fn, echoEvent)
	wantSuccess(t, first)

	start := time.Now()
	res := invoke(t, fn, `{"action":"sleep","sleepMs":60000}`)
	elapsed := time.Since(start)
	msg := "RequestId: " + res.RequestID + " Error: Task timed out after 0.50 seconds"
	wantError(t, res, ErrorTypeTimeout, msg, platformDoc(ErrorTypeTimeout, msg))
	if res.Cold || res.InitError || res.PID != first.PID {
		t.Errorf("Cold=%v InitError=%v PID=%d (want warm on %d)", res.Cold, res.InitError, res.PID, first.PID)
	}
	// Without the kill it would take the minute the function sleeps; the
	// bound leaves a loaded machine time to spare.
	if res.Duration < 500*time.Millisecond || elapsed > 15*time.Second {
		t.Errorf("Duration=%v, Invoke took %v; want about 500ms", res.Duration, elapsed)
	}
	waitGone(t, first.PID)

	again := invoke(t, fn, echoEvent)
	wantSuccess(t, again)
	if !again.Cold || again.PID == first.PID {
		t.Errorf("after a timeout: Cold=%v PID=%d (old %d); want a new cold process", again.Cold, again.PID, first.PID)
	}
}

func TestExitDuringInvocation(t *testing.T) {
	t.Parallel()
	fn, _ := newFunction(t, Config{Bootstrap: lambdaFnBin})
	first := invoke(t, fn, echoEvent)
	res := invoke(t, fn, `{"action":"exit"}`)
	msg := "RequestId: " + res.RequestID + " Error: Runtime exited with error: exit status 2"
	wantError(t, res, ErrorTypeExit, msg, platformDoc(ErrorTypeExit, msg))
	if res.Cold || res.InitError || res.PID != first.PID {
		t.Errorf("Cold=%v InitError=%v PID=%d (want %d)", res.Cold, res.InitError, res.PID, first.PID)
	}
	waitGone(t, first.PID)
	again := invoke(t, fn, echoEvent)
	wantSuccess(t, again)
	if !again.Cold || again.PID == first.PID {
		t.Errorf("after a crash: Cold=%v PID=%d", again.Cold, again.PID)
	}
}

func TestPanicReportedThenRestarted(t *testing.T) {
	t.Parallel()
	fn, out := newFunction(t, Config{Bootstrap: lambdaFnBin})
	res := invoke(t, fn, `{"action":"panic","message":"boom"}`)
	// aws-lambda-go reports a panic through /error (type: the panic value's
	// Go type) with a stack trace, then exits the process.
	if !res.FunctionError || res.ErrorType != "string" || res.ErrorMessage != "boom" {
		t.Fatalf("got %v %q: %q", res.FunctionError, res.ErrorType, res.ErrorMessage)
	}
	var doc struct {
		StackTrace []struct{ Path, Label string } `json:"stackTrace"`
	}
	if err := json.Unmarshal(res.Payload, &doc); err != nil || len(doc.StackTrace) == 0 {
		t.Errorf("payload %s: want a stackTrace (err %v)", res.Payload, err)
	}
	waitGone(t, res.PID)

	again := invoke(t, fn, echoEvent)
	wantSuccess(t, again)
	if !again.Cold || again.PID == res.PID {
		t.Errorf("after a panic: Cold=%v PID=%d (old %d)", again.Cold, again.PID, res.PID)
	}
	if want := "calling the handler function resulted in a panic"; !strings.Contains(out.String(), want) {
		t.Errorf("output lacks %q", want)
	}
}

// A warm process that dies right after answering must not swallow the next
// event: it is re-sent to a new process.
func TestDeadWarmProcessIsReplaced(t *testing.T) {
	t.Parallel()
	fn, _ := newFunction(t, Config{Bootstrap: lambdaFnBin})
	for range 3 {
		res := invoke(t, fn, `{"action":"panic","message":"again"}`)
		if res.ErrorType != "string" || !res.Cold {
			t.Fatalf("got %q Cold=%v, want a cold reported panic every time", res.ErrorType, res.Cold)
		}
	}
}

func TestResponseSizeLimit(t *testing.T) {
	t.Parallel()
	fn, out := newFunction(t, Config{Bootstrap: lambdaFnBin, Timeout: 20 * time.Second})
	// The handler returns a string, JSON-encoded as size+2 bytes.
	atLimit := invoke(t, fn, fmt.Sprintf(`{"action":"big","size":%d}`, MaxResponseSize-2))
	wantSuccess(t, atLimit)
	if len(atLimit.Payload) != MaxResponseSize {
		t.Errorf("response at the limit: %d bytes, want %d", len(atLimit.Payload), MaxResponseSize)
	}

	res := invoke(t, fn, fmt.Sprintf(`{"action":"big","size":%d}`, MaxResponseSize-1))
	msg := "Response payload size (6291457 bytes) exceeded maximum allowed payload size (6291456 bytes)."
	wantError(t, res, ErrorTypeResponseTooLarge, msg, platformDoc(ErrorTypeResponseTooLarge, msg))
	if res.Cold || res.PID != atLimit.PID {
		t.Errorf("Cold=%v PID=%d, want warm on %d", res.Cold, res.PID, atLimit.PID)
	}

	// aws-lambda-go treats the 413 as fatal and exits; the next event gets
	// a fresh process.
	again := invoke(t, fn, echoEvent)
	wantSuccess(t, again)
	if !again.Cold {
		t.Errorf("after 413 the process should have been replaced")
	}
	if want := "got unexpected status code: 413"; !strings.Contains(out.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, out.String())
	}
}

func TestChunkedResponseAndInvocationHeaders(t *testing.T) {
	t.Parallel()
	fn, _ := newFunction(t, Config{Bootstrap: rawFnBin, Name: "raw"})
	opts := InvokeOptions{
		ClientContext:   `{"client":{"installation_id":"i-1"},"custom":{"k":"v"},"env":{}}`,
		CognitoIdentity: `{"cognitoIdentityId":"id-1","cognitoIdentityPoolId":"pool-1"}`,
	}
	before := time.Now()
	res, err := fn.InvokeWith(context.Background(), []byte(`{"action":"headers"}`), opts)
	after := time.Now()
	if err != nil {
		t.Fatal(err)
	}
	wantSuccess(t, res)
	var got struct {
		Headers map[string]string
		Pad     string
	}
	if err := json.Unmarshal(res.Payload, &got); err != nil {
		t.Fatalf("decoding %d-byte chunked response: %v", len(res.Payload), err)
	}
	if len(got.Pad) != 100000 {
		t.Errorf("pad: %d bytes, want 100000", len(got.Pad))
	}
	deadline, err := strconv.ParseInt(got.Headers["Lambda-Runtime-Deadline-Ms"], 10, 64)
	if err != nil || deadline < before.Add(DefaultTimeout).UnixMilli() || deadline > after.Add(DefaultTimeout).UnixMilli() {
		t.Errorf("deadline header %q not %v after the call", got.Headers["Lambda-Runtime-Deadline-Ms"], DefaultTimeout)
	}
	if !traceRe.MatchString(got.Headers["Lambda-Runtime-Trace-Id"]) {
		t.Errorf("trace header %q", got.Headers["Lambda-Runtime-Trace-Id"])
	}
	want := map[string]string{
		"Lambda-Runtime-Aws-Request-Id":       res.RequestID,
		"Lambda-Runtime-Deadline-Ms":          got.Headers["Lambda-Runtime-Deadline-Ms"],
		"Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:000000000000:function:raw",
		"Lambda-Runtime-Trace-Id":             got.Headers["Lambda-Runtime-Trace-Id"],
		"Lambda-Runtime-Client-Context":       opts.ClientContext,
		"Lambda-Runtime-Cognito-Identity":     opts.CognitoIdentity,
	}
	if !reflect.DeepEqual(got.Headers, want) {
		t.Errorf("headers:\n got %v\nwant %v", got.Headers, want)
	}

	// Without client context and identity those headers are absent; a given
	// trace id is passed through.
	trace := "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
	res, err = fn.InvokeWith(context.Background(), []byte(`{"action":"headers"}`), InvokeOptions{TraceID: trace})
	if err != nil {
		t.Fatal(err)
	}
	got.Headers = nil
	if err := json.Unmarshal(res.Payload, &got); err != nil {
		t.Fatal(err)
	}
	want = map[string]string{
		"Lambda-Runtime-Aws-Request-Id":       res.RequestID,
		"Lambda-Runtime-Deadline-Ms":          got.Headers["Lambda-Runtime-Deadline-Ms"],
		"Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:000000000000:function:raw",
		"Lambda-Runtime-Trace-Id":             trace,
	}
	if !reflect.DeepEqual(got.Headers, want) {
		t.Errorf("headers:\n got %v\nwant %v", got.Headers, want)
	}
}

func TestProtocolErrorsFromRuntime(t *testing.T) {
	t.Parallel()
	fn, _ := newFunction(t, Config{Bootstrap: rawFnBin})
	res := invoke(t, fn, `{"action":"probe"}`)
	wantSuccess(t, res)
	var got map[string]struct {
		Status int
		Body   string
	}
	if err := json.Unmarshal(res.Payload, &got); err != nil {
		t.Fatal(err)
	}
	invalidID := `{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}`
	for name, want := range map[string]struct {
		status int
		body   string // JSON to compare, "" to skip
	}{
		"bogusResponse":      {400, invalidID},
		"bogusError":         {400, invalidID},
		"getResponse":        {405, ""},
		"postNext":           {405, ""},
		"nextWhileBusy":      {403, `{"errorMessage":"next invocation requested before invocation ` + res.RequestID + ` was answered","errorType":"InvalidStateTransition"}`},
		"initErrorAfterInit": {403, `{"errorMessage":"init error reported after init completed","errorType":"InvalidStateTransition"}`},
		"unknownPath":        {404, ""},
	} {
		g := got[name]
		if g.Status != want.status {
			t.Errorf("%s: status %d, want %d (body %s)", name, g.Status, want.status, g.Body)
			continue
		}
		if want.body != "" {
			if eq, err := EqualJSON([]byte(g.Body), []byte(want.body)); err != nil || !eq {
				t.Errorf("%s: body %s, want %s", name, g.Body, want.body)
			}
		}
	}

	// Answering the previous, already answered, request id is refused.
	stale := invoke(t, fn, `{"action":"stale"}`)
	wantJSON(t, stale.Payload, `{"status":400,"body":`+strconv.Quote(invalidID)+`}`)
	if stale.Cold || stale.PID != res.PID {
		t.Errorf("the runtime should have survived its probes")
	}
}

func TestErrorReporting(t *testing.T) {
	t.Parallel()
	fn, _ := newFunction(t, Config{Bootstrap: rawFnBin})
	for _, tc := range []struct {
		action, typ, msg, payload string
	}{
		// The Lambda-Runtime-Function-Error-Type header wins over the body;
		// the body is passed on verbatim.
		{"error", "Custom.HeaderType", "from header",
			`{"errorMessage":"from header","errorType":"BodyType","stackTrace":["frame 1","frame 2"]}`},
		{"errornotype", "BodyType", "typed by body", `{"errorMessage":"typed by body","errorType":"BodyType"}`},
		// A body that is not JSON is wrapped into an error document.
		{"errortext", ErrorTypeUnknown, "plain text failure", platformDoc(ErrorTypeUnknown, "plain text failure")},
		// An error sent in the trailers of a chunked response.
		{"trailer", "Runtime.StreamError", "stream broke", `{"errorMessage":"stream broke","errorType":"StreamError"}`},
	} {
		res := invoke(t, fn, `{"action":"`+tc.action+`"}`)
		t.Run(tc.action, func(t *testing.T) { wantError(t, res, tc.typ, tc.msg, tc.payload) })
	}
	if res := invoke(t, fn, `{"action":"headers"}`); res.Cold || res.FunctionError {
		t.Errorf("after reported errors: Cold=%v error %q", res.Cold, res.ErrorType)
	}
}

func TestTimeoutKillsProcessGroup(t *testing.T) {
	t.Parallel()
	fn, _ := newFunction(t, Config{Bootstrap: rawFnBin, Timeout: 500 * time.Millisecond})
	res := invoke(t, fn, `{"action":"spawn"}`)
	wantSuccess(t, res)
	var spawned struct{ ChildPid int }
	if err := json.Unmarshal(res.Payload, &spawned); err != nil || spawned.ChildPid == 0 {
		t.Fatalf("spawn reply %s: %v", res.Payload, err)
	}
	if processGone(spawned.ChildPid) {
		t.Fatalf("child %d not running", spawned.ChildPid)
	}
	hang := invoke(t, fn, `{"action":"hang"}`)
	if hang.ErrorType != ErrorTypeTimeout {
		t.Fatalf("got %q, want %q", hang.ErrorType, ErrorTypeTimeout)
	}
	waitGone(t, res.PID)
	waitGone(t, spawned.ChildPid)
}

func TestCloseKillsProcessGroup(t *testing.T) {
	t.Parallel()
	fn, _ := newFunction(t, Config{Bootstrap: rawFnBin})
	res := invoke(t, fn, `{"action":"spawn"}`)
	var spawned struct{ ChildPid int }
	if err := json.Unmarshal(res.Payload, &spawned); err != nil || spawned.ChildPid == 0 {
		t.Fatalf("spawn reply %s: %v", res.Payload, err)
	}
	if err := fn.Close(); err != nil {
		t.Fatal(err)
	}
	if !processGone(res.PID) { // Close returns only once the process is reaped
		t.Errorf("runtime %d still running after Close", res.PID)
	}
	waitGone(t, spawned.ChildPid)
	if fn.PID() != 0 || fn.RuntimeAPI() != "" {
		t.Errorf("after Close: PID %d, RuntimeAPI %q", fn.PID(), fn.RuntimeAPI())
	}
	if err := fn.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := fn.Invoke(context.Background(), []byte(`{}`)); !errors.Is(err, ErrClosed) {
		t.Errorf("Invoke after Close: %v, want ErrClosed", err)
	}
}

func TestCloseDuringInvoke(t *testing.T) {
	t.Parallel()
	fn, _ := newFunction(t, Config{Bootstrap: lambdaFnBin, Timeout: 10 * time.Second})
	first := invoke(t, fn, echoEvent)
	done := make(chan error, 1)
	go func() {
		_, err := fn.Invoke(context.Background(), []byte(`{"action":"sleep","sleepMs":5000}`))
		done <- err
	}()
	time.Sleep(200 * time.Millisecond)
	if err := fn.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("Invoke during Close: %v, want ErrClosed", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Invoke did not return after Close")
	}
	waitGone(t, first.PID)
}

func TestContextCancel(t *testing.T) {
	t.Parallel()
	fn, _ := newFunction(t, Config{Bootstrap: lambdaFnBin, Timeout: 10 * time.Second})
	first := invoke(t, fn, echoEvent)

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := fn.Invoke(ctx, []byte(`{"action":"sleep","sleepMs":60000}`))
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 15*time.Second {
		t.Fatalf("Invoke = %v after %v, want DeadlineExceeded soon after 300ms", err, time.Since(start))
	}
	waitGone(t, first.PID) // the abandoned invocation's process is killed

	if _, err := fn.Invoke(ctx, []byte(echoEvent)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Invoke with a done context: %v", err)
	}
	if fn.PID() != 0 {
		t.Errorf("a done context must not start a process")
	}
	again := invoke(t, fn, echoEvent)
	wantSuccess(t, again)
	if !again.Cold {
		t.Errorf("after cancellation the next invocation should be cold")
	}
}

func TestNewValidatesAndDefaults(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fnDir := filepath.Join(dir, "transform")
	if err := os.Mkdir(fnDir, 0o755); err != nil {
		t.Fatal(err)
	}
	bootstrap := filepath.Join(fnDir, "bootstrap")
	if err := os.Symlink(lambdaFnBin, bootstrap); err != nil {
		t.Fatal(err)
	}

	fn, err := New(Config{Bootstrap: bootstrap})
	if err != nil {
		t.Fatal(err)
	}
	defer fn.Close()
	if fn.Name() != "transform" || fn.Timeout() != DefaultTimeout ||
		fn.ARN() != "arn:aws:lambda:us-east-1:000000000000:function:transform" {
		t.Errorf("defaults: name %q timeout %v arn %q", fn.Name(), fn.Timeout(), fn.ARN())
	}
	if fn.PID() != 0 || fn.RuntimeAPI() != "" {
		t.Errorf("New must not start the process")
	}
	for k, want := range map[string]string{
		"LAMBDA_TASK_ROOT":                fnDir,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
		"AWS_LAMBDA_LOG_FORMAT":           "JSON",
		"AWS_REGION":                      "us-east-1",
	} {
		if got := lookupEnv(fn.env, k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}

	// The ARN follows an AWS_REGION given in Env.
	fn2, err := New(Config{Bootstrap: bootstrap, Env: []string{"AWS_REGION=ap-south-1"}, AccountID: "123456789012"})
	if err != nil {
		t.Fatal(err)
	}
	defer fn2.Close()
	if want := "arn:aws:lambda:ap-south-1:123456789012:function:transform"; fn2.ARN() != want {
		t.Errorf("ARN %q, want %q", fn2.ARN(), want)
	}

	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no bootstrap", Config{}, "lambdaruntime: Config.Bootstrap is required"},
		{"directory", Config{Bootstrap: fnDir}, "lambdaruntime: bootstrap " + fnDir + " is a directory"},
		{"bad env", Config{Bootstrap: bootstrap, Env: []string{"NOVALUE"}}, `lambdaruntime: Config.Env entry "NOVALUE" is not KEY=VALUE`},
		{"runtime api", Config{Bootstrap: bootstrap, Env: []string{"AWS_LAMBDA_RUNTIME_API=1.2.3.4:9"}},
			"lambdaruntime: Config.Env must not set AWS_LAMBDA_RUNTIME_API; the emulator sets it"},
		{"negative timeout", Config{Bootstrap: bootstrap, Timeout: -time.Second},
			"lambdaruntime: Timeout, InitTimeout and MemoryMB must not be negative"},
	} {
		if _, err := New(tc.cfg); err == nil || err.Error() != tc.want {
			t.Errorf("%s: New error %v, want %q", tc.name, err, tc.want)
		}
	}
	if _, err := New(Config{Bootstrap: filepath.Join(dir, "missing")}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing bootstrap: %v, want fs.ErrNotExist", err)
	}

	// A file that cannot be executed is an emulator error, not a Result.
	notExec := filepath.Join(dir, "not-executable")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fn3, err := New(Config{Bootstrap: notExec})
	if err != nil {
		t.Fatal(err)
	}
	defer fn3.Close()
	if _, err := fn3.Invoke(context.Background(), []byte(`{}`)); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("Invoke of a non-executable file: %v, want fs.ErrPermission", err)
	}
}
