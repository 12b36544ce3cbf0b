package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tributary-logs/tributary/shared/alarm/cloudwatchtest"
	"github.com/tributary-logs/tributary/shared/bootstraptest"
	"github.com/tributary-logs/tributary/shared/lambdaruntime"
	"github.com/tributary-logs/tributary/shared/localaws"
	"github.com/tributary-logs/tributary/shared/opsgenietest"
	"github.com/tributary-logs/tributary/shared/opsgenietest/snsqueue"
)

// The pipeline alarms' notifications and the stack's alarms with their
// tags (as template.yaml creates them for a stack named "prod").
const pipelineFixtures = "../../shared/alarm/testdata/pipeline"

// fixtureTime is when the fixtures' alarms changed state.
var fixtureTime = time.Date(2024, 5, 14, 9, 10, 41, 96_000_000, time.UTC)

// pipelineWorld is everything the alarm function talks to: moto (SNS → SQS
// subscriber, Secrets Manager, CloudWatch Logs with a few log groups), the
// CloudWatch endpoint of cloudwatchtest with the stack's alarms and tags
// (moved in time by shift), and the Opsgenie test server.
type pipelineWorld struct {
	og   *opsgenietest.Server
	sub  *snsqueue.Subscriber
	cw   *cloudwatchtest.Server
	env  []string
	now  time.Time
	logs map[string]time.Time // log group → newest event
}

func newPipelineWorld(t *testing.T, shift time.Duration) *pipelineWorld {
	t.Helper()
	m := localaws.MotoForTest(t)
	ctx := context.Background()
	cfg, err := m.Config(ctx, region)
	if err != nil {
		t.Fatal(err)
	}
	w := &pipelineWorld{og: opsgenietest.StartForTest(t, opsgenietest.Options{}), now: time.Now().UTC().Truncate(time.Second)}
	if w.sub, err = snsqueue.New(ctx, sns.NewFromConfig(cfg), sqs.NewFromConfig(cfg), "tributary-alerts"); err != nil {
		t.Fatal(err)
	}
	sec, err := secretsmanager.NewFromConfig(cfg).CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("og"), SecretString: aws.String(w.og.Key())})
	if err != nil {
		t.Fatal(err)
	}

	// Log groups for the silence alarms: the subscribed one still writes,
	// another stopped hours ago, one never wrote, and Tributary's own.
	logs := cloudwatchlogs.NewFromConfig(cfg)
	w.logs = map[string]time.Time{"/ecs/checkout": w.now.Add(-2 * time.Minute), "/aws/lambda/orders": w.now.Add(-3 * time.Hour),
		"/ecs/quiet": {}, "/tributary/prod/transform": w.now.Add(-time.Minute)}
	for group, last := range w.logs {
		if _, err := logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)}); err != nil {
			t.Fatal(err)
		}
		if _, err := logs.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String("s")}); err != nil {
			t.Fatal(err)
		}
		if !last.IsZero() {
			if _, err := logs.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String("s"),
				LogEvents: []logstypes.InputLogEvent{{Timestamp: aws.Int64(last.Add(-time.Hour).UnixMilli()), Message: aws.String("older")},
					{Timestamp: aws.Int64(last.UnixMilli()), Message: aws.String("newest")}}}); err != nil {
				t.Fatal(err)
			}
		}
	}

	f, err := os.Open(filepath.Join(pipelineFixtures, "alarms.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	alarms, err := cloudwatchtest.ReadAlarms(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range alarms {
		if a.Metric != nil && a.Metric.StateUpdatedTimestamp != nil {
			a.Metric.StateUpdatedTimestamp = aws.Time(a.Metric.StateUpdatedTimestamp.Add(shift))
		}
		if a.Composite != nil && a.Composite.StateUpdatedTimestamp != nil {
			a.Composite.StateUpdatedTimestamp = aws.Time(a.Composite.StateUpdatedTimestamp.Add(shift))
		}
	}
	w.cw = cloudwatchtest.StartForTest(t, alarms...)
	w.env = append(m.Env(region),
		"ALERT_SINKS=opsgenie,sns", "OPSGENIE_API_URL="+w.og.URL, "OPSGENIE_API_KEY_SECRET_ARN="+aws.ToString(sec.ARN),
		"ALERT_TOPIC_ARN="+w.sub.TopicARN, "AWS_ENDPOINT_URL_CLOUDWATCH="+w.cw.URL, "DEFAULT_PRIORITY=P4", "LOG_LEVEL=debug")
	return w
}

