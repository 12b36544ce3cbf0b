package alarm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/tributary-logs/tributary/shared/alarm/cloudwatchtest"
	"github.com/tributary-logs/tributary/shared/alert"
)

// pipelineWorld is the "prod" stack of testdata/pipeline/alarms.json (every
// pipeline alarm with the template's tags; opensearch-red,
// indexer-dead-letters, lake-dead-letters and silence-anomaly in ALARM)
// behind the local CloudWatch endpoint, read by the SDK's own client.
func pipelineWorld(t testing.TB) (*cloudwatchtest.Server, *cloudwatch.Client) {
	t.Helper()
	f, err := os.Open("testdata/pipeline/alarms.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	alarms, err := cloudwatchtest.ReadAlarms(f)
	if err != nil {
		t.Fatal(err)
	}
	s := cloudwatchtest.StartForTest(t, alarms...)
	return s, cloudwatch.New(cloudwatch.Options{Region: "eu-west-1", BaseEndpoint: aws.String(s.URL),
		Credentials: aws.AnonymousCredentials{}, Retryer: aws.NopRetryer{}})
}

// fakeGroups stands in for CloudWatch Logs' DescribeLogGroups (pages of
// pageSize) and DescribeLogStreams (the newest stream by last event).
type fakeGroups struct {
	mu       sync.Mutex
	groups   []fakeGroup
	pageSize int
	failOn   map[string]error
	streams  []string // groups whose streams were asked for
	pages    int
}

type fakeGroup struct {
	name string
	last []string // RFC 3339 last event time per stream; "" for a stream without events
}

func newFakeGroups() *fakeGroups {
	return &fakeGroups{pageSize: 3, groups: []fakeGroup{
		{"/aws/lambda/orders", []string{"2024-05-14T09:08:03Z", "2024-05-14T07:00:00Z"}},
		{"/aws/lambda/empty", []string{""}},
		{"/ecs/checkout", []string{"2024-05-14T08:02:10Z"}},
		{"/ecs/payments", []string{"2024-05-14T07:55:00Z", "2024-05-14T08:40:31Z"}},
		{"/tributary/prod/transform", []string{"2024-05-14T09:10:30Z"}},
		{"/tributary/prod/alarm", []string{"2024-05-14T09:10:41Z"}},
		{"/vpc/flow-logs", nil},
	}}
}

func (f *fakeGroups) DescribeLogGroups(_ context.Context, in *cloudwatchlogs.DescribeLogGroupsInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogGroupsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pages++
	if err := f.failOn["DescribeLogGroups"]; err != nil {
		return nil, err
	}
	names := make([]string, 0, len(f.groups))
	for _, g := range f.groups {
		names = append(names, g.name)
	}
	sort.Strings(names) // CloudWatch Logs lists groups by name
	start, _ := strconv.Atoi(aws.ToString(in.NextToken))
	end := min(start+min(f.pageSize, int(aws.ToInt32(in.Limit))), len(names))
	out := &cloudwatchlogs.DescribeLogGroupsOutput{}
	for _, n := range names[start:end] {
		out.LogGroups = append(out.LogGroups, logstypes.LogGroup{LogGroupName: aws.String(n)})
	}
	if end < len(names) {
		out.NextToken = aws.String(strconv.Itoa(end))
	}
	return out, nil
}

func (f *fakeGroups) DescribeLogStreams(_ context.Context, in *cloudwatchlogs.DescribeLogStreamsInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogStreamsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name := aws.ToString(in.LogGroupName)
	f.streams = append(f.streams, name)
	if in.OrderBy != logstypes.OrderByLastEventTime || !aws.ToBool(in.Descending) || aws.ToInt32(in.Limit) != 1 {
		return nil, fmt.Errorf("want the newest stream by last event time, got %+v", in)
	}
	if err := f.failOn[name]; err != nil {
		return nil, err
	}
	for _, g := range f.groups {
		if g.name != name {
			continue
		}
		var best *logstypes.LogStream
		for i, l := range g.last {
			s := logstypes.LogStream{LogStreamName: aws.String(fmt.Sprintf("stream-%d", i))}
			if l != "" {
				t, _ := time.Parse(time.RFC3339, l)
				s.LastEventTimestamp = aws.Int64(t.UnixMilli())
			}
			if best == nil || aws.ToInt64(s.LastEventTimestamp) > aws.ToInt64(best.LastEventTimestamp) {
				best = &s
			}
		}
		out := &cloudwatchlogs.DescribeLogStreamsOutput{}
		if best != nil {
			out.LogStreams = []logstypes.LogStream{*best}
		}
		return out, nil
	}
	return nil, errors.New("ResourceNotFoundException: The specified log group does not exist.")
}

func pipelineHandler(t testing.TB, rec alert.Sink, cw AlarmAPI, groups LogGroupsAPI, opts Options) *Handler {
	t.Helper()
	opts.Alarms, opts.LogGroups = cw, groups
	if opts.PriorityTag == "" {
		opts.PriorityTag = "Priority"
	}
	if opts.DefaultPriority == "" {
		opts.DefaultPriority = alert.P3
	}
	return New(alert.NewDispatcher(nil, rec), opts)
}

func readPipeline(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "pipeline", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type pipelineGolden struct {
	Response Response              `json:"response"`
	Alerts   []alert.Alert         `json:"alerts"`
	Calls    []cloudwatchtest.Call `json:"cloudwatchCalls"`
}

// TestPipelineAlarmsGolden runs each pipeline alarm's SNS notification
// (testdata/pipeline/sns-*.json) and compares the whole alert with
// testdata/golden/pipeline (go test -run TestPipelineAlarmsGolden -update).
func TestPipelineAlarmsGolden(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("testdata/pipeline/sns-*.json")
	var kinds []string
	for _, f := range files {
		kinds = append(kinds, strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "sns-"), ".json"))
	}
	for k := range PipelineKinds {
		if !slices.Contains(kinds, k) {
			t.Errorf("no notification fixture for kind %s", k)
		}
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			stub, cw := pipelineWorld(t)
			rec := &alert.Recorder{}
			h := pipelineHandler(t, rec, cw, newFakeGroups(), Options{MaxLogLines: 5, Logs: &fakeLogs{}})
			resp, err := h.Handle(context.Background(), readPipeline(t, name))
			if err != nil {
				t.Fatal(err)
			}
			got := pipelineGolden{Response: resp, Alerts: rec.Alerts(), Calls: stub.Calls()}
			b, _ := json.MarshalIndent(got, "", "  ")
			b = append(b, '\n')
			path := filepath.Join("testdata", "golden", "pipeline", name+".json")
			if *update {
				_ = os.MkdirAll(filepath.Dir(path), 0o755)
				if err := os.WriteFile(path, b, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test -update creates it)", err)
			}
			if !bytes.Equal(want, b) {
				t.Errorf("%s differs (go test -run TestPipelineAlarmsGolden -update to accept); got:\n%s", path, b)
			}
		})
	}
}

