package alert

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/tributary-logs/tributary/shared/config"
	"github.com/tributary-logs/tributary/shared/opsgenietest"
)

func TestDispatcherSinksAreIndependent(t *testing.T) {
	t.Parallel()
	srv := opsgenietest.StartForTest(t, opsgenietest.Options{})
	srv.SetOutage(true)
	og, _ := newSink(t, srv, OpsgenieAPI, srv.Key())
	rec := &Recorder{SinkName: "sns"}
	var logs bytes.Buffer
	d := NewDispatcher(slog.New(slog.NewJSONHandler(&logs, nil)), og, rec)
	alerts := []Alert{
		{Action: Create, Message: "one", Alias: "a1", Priority: P1},
		{Action: Create, Message: "two", Alias: "a2", Priority: P2},
		{Action: Close, Alias: "a3"},
	}
	rep := d.Send(context.Background(), alerts)
	if len(rec.Alerts()) != 3 || rep.Delivered["sns"] != 3 {
		t.Fatalf("sns got %d alerts (report %v): an Opsgenie outage held it back", len(rec.Alerts()), rep.Delivered)
	}
	if len(rep.Failures) != 3 || rep.Delivered["opsgenie"] != 0 {
		t.Fatalf("failures = %+v", rep.Failures)
	}
	// The first failure waited out the retries; the others were not tried.
	if n := len(srv.Requests()); n != fastRetry.Attempts {
		t.Errorf("%d requests to the down API, want %d (then stop)", n, fastRetry.Attempts)
	}
	err := rep.Err()
	if err == nil || !strings.Contains(err.Error(), `opsgenie create "a1"`) || !strings.Contains(err.Error(), "HTTP 503") ||
		!strings.Contains(err.Error(), "unavailable earlier in this invocation") {
		t.Errorf("Err() = %v", err)
	}
	if !strings.Contains(logs.String(), "alert delivery failed") {
		t.Error("failure not logged")
	}
}

func TestDispatcherClientErrorDoesNotStopOthers(t *testing.T) {
	t.Parallel()
	calls := 0
	rec := &Recorder{SinkName: "x", Fail: func(a *Alert) error {
		calls++
		if a.Alias == "bad" {
			return &APIError{API: "x", Status: 422, Message: "nope"}
		}
		return nil
	}}
	rep := NewDispatcher(nil, rec).Send(context.Background(), []Alert{{Alias: "bad"}, {Alias: "good"}})
	if calls != 2 || rep.Delivered["x"] != 1 || len(rep.Failures) != 1 || rep.Failures[0].Alias != "bad" {
		t.Errorf("calls %d, report %+v", calls, rep)
	}
	if rep := NewDispatcher(nil, rec).Send(context.Background(), nil); rep.Err() != nil {
		t.Error("empty send failed")
	}
}

type fakePublisher struct {
	in  []*sns.PublishInput
	err error
}

func (f *fakePublisher) Publish(_ context.Context, in *sns.PublishInput, _ ...func(*sns.Options)) (*sns.PublishOutput, error) {
	f.in = append(f.in, in)
	return &sns.PublishOutput{MessageId: aws.String("m")}, f.err
}

