// Command rawfn is a test bootstrap that speaks the Runtime API with the
// standard library only, so tests control the exact requests: chunked
// bodies, trailers, error headers, misuse of the API. RAW_MODE selects an
// init behaviour; the event's "action" selects what an invocation does.
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"
)

var (
	base   = "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime"
	client = &http.Client{Transport: &http.Transport{Proxy: nil}}
)

func main() {
	switch os.Getenv("RAW_MODE") {
	case "initerror":
		status, _ := post(base+"/init/error", "application/json",
			`{"errorMessage":"config: LAKE_BUCKET is required but not set","errorType":"ConfigError","stackTrace":[]}`,
			map[string]string{"Lambda-Runtime-Function-Error-Type": "Runtime.TestInitError"})
		fmt.Fprintf(os.Stderr, "rawfn: init error posted: %d\n", status)
		os.Exit(1)
	case "initcrash":
		os.Exit(3)
	case "inithang", "sleeper":
		time.Sleep(time.Hour)
		return
	}

	lastID := ""
	for {
		resp, err := client.Get(base + "/invocation/next")
		if err != nil {
			fmt.Fprintf(os.Stderr, "rawfn: next: %v\n", err)
			os.Exit(1)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			fmt.Fprintf(os.Stderr, "rawfn: next: status %d: %s\n", resp.StatusCode, body)
			os.Exit(1)
		}
		id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
		var ev struct{ Action string }
		_ = json.Unmarshal(body, &ev)
		invoke(id, lastID, ev.Action, resp.Header)
		lastID = id
	}
}

func invoke(id, lastID, action string, h http.Header) {
	respURL := base + "/invocation/" + id + "/response"
	errURL := base + "/invocation/" + id + "/error"
	switch action {
	case "headers":
		got := map[string]any{}
		for k := range h {
			if strings.HasPrefix(k, "Lambda-Runtime-") {
				got[k] = h.Get(k)
			}
		}
		b, _ := json.Marshal(map[string]any{"headers": got, "pad": strings.Repeat("x", 100000)})
		// Three pieces with pauses: the body goes out chunked, as a
		// streaming runtime would send it.
		third := len(b) / 3
		postChunked(respURL, [][]byte{b[:third], b[third : 2*third], b[2*third:]}, nil)
	case "probe":
		out := map[string]probe{}
		out["bogusResponse"] = do("POST", base+"/invocation/not-a-request-id/response", "{}")
		out["bogusError"] = do("POST", base+"/invocation/not-a-request-id/error", "{}")
		out["getResponse"] = do("GET", respURL, "")
		out["postNext"] = do("POST", base+"/invocation/next", "")
		out["nextWhileBusy"] = do("GET", base+"/invocation/next", "")
		out["initErrorAfterInit"] = do("POST", base+"/init/error", "{}")
		out["unknownPath"] = do("GET", base+"/nothing", "")
		b, _ := json.Marshal(out)
		postChunked(respURL, [][]byte{b}, nil)
	case "stale":
		b, _ := json.Marshal(do("POST", base+"/invocation/"+lastID+"/response", `"late"`))
		post(respURL, "application/json", string(b), nil)
	case "error":
		post(errURL, "application/json",
			`{"errorMessage":"from header","errorType":"BodyType","stackTrace":["frame 1","frame 2"]}`,
			map[string]string{"Lambda-Runtime-Function-Error-Type": "Custom.HeaderType"})
	case "errornotype":
		post(errURL, "application/json", `{"errorMessage":"typed by body","errorType":"BodyType"}`, nil)
	case "errortext":
		post(errURL, "text/plain", "plain text failure\n", nil)
	case "trailer":
		postChunked(respURL, [][]byte{[]byte(`{"partial":`)}, map[string]string{
			"Lambda-Runtime-Function-Error-Type": "Runtime.StreamError",
			"Lambda-Runtime-Function-Error-Body": base64.StdEncoding.EncodeToString(
				[]byte(`{"errorMessage":"stream broke","errorType":"StreamError"}`)),
		})
	case "spawn":
		// The child inherits the process group, so killing the group must
		// take it down too.
		child := exec.Command(os.Args[0])
		child.Env = append(os.Environ(), "RAW_MODE=sleeper")
		if err := child.Start(); err != nil {
			post(errURL, "application/json", fmt.Sprintf(`{"errorMessage":%q}`, err.Error()), nil)
			return
		}
		post(respURL, "application/json", fmt.Sprintf(`{"childPid":%d}`, child.Process.Pid), nil)
	case "hang":
		time.Sleep(time.Hour)
	default:
		post(errURL, "application/json", `{"errorMessage":"unknown action","errorType":"RawError"}`, nil)
	}
}

type probe struct {
	Status int    `json:"status"`
	Body   string `json:"body"`
}

func do(method, url, body string) probe {
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	resp, err := client.Do(req)
	if err != nil {
		return probe{Status: -1, Body: err.Error()}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return probe{Status: resp.StatusCode, Body: strings.TrimSpace(string(b))}
}

func post(url, contentType, body string, headers map[string]string) (int, string) {
	req, _ := http.NewRequest("POST", url, bytes.NewBufferString(body))
	req.Header.Set("Content-Type", contentType)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return send(req)
}

// postChunked streams parts through a pipe: with no known length the client
// uses Transfer-Encoding: chunked, and only chunked requests carry trailers.
func postChunked(url string, parts [][]byte, trailers map[string]string) (int, string) {
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", url, pr)
	req.Header.Set("Content-Type", "application/json")
	if len(trailers) > 0 {
		req.Trailer = http.Header{}
		for k := range trailers {
			req.Trailer[http.CanonicalHeaderKey(k)] = nil
		}
	}
	go func() {
		for _, p := range parts {
			pw.Write(p)
			time.Sleep(5 * time.Millisecond)
		}
		for k, v := range trailers {
			req.Trailer.Set(k, v)
		}
		pw.Close()
	}()
	return send(req)
}

func send(req *http.Request) (int, string) {
	resp, err := client.Do(req)
	if err != nil {
		fmt.Fprintf(os.Stderr, "rawfn: %s %s: %v\n", req.Method, req.URL.Path, err)
		os.Exit(1)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	fmt.Fprintf(os.Stderr, "rawfn: %s %s -> %d\n", req.Method, req.URL.Path, resp.StatusCode)
	return resp.StatusCode, string(b)
}