// pipelineAlert handles one fixture in the prod world and returns its alert.
func pipelineAlert(t *testing.T, name string, opts Options) (alert.Alert, *cloudwatchtest.Server, *fakeGroups) {
	t.Helper()
	stub, cw := pipelineWorld(t)
	groups := newFakeGroups()
	rec := &alert.Recorder{}
	resp, err := pipelineHandler(t, rec, cw, groups, opts).Handle(context.Background(), readPipeline(t, name))
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Alerts()) != 1 || len(resp.Alerts) != 1 {
		t.Fatalf("%s: %d alerts", name, len(rec.Alerts()))
	}
	return rec.Alerts()[0], stub, groups
}

func wantLines(t *testing.T, text string, lines ...string) {
	t.Helper()
	at := -1
	for _, l := range lines {
		i := strings.Index(text, l)
		if i < 0 || i < at {
			t.Errorf("lacks %q (in this order):\n%s", l, text)
			return
		}
		at = i
	}
}

// TestDeadLetterKinds: where the dead letters are and the replay command,
// with -since at StateChangeTime − Period×EvaluationPeriods − 1h for the S3
// kinds and as tagged for the queues.
func TestDeadLetterKinds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ kind, where, replay string }{
		{"processing-failed", "s3://prod-logsbucket-1x2y3z4w/processing-failed/",
			"go run ./cmd/replay failed -to firehose -stream prod-DeliveryStream-AbCdEf12 -bucket prod-logsbucket-1x2y3z4w -prefix processing-failed/ -since 2024-05-14T08:05:41Z"},
		{"indexer-dead-letters", "s3://prod-logsbucket-1x2y3z4w/dlq/",
			"go run ./cmd/replay objects -to indexer -function prod-IndexerFunction-DeF456gh -bucket prod-logsbucket-1x2y3z4w -prefix dlq/ -since 2024-05-14T08:05:41Z"},
		{"failed-events", "https://sqs.eu-west-1.amazonaws.com/123456789012/prod-FailedEventsQueue-1A2B3C4D",
			"go run ./cmd/replay queue -queue-url https://sqs.eu-west-1.amazonaws.com/123456789012/prod-FailedEventsQueue-1A2B3C4D"},
		{"indexer-failed-batches", "https://sqs.eu-west-1.amazonaws.com/123456789012/prod-IndexerDeadLetterQueue-7G8H9I0J",
			"go run ./cmd/replay queue -queue-url https://sqs.eu-west-1.amazonaws.com/123456789012/prod-IndexerDeadLetterQueue-7G8H9I0J -function prod-IndexerFunction-DeF456gh"},
		{"lake-dead-letters", "https://sqs.eu-west-1.amazonaws.com/123456789012/prod-RawObjectsDeadLetterQueue-4D5E6F7G",
			"aws sqs start-message-move-task --source-arn arn:aws:sqs:eu-west-1:123456789012:prod-RawObjectsDeadLetterQueue-4D5E6F7G"},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			t.Parallel()
			a, _, groups := pipelineAlert(t, "sns-"+tc.kind, Options{})
			d := a.Details
			if d["pipelineAlarm"] != tc.kind || d["stack"] != "prod" || d["deadLetters"] != tc.where || d["replay"] != tc.replay ||
				d["runbook"] != "docs/operations.md#"+tc.kind {
				t.Errorf("details %v", d)
			}
			wantLines(t, a.Description, "Tributary pipeline alarm: "+tc.kind+" (stack prod)", "Dead letters: "+tc.where,
				"Replay, once the cause is fixed (from a checkout of Tributary):\n  "+tc.replay+"\n", "Links", "\n  Runbook: docs/operations.md#"+tc.kind+"\n")
			if a.Priority != alert.P2 || !slices.Contains(a.Tags, "pipeline") || !slices.Contains(a.Tags, tc.kind) {
				t.Errorf("priority %s tags %v", a.Priority, a.Tags)
			}
			if len(groups.streams) != 0 {
				t.Errorf("log groups read for a dead-letter alarm: %v", groups.streams)
			}
		})
	}
}

