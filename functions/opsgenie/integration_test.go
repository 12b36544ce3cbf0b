package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/tributary-logs/tributary/shared/bootstraptest"
	"github.com/tributary-logs/tributary/shared/lambdaruntime"
	"github.com/tributary-logs/tributary/shared/localaws"
	"github.com/tributary-logs/tributary/shared/opsgenietest"
	"github.com/tributary-logs/tributary/shared/opsgenietest/snsqueue"
)

const region = "us-east-1"

type stack struct {
	moto   *localaws.Moto
	og     *opsgenietest.Server
	sub    *snsqueue.Subscriber
	secret string
	param  string
}

// newStack starts moto (SNS + SQS subscriber, the key in Secrets Manager and
// in an SSM SecureString) and our Opsgenie server.
func newStack(t *testing.T) *stack {
	t.Helper()
	m := localaws.MotoForTest(t)
	ctx := context.Background()
	cfg, err := m.Config(ctx, region)
	if err != nil {
		t.Fatal(err)
	}
	og := opsgenietest.StartForTest(t, opsgenietest.Options{})
	sub, err := snsqueue.New(ctx, sns.NewFromConfig(cfg), sqs.NewFromConfig(cfg), "tributary-alerts")
	if err != nil {
		t.Fatal(err)
	}
	sec, err := secretsmanager.NewFromConfig(cfg).CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String("tributary/opsgenie"), SecretString: aws.String(`{"apiKey":"` + og.Key() + `"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ssm.NewFromConfig(cfg).PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/tributary/opsgenie-key"),
		Type: ssmtypes.ParameterTypeSecureString, Value: aws.String(og.Key())}); err != nil {
		t.Fatal(err)
	}
	return &stack{moto: m, og: og, sub: sub, secret: aws.ToString(sec.ARN), param: "arn:aws:ssm:us-east-1:123456789012:parameter/tributary/opsgenie-key"}
}

func (s *stack) function(t *testing.T, env ...string) (*lambdaruntime.Function, *bootstraptest.Output) {
	t.Helper()
	out := &bootstraptest.Output{}
	base := append(s.moto.Env(region),
		"ALERT_SINKS=opsgenie,sns",
		"OPSGENIE_API_URL="+s.og.URL,
		"OPSGENIE_API_KEY_SECRET_ARN="+s.secret,
		"ALERT_TOPIC_ARN="+s.sub.TopicARN,
		"LOG_LEVEL=debug",
	)
	fn, err := lambdaruntime.New(lambdaruntime.Config{
		Bootstrap: bootstraptest.Path(t, "opsgenie"),
		Timeout:   30 * time.Second,
		Env:       append(base, env...),
		Output:    out,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fn.Close() })
	return fn, out
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "shared", "securityevent", "testdata", "events", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func invoke(t *testing.T, fn *lambdaruntime.Function, out *bootstraptest.Output, payload []byte) lambdaruntime.Result {
	t.Helper()
	res, err := fn.Invoke(context.Background(), payload)
	if err != nil {
		t.Fatalf("invoke: %v\n%s", err, out)
	}
	return res
}

// TestBootstrap proves the opsgenie function end to end, through the local
// Runtime API, with moto for SNS / SQS / Secrets Manager / SSM and our
// Opsgenie server.
func TestBootstrap(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()

	t.Run("root console login pages P1 once; a retry on the same environment sends nothing again, on a new one it only raises the count", func(t *testing.T) {
		fn, out := s.function(t)
		payload := fixture(t, "signin-root")
		for i := range 2 {
			if res := invoke(t, fn, out, payload); res.FunctionError {
				t.Fatalf("invocation %d failed: %s\n%s", i, res.Payload, out)
			}
		}
		if res := invoke(t, fn, out, payload); res.FunctionError {
			t.Fatalf("third invocation failed: %s\n%s", res.Payload, out)
		}
		fresh, freshOut := s.function(t)
		if res := invoke(t, fresh, freshOut, payload); res.FunctionError {
			t.Fatalf("invocation on a new environment failed: %s\n%s", res.Payload, freshOut)
		}
		const alias = "cis-root-account-usage:123456789012"
		a, ok := s.og.Alert(alias)
		if !ok || a.Priority != "P1" || a.Status != "open" || a.Count != 2 || !strings.HasPrefix(a.Message, "Root account used: ConsoleLogin by root") {
			t.Fatalf("alert %+v\n%s", a, out)
		}
		if s.og.Pages() != 1 {
			t.Errorf("%d pages, want 1", s.og.Pages())
		}
		var aliases []string
		for _, r := range s.og.Requests() {
			aliases = append(aliases, r.Alias)
		}
		if strings.Join(aliases, ",") != alias+","+alias {
			t.Errorf("aliases sent %v: not stable across the retry", aliases)
		}
		got, err := s.sub.Receive(ctx, time.Second)
		if err != nil || len(got) != 2 {
			t.Fatalf("SNS subscriber got %d messages (%v)", len(got), err)
		}
		n := got[0]
		if n.Attr("priority") != "P1" || n.Attr("rule") != "cis-root-account-usage" || n.Attr("account") != "123456789012" ||
			n.Subject != "[P1] Root account used: ConsoleLogin by root from 203.0.113.10 in 123456789012" ||
			!strings.Contains(n.Message, "arn:aws:iam::123456789012:root (Root)") {
			t.Errorf("subscriber got %+v", n)
		}
		if strings.Contains(out.String(), s.og.Key()) {
			t.Error("the API key appears in the function's output")
		}
	})

	t.Run("a GuardDuty finding update raises the count, not a new page", func(t *testing.T) {
		s.og.Reset()
		fn, out := s.function(t)
		for _, name := range []string{"guardduty-credential-exfiltration", "guardduty-credential-exfiltration-update"} {
			if res := invoke(t, fn, out, fixture(t, name)); res.FunctionError {
				t.Fatalf("%s: %s\n%s", name, res.Payload, out)
			}
		}
		a, ok := s.og.Alert("guardduty:a4c6e8f0b2d4f6a8c0e2b4d6f8a0c2e4")
		if !ok || a.Count != 2 || s.og.Pages() != 1 || a.Priority != "P2" {
			t.Errorf("alert %+v, pages %d", a, s.og.Pages())
		}
		if res := invoke(t, fn, out, fixture(t, "guardduty-finding-archived")); res.FunctionError {
			t.Fatal(string(res.Payload))
		}
		if a, _ := s.og.Alert("guardduty:a4c6e8f0b2d4f6a8c0e2b4d6f8a0c2e4"); a.Status != "closed" {
			t.Errorf("archived finding left the alert %s", a.Status)
		}
		_, _ = s.sub.Receive(ctx, 0)
	})

	t.Run("an Opsgenie outage still reaches SNS and fails the invocation", func(t *testing.T) {
		s.og.Reset()
		s.og.SetOutage(true)
		fn, out := s.function(t)
		payload := fixture(t, "ct-vpc-create")
		res := invoke(t, fn, out, payload)
		if !res.FunctionError || !strings.Contains(res.ErrorMessage, "opsgenie create") || !strings.Contains(res.ErrorMessage, "HTTP 503") {
			t.Fatalf("result %+v, want a function error naming the 503\n%s", res, out)
		}
		got, err := s.sub.Receive(ctx, time.Second)
		if err != nil || len(got) != 1 || got[0].Attr("rule") != "cis-vpc-changes" || got[0].Attr("priority") != "P3" {
			t.Fatalf("SNS during the outage: %+v %v", got, err)
		}
		// Lambda retries the event; Opsgenie is back.
		s.og.SetOutage(false)
		if res := invoke(t, fn, out, payload); res.FunctionError {
			t.Fatalf("retry failed: %s\n%s", res.Payload, out)
		}
		a, ok := s.og.Alert("cis-vpc-changes:4f5a6b7c-8d9e-4f0a-9b1c-2d3e4f5a6b7c")
		if !ok || a.Count != 1 || !strings.Contains(a.Description, "created: vpc-0f1e2d3c4b5a69788") {
			t.Errorf("after the retry: %+v", a)
		}
		// SNS had it: the retry does not publish it again.
		if again, _ := s.sub.Receive(ctx, time.Second); len(again) != 0 {
			t.Errorf("the retry published to SNS again: %+v", again)
		}
	})

	t.Run("JSM Operations with the key in an SSM SecureString", func(t *testing.T) {
		s.og.Reset()
		fn, out := s.function(t, "ALERT_SINKS=jsm", "OPSGENIE_API_KEY_SECRET_ARN="+s.param)
		if res := invoke(t, fn, out, fixture(t, "awslogs-cloudtrail")); res.FunctionError {
			t.Fatalf("%s\n%s", res.Payload, out)
		}
		reqs := s.og.Requests()
		if len(reqs) != 3 {
			t.Fatalf("%d requests, want 3 (VPC change, root, denied calls collapsed): %+v", len(reqs), reqs)
		}
		for _, r := range reqs {
			if r.API != opsgenietest.APIJSM || r.Path != "/jsm/ops/integration/v2/alerts" || !r.KeyOK {
				t.Errorf("request %+v", r)
			}
		}
		if a, _ := s.og.Lookup(opsgenietest.APIJSM, "cis-unauthorized-api-calls:123456789012:arn:aws:sts::123456789012:assumed-role/ReadOnlyRole/intruder-session"); a.Details["occurrences"] != "2" {
			t.Errorf("storm control: %+v", a)
		}
	})

	t.Run("a bad rule stops the cold start naming the rule and field", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "rules.yaml")
		if err := os.WriteFile(path, []byte("rules:\n  - id: my-rule\n    title: Mine\n    priority: P9\n    match: {source: [aws.ec2]}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		fn, out := s.function(t, "RULES_FILE="+path)
		res := invoke(t, fn, out, fixture(t, "signin-root"))
		if !res.InitError || !strings.Contains(out.String(), `rule \"my-rule\": field \"priority\": \"P9\" is not P1..P5 or severity`) {
			t.Errorf("result %+v\n%s", res, out)
		}
	})
}
