package securityevent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tributary-logs/tributary/shared/alert"
	"github.com/tributary-logs/tributary/shared/rules"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

func builtinSet(t testing.TB, files ...rules.File) *rules.Set {
	t.Helper()
	set, err := rules.Compile(files, nil, rules.Options{DefaultPriority: alert.P3, MinFindingSeverity: 4})
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// golden is what a fixture must produce: the response and the alerts as
// the sinks receive them.
type golden struct {
	Response Response      `json:"response"`
	Alerts   []alert.Alert `json:"alerts"`
}

// TestFixturesGolden runs every real-shaped event under testdata/events
// through the built-in rules and compares the alerts with the golden files.
func TestFixturesGolden(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("testdata/events/*.json")
	if len(files) < 25 {
		t.Fatalf("want at least 25 fixtures, have %d", len(files))
	}
	set := builtinSet(t)
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			payload, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			rec := &alert.Recorder{SinkName: "recorder"}
			h := New(set, alert.NewDispatcher(nil, rec), Options{DefaultPriority: alert.P3})
			resp, err := h.Handle(context.Background(), payload)
			if err != nil {
				t.Fatalf("Handle: %v", err)
			}
			got := golden{Response: resp, Alerts: rec.Alerts()}
			if got.Alerts == nil {
				got.Alerts = []alert.Alert{}
			}
			b, err := json.MarshalIndent(got, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			b = append(b, '\n')
			path := filepath.Join("testdata", "golden", name+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, b, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(b, want) {
				t.Errorf("alerts differ from %s (go test -run TestFixturesGolden -update to accept):\n%s", path, diffLines(string(want), string(b)))
			}
		})
	}
}

func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			b.WriteString("- " + wl + "\n+ " + gl + "\n")
		}
	}
	return b.String()
}

// TestEveryCISControlHasAFixture keeps the built-in set and the fixtures
// together: each enabled CIS rule must be hit by at least one fixture.
func TestEveryCISControlHasAFixture(t *testing.T) {
	t.Parallel()
	set := builtinSet(t)
	hit := map[string]bool{}
	files, _ := filepath.Glob("testdata/events/*.json")
	for _, f := range files {
		payload, _ := os.ReadFile(f)
		h := New(set, alert.NewDispatcher(nil, &alert.Recorder{}), Options{})
		evs, _ := h.dec.Decode(payload)
		for _, e := range evs {
			v, _ := h.parser.ParseBytes(e.Doc)
			for _, m := range set.Evaluate(v) {
				hit[m.Rule.ID] = true
			}
		}
	}
	for _, r := range set.Rules() {
		if !hit[r.ID] {
			t.Errorf("rule %s (%v) has no fixture under testdata/events", r.ID, r.Controls)
		}
	}
	var cis int
	for _, r := range set.Rules() {
		if strings.HasPrefix(r.ID, "cis-") {
			cis++
		}
	}
	if cis != 15 {
		t.Errorf("%d CIS rules, want the 15 monitoring controls (4.1-4.15)", cis)
	}
}

// TestTwoEventsOfOneAliasInOneSecondBothAlert: two denied calls by one user
// in the same second share an alias, action and time, but they are two
// events: the second is delivered (Opsgenie counts it) even by a warm
// environment that has delivered the first.
func TestTwoEventsOfOneAliasInOneSecondBothAlert(t *testing.T) {
	t.Parallel()
	first, err := os.ReadFile("testdata/events/ct-unauthorized-runinstances.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(first, &ev); err != nil {
		t.Fatal(err)
	}
	ev["id"] = "another-event-id"
	second, _ := json.Marshal(ev)
	rec := &alert.Recorder{}
	h := New(builtinSet(t), alert.NewDispatcher(nil, rec), Options{})
	for _, payload := range [][]byte{first, second} {
		if _, err := h.Handle(context.Background(), payload); err != nil {
			t.Fatal(err)
		}
	}
	got := rec.Alerts()
	if len(got) != 2 || got[0].Alias != got[1].Alias || got[0].Time != got[1].Time {
		t.Fatalf("want two alerts of one alias and time:\n%s", alert.Summary(got))
	}
}