// TestSilenceKinds: the newest event time per log group, newest first,
// Tributary's own skipped, the subscribed group checked first and marked,
// and what that suggests against the alarm's window.
func TestSilenceKinds(t *testing.T) {
	t.Parallel()
	t.Run("floor: sources still write", func(t *testing.T) {
		t.Parallel()
		a, _, groups := pipelineAlert(t, "sns-silence-floor", Options{})
		wantLines(t, a.Description,
			"Tributary pipeline alarm: silence-floor (stack prod)\n",
			"Firehose stream: prod-DeliveryStream-AbCdEf12\n",
			"Newest event per log group, newest first (5 checked; CloudWatch Logs updates this time within about an hour):\n",
			"  2024-05-14T09:08:03Z  /aws/lambda/orders\n",
			"  2024-05-14T08:40:31Z  /ecs/payments\n",
			"  2024-05-14T08:02:10Z  /ecs/checkout (subscribed)\n",
			"  no events             /aws/lambda/empty\n",
			"  no events             /vpc/flow-logs\n",
			"Sources still write: 2 of 5 log groups have events after the alarm window began (2024-05-14T08:10:41Z), so their subscription to the stream is likely broken",
			"\n  Runbook: docs/operations.md#silence-floor\n",
		)
		// (The subscribed group is listed first so that the cap never leaves it out: see "bounded".)
		if !slices.Contains(groups.streams, "/ecs/checkout") || slices.ContainsFunc(groups.streams, func(g string) bool { return strings.HasPrefix(g, "/tributary/prod/") }) {
			t.Errorf("streams read for %v: the subscribed group, never Tributary's own", groups.streams)
		}
		if d := a.Details; d["newestLogEvent"] != "2024-05-14T09:08:03Z /aws/lambda/orders" || d["logGroupsWriting"] != "2 of 5 since 2024-05-14T08:10:41Z" || d["stream"] != "prod-DeliveryStream-AbCdEf12" {
			t.Errorf("details %v", d)
		}
	})
	t.Run("anomaly: 15-minute window", func(t *testing.T) {
		t.Parallel()
		a, _, _ := pipelineAlert(t, "sns-silence-anomaly", Options{})
		wantLines(t, a.Description, "Tributary pipeline alarm: silence-anomaly (stack prod)",
			"Sources still write: 1 of 5 log groups have events after the alarm window began (2024-05-14T08:55:41Z)")
	})
	t.Run("sources stopped", func(t *testing.T) {
		t.Parallel()
		_, cw := pipelineWorld(t)
		groups := newFakeGroups()
		for i := range groups.groups {
			if !strings.HasPrefix(groups.groups[i].name, "/tributary/") {
				for j := range groups.groups[i].last {
					if groups.groups[i].last[j] != "" {
						groups.groups[i].last[j] = "2024-05-14T07:00:00Z"
					}
				}
			}
		}
		rec := &alert.Recorder{}
		if _, err := pipelineHandler(t, rec, cw, groups, Options{}).Handle(context.Background(), readPipeline(t, "sns-silence-floor")); err != nil {
			t.Fatal(err)
		}
		wantLines(t, rec.Alerts()[0].Description, "No log group has events after the alarm window began (2024-05-14T08:10:41Z): the sources stopped writing (or CloudWatch Logs has not updated their newest event time yet")
	})
	t.Run("bounded", func(t *testing.T) {
		t.Parallel()
		a, _, groups := pipelineAlert(t, "sns-silence-floor", Options{MaxLogGroups: 2})
		wantLines(t, a.Description, "(2 checked; the account has more;", "  2024-05-14T08:02:10Z  /ecs/checkout (subscribed)\n", "  no events             /aws/lambda/empty\n")
		if len(groups.streams) != 2 || groups.pages != 1 {
			t.Errorf("read streams of %v over %d pages", groups.streams, groups.pages)
		}

		_, cw := pipelineWorld(t)
		many := &fakeGroups{pageSize: 50}
		for i := range 25 {
			many.groups = append(many.groups, fakeGroup{fmt.Sprintf("/app/%02d", i), []string{time.Date(2024, 5, 14, 9, 0, i, 0, time.UTC).Format(time.RFC3339)}})
		}
		rec := &alert.Recorder{}
		if _, err := pipelineHandler(t, rec, cw, many, Options{}).Handle(context.Background(), readPipeline(t, "sns-silence-floor")); err != nil {
			t.Fatal(err)
		}
		d := rec.Alerts()[0].Description
		wantLines(t, d, "(25 checked;", "  2024-05-14T09:00:24Z  /app/24\n", "  2024-05-14T09:00:05Z  /app/05\n", "  … 5 more\n",
			"Lookup errors: DescribeLogStreams /ecs/checkout: ResourceNotFoundException") // the subscribed group is gone
		if strings.Contains(d, "/app/04\n") {
			t.Errorf("more than %d groups listed:\n%s", MaxShownLogGroups, d)
		}
	})
	t.Run("lookup errors", func(t *testing.T) {
		t.Parallel()
		_, cw := pipelineWorld(t)
		groups := newFakeGroups()
		groups.failOn = map[string]error{"/ecs/payments": errors.New("ThrottlingException: Rate exceeded")}
		rec := &alert.Recorder{}
		if _, err := pipelineHandler(t, rec, cw, groups, Options{}).Handle(context.Background(), readPipeline(t, "sns-silence-floor")); err != nil {
			t.Fatal(err)
		}
		wantLines(t, rec.Alerts()[0].Description, "(4 checked;", "Lookup errors: DescribeLogStreams /ecs/payments: ThrottlingException: Rate exceeded")
		groups = newFakeGroups()
		groups.failOn = map[string]error{"DescribeLogGroups": errors.New("AccessDeniedException: not authorized to perform logs:DescribeLogGroups")}
		rec = &alert.Recorder{}
		if _, err := pipelineHandler(t, rec, cw, groups, Options{}).Handle(context.Background(), readPipeline(t, "sns-silence-floor")); err != nil {
			t.Fatal(err)
		}
		// The subscribed group is still checked.
		wantLines(t, rec.Alerts()[0].Description, "(1 checked;", "/ecs/checkout (subscribed)", "Lookup errors: DescribeLogGroups: AccessDeniedException")
	})
}

