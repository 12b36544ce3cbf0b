package opsgenietest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

type reply struct {
	status int
	body   map[string]any
}

func post(t *testing.T, url, key, ctype, body string) reply {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "GenieKey "+key)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("response is not JSON: %s", b)
	}
	if resp.Header.Get("X-Request-Id") == "" || m["requestId"] != resp.Header.Get("X-Request-Id") {
		t.Errorf("request id header %q body %v", resp.Header.Get("X-Request-Id"), m["requestId"])
	}
	return reply{resp.StatusCode, m}
}

func TestServerAnswersLikeTheService(t *testing.T) {
	t.Parallel()
	s := StartForTest(t, Options{})
	alerts := s.URL + "/v2/alerts"
	k := s.Key()
	cases := []struct {
		name, url, key, ctype, body string
		status                      int
		message                     string
		field                       string
	}{
		{"created", alerts, k, "application/json", `{"message":"m","alias":"a1","priority":"P1"}`, 202, "", ""},
		{"charset content type", alerts, k, "application/json; charset=utf-8", `{"message":"m"}`, 202, "", ""},
		{"no key", alerts, "", "application/json", `{"message":"m"}`, 401, "Could not authenticate", ""},
		{"wrong key", alerts, "nope", "application/json", `{"message":"m"}`, 401, "Could not authenticate", ""},
		{"not json content", alerts, k, "text/plain", `{"message":"m"}`, 415, "Unsupported Media Type", ""},
		{"broken json", alerts, k, "application/json", `{"message":`, 400, "Could not parse", ""},
		{"empty message", alerts, k, "application/json", `{"message":" "}`, 422, "Request body is not processable", "message"},
		{"long message", alerts, k, "application/json", `{"message":"` + strings.Repeat("é", 131) + `"}`, 422, "", "message"},
		{"130 characters is fine", alerts, k, "application/json", `{"message":"` + strings.Repeat("é", 130) + `"}`, 202, "", ""},
		{"long alias", alerts, k, "application/json", `{"message":"m","alias":"` + strings.Repeat("a", 513) + `"}`, 422, "", "alias"},
		{"long description", alerts, k, "application/json", `{"message":"m","description":"` + strings.Repeat("d", 15001) + `"}`, 422, "", "description"},
		{"bad priority", alerts, k, "application/json", `{"message":"m","priority":"P0"}`, 422, "", "priority"},
		{"too many tags", alerts, k, "application/json", `{"message":"m","tags":[` + strings.Repeat(`"t",`, 20) + `"t"]}`, 422, "", "tags"},
		{"long tag", alerts, k, "application/json", `{"message":"m","tags":["` + strings.Repeat("t", 51) + `"]}`, 422, "", "tags"},
		{"details too big", alerts, k, "application/json", `{"message":"m","details":{"k":"` + strings.Repeat("v", 8000) + `"}}`, 422, "", "details"},
		{"details not strings", alerts, k, "application/json", `{"message":"m","details":{"k":1}}`, 422, "", "body"},
		{"unknown field", alerts, k, "application/json", `{"message":"m","tag":["x"]}`, 422, "", "body"},
		{"bad responder", alerts, k, "application/json", `{"message":"m","responders":[{"type":"group","name":"x"}]}`, 422, "", "responders[0]"},
		{"responder without name", alerts, k, "application/json", `{"message":"m","responders":[{"type":"user","name":"x"}]}`, 422, "", "responders[0]"},
		{"close", alerts + "/a1/close?identifierType=alias", k, "application/json", `{"note":"done"}`, 202, "", ""},
		{"close bad identifier type", alerts + "/a1/close?identifierType=name", k, "application/json", `{}`, 422, "", "identifierType"},
		{"unknown path", s.URL + "/v1/json/alert", k, "application/json", `{}`, 404, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := post(t, tc.url, tc.key, tc.ctype, tc.body)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %v", r.status, tc.status, r.body)
			}
			if tc.status == 202 {
				if r.body["result"] != "Request will be processed" || r.body["took"] == nil {
					t.Errorf("202 body %v", r.body)
				}
				return
			}
			if msg, _ := r.body["message"].(string); !strings.Contains(msg, tc.message) {
				t.Errorf("message %q, want %q", msg, tc.message)
			}
			if tc.field != "" {
				errs, _ := r.body["errors"].(map[string]any)
				if _, ok := errs[tc.field]; !ok {
					t.Errorf("errors %v lack %s", errs, tc.field)
				}
			}
		})
	}
	a, ok := s.Alert("a1")
	if !ok || a.Status != "closed" || a.CloseNote != "done" || a.Priority != "P1" {
		t.Errorf("a1 = %+v", a)
	}
	for _, r := range s.Requests() {
		if bytes.Contains([]byte(r.Error), []byte(k)) {
			t.Error("key recorded")
		}
	}
}

