package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tributary-logs/tributary/shared/bootstraptest"
	"github.com/tributary-logs/tributary/shared/lambdaruntime"
	"github.com/tributary-logs/tributary/shared/localaws"
	"github.com/tributary-logs/tributary/shared/opsgenietest"
	"github.com/tributary-logs/tributary/shared/opsgenietest/snsqueue"
)

const region = "eu-west-1"

// alarmSNS is an SNS event carrying a CloudWatch alarm notification for the
// metric behind a log metric filter, in the shape CloudWatch publishes.
func alarmSNS(t *testing.T, name, state, old string, at time.Time) []byte {
	t.Helper()
	msg := map[string]any{
		"AlarmName": name, "AlarmDescription": "ERROR lines in the checkout service logs.", "AWSAccountId": "123456789012",
		"AlarmConfigurationUpdatedTimestamp": "2024-05-01T08:00:00.000+0000", "NewStateValue": state,
		"NewStateReason":  fmt.Sprintf("Threshold Crossed: 1 out of the last 1 datapoints was %s the threshold (5.0).", map[string]string{"ALARM": "greater than or equal to", "OK": "not greater than or equal to"}[state]),
		"StateChangeTime": at.Format("2006-01-02T15:04:05.000-0700"), "Region": "EU (Ireland)",
		"AlarmArn": "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:" + name, "OldStateValue": old,
		"OKActions": []string{}, "AlarmActions": []string{"arn:aws:sns:eu-west-1:123456789012:alarms"}, "InsufficientDataActions": []string{},
		"Trigger": map[string]any{"MetricName": "ErrorCount", "Namespace": "Tributary/App", "StatisticType": "Statistic", "Statistic": "SUM",
			"Unit": nil, "Dimensions": []any{}, "Period": 300, "EvaluationPeriods": 1, "DatapointsToAlarm": 1,
			"ComparisonOperator": "GreaterThanOrEqualToThreshold", "Threshold": 5.0, "TreatMissingData": "notBreaching", "EvaluateLowSampleCountPercentile": ""},
	}
	body, _ := json.Marshal(msg)
	ev := map[string]any{"Records": []any{map[string]any{"EventSource": "aws:sns", "EventVersion": "1.0",
		"EventSubscriptionArn": "arn:aws:sns:eu-west-1:123456789012:alarms:6f1c", "Sns": map[string]any{
			"Type": "Notification", "MessageId": fmt.Sprintf("%s-%s-%d", name, state, at.Unix()), "TopicArn": "arn:aws:sns:eu-west-1:123456789012:alarms",
			"Subject": fmt.Sprintf("%s: %q in EU (Ireland)", state, name), "Message": string(body), "Timestamp": at.Format(time.RFC3339Nano),
			"SignatureVersion": "1", "Signature": "EXAMPLE", "SigningCertUrl": "EXAMPLE", "UnsubscribeUrl": "EXAMPLE", "MessageAttributes": map[string]any{}}}}}
	b, _ := json.Marshal(ev)
	return b
}