// TestCompositeLists: the composite's members in ALARM, first tripped first,
// each with its description, reason and its kind's context.
func TestCompositeLists(t *testing.T) {
	t.Parallel()
	a, stub, groups := pipelineAlert(t, "sns-pipeline-degraded", Options{})
	if a.Message != "ALARM: prod-pipeline-degraded (opensearch-red, indexer-dead-letters, lake-dead-letters, silence-anomaly)" {
		t.Errorf("message %q", a.Message)
	}
	wantLines(t, a.Description,
		"Tributary pipeline alarm: pipeline-degraded (stack prod)\n",
		"Members in ALARM (4 of 23), first tripped first:\n",
		"- prod-opensearch-red (opensearch-red) since 2024-05-14T09:04:12Z\n",
		"    The OpenSearch cluster is red",
		"    Reason: Threshold Crossed: 1 out of the last 1 datapoints [1.0 (14/05/24 09:03:00)]",
		"    OpenSearch domain: arn:aws:es:eu-west-1:123456789012:domain/prod-logs\n",
		"    Runbook: docs/operations.md#opensearch-red\n",
		"- prod-indexer-dead-letters (indexer-dead-letters) since 2024-05-14T09:08:41Z\n",
		"    Dead letters: s3://prod-logsbucket-1x2y3z4w/dlq/\n",
		// 09:08:41.230 − 300 s × 1 − 1 h
		"      go run ./cmd/replay objects -to indexer -function prod-IndexerFunction-DeF456gh -bucket prod-logsbucket-1x2y3z4w -prefix dlq/ -since 2024-05-14T08:03:41Z\n",
		"- prod-lake-dead-letters (lake-dead-letters) since 2024-05-14T09:09:05Z\n",
		"      aws sqs start-message-move-task --source-arn arn:aws:sqs:eu-west-1:123456789012:prod-RawObjectsDeadLetterQueue-4D5E6F7G\n",
		"- prod-silence-anomaly (silence-anomaly) since 2024-05-14T09:10:40Z\n",
		"    Newest event per log group, newest first (5 checked;",
		"      2024-05-14T09:08:03Z  /aws/lambda/orders\n",
		// 09:10:40.962 − 300 s × 3
		"    Sources still write: 1 of 5 log groups have events after the alarm window began (2024-05-14T08:55:40Z)",
		"    Runbook: docs/operations.md#silence-anomaly\n",
		"Links", "Runbook: docs/operations.md#pipeline-degraded\n",
	)
	for _, k := range []string{"pipeline", "pipeline-degraded", "opensearch-red", "indexer-dead-letters", "lake-dead-letters", "silence-anomaly"} {
		if !slices.Contains(a.Tags, k) {
			t.Errorf("tags %v lack %s", a.Tags, k)
		}
	}
	if a.Details["membersInAlarm"] != "prod-opensearch-red, prod-indexer-dead-letters, prod-lake-dead-letters, prod-silence-anomaly" || a.Priority != alert.P2 {
		t.Errorf("details %v priority %s", a.Details, a.Priority)
	}
	calls := stub.Calls()
	var described, tagged []string
	for _, c := range calls {
		switch c.Op {
		case "DescribeAlarms":
			described = append(described, c.AlarmNames...)
		case "ListTagsForResource":
			tagged = append(tagged, strings.TrimPrefix(c.ResourceARN, "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:"))
		}
	}
	if len(described) != 23 || !slices.Contains(described, "prod-silence-floor") || strings.Join(tagged, " ") !=
		"prod-pipeline-degraded prod-opensearch-red prod-indexer-dead-letters prod-lake-dead-letters prod-silence-anomaly" {
		t.Errorf("DescribeAlarms %v; tags of %v", described, tagged)
	}
	if len(groups.streams) != 5 {
		t.Errorf("log groups read %d times, want once each: %v", len(groups.streams), groups.streams)
	}
}