func TestRootLoginPagesP1WithStableAlias(t *testing.T) {
	t.Parallel()
	payload, err := os.ReadFile("testdata/events/signin-root.json")
	if err != nil {
		t.Fatal(err)
	}
	rec := &alert.Recorder{}
	// The event and its retry on a fresh execution environment: the same
	// alias both times, so Opsgenie keeps one alert.
	for range 2 {
		h := New(builtinSet(t), alert.NewDispatcher(nil, rec), Options{})
		if _, err := h.Handle(context.Background(), payload); err != nil {
			t.Fatal(err)
		}
	}
	// A retry on the same environment delivers nothing again.
	h := New(builtinSet(t), alert.NewDispatcher(nil, rec), Options{})
	for range 2 {
		if _, err := h.Handle(context.Background(), payload); err != nil {
			t.Fatal(err)
		}
	}
	got := rec.Alerts()
	if len(got) != 3 {
		t.Fatalf("%d deliveries, want 3 (two environments, then one for an event and its retry on one):\n%s", len(got), alert.Summary(got))
	}
	got = got[:2]
	if len(got) != 2 || got[0].Alias != got[1].Alias || got[0].Alias != "cis-root-account-usage:123456789012" || got[0].Priority != alert.P1 {
		t.Fatalf("alerts:\n%s", alert.Summary(got))
	}
	for _, w := range []string{"arn:aws:iam::123456789012:root (Root)", "MFA: yes", "from 203.0.113.10", "outcome: Success",
		"https://us-east-1.console.aws.amazon.com/cloudtrailv2/home?region=us-east-1#/events/9d2c8e41-5f3a-4b6c-8d7e-0f1a2b3c4d5e"} {
		if !strings.Contains(got[0].Description, w) {
			t.Errorf("description lacks %q:\n%s", w, got[0].Description)
		}
	}
}

func TestSecurityGroupChangeSaysWhatChanged(t *testing.T) {
	t.Parallel()
	payload, _ := os.ReadFile("testdata/events/ct-sg-authorize-ingress.json")
	rec := &alert.Recorder{}
	if _, err := New(builtinSet(t), alert.NewDispatcher(nil, rec), Options{}).Handle(context.Background(), payload); err != nil {
		t.Fatal(err)
	}
	a := rec.Alerts()[0]
	if a.Details["request.groupId"] != "sg-0a1b2c3d4e5f67890" ||
		a.Details["request.rules"] != "tcp 22 from 0.0.0.0/0, ::/0; tcp 5432-5433 from sg-0fedcba9876543210" ||
		a.Entity != "sg-0a1b2c3d4e5f67890" || a.Details["principal"] != "arn:aws:sts::123456789012:assumed-role/DeployRole/alice@example.com" ||
		a.Details["mfa"] != "no" || a.Details["accessKeyId"] != "ASIAQXZ4EXAMPLE7KEY1" {
		t.Errorf("alert details %v entity %q", a.Details, a.Entity)
	}
}

func TestSuppressionsAndOverrides(t *testing.T) {
	t.Parallel()
	user, err := rules.Parse([]byte(`
rules:
  - id: cis-vpc-changes
    priority: P1
    suppress:
      - reason: Terraform pipeline role
        match:
          detail.userIdentity.sessionContext.sessionIssuer.arn: [{wildcard: "arn:aws:iam::*:role/terraform-*"}]
  - id: cis-security-group-changes
    enabled: false
suppressions:
  - reason: sandbox account
    match: {account: ["999999999999"]}
`), "test")
	if err != nil {
		t.Fatal(err)
	}
	set := builtinSet(t, user)
	run := func(name string, edit func(string) string) (Response, []alert.Alert) {
		payload, _ := os.ReadFile("testdata/events/" + name + ".json")
		rec := &alert.Recorder{}
		resp, err := New(set, alert.NewDispatcher(nil, rec), Options{}).Handle(context.Background(), []byte(edit(string(payload))))
		if err != nil {
			t.Fatal(err)
		}
		return resp, rec.Alerts()
	}
	same := func(s string) string { return s }
	if _, a := run("ct-vpc-create", same); len(a) != 1 || a[0].Priority != alert.P1 {
		t.Errorf("override of priority: %s", alert.Summary(a))
	}
	resp, a := run("ct-vpc-create", func(s string) string { return strings.ReplaceAll(s, "role/NetworkAdmin", "role/terraform-apply") })
	if len(a) != 0 || len(resp.Skipped) != 1 || resp.Skipped[0].Reason != "suppressed: Terraform pipeline role" {
		t.Errorf("suppression: %+v %s", resp.Skipped, alert.Summary(a))
	}
	if resp, a := run("ct-sg-authorize-ingress", same); len(a) != 0 || resp.Unmatched != 1 {
		t.Errorf("disabled rule still alerts: %s", alert.Summary(a))
	}
	if resp, a := run("ct-route-create", func(s string) string {
		return strings.Replace(s, `"account": "123456789012"`, `"account": "999999999999"`, 1)
	}); len(a) != 0 || len(resp.Skipped) != 1 {
		t.Errorf("file-level suppression: %+v %s", resp.Skipped, alert.Summary(a))
	}
}

