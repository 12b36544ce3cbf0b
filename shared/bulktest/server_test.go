package bulktest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

func post(t *testing.T, s *Server, path, contentType, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL+path, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestBulkRejectsMalformedRequests(t *testing.T) {
	t.Parallel()
	s := Start()
	defer s.Close()
	const nd = "application/x-ndjson"
	tests := []struct {
		name, ct, body string
		status         int
		reason         string
	}{
		{"no trailing newline", nd, `{"create":{"_index":"a","_id":"1"}}` + "\n" + `{"x":1}`, 400, "must be terminated by a newline"},
		{"empty", nd, "", 400, "no requests added"},
		{"not json", nd, "nope\n{}\n", 400, "Malformed action/metadata line [1]"},
		{"two actions", nd, `{"create":{},"index":{}}` + "\n{}\n", 400, "one action"},
		{"unknown action", nd, `{"upsert":{"_index":"a"}}` + "\n{}\n", 400, "expected one of [create, delete, index, update]"},
		{"unknown parameter", nd, `{"create":{"_index":"a","_type":"doc"}}` + "\n{}\n", 400, "unknown parameter [_type]"},
		{"no index", nd, `{"create":{"_id":"1"}}` + "\n{}\n", 400, "index is missing"},
		{"bad index name", nd, `{"create":{"_index":"Logs","_id":"1"}}` + "\n{}\n", 400, "must be lowercase"},
		{"missing source", nd, `{"create":{"_index":"a","_id":"1"}}` + "\n", 400, "source is missing"},
		{"numeric id", nd, `{"create":{"_index":"a","_id":1}}` + "\n{}\n", 400, "_id must be a string"},
		{"wrong content type", "text/plain", `{"create":{"_index":"a","_id":"1"}}` + "\n{}\n", 406, "not supported"},
	}
	for _, tc := range tests {
		status, body := post(t, s, "/_bulk", tc.ct, tc.body)
		if status != tc.status || !strings.Contains(body, tc.reason) {
			t.Errorf("%s: %d %s, want %d containing %q", tc.name, status, body, tc.status, tc.reason)
		}
	}
	if s.Count() != 0 {
		t.Errorf("a malformed request stored %d documents", s.Count())
	}
}

func TestBulkResponseShape(t *testing.T) {
	t.Parallel()
	s := Start()
	defer s.Close()
	body := `{"create":{"_index":"logs-1","_id":"a"}}` + "\n" + `{"n":1,"@timestamp":"2026-11-22T04:00:00.000Z"}` + "\n" +
		`{"create":{"_index":"logs-1","_id":"a"}}` + "\n" + `{"n":2}` + "\n" +
		`{"create":{"_index":"logs-1","_id":"b"}}` + "\n" + `{"n":"three"}` + "\n" +
		`{"create":{"_id":"c"}}` + "\n" + `{"n":4}` + "\n"
	status, resp := post(t, s, "/logs-1/_bulk", "application/json", body)
	if status != 200 {
		t.Fatalf("status %d: %s", status, resp)
	}
	var v struct {
		Took   *int `json:"took"`
		Errors bool `json:"errors"`
		Items  []map[string]struct {
			Index  string `json:"_index"`
			ID     string `json:"_id"`
			Status int    `json:"status"`
			Result string `json:"result"`
			Error  *struct {
				Type   string `json:"type"`
				Reason string `json:"reason"`
			} `json:"error"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(resp), &v); err != nil {
		t.Fatal(err)
	}
	if v.Took == nil || !v.Errors || len(v.Items) != 4 {
		t.Fatalf("response = %s", resp)
	}
	want := []struct {
		status int
		typ    string
	}{{201, ""}, {409, "version_conflict_engine_exception"}, {400, "mapper_parsing_exception"}, {201, ""}}
	for i, w := range want {
		it := v.Items[i]["create"]
		typ := ""
		if it.Error != nil {
			typ = it.Error.Type
			if it.Error.Reason == "" {
				t.Errorf("item %d: error without reason", i)
			}
		}
		if it.Status != w.status || typ != w.typ || it.Index != "logs-1" || it.ID == "" {
			t.Errorf("item %d = %+v, want %d %s", i, it, w.status, w.typ)
		}
	}
	docs := s.Docs("logs-1")
	if len(docs) != 2 || !bytes.Equal(docs["a"], []byte(`{"n":1,"@timestamp":"2026-11-22T04:00:00.000Z"}`)) {
		t.Errorf("stored %v", docs)
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	s := Start()
	defer s.Close()
	one := `{"create":{"_index":"a","_id":"1"}}` + "\n{}\n"
	s.SetFaults(Faults{MaxContentLength: 10})
	if status, _ := post(t, s, "/_bulk", "application/x-ndjson", one); status != 413 {
		t.Errorf("MaxContentLength: status %d", status)
	}
	s.SetFaults(Faults{FailRequests: 1})
	if status, _ := post(t, s, "/_bulk", "application/x-ndjson", one); status != 503 {
		t.Errorf("FailRequests: status %d", status)
	}
	if status, _ := post(t, s, "/_bulk", "application/x-ndjson", one); status != 200 {
		t.Errorf("after FailRequests: status %d", status)
	}
	s.SetFaults(Faults{ThrottleRatio: 1})
	_, resp := post(t, s, "/_bulk", "application/x-ndjson", `{"create":{"_index":"a","_id":"2"}}`+"\n{}\n")
	if !strings.Contains(resp, `"status":429`) || !strings.Contains(resp, "es_rejected_execution_exception") {
		t.Errorf("ThrottleRatio: %s", resp)
	}
	_, resp = post(t, s, "/_bulk", "application/x-ndjson", `{"create":{"_index":"a","_id":"2"}}`+"\n{}\n")
	if !strings.Contains(resp, `"status":201`) {
		t.Errorf("second attempt after ThrottleTimes=1: %s", resp)
	}
}

func FuzzParseBulk(f *testing.F) {
	f.Add([]byte(`{"create":{"_index":"a","_id":"1"}}` + "\n{}\n"))
	f.Add([]byte(`{"delete":{"_index":"a","_id":"1"}}` + "\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) == 0 || body[len(body)-1] != '\n' {
			return
		}
		ops, err := parseBulk(body, "")
		if err == nil && len(ops) == 0 {
			t.Fatal("no operations and no error")
		}
	})
}