// TestCompositeOKCloses: OK closes the alert with no lookups.
func TestCompositeOKCloses(t *testing.T) {
	t.Parallel()
	stub, cw := pipelineWorld(t)
	rec := &alert.Recorder{}
	h := pipelineHandler(t, rec, cw, newFakeGroups(), Options{})
	for _, name := range []string{"sns-pipeline-degraded", "sns-pipeline-degraded-ok"} {
		if _, err := h.Handle(context.Background(), readPipeline(t, name)); err != nil {
			t.Fatal(err)
		}
	}
	got := rec.Alerts()
	if len(got) != 2 || got[1].Action != alert.Close || got[1].Alias != got[0].Alias || got[1].Alias != "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:prod-pipeline-degraded" {
		t.Fatalf("%s", alert.Summary(got))
	}
	n := len(stub.Calls())
	stub.ResetCalls()
	// Within the tag cache's TTL a second page needs DescribeAlarms only.
	if _, err := h.Handle(context.Background(), readPipeline(t, "sns-pipeline-degraded")); err != nil {
		t.Fatal(err)
	}
	if calls := stub.Calls(); len(calls) != 1 || calls[0].Op != "DescribeAlarms" || n != 6 {
		t.Errorf("first page %d calls, second %+v", n, calls)
	}
}