// retime moves a fixture's notification by shift, so that its window
// matches the log events moto keeps (it refuses events older than 14 days).
func retime(t *testing.T, payload []byte, shift time.Duration) ([]byte, string, time.Time) {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(payload, &ev); err != nil {
		t.Fatal(err)
	}
	rec := ev["Records"].([]any)[0].(map[string]any)["Sns"].(map[string]any)
	var msg map[string]any
	if err := json.Unmarshal([]byte(rec["Message"].(string)), &msg); err != nil {
		t.Fatal(err)
	}
	at, err := time.Parse("2006-01-02T15:04:05.000-0700", msg["StateChangeTime"].(string))
	if err != nil {
		t.Fatal(err)
	}
	at = at.Add(shift).UTC()
	msg["StateChangeTime"] = at.Format("2006-01-02T15:04:05.000-0700")
	b, _ := json.Marshal(msg)
	rec["Message"] = string(b)
	out, _ := json.Marshal(ev)
	return out, msg["AlarmName"].(string), at
}

func (w *pipelineWorld) start(t *testing.T, out *bootstraptest.Output, env ...string) *lambdaruntime.Function {
	t.Helper()
	fn, err := lambdaruntime.New(lambdaruntime.Config{Bootstrap: bootstraptest.Path(t, "alarm"), Timeout: 30 * time.Second,
		Env: append(slices.Clone(w.env), env...), Output: out})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fn.Close() })
	return fn
}