func TestServerDedupesByAliasAndFaults(t *testing.T) {
	t.Parallel()
	s := StartForTest(t, Options{Keys: []string{"k1", "k2"}})
	create := func(path, alias string) int {
		return post(t, s.URL+path, "k2", "application/json", `{"message":"m","alias":"`+alias+`"}`).status
	}
	for range 3 {
		create("/v2/alerts", "x")
	}
	create(JSMPrefix+"/v2/alerts", "x") // another service: its own alert
	if a, _ := s.Lookup(APIOpsgenie, "x"); a.Count != 3 || a.Status != "open" {
		t.Errorf("opsgenie x = %+v", a)
	}
	if a, _ := s.Lookup(APIJSM, "x"); a.Count != 1 {
		t.Errorf("jsm x = %+v", a)
	}
	post(t, s.URL+"/v2/alerts/x/close?identifierType=alias", "k1", "application/json", "")
	create("/v2/alerts", "x") // after a close: a new alert, a new page
	if s.Pages() != 3 || len(s.OpenAlerts()) != 2 {
		t.Errorf("pages %d, open %d", s.Pages(), len(s.OpenAlerts()))
	}
	all := s.Alerts()
	if all[0].Status != "closed" || all[0].Count != 3 || all[2].Count != 1 || all[2].ID == all[0].ID {
		t.Errorf("alerts %+v", all)
	}

	s.FailNext(2, http.StatusTooManyRequests)
	if st := create("/v2/alerts", "y"); st != 429 {
		t.Errorf("status %d, want 429", st)
	}
	if st := create("/v2/alerts", "y"); st != 429 {
		t.Errorf("status %d, want 429", st)
	}
	if st := create("/v2/alerts", "y"); st != 202 {
		t.Errorf("status %d after the storm", st)
	}
	s.SetOutage(true)
	if st := create("/v2/alerts", "z"); st != 503 {
		t.Errorf("status %d during the outage", st)
	}
	s.SetOutage(false)
	if st := create("/v2/alerts", "z"); st != 202 {
		t.Errorf("status %d after the outage", st)
	}

	req, _ := http.NewRequest(http.MethodGet, s.URL+"/v2/alerts/z?identifierType=alias", nil)
	req.Header.Set("Authorization", "GenieKey k1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ Data Alert }
	_ = json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if resp.StatusCode != 200 || got.Data.Alias != "z" {
		t.Errorf("GET alert: %d %+v", resp.StatusCode, got)
	}
	s.Reset()
	if s.Pages() != 0 || len(s.Requests()) != 0 {
		t.Error("Reset")
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	if errs := Validate([]byte(`{"message":"ok","priority":"P5","details":{"a":"b"}}`)); len(errs) != 0 {
		t.Errorf("valid body: %v", errs)
	}
	if errs := Validate([]byte(`{"message":""}`)); errs["message"] == "" {
		t.Errorf("empty message: %v", errs)
	}
}