// TestWithoutTags: when the tags cannot be read (or PRIORITY_TAG=none turns
// the lookup off), a pipeline alarm is recognised by the runbook link its
// description ends with: the alert says so, links the runbook and still
// lists log groups and members, but cannot say where dead letters are.
func TestWithoutTags(t *testing.T) {
	t.Parallel()
	t.Run("AccessDenied", func(t *testing.T) {
		t.Parallel()
		stub, cw := pipelineWorld(t)
		stub.Fail("ListTagsForResource", "AccessDenied")
		rec := &alert.Recorder{}
		resp, err := pipelineHandler(t, rec, cw, newFakeGroups(), Options{DefaultPriority: alert.P4}).Handle(context.Background(), readPipeline(t, "sns-processing-failed"))
		if err != nil {
			t.Fatal(err)
		}
		a := rec.Alerts()[0]
		wantLines(t, a.Description, "Tributary pipeline alarm: processing-failed (stack prod)\n",
			"Recognised by its description: its tags could not be read (ListTagsForResource: operation error CloudWatch: ListTagsForResource",
			"AccessDenied", "\n  Runbook: docs/operations.md#processing-failed\n")
		if a.Priority != alert.P4 || a.Details["replay"] != "" || resp.Alerts[0].PipelineAlarm != "processing-failed" {
			t.Errorf("priority %s details %v outcome %+v", a.Priority, a.Details, resp.Alerts[0])
		}
	})
	t.Run("PRIORITY_TAG=none", func(t *testing.T) {
		t.Parallel()
		stub, cw := pipelineWorld(t)
		groups := newFakeGroups()
		rec := &alert.Recorder{}
		h := pipelineHandler(t, rec, cw, groups, Options{PriorityTag: "none"})
		for _, name := range []string{"sns-silence-floor", "sns-pipeline-degraded", "sns-lambda-errors"} {
			if _, err := h.Handle(context.Background(), readPipeline(t, name)); err != nil {
				t.Fatal(err)
			}
		}
		got := rec.Alerts()
		// The stack comes from the name <stack>-<kind>: its own log groups are skipped.
		wantLines(t, got[0].Description, "Recognised by its description: its tags could not be read (tag lookup off (PRIORITY_TAG=none))",
			"(5 checked;", "2024-05-14T09:08:03Z  /aws/lambda/orders")
		if strings.Contains(got[0].Description, "(subscribed)") || strings.Contains(got[0].Description, "/tributary/prod/") {
			t.Errorf("without tags there is no subscribed group and Tributary's groups are skipped:\n%s", got[0].Description)
		}
		wantLines(t, got[1].Description, "Members in ALARM (4 of 23)", "- prod-indexer-dead-letters (indexer-dead-letters)", "    Runbook: docs/operations.md#indexer-dead-letters")
		// lambda-* alarms are named <stack>-<function>-errors: no stack.
		wantLines(t, got[2].Description, "Tributary pipeline alarm: lambda-errors\n")
		for _, c := range stub.Calls() {
			if c.Op == "ListTagsForResource" {
				t.Errorf("tag lookup with PRIORITY_TAG=none: %+v", c)
			}
		}
	})
	t.Run("tags without the pipeline tag", func(t *testing.T) {
		t.Parallel()
		stub, cw := pipelineWorld(t)
		f, _ := os.Open("testdata/pipeline/alarms.json")
		alarms, _ := cloudwatchtest.ReadAlarms(f)
		f.Close()
		for _, a := range alarms {
			if a.Metric != nil && aws.ToString(a.Metric.AlarmName) == "prod-processing-failed" {
				a.Tags = map[string]string{"Priority": "P1"}
				stub.Put(a)
			}
		}
		rec := &alert.Recorder{}
		resp, err := pipelineHandler(t, rec, cw, newFakeGroups(), Options{}).Handle(context.Background(), readPipeline(t, "sns-processing-failed"))
		if err != nil {
			t.Fatal(err)
		}
		if a := rec.Alerts()[0]; a.Details["pipelineAlarm"] != "" || resp.Alerts[0].PipelineAlarm != "" || a.Priority != alert.P1 || strings.Contains(a.Description, "Tributary pipeline alarm") {
			t.Errorf("an alarm whose tags say it is not a pipeline alarm was treated as one:\n%s", a.Description)
		}
	})
}