func TestBadInputIsReportedNotFatal(t *testing.T) {
	t.Parallel()
	h := New(builtinSet(t), alert.NewDispatcher(nil, &alert.Recorder{}), Options{})
	for _, tc := range []struct{ payload, reason string }{
		{`not json`, "not JSON"},
		{`{"hello":"world"}`, "neither an EventBridge event"},
		{`{"detail-type":"GuardDuty Finding","id":"x"}`, "without a detail object"},
		{`{"awslogs":{"data":"%%%"}}`, "not base64"},
		{`{"awslogs":{"data":"aGVsbG8="}}`, "not gzip"},
		{`{"detail-type":"Security Hub Findings - Imported","id":"e","detail":{"findings":[]}}`, "without findings"},
	} {
		resp, err := h.Handle(context.Background(), []byte(tc.payload))
		if err != nil || len(resp.Rejected) != 1 || !strings.Contains(resp.Rejected[0].Reason, tc.reason) {
			t.Errorf("%s: %+v, %v; want a rejection saying %q", tc.payload, resp.Rejected, err, tc.reason)
		}
	}
}

func TestSinkFailureFailsTheInvocation(t *testing.T) {
	t.Parallel()
	payload, _ := os.ReadFile("testdata/events/signin-root.json")
	down := &alert.Recorder{SinkName: "opsgenie", Fail: func(*alert.Alert) error { return errors.New("HTTP 503") }}
	up := &alert.Recorder{SinkName: "sns"}
	resp, err := New(builtinSet(t), alert.NewDispatcher(nil, down, up), Options{}).Handle(context.Background(), payload)
	if err == nil || !strings.Contains(err.Error(), "opsgenie create") || len(up.Alerts()) != 1 || len(resp.Failures) != 1 {
		t.Errorf("err %v, sns got %d, failures %+v", err, len(up.Alerts()), resp.Failures)
	}
}

func FuzzDecode(f *testing.F) {
	// Small seeds: the fuzzer minimizes every new input, which is slow for
	// the multi-kilobyte fixtures (TestFixturesGolden covers those).
	f.Add([]byte(`{"id":"e","detail-type":"AWS Console Sign In via CloudTrail","account":"1","detail":{"eventID":"x","eventName":"ConsoleLogin","userIdentity":{"type":"Root"},"responseElements":{"ConsoleLogin":"Success"}}}`))
	f.Add([]byte(`{"id":"e","detail-type":"AWS API Call via CloudTrail","detail":{"eventName":"AuthorizeSecurityGroupIngress","requestParameters":{"groupId":"sg-1","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":22,"toPort":22,"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]}}]}}}}`))
	f.Add([]byte(`{"detail-type":"Security Hub Findings - Imported","detail":{"findings":[{"Id":"a","RecordState":"ACTIVE","Workflow":{"Status":"NEW"},"Severity":{"Label":"HIGH"}},{"Id":"b","Workflow":{"Status":"RESOLVED"}}]}}`))
	f.Add([]byte(`{"detail-type":"GuardDuty Finding","detail":{"id":"f","severity":8,"service":{"archived":false,"action":{"awsApiCallAction":{"remoteIpDetails":{"ipAddressV4":"1.2.3.4"}}}}}}`))
	f.Add([]byte(`{"awslogs":{"data":"H4sIAAAAAAAA/6tWSs7PLcjPz84vSbWyUjJUqgUAFKwWSRMAAAA="}}`))
	f.Add([]byte(`[{"detail-type":"x","detail":{}}]`))
	set := builtinSet(f)
	f.Fuzz(func(t *testing.T, payload []byte) {
		rec := &alert.Recorder{}
		h := New(set, alert.NewDispatcher(nil, rec), Options{})
		resp, err := h.Handle(context.Background(), payload)
		if err != nil {
			t.Fatalf("Handle: %v", err)
		}
		// Only a CloudWatch Logs control message (or a data message without
		// events) legitimately yields nothing.
		if resp.Events == 0 && len(resp.Rejected) == 0 && !bytes.Contains(payload, []byte("awslogs")) {
			t.Errorf("payload neither produced events nor a rejection: %q", payload)
		}
		for _, a := range rec.Alerts() {
			if a.Alias == "" || a.Message == "" {
				t.Errorf("alert without alias or message: %+v", a)
			}
		}
	})
}