// TestPipelineAlarms proves the alarm function end to end for each of
// Tributary's own alarms: the built bootstrap, given the alarm's SNS
// notification, reads the alarm's tags (and, for the composite, its members)
// from a CloudWatch endpoint speaking the SDK's RPC v2 CBOR protocol, reads
// the log groups' newest events from moto's CloudWatch Logs, and sends the
// enriched alert to the Opsgenie test server and to SNS (moto, read back
// through an SQS subscriber).
func TestPipelineAlarms(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	shift := now.Add(-30 * time.Second).Sub(fixtureTime)
	w := newPipelineWorld(t, shift)
	ctx := context.Background()
	out := &bootstraptest.Output{}
	fn := w.start(t, out)

	checkout := w.logs["/ecs/checkout"].Format(time.RFC3339) + "  /ecs/checkout"
	orders := w.logs["/aws/lambda/orders"].Format(time.RFC3339) + "  /aws/lambda/orders\n"
	since := func(at time.Time, window time.Duration) string {
		return " -since " + at.Add(-window-time.Hour).Format(time.RFC3339)
	}
	files, _ := filepath.Glob(filepath.Join(pipelineFixtures, "sns-*.json"))
	if len(files) < 17 {
		t.Fatalf("%d notifications under %s, want one per kind and the composite's OK", len(files), pipelineFixtures)
	}
	for _, file := range files {
		kind := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(file), "sns-"), ".json")
		if kind == "pipeline-degraded-ok" {
			continue // after the composite, below
		}
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		payload, name, at := retime(t, raw, shift)
		alias := "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:" + name
		t.Run(kind, func(t *testing.T) {
			res, err := fn.Invoke(ctx, payload)
			if err != nil || res.FunctionError {
				t.Fatalf("invoke: %v %s\n%s", err, res.Payload, out)
			}
			var resp struct {
				Alerts []struct {
					PipelineAlarm string `json:"pipelineAlarm"`
				} `json:"alerts"`
			}
			if err := json.Unmarshal(res.Payload, &resp); err != nil || len(resp.Alerts) != 1 || resp.Alerts[0].PipelineAlarm != kind {
				t.Errorf("response %s", res.Payload)
			}
			a, ok := w.og.Alert(alias)
			if !ok || a.Status != "open" || a.Priority != "P2" || !strings.HasPrefix(a.Message, "ALARM: "+name) {
				t.Fatalf("Opsgenie alert %+v\n%s", a, out)
			}
			if !slices.Contains(a.Tags, "pipeline") || !slices.Contains(a.Tags, kind) || a.Details["pipelineAlarm"] != kind ||
				a.Details["stack"] != "prod" || a.Details["runbook"] != "docs/operations.md#"+kind {
				t.Errorf("tags %v details %v", a.Tags, a.Details)
			}
			want := []string{"Tributary pipeline alarm: " + kind + " (stack prod)\n"}
			switch kind {
			case "processing-failed":
				want = append(want, "Dead letters: s3://prod-logsbucket-1x2y3z4w/processing-failed/\n",
					"go run ./cmd/replay failed -to firehose -stream prod-DeliveryStream-AbCdEf12 -bucket prod-logsbucket-1x2y3z4w -prefix processing-failed/"+since(at, 5*time.Minute)+"\n")
			case "indexer-dead-letters":
				want = append(want, "Dead letters: s3://prod-logsbucket-1x2y3z4w/dlq/\n",
					"go run ./cmd/replay objects -to indexer -function prod-IndexerFunction-DeF456gh -bucket prod-logsbucket-1x2y3z4w -prefix dlq/"+since(at, 5*time.Minute)+"\n")
			case "failed-events":
				want = append(want, "Dead letters: https://sqs.eu-west-1.amazonaws.com/123456789012/prod-FailedEventsQueue-1A2B3C4D\n",
					"  go run ./cmd/replay queue -queue-url https://sqs.eu-west-1.amazonaws.com/123456789012/prod-FailedEventsQueue-1A2B3C4D\n")
			case "indexer-failed-batches":
				want = append(want, "Function: indexer\n", "Dead letters: https://sqs.eu-west-1.amazonaws.com/123456789012/prod-IndexerDeadLetterQueue-7G8H9I0J\n",
					"  go run ./cmd/replay queue -queue-url https://sqs.eu-west-1.amazonaws.com/123456789012/prod-IndexerDeadLetterQueue-7G8H9I0J -function prod-IndexerFunction-DeF456gh\n")
			case "lake-dead-letters":
				want = append(want, "Function: lake\n", "Dead letters: https://sqs.eu-west-1.amazonaws.com/123456789012/prod-RawObjectsDeadLetterQueue-4D5E6F7G\n",
					"  aws sqs start-message-move-task --source-arn arn:aws:sqs:eu-west-1:123456789012:prod-RawObjectsDeadLetterQueue-4D5E6F7G\n")
			case "silence-floor":
				want = append(want, "Firehose stream: prod-DeliveryStream-AbCdEf12\n", "Newest event per log group, newest first (3 checked;",
					"  "+checkout+" (subscribed)\n", "  "+orders, "  no events             /ecs/quiet\n",
					"Sources still write: 1 of 3 log groups have events after the alarm window began")
			case "silence-anomaly":
				want = append(want, "Firehose stream: prod-DeliveryStream-AbCdEf12\n", "(3 checked;", "  "+checkout+"\n", "  "+orders,
					"Sources still write: 1 of 3 log groups have events after the alarm window began ("+at.Add(-15*time.Minute).Format(time.RFC3339)+")")
			case "pipeline-degraded":
				want = append(want, "Members in ALARM (4 of 23), first tripped first:\n",
					"- prod-opensearch-red (opensearch-red) since ", "    OpenSearch domain: arn:aws:es:eu-west-1:123456789012:domain/prod-logs\n",
					"- prod-indexer-dead-letters (indexer-dead-letters) since ", "      go run ./cmd/replay objects -to indexer -function prod-IndexerFunction-DeF456gh -bucket prod-logsbucket-1x2y3z4w -prefix dlq/ -since ",
					"- prod-lake-dead-letters (lake-dead-letters) since ", "      aws sqs start-message-move-task --source-arn ",
					"- prod-silence-anomaly (silence-anomaly) since ", "      "+checkout+"\n", "    Sources still write: 1 of 3 log groups",
					"    Runbook: docs/operations.md#silence-anomaly\n")
			case "firehose-freshness":
				want = append(want, "Firehose stream: prod-DeliveryStream-AbCdEf12\n")
			case "opensearch-red", "opensearch-low-storage", "opensearch-write-rejected":
				want = append(want, "OpenSearch domain: arn:aws:es:eu-west-1:123456789012:domain/prod-logs\n")
			case "lambda-errors":
				want = append(want, "Function: transform\n")
			case "lambda-throttles", "indexer-throttled":
				want = append(want, "Function: indexer\n")
			case "lake-lag":
				want = append(want, "Function: lake\n")
			default:
				t.Fatalf("no expectations for kind %s", kind)
			}
			want = append(want, "\n  Runbook: docs/operations.md#"+kind+"\n")
			at := -1
			for _, s := range want {
				i := strings.Index(a.Description, s)
				if i < 0 || i < at {
					t.Fatalf("the alert's description lacks %q (in this order):\n%s", s, a.Description)
				}
				at = i
			}
			if strings.Contains(a.Description, "Z  /tributary/prod/") {
				t.Errorf("Tributary's own log groups listed:\n%s", a.Description)
			}

			got, err := w.sub.Receive(ctx, time.Second)
			if err != nil || len(got) != 1 {
				t.Fatalf("SNS subscriber got %d notifications (%v)", len(got), err)
			}
			n := got[0]
			if !strings.HasPrefix(n.Subject, "[P2] ALARM: "+name) || n.Attr("priority") != "P2" || n.Attr("action") != "create" ||
				!strings.Contains(n.Message, want[len(want)-2]) || !strings.Contains(n.Message, "  pipelineAlarm: "+kind+"\n") {
				t.Errorf("SNS notification %q:\n%s", n.Subject, n.Message)
			}
		})
	}

	t.Run("pipeline-degraded OK closes the alert", func(t *testing.T) {
		raw, err := os.ReadFile(filepath.Join(pipelineFixtures, "sns-pipeline-degraded-ok.json"))
		if err != nil {
			t.Fatal(err)
		}
		payload, _, _ := retime(t, raw, shift)
		if res, err := fn.Invoke(ctx, payload); err != nil || res.FunctionError {
			t.Fatalf("invoke: %v %s", err, res.Payload)
		}
		a, _ := w.og.Alert("arn:aws:cloudwatch:eu-west-1:123456789012:alarm:prod-pipeline-degraded")
		if a.Status != "closed" {
			t.Errorf("alert %+v", a)
		}
		got, _ := w.sub.Receive(ctx, time.Second)
		if len(got) != 1 || !strings.HasPrefix(got[0].Subject, "[RESOLVED] OK: prod-pipeline-degraded") {
			t.Errorf("SNS got %+v", got)
		}
	})

	// The bootstrap read the tags over CloudWatch's own protocol, each
	// alarm's once (cached, whether it paged on its own or as a member of the
	// composite), and the composite's members with one call.
	tagged := map[string]int{}
	described := 0
	for _, c := range w.cw.Calls() {
		switch c.Op {
		case "ListTagsForResource":
			tagged[c.ResourceARN]++
		case "DescribeAlarms":
			described++
		}
		if c.Status != 200 {
			t.Errorf("CloudWatch call %+v failed", c)
		}
	}
	// One DescribeAlarms for the composite's members; a second can appear
	// when the SDK retries an attempt that timed out on a loaded machine
	// (the server then answers both), so only more than that is an error.
	if len(tagged) != 16 || described < 1 || described > 2 {
		t.Errorf("tags read for %d alarms (%v), DescribeAlarms %d times", len(tagged), tagged, described)
	}
	for arn, n := range tagged {
		if n != 1 {
			t.Errorf("tags of %s read %d times within the cache TTL", arn, n)
		}
	}
	if strings.Contains(out.String(), w.og.Key()) {
		t.Error("the API key appears in the function's output")
	}
}