func TestRuleMembers(t *testing.T) {
	t.Parallel()
	for rule, want := range map[string]string{
		`ALARM("prod-a") OR ALARM("prod-b") OR FALSE`:                             "prod-a prod-b",
		`ALARM(prod-a) AND (alarm('prod-b') OR NOT OK("prod-c"))`:                 "prod-a prod-b",
		`ALARM("arn:aws:cloudwatch:eu-west-1:123456789012:alarm:prod-a") OR TRUE`: "prod-a",
		`ALARM("prod-a") OR ALARM("prod-a") OR INSUFFICIENT_DATA("prod-d")`:       "prod-a",
		`ALARM( "with space" ) OR ALARM("")`:                                      "with space",
		`FALSE`:                                                                   "",
		``:                                                                        "",
		`ALARM("prod-a" OR ALARM(prod-b)`:                                         "prod-b",
		`ALARM("prod-failed-events") OR FALSE OR FALSE OR ALARM("prod-lake-lag")`: "prod-failed-events prod-lake-lag",
		`NOT ALARM("maintenance-window") AND ALARM("checkout-errors")`:            "maintenance-window checkout-errors",
		`ALARM("a.b_c-d/e#f")`:   "a.b_c-d/e#f",
		`ALARM ( "spaced-out" )`: "spaced-out",
		`XALARM("no")`:           "",
		`ALARM("prod-opensearch-red") OR ALARM("prod-silence-anomaly") OR ALARM(x y)`: "prod-opensearch-red prod-silence-anomaly",
	} {
		if got := strings.Join(RuleMembers(rule), " "); got != want {
			t.Errorf("RuleMembers(%s) = %q, want %q", rule, got, want)
		}
	}
}