// TestBootstrap proves the alarm function end to end through the local
// Runtime API: moto serves SNS, SQS, Secrets Manager and CloudWatch Logs
// (the metric filter and its log lines); our server plays Opsgenie.
// CloudWatch's own API (tags, DescribeAlarms) speaks a protocol moto cannot
// answer, so the priority tag is off here and tested with a double in
// shared/alarm.
func TestBootstrap(t *testing.T) {
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
	sec, err := secretsmanager.NewFromConfig(cfg).CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("og"), SecretString: aws.String(og.Key())})
	if err != nil {
		t.Fatal(err)
	}

	// The log group behind the alarm's metric: a filter and its lines.
	logs := cloudwatchlogs.NewFromConfig(cfg)
	at := time.Now().UTC().Truncate(time.Minute).Add(-20*time.Minute + 41*time.Second)
	windowStart := at.Truncate(5 * time.Minute).Add(-5 * time.Minute)
	group := "/ecs/checkout"
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)}))
	must(logs.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String("checkout/web/1a2b")}))
	must(logs.PutMetricFilter(ctx, &cloudwatchlogs.PutMetricFilterInput{LogGroupName: aws.String(group), FilterName: aws.String("checkout-errors"),
		FilterPattern: aws.String(`"ERROR"`), MetricTransformations: []logstypes.MetricTransformation{{MetricName: aws.String("ErrorCount"),
			MetricNamespace: aws.String("Tributary/App"), MetricValue: aws.String("1")}}}))
	var evs []logstypes.InputLogEvent
	for i, line := range []string{"ERROR early, outside the window", "INFO GET /cart 200", "ERROR payment declined order=1001",
		"ERROR upstream timeout calling payments", "INFO GET /health 200", "ERROR retry budget exhausted order=1007"} {
		ts := windowStart.Add(time.Duration(i*50-60) * time.Second)
		evs = append(evs, logstypes.InputLogEvent{Timestamp: aws.Int64(ts.UnixMilli()), Message: aws.String(line)})
	}
	must(logs.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String("checkout/web/1a2b"), LogEvents: evs}))

	out := &bootstraptest.Output{}
	env := append(m.Env(region),
		"ALERT_SINKS=opsgenie,sns", "OPSGENIE_API_URL="+og.URL, "OPSGENIE_API_KEY_SECRET_ARN="+aws.ToString(sec.ARN),
		"ALERT_TOPIC_ARN="+sub.TopicARN, "PRIORITY_TAG=none", "AWS_ENDPOINT_URL_CLOUDWATCH="+m.Endpoint, "DEFAULT_PRIORITY=P2", "MAX_LOG_LINES=2", "LOG_LEVEL=debug")
	fn, err := lambdaruntime.New(lambdaruntime.Config{Bootstrap: bootstraptest.Path(t, "alarm"), Timeout: 30 * time.Second, Env: env, Output: out})
	if err != nil {
		t.Fatal(err)
	}
	defer fn.Close()
	invoke := func(payload []byte) lambdaruntime.Result {
		t.Helper()
		res, err := fn.Invoke(ctx, payload)
		if err != nil {
			t.Fatalf("invoke: %v\n%s", err, out)
		}
		return res
	}
	const alias = "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:checkout-errors"

	t.Run("ALARM opens an alert with the matching log lines", func(t *testing.T) {
		if res := invoke(alarmSNS(t, "checkout-errors", "ALARM", "OK", at)); res.FunctionError {
			t.Fatalf("%s\n%s", res.Payload, out)
		}
		a, ok := og.Alert(alias)
		if !ok || a.Status != "open" || a.Priority != "P2" || a.Message != "ALARM: checkout-errors" {
			t.Fatalf("alert %+v\n%s", a, out)
		}
		for _, w := range []string{"Metric filter: checkout-errors on /ecs/checkout: pattern \"ERROR\"",
			"2 of 3 between", "[checkout/web/1a2b] ERROR retry budget exhausted order=1007", "[checkout/web/1a2b] ERROR upstream timeout calling payments",
			"Logs Insights: https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:logs-insights"} {
			if !strings.Contains(a.Description, w) {
				t.Errorf("description lacks %q:\n%s", w, a.Description)
			}
		}
		if strings.Contains(a.Description, "early, outside") || strings.Contains(a.Description, "order=1001") {
			t.Errorf("description has lines it should not:\n%s", a.Description)
		}
		got, err := sub.Receive(ctx, time.Second)
		if err != nil || len(got) != 1 || got[0].Attr("priority") != "P2" || got[0].Attr("rule") != "cloudwatch-alarm" ||
			got[0].Attr("account") != "123456789012" || got[0].Subject != "[P2] ALARM: checkout-errors" {
			t.Errorf("subscriber got %+v (%v)", got, err)
		}
	})

	t.Run("OK closes it", func(t *testing.T) {
		if res := invoke(alarmSNS(t, "checkout-errors", "OK", "ALARM", at.Add(20*time.Minute))); res.FunctionError {
			t.Fatalf("%s\n%s", res.Payload, out)
		}
		a, _ := og.Alert(alias)
		if a.Status != "closed" || og.Pages() != 1 || !strings.Contains(a.CloseNote, "Alarm checkout-errors is OK") {
			t.Errorf("alert %+v, pages %d", a, og.Pages())
		}
		got, _ := sub.Receive(ctx, time.Second)
		if len(got) != 1 || got[0].Subject != "[RESOLVED] OK: checkout-errors" || got[0].Attr("action") != "close" {
			t.Errorf("subscriber got %+v", got)
		}
	})

	t.Run("an Opsgenie outage still reaches SNS and fails the invocation", func(t *testing.T) {
		og.SetOutage(true)
		defer og.SetOutage(false)
		notification := alarmSNS(t, "checkout-errors", "ALARM", "OK", at.Add(30*time.Minute))
		res := invoke(notification)
		if !res.FunctionError || !strings.Contains(res.ErrorMessage, "opsgenie create") || !strings.Contains(res.ErrorMessage, "HTTP 503") {
			t.Fatalf("result %+v\n%s", res, out)
		}
		got, _ := sub.Receive(ctx, time.Second)
		if len(got) != 1 || got[0].Attr("action") != "create" {
			t.Errorf("subscriber got %+v", got)
		}
		// Lambda retries; Opsgenie is back, and SNS is not sent the alert twice.
		og.SetOutage(false)
		if res := invoke(notification); res.FunctionError {
			t.Fatalf("retry: %+v\n%s", res, out)
		}
		if again, _ := sub.Receive(ctx, time.Second); len(again) != 0 {
			t.Errorf("the retry published to SNS again: %+v", again)
		}
	})

	if strings.Contains(out.String(), og.Key()) {
		t.Error("the API key appears in the function's output")
	}
}