func TestSNSSinkMessage(t *testing.T) {
	t.Parallel()
	pub := &fakePublisher{}
	s, err := NewSNSSink("arn:aws:sns:us-east-1:123456789012:alerts", pub)
	if err != nil {
		t.Fatal(err)
	}
	a := Alert{Action: Create, Priority: P1, Message: "Root account used: ConsoleLogin from 203.0.113.10 — " + strings.Repeat("ü", 80),
		Alias: "cis-root:123", Description: "Who: root", Details: map[string]string{"sourceIP": "203.0.113.10"},
		Rule: "cis-root-account-usage", Account: "123456789012", Source: "AWS CloudTrail", Tags: []string{"cis"}, Count: 2}
	if err := s.Deliver(context.Background(), &a); err != nil {
		t.Fatal(err)
	}
	in := pub.in[0]
	subj := aws.ToString(in.Subject)
	if len(subj) > MaxSubject || !utf8.ValidString(subj) || !strings.HasPrefix(subj, "[P1] Root account used") {
		t.Errorf("subject %q (%d bytes)", subj, len(subj))
	}
	body := aws.ToString(in.Message)
	for _, w := range []string{"P1 Root account used", "(2 occurrences)", "Who: root", "sourceIP: 203.0.113.10", "Rule: cis-root-account-usage", "Alias: cis-root:123"} {
		if !strings.Contains(body, w) {
			t.Errorf("body lacks %q:\n%s", w, body)
		}
	}
	attrs := map[string]string{}
	for k, v := range in.MessageAttributes {
		attrs[k] = aws.ToString(v.StringValue) + "/" + aws.ToString(v.DataType)
	}
	want := "map[account:123456789012/String action:create/String priority:P1/String rule:cis-root-account-usage/String source:AWS CloudTrail/String]"
	if fmt.Sprint(attrs) != want {
		t.Errorf("attributes = %v\nwant %s", attrs, want)
	}
	if in.MessageGroupId != nil {
		t.Error("standard topic got a message group")
	}

	c := Alert{Action: Close, Message: "ALARM: x\nwith a break", Alias: "arn", Note: "OK now"}
	_ = s.Deliver(context.Background(), &c)
	if subj := aws.ToString(pub.in[1].Subject); subj != "[RESOLVED] ALARM: x with a break" {
		t.Errorf("close subject %q", subj)
	}
	if _, ok := pub.in[1].MessageAttributes["rule"]; ok {
		t.Error("empty attribute sent")
	}

	fifo, _ := NewSNSSink("arn:aws:sns:us-east-1:123456789012:alerts.fifo", pub)
	_ = fifo.Deliver(context.Background(), &a)
	if in := pub.in[2]; in.MessageGroupId == nil || in.MessageDeduplicationId == nil {
		t.Error("FIFO topic without group / deduplication id")
	}
	// The retry of an event keeps its deduplication id; another event of the
	// same alias, action and second does not share it.
	retried, other := a, a
	a.Event, retried.Event, other.Event = "ev-1", "ev-1", "ev-2"
	for _, x := range []*Alert{&a, &retried, &other} {
		_ = fifo.Deliver(context.Background(), x)
	}
	first, again, another := pub.in[3].MessageDeduplicationId, pub.in[4].MessageDeduplicationId, pub.in[5].MessageDeduplicationId
	if aws.ToString(first) != aws.ToString(again) || aws.ToString(first) == aws.ToString(another) {
		t.Errorf("deduplication ids %s, %s (retry), %s (another event)", aws.ToString(first), aws.ToString(again), aws.ToString(another))
	}
	if _, err := NewSNSSink("arn:aws:sqs:us-east-1:1:q", pub); err == nil {
		t.Error("an SQS ARN was accepted as a topic")
	}
}

type fakeSecrets struct {
	value string
	err   error
	calls atomic.Int32
}

func (f *fakeSecrets) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f.calls.Add(1)
	if f.err != nil {
		return nil, f.err
	}
	return &secretsmanager.GetSecretValueOutput{ARN: in.SecretId, SecretString: aws.String(f.value)}, nil
}

type fakeParams struct {
	names []string
	known string
	value string
}

func (f *fakeParams) GetParameter(_ context.Context, in *ssm.GetParameterInput, _ ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
	f.names = append(f.names, aws.ToString(in.Name))
	if aws.ToString(in.Name) != f.known || !aws.ToBool(in.WithDecryption) {
		return nil, &ssmtypes.ParameterNotFound{Message: aws.String("not found")}
	}
	return &ssm.GetParameterOutput{Parameter: &ssmtypes.Parameter{Value: aws.String(f.value)}}, nil
}

