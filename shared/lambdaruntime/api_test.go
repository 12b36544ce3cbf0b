package lambdaruntime

import (
	"bufio"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// These tests drive the Runtime API handlers directly, without a runtime
// process, to pin down status codes and the wire format.

func serveAPI(t *testing.T) (*runtimeAPI, *httptest.Server) {
	t.Helper()
	api := newRuntimeAPI()
	srv := httptest.NewServer(api.handler())
	t.Cleanup(func() {
		api.close()
		srv.Close()
	})
	return api, srv
}

// hand queues inv and returns once a /next call took it.
func hand(t *testing.T, api *runtimeAPI, srv *httptest.Server, inv *invocation) *http.Response {
	t.Helper()
	go func() { api.next <- inv }()
	resp, err := http.Get(srv.URL + "/2018-06-01/runtime/invocation/next")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func call(t *testing.T, method, url, body string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// outcomeOf waits for inv to be resolved; the wait also orders the read of
// inv.out after the handler's write for the race detector.
func outcomeOf(t *testing.T, inv *invocation) outcome {
	t.Helper()
	select {
	case <-inv.done:
		return inv.out
	case <-time.After(2 * time.Second):
		t.Fatalf("invocation %s not resolved", inv.id)
		return outcome{}
	}
}

const invalidRequestID = `{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}`

func TestAPIRouting(t *testing.T) {
	t.Parallel()
	_, srv := serveAPI(t)
	base := srv.URL + "/2018-06-01/runtime"
	for _, tc := range []struct {
		method, path string
		status       int
		body         string // exact, "" to skip
		allow        string // exact Allow header, "" to skip
	}{
		{"POST", "/invocation/next", 405, "", "GET, HEAD"},
		{"GET", "/invocation/abc/response", 405, "", "POST"},
		{"PUT", "/invocation/abc/error", 405, "", "POST"},
		{"GET", "/init/error", 405, "", "POST"},
		{"GET", "/nothing", 404, "", ""},
		{"POST", "/invocation/abc/response", 400, invalidRequestID, ""},
		{"POST", "/invocation/abc/error", 400, invalidRequestID, ""},
	} {
		status, body, h := call(t, tc.method, base+tc.path, "{}")
		if status != tc.status || (tc.body != "" && body != tc.body) || (tc.allow != "" && h.Get("Allow") != tc.allow) {
			t.Errorf("%s %s: %d %q Allow=%q, want %d %q Allow=%q",
				tc.method, tc.path, status, body, h.Get("Allow"), tc.status, tc.body, tc.allow)
		}
	}
	if status, _, _ := call(t, "GET", srv.URL+"/2017-01-01/runtime/invocation/next", ""); status != 404 {
		t.Errorf("other API version: %d, want 404", status)
	}
}

func TestAPIInvocationCycle(t *testing.T) {
	t.Parallel()
	api, srv := serveAPI(t)
	base := srv.URL + "/2018-06-01/runtime"
	inv := newInvocation("req-1", []byte(`{"a":1}`))
	inv.deadline = time.UnixMilli(1700000000123)
	inv.arn = "arn:aws:lambda:us-east-1:000000000000:function:f"
	inv.traceID = "Root=1-655f6f00-0123456789abcdef01234567;Parent=0123456789abcdef;Sampled=0"

	resp := hand(t, api, srv, inv)
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != `{"a":1}` {
		t.Fatalf("next: %d %s", resp.StatusCode, body)
	}
	for k, want := range map[string]string{
		"Lambda-Runtime-Aws-Request-Id":       "req-1",
		"Lambda-Runtime-Deadline-Ms":          "1700000000123",
		"Lambda-Runtime-Invoked-Function-Arn": inv.arn,
		"Lambda-Runtime-Trace-Id":             inv.traceID,
		"Lambda-Runtime-Client-Context":       "",
		"Lambda-Runtime-Cognito-Identity":     "",
	} {
		if v, ok := resp.Header[k]; (want == "" && ok) || (want != "" && (len(v) != 1 || v[0] != want)) {
			t.Errorf("header %s = %q, want %q", k, v, want)
		}
	}

	// While the event is unanswered: no second /next, no init error.
	status, body2, _ := call(t, "GET", base+"/invocation/next", "")
	if want := `{"errorMessage":"next invocation requested before invocation req-1 was answered","errorType":"InvalidStateTransition"}`; status != 403 || body2 != want {
		t.Errorf("next while busy: %d %s", status, body2)
	}
	status, body2, _ = call(t, "POST", base+"/init/error", `{}`)
	if status != 403 || body2 != `{"errorMessage":"init error reported after init completed","errorType":"InvalidStateTransition"}` {
		t.Errorf("init error after init: %d %s", status, body2)
	}

	status, body2, _ = call(t, "POST", base+"/invocation/req-1/response", "ok")
	if status != 202 || body2 != `{"status":"OK"}` {
		t.Errorf("response: %d %s", status, body2)
	}
	if out := outcomeOf(t, inv); string(out.payload) != "ok" || out.errType != "" {
		t.Errorf("outcome %+v", out)
	}
	// Answered: a second answer of either kind is an invalid request id.
	for _, path := range []string{"/invocation/req-1/response", "/invocation/req-1/error"} {
		if status, body2, _ := call(t, "POST", base+path, "again"); status != 400 || body2 != invalidRequestID {
			t.Errorf("%s after the answer: %d %s", path, status, body2)
		}
	}
}

func TestAPIInitError(t *testing.T) {
	t.Parallel()
	api, srv := serveAPI(t)
	req, _ := http.NewRequest("POST", srv.URL+"/2018-06-01/runtime/init/error",
		strings.NewReader(`{"errorMessage":"no config","errorType":"ConfigError"}`))
	req.Header.Set("Lambda-Runtime-Function-Error-Type", "Runtime.ConfigError")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 202 {
		t.Fatalf("init error: %d", resp.StatusCode)
	}
	select {
	case <-api.initFailed: // closed before the 202 was written
	default:
		t.Fatal("initFailed not signalled")
	}
	if api.initErr.errType != "Runtime.ConfigError" || api.initErr.errMsg != "no config" {
		t.Errorf("init error outcome %+v", api.initErr)
	}
}

func TestAPIResponseTooLarge(t *testing.T) {
	t.Parallel()
	api, srv := serveAPI(t)
	api.maxResponse = 16
	base := srv.URL + "/2018-06-01/runtime/invocation/"

	exact := newInvocation("exact", nil)
	hand(t, api, srv, exact)
	if status, _, _ := call(t, "POST", base+"exact/response", strings.Repeat("x", 16)); status != 202 {
		t.Errorf("16 bytes at a 16-byte limit: %d, want 202", status)
	}

	tooBig := `{"errorMessage":"Exceeded maximum allowed payload size (16 bytes).","errorType":"RequestEntityTooLarge"}`
	for _, chunked := range []bool{false, true} {
		inv := newInvocation("big", nil)
		hand(t, api, srv, inv)
		var body io.Reader = strings.NewReader(strings.Repeat("x", 40))
		if chunked {
			body = io.MultiReader(body) // hides the length: sent chunked
		}
		req, _ := http.NewRequest("POST", base+"big/response", body)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 413 || string(b) != tooBig {
			t.Errorf("chunked=%v: %d %s", chunked, resp.StatusCode, b)
		}
		want := "Response payload size (40 bytes) exceeded maximum allowed payload size (16 bytes)."
		if out := outcomeOf(t, inv); out.errType != ErrorTypeResponseTooLarge || out.errMsg != want {
			t.Errorf("chunked=%v: outcome %+v", chunked, out)
		}
	}
}

// TestAPIChunkedWire writes chunked requests byte by byte, with and without
// trailers, to check the raw HTTP/1.1 framing is understood.
func TestAPIChunkedWire(t *testing.T) {
	t.Parallel()
	api, srv := serveAPI(t)
	errBody := base64.StdEncoding.EncodeToString([]byte(`{"errorMessage":"stream broke","errorType":"StreamError"}`))
	for _, tc := range []struct {
		name, trailer     string
		payload, typ, msg string
	}{
		{"plain", "", `{"a":42}`, "", ""},
		{"trailer", "Lambda-Runtime-Function-Error-Type: Runtime.StreamError\r\nLambda-Runtime-Function-Error-Body: " + errBody + "\r\n",
			`{"errorMessage":"stream broke","errorType":"StreamError"}`, "Runtime.StreamError", "stream broke"},
	} {
		inv := newInvocation("req-"+tc.name, nil)
		hand(t, api, srv, inv)
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		req := "POST /2018-06-01/runtime/invocation/req-" + tc.name + "/response HTTP/1.1\r\n" +
			"Host: runtime\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n"
		if tc.trailer != "" {
			req += "Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n"
		}
		req += "\r\n5\r\n{\"a\":\r\n2\r\n42\r\n1\r\n}\r\n0\r\n" + tc.trailer + "\r\n"
		if _, err := io.WriteString(conn, req); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		conn.Close()
		if resp.StatusCode != 202 {
			t.Errorf("%s: status %d", tc.name, resp.StatusCode)
		}
		if out := outcomeOf(t, inv); string(out.payload) != tc.payload || out.errType != tc.typ || out.errMsg != tc.msg {
			t.Errorf("%s: outcome %q %q %q", tc.name, out.payload, out.errType, out.errMsg)
		}
	}
}

func TestAPIShutdownReleasesNext(t *testing.T) {
	t.Parallel()
	api, srv := serveAPI(t)
	done := make(chan int, 1)
	go func() {
		resp, err := http.Get(srv.URL + "/2018-06-01/runtime/invocation/next")
		if err != nil {
			done <- -1
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	<-api.ready // the /next call arrived and is blocked
	api.close()
	select {
	case status := <-done:
		if status != 500 {
			t.Errorf("blocked /next at shutdown: %d, want 500", status)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("/next still blocked after close")
	}
}