func FuzzRuleMembers(f *testing.F) {
	f.Add(`ALARM("prod-a") OR ALARM(prod-b) OR FALSE`)
	f.Add(`NOT ALARM('x') AND (ALARM("arn:aws:cloudwatch:r:1:alarm:y") OR OK(z))`)
	f.Fuzz(func(t *testing.T, rule string) {
		names := RuleMembers(rule)
		for i, n := range names {
			if n == "" || slices.Contains(names[:i], n) {
				t.Errorf("RuleMembers(%q) = %q: empty or repeated name", rule, names)
			}
			if !strings.Contains(rule, n) {
				t.Errorf("RuleMembers(%q) = %q: %q is not in the rule", rule, names, n)
			}
		}
	})
}

// TestCompositeTwoSilenceMembers: each silence member judges the log groups
// against its own window.
func TestCompositeTwoSilenceMembers(t *testing.T) {
	t.Parallel()
	stub, cw := pipelineWorld(t)
	f, _ := os.Open("testdata/pipeline/alarms.json")
	alarms, _ := cloudwatchtest.ReadAlarms(f)
	f.Close()
	for _, a := range alarms {
		if a.Metric != nil && aws.ToString(a.Metric.AlarmName) == "prod-silence-floor" {
			a.Metric.StateValue = "ALARM"
			a.Metric.StateUpdatedTimestamp = aws.Time(time.Date(2024, 5, 14, 9, 10, 0, 0, time.UTC))
			stub.Put(a)
		}
	}
	rec := &alert.Recorder{}
	if _, err := pipelineHandler(t, rec, cw, newFakeGroups(), Options{}).Handle(context.Background(), readPipeline(t, "sns-pipeline-degraded")); err != nil {
		t.Fatal(err)
	}
	wantLines(t, rec.Alerts()[0].Description, "Members in ALARM (5 of 23)",
		"- prod-silence-floor (silence-floor) since 2024-05-14T09:10:00Z\n", "      2024-05-14T08:02:10Z  /ecs/checkout (subscribed)\n",
		"    Sources still write: 2 of 5 log groups have events after the alarm window began (2024-05-14T08:10:00Z)",
		"- prod-silence-anomaly (silence-anomaly) since 2024-05-14T09:10:40Z\n",
		"    Sources still write: 1 of 5 log groups have events after the alarm window began (2024-05-14T08:55:40Z)")
}
