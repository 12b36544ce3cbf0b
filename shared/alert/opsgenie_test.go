package alert

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tributary-logs/tributary/shared/opsgenietest"
)

// fastRetry keeps retry tests quick.
var fastRetry = Retry{Attempts: 4, Base: time.Millisecond, Max: 5 * time.Millisecond}

func newSink(t *testing.T, srv *opsgenietest.Server, api API, key string) (*OpsgenieSink, *atomic.Int32) {
	t.Helper()
	var retries atomic.Int32
	s, err := NewOpsgenieSink(OpsgenieOptions{API: api, BaseURL: srv.URL, Key: StaticKey(NewSecret(key)), Retry: fastRetry,
		OnRetry: func() { retries.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	return s, &retries
}

func TestOpsgenieCreateAndCloseByAlias(t *testing.T) {
	t.Parallel()
	for _, api := range []API{OpsgenieAPI, JSMAPI} {
		t.Run(api.Name, func(t *testing.T) {
			t.Parallel()
			srv := opsgenietest.StartForTest(t, opsgenietest.Options{})
			s, _ := newSink(t, srv, api, srv.Key())
			// An alarm ARN has colons; names may have spaces and slashes.
			alias := "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:api/5xx errors"
			a := Alert{Action: Create, Message: "ALARM: api/5xx errors", Alias: alias, Priority: P2,
				Description: "d", Tags: []string{"cloudwatch"}, Details: map[string]string{"state": "ALARM"},
				Entity: "api", Source: "Amazon CloudWatch", Responders: []Responder{{Type: "team", Name: "SRE"}}}
			ctx := context.Background()
			if err := s.Deliver(ctx, &a); err != nil {
				t.Fatalf("create: %v", err)
			}
			if err := s.Deliver(ctx, &a); err != nil { // a retried event
				t.Fatalf("create again: %v", err)
			}
			got, ok := srv.Lookup(api.Name, alias)
			if !ok || got.Status != "open" || got.Count != 2 || got.Priority != "P2" || got.Message != a.Message ||
				got.Details["state"] != "ALARM" || got.Responders[0].Name != "SRE" || got.User != "Tributary" {
				t.Fatalf("server alert = %+v, %v", got, ok)
			}
			if srv.Pages() != 1 {
				t.Errorf("pages = %d, want 1 (the second create only raises the count)", srv.Pages())
			}
			c := Alert{Action: Close, Alias: alias, Note: "back to OK", Source: "Amazon CloudWatch"}
			if err := s.Deliver(ctx, &c); err != nil {
				t.Fatalf("close: %v", err)
			}
			got, _ = srv.Lookup(api.Name, alias)
			if got.Status != "closed" || got.CloseNote != "back to OK" {
				t.Errorf("after close: %+v", got)
			}
			reqs := srv.Requests()
			wantPath := api.Prefix + "/v2/alerts"
			if len(reqs) != 3 || reqs[0].Path != wantPath || reqs[2].Query != "identifierType=alias" ||
				reqs[2].Path != wantPath+"/arn:aws:cloudwatch:eu-west-1:123456789012:alarm:api%2F5xx%20errors/close" {
				t.Errorf("requests = %+v", reqs)
			}
			for _, r := range reqs {
				if r.API != api.Name || !r.KeyOK || r.Status != http.StatusAccepted {
					t.Errorf("request %+v", r)
				}
			}
		})
	}
}

func TestOpsgenieBaseURLs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		api  API
		base string
		want string
	}{
		{OpsgenieAPI, OpsgenieUS, "https://api.opsgenie.com/v2/alerts"},
		{OpsgenieAPI, OpsgenieEU + "/", "https://api.eu.opsgenie.com/v2/alerts"},
		{JSMAPI, JSMBase, "https://api.atlassian.com/jsm/ops/integration/v2/alerts"},
	} {
		s, err := NewOpsgenieSink(OpsgenieOptions{API: tc.api, BaseURL: tc.base, Key: StaticKey(NewSecret("k"))})
		if err != nil || s.AlertsURL() != tc.want {
			t.Errorf("%s %s: %v %v, want %s", tc.api.Name, tc.base, s.AlertsURL(), err, tc.want)
		}
	}
	if _, err := NewOpsgenieSink(OpsgenieOptions{BaseURL: "api.opsgenie.com", Key: StaticKey(NewSecret("k"))}); err == nil {
		t.Error("a base URL without a scheme was accepted")
	}
}

func TestOpsgenieRetriesThrottlingAndServerErrors(t *testing.T) {
	t.Parallel()
	srv := opsgenietest.StartForTest(t, opsgenietest.Options{})
	s, retries := newSink(t, srv, OpsgenieAPI, srv.Key())
	srv.FailNext(2, http.StatusTooManyRequests)
	srv.FailNext(1, http.StatusBadGateway)
	a := Alert{Message: "m", Alias: "storm", Priority: P3}
	if err := s.Deliver(context.Background(), &a); err != nil {
		t.Fatalf("Deliver after a 429 storm: %v", err)
	}
	if n := retries.Load(); n != 3 {
		t.Errorf("retries = %d, want 3", n)
	}
	if got, _ := srv.Alert("storm"); got.Count != 1 {
		t.Errorf("alert = %+v", got)
	}
}

func TestOpsgenieOutageIsUnavailable(t *testing.T) {
	t.Parallel()
	srv := opsgenietest.StartForTest(t, opsgenietest.Options{})
	srv.SetOutage(true)
	s, retries := newSink(t, srv, OpsgenieAPI, srv.Key())
	err := s.Deliver(context.Background(), &Alert{Message: "m", Alias: "x"})
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusServiceUnavailable {
		t.Errorf("err = %v, want the 503 inside", err)
	}
	if n := len(srv.Requests()); n != fastRetry.Attempts || retries.Load() != int32(fastRetry.Attempts-1) {
		t.Errorf("%d requests, %d retries; want %d tries", n, retries.Load(), fastRetry.Attempts)
	}
}

func TestOpsgenieClientErrorsAreReportedNotRetried(t *testing.T) {
	t.Parallel()
	srv := opsgenietest.StartForTest(t, opsgenietest.Options{})
	cases := []struct {
		name   string
		key    string
		alert  Alert
		status int
		want   []string
	}{
		{"bad key", "wrong-key", Alert{Message: "m", Alias: "a"}, 401, []string{"HTTP 401", "Could not authenticate"}},
		// Bypasses Normalize on purpose: the API's own message must come through.
		{"invalid priority", srv.Key(), Alert{Message: "m", Alias: "a", Priority: "P9"}, 422,
			[]string{"HTTP 422", "Request body is not processable", "priority: Priority \"P9\" is not one of"}},
		{"message too long", srv.Key(), Alert{Message: strings.Repeat("m", 131), Alias: "a"}, 422,
			[]string{"message: message can not be longer than 130 characters"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, retries := newSink(t, srv, OpsgenieAPI, tc.key)
			err := s.Deliver(context.Background(), &tc.alert)
			var apiErr *APIError
			if !errors.As(err, &apiErr) || apiErr.Status != tc.status || errors.Is(err, ErrUnavailable) {
				t.Fatalf("err = %v, want HTTP %d", err, tc.status)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if !strings.Contains(err.Error(), "requestId") {
				t.Errorf("error %q lacks the request id", err)
			}
			if strings.Contains(err.Error(), tc.key) {
				t.Errorf("error %q shows the key", err)
			}
			if retries.Load() != 0 {
				t.Errorf("a %d was retried", tc.status)
			}
		})
	}
}

func TestRotatedKeyIsReadAgainAfter401(t *testing.T) {
	t.Parallel()
	srv := opsgenietest.StartForTest(t, opsgenietest.Options{})
	sm := &fakeSecrets{value: "old-revoked-key"}
	src, err := NewKeySource("arn:aws:secretsmanager:us-east-1:123456789012:secret:k", sm, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewOpsgenieSink(OpsgenieOptions{BaseURL: srv.URL, Key: src.Key, OnUnauthorized: src.Forget, Retry: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	a := Alert{Message: "m", Alias: "a"}
	if err := s.Deliver(context.Background(), &a); err == nil {
		t.Fatal("old key accepted")
	}
	sm.value = srv.Key() // rotated
	if err := s.Deliver(context.Background(), &a); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	if sm.calls.Load() != 2 {
		t.Errorf("%d secret reads, want 2", sm.calls.Load())
	}
}

func TestOpsgenieHonoursRetryAfterAndDeadline(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte("<html>slow down</html>")) // not JSON, as proxies answer
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	s, err := NewOpsgenieSink(OpsgenieOptions{BaseURL: srv.URL, Key: StaticKey(NewSecret("k")),
		Retry: Retry{Attempts: 5, Base: time.Millisecond, Max: 50 * time.Millisecond, Margin: 0}})
	if err != nil {
		t.Fatal(err)
	}
	var waits []time.Duration
	s.sleep = func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
	err = s.Deliver(context.Background(), &Alert{Message: "m", Alias: "a"})
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "<html>slow down</html>") {
		t.Errorf("err = %v", err)
	}
	if len(waits) != 4 || waits[0] != 50*time.Millisecond {
		t.Errorf("waits = %v, want 4 waits of Retry-After capped at Max", waits)
	}

	// No retry starts when the deadline (less the margin) would pass first.
	calls.Store(0)
	s.retry.Margin = time.Hour
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = s.Deliver(ctx, &Alert{Message: "m", Alias: "a"})
	if calls.Load() != 1 {
		t.Errorf("%d calls, want 1 when the deadline leaves no room", calls.Load())
	}
}

func TestCreateBodyHasOnlyAPIFields(t *testing.T) {
	t.Parallel()
	s := &OpsgenieSink{user: "Tributary"}
	a := Alert{Action: Create, Message: "m", Alias: "a", Priority: P1, Rule: "r", Account: "1", Region: "x", Time: "t", Count: 3}
	b, err := s.CreateBody(&a)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	for _, k := range []string{"action", "rule", "account", "region", "time", "count"} {
		if _, ok := m[k]; ok {
			t.Errorf("create body has routing field %q: %s", k, b)
		}
	}
	if m["message"] != "m" || m["alias"] != "a" || m["priority"] != "P1" || m["user"] != "Tributary" {
		t.Errorf("body = %s", b)
	}
}