// TestPipelineAlarmWithoutTags: when CloudWatch refuses the tags (say the
// role lacks cloudwatch:ListTagsForResource), the alert still goes out,
// recognised by the runbook link in the alarm's description, with the
// default priority and a note that the dead-letter location is unknown.
func TestPipelineAlarmWithoutTags(t *testing.T) {
	w := newPipelineWorld(t, 0)
	w.cw.Fail("ListTagsForResource", "AccessDenied")
	out := &bootstraptest.Output{}
	fn := w.start(t, out)
	raw, err := os.ReadFile(filepath.Join(pipelineFixtures, "sns-indexer-dead-letters.json"))
	if err != nil {
		t.Fatal(err)
	}
	if res, err := fn.Invoke(context.Background(), raw); err != nil || res.FunctionError {
		t.Fatalf("invoke: %v %s\n%s", err, res.Payload, out)
	}
	a, ok := w.og.Alert("arn:aws:cloudwatch:eu-west-1:123456789012:alarm:prod-indexer-dead-letters")
	if !ok || a.Priority != "P4" || a.Details["pipelineAlarm"] != "indexer-dead-letters" || a.Details["replay"] != "" ||
		!strings.Contains(a.Description, "Recognised by its description: its tags could not be read (ListTagsForResource: ") ||
		!strings.Contains(a.Description, "AccessDenied") || !strings.Contains(a.Description, "\n  Runbook: docs/operations.md#indexer-dead-letters\n") {
		t.Errorf("alert %+v\n%s", a, out)
	}
	if got, _ := w.sub.Receive(context.Background(), time.Second); len(got) != 1 || got[0].Attr("priority") != "P4" {
		t.Errorf("SNS got %+v", got)
	}
}