func TestKeySource(t *testing.T) {
	t.Parallel()
	const secretARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:opsgenie-AbCdEf"
	for _, tc := range []struct{ name, value, want, err string }{
		{"plain", " 8f3c-key \n", "8f3c-key", ""},
		{"json", `{"apiKey":"8f3c-key","note":"x"}`, "8f3c-key", ""},
		{"json snake", `{"api_key":"8f3c-key"}`, "8f3c-key", ""},
		{"json without key", `{"token":"8f3c-key"}`, "", "no non-empty apiKey"},
		{"empty", "  ", "", "value is empty"},
		{"spaces", "GenieKey 8f3c-key", "", "white space"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sm := &fakeSecrets{value: tc.value}
			src, err := NewKeySource(secretARN, sm, nil)
			if err != nil {
				t.Fatal(err)
			}
			k, err := src.Key(context.Background())
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrKey) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				if strings.Contains(err.Error(), "8f3c") {
					t.Errorf("error shows the key: %v", err)
				}
				return
			}
			if err != nil || k.Reveal() != tc.want {
				t.Fatalf("key = %q, %v", k.Reveal(), err)
			}
			_, _ = src.Key(context.Background())
			if sm.calls.Load() != 1 {
				t.Errorf("%d reads, want 1 (cached per container)", sm.calls.Load())
			}
		})
	}

	// A failed read is not cached.
	sm := &fakeSecrets{err: errors.New("throttled")}
	src, _ := NewKeySource(secretARN, sm, nil)
	if _, err := src.Key(context.Background()); err == nil || !strings.Contains(err.Error(), "throttled") {
		t.Errorf("err = %v", err)
	}
	sm.err, sm.value = nil, "k2"
	if k, err := src.Key(context.Background()); err != nil || k.Reveal() != "k2" {
		t.Errorf("after recovery: %v %v", k.Reveal(), err)
	}

	// SSM: by ARN, falling back to the name.
	p := &fakeParams{known: "/tributary/opsgenie-key", value: "ssm-key"}
	src, err := NewKeySource("arn:aws:ssm:us-east-1:123456789012:parameter/tributary/opsgenie-key", nil, p)
	if err != nil {
		t.Fatal(err)
	}
	if k, err := src.Key(context.Background()); err != nil || k.Reveal() != "ssm-key" {
		t.Fatalf("ssm key = %v, %v", k.Reveal(), err)
	}
	if strings.Join(p.names, " ") != "arn:aws:ssm:us-east-1:123456789012:parameter/tributary/opsgenie-key /tributary/opsgenie-key" {
		t.Errorf("GetParameter names = %v", p.names)
	}

	for _, bad := range []string{"arn:aws:s3:::bucket", "opsgenie-key", "arn:aws:ssm:us-east-1:1:document/x"} {
		if _, err := NewKeySource(bad, &fakeSecrets{}, &fakeParams{}); err == nil {
			t.Errorf("NewKeySource(%q) accepted", bad)
		}
	}
}

func TestFromConfig(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"AWS_REGION":                  "us-east-1",
		"ALERT_SINKS":                 "opsgenie,jsm,sns,log",
		"OPSGENIE_API_KEY_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:k",
		"ALERT_TOPIC_ARN":             "arn:aws:sns:us-east-1:123456789012:alerts",
		"OPSGENIE_API_URL":            "https://api.eu.opsgenie.com",
	}
	cfg, err := config.LoadAlarm(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	d, err := FromConfig(cfg.Alerting, Clients{SecretsManager: &fakeSecrets{value: "k"}, SNS: &fakePublisher{}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(d.Sinks(), ",") != "opsgenie,jsm,sns,log" {
		t.Errorf("sinks = %v", d.Sinks())
	}
	og := d.sinks[0].(*OpsgenieSink)
	jsm := d.sinks[1].(*OpsgenieSink)
	if og.AlertsURL() != "https://api.eu.opsgenie.com/v2/alerts" || jsm.AlertsURL() != "https://api.atlassian.com/jsm/ops/integration/v2/alerts" {
		t.Errorf("URLs %s %s", og.AlertsURL(), jsm.AlertsURL())
	}

	for k, v := range map[string]string{"ALERT_RESPONDERS": "SRE", "OPSGENIE_API_URL": "api.opsgenie.com", "ALERT_SINKS": "opsgenie,pagerduty"} {
		bad := map[string]string{}
		for ek, ev := range env {
			bad[ek] = ev
		}
		bad[k] = v
		_, err := config.LoadAlarm(func(k string) (string, bool) { v, ok := bad[k]; return v, ok })
		if err == nil || !strings.Contains(err.Error(), "config: "+k+" ") {
			t.Errorf("%s=%s: error %v does not name the variable", k, v, err)
		}
	}

	env["ALERT_SINKS"] = "jsm"
	delete(env, "OPSGENIE_API_URL")
	cfg, _ = config.LoadAlarm(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	d, err = FromConfig(cfg.Alerting, Clients{SecretsManager: &fakeSecrets{}}, nil)
	if err != nil || d.sinks[0].(*OpsgenieSink).AlertsURL() != "https://api.atlassian.com/jsm/ops/integration/v2/alerts" {
		t.Errorf("jsm alone: %v %v", d, err)
	}
}

func TestLogSink(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	s := LogSink{Log: slog.New(slog.NewJSONHandler(&buf, nil))}
	if err := s.Deliver(context.Background(), &Alert{Message: "m", Alias: "a", Time: time.Unix(0, 0).UTC().Format(time.RFC3339)}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"alert":{"action":"","message":"m","alias":"a"`) {
		t.Errorf("log = %s", buf.String())
	}
}

// flakySink fails the aliases in fail, and records what it delivered.
type flakySink struct {
	name      string
	fail      map[string]bool
	delivered []string
}

func (f *flakySink) Name() string { return f.name }

func (f *flakySink) Deliver(_ context.Context, a *Alert) error {
	if f.fail[a.Alias] {
		return fmt.Errorf("%s down", f.name)
	}
	f.delivered = append(f.delivered, a.Alias+"@"+a.Event)
	return nil
}

// TestRetryDeliversOnlyWhatFailed: the retry of an event whose Opsgenie
// delivery failed does not publish to SNS again what SNS already got, while
// another event's alert of the same alias, action and second goes out.
func TestRetryDeliversOnlyWhatFailed(t *testing.T) {
	t.Parallel()
	og := &flakySink{name: "opsgenie", fail: map[string]bool{"a1": true}}
	topic := &flakySink{name: "sns"}
	d := NewDispatcher(nil, og, topic)
	alerts := []Alert{
		{Action: Create, Message: "one", Alias: "a1", Time: "2026-11-22T04:24:48Z", Event: "ev-1"},
		{Action: Create, Message: "two", Alias: "a2", Time: "2026-11-22T04:24:48Z", Event: "ev-1"},
	}
	if rep := d.Send(context.Background(), alerts); rep.Err() == nil {
		t.Fatal("first attempt: want the Opsgenie failure reported")
	}
	og.fail = nil // Opsgenie is back for Lambda's retry
	rep := d.Send(context.Background(), alerts)
	if rep.Err() != nil || rep.Delivered["sns"] != 2 || rep.Delivered["opsgenie"] != 2 {
		t.Fatalf("retry: %+v", rep)
	}
	if got := strings.Join(topic.delivered, " "); got != "a1@ev-1 a2@ev-1" {
		t.Errorf("sns published %s: the retry published again", got)
	}
	if got := strings.Join(og.delivered, " "); got != "a2@ev-1 a1@ev-1" {
		t.Errorf("opsgenie got %s, want a2 then, on the retry, a1 only", got)
	}
	// Another event in the same second with the same alias (one alias
	// groups a user's denied calls), and alerts that name no event.
	later := []Alert{
		{Action: Create, Message: "one again", Alias: "a1", Time: "2026-11-22T04:24:48Z", Event: "ev-2"},
		{Action: Close, Alias: "a2"}, {Action: Close, Alias: "a2"},
	}
	d.Send(context.Background(), later)
	if got := strings.Join(topic.delivered, " "); got != "a1@ev-1 a2@ev-1 a1@ev-2 a2@ a2@" {
		t.Errorf("sns deliveries %s", got)
	}
}
