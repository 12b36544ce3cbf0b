package alarm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/tributary-logs/tributary/shared/alert"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// fakeAlarms stands in for CloudWatch, whose Smithy RPC v2 CBOR protocol
// moto cannot answer.
type fakeAlarms struct {
	mu        sync.Mutex
	tags      map[string][]cwtypes.Tag
	tagCalls  map[string]int
	tagErr    error
	described [][]string
}

func newFakeAlarms() *fakeAlarms {
	return &fakeAlarms{
		tags: map[string][]cwtypes.Tag{
			"arn:aws:cloudwatch:eu-west-1:123456789012:alarm:checkout-errors": {{Key: aws.String("Priority"), Value: aws.String("P1")}, {Key: aws.String("team"), Value: aws.String("payments")}},
			"arn:aws:cloudwatch:eu-west-1:123456789012:alarm:web-1-cpu-high":  {{Key: aws.String("priority"), Value: aws.String("p2")}},
			"arn:aws:cloudwatch:eu-west-1:123456789012:alarm:web-5xx-rate":    {{Key: aws.String("Priority"), Value: aws.String("urgent")}},
		},
		tagCalls: map[string]int{},
	}
}

func (f *fakeAlarms) ListTagsForResource(_ context.Context, in *cloudwatch.ListTagsForResourceInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.ListTagsForResourceOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tagCalls[aws.ToString(in.ResourceARN)]++
	if f.tagErr != nil {
		return nil, f.tagErr
	}
	return &cloudwatch.ListTagsForResourceOutput{Tags: f.tags[aws.ToString(in.ResourceARN)]}, nil
}

func (f *fakeAlarms) DescribeAlarms(_ context.Context, in *cloudwatch.DescribeAlarmsInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error) {
	f.mu.Lock()
	f.described = append(f.described, in.AlarmNames)
	f.mu.Unlock()
	var out cloudwatch.DescribeAlarmsOutput
	for _, n := range in.AlarmNames {
		switch n {
		case "checkout-errors":
			out.MetricAlarms = append(out.MetricAlarms, cwtypes.MetricAlarm{AlarmName: aws.String(n), Namespace: aws.String("Tributary/App"),
				MetricName: aws.String("ErrorCount"), Period: aws.Int32(300), EvaluationPeriods: aws.Int32(1)})
		case "web-5xx-rate":
			out.MetricAlarms = append(out.MetricAlarms, cwtypes.MetricAlarm{AlarmName: aws.String(n), EvaluationPeriods: aws.Int32(3),
				Metrics: []cwtypes.MetricDataQuery{{Id: aws.String("errors"), MetricStat: &cwtypes.MetricStat{Period: aws.Int32(60),
					Metric: &cwtypes.Metric{Namespace: aws.String("AWS/ApplicationELB"), MetricName: aws.String("HTTPCode_Target_5XX_Count")}}}}})
		}
	}
	return &out, nil
}

// fakeLogs answers like CloudWatch Logs for one metric filter on
// /ecs/checkout, over two pages.
type fakeLogs struct {
	mu      sync.Mutex
	filters []*cloudwatchlogs.FilterLogEventsInput
	err     error
}

func (f *fakeLogs) DescribeMetricFilters(_ context.Context, in *cloudwatchlogs.DescribeMetricFiltersInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeMetricFiltersOutput, error) {
	if aws.ToString(in.MetricNamespace) != "Tributary/App" || aws.ToString(in.MetricName) != "ErrorCount" {
		return &cloudwatchlogs.DescribeMetricFiltersOutput{}, nil
	}
	return &cloudwatchlogs.DescribeMetricFiltersOutput{MetricFilters: []logstypes.MetricFilter{{
		FilterName: aws.String("checkout-errors"), FilterPattern: aws.String(`"ERROR"`), LogGroupName: aws.String("/ecs/checkout"),
		MetricTransformations: []logstypes.MetricTransformation{{MetricName: aws.String("ErrorCount"), MetricNamespace: aws.String("Tributary/App"), MetricValue: aws.String("1")}},
	}}}, nil
}

func (f *fakeLogs) FilterLogEvents(_ context.Context, in *cloudwatchlogs.FilterLogEventsInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.FilterLogEventsOutput, error) {
	f.mu.Lock()
	c := *in
	f.filters = append(f.filters, &c)
	f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	var out []logstypes.FilteredLogEvent
	ev := func(min, sec int, stream, msg string) {
		ts := time.Date(2024, 5, 14, 9, min, sec, 0, time.UTC).UnixMilli()
		if ts >= aws.ToInt64(in.StartTime) && ts <= aws.ToInt64(in.EndTime) {
			out = append(out, logstypes.FilteredLogEvent{Timestamp: aws.Int64(ts), LogStreamName: aws.String(stream), Message: aws.String(msg), EventId: aws.String(fmt.Sprint(ts))})
		}
	}
	if in.NextToken == nil {
		ev(4, 10, "checkout/web/1a2b", `ERROR before the window`)
		ev(6, 1, "checkout/web/1a2b", `ERROR payment declined order=1001 code=card_declined`)
		ev(6, 2, "checkout/web/3c4d", `ERROR upstream timeout calling payments after 3000 ms`)
		return &cloudwatchlogs.FilterLogEventsOutput{NextToken: aws.String("page2"), Events: out}, nil
	}
	ev(9, 40, "checkout/web/1a2b", "ERROR upstream timeout calling payments after 3000 ms\n")
	ev(9, 41, "checkout/web/1a2b", `{"level":"ERROR","msg":"retry budget exhausted","order":1007}`)
	ev(11, 0, "checkout/web/1a2b", `ERROR after the window`)
	return &cloudwatchlogs.FilterLogEventsOutput{Events: out}, nil
}

func handlerWith(t testing.TB, rec alert.Sink, opts Options) *Handler {
	t.Helper()
	if opts.DefaultPriority == "" {
		opts.DefaultPriority = alert.P3
	}
	return New(alert.NewDispatcher(nil, rec), opts)
}

type golden struct {
	Response Response      `json:"response"`
	Alerts   []alert.Alert `json:"alerts"`
}

// TestFixturesGolden runs each real-shaped notification under testdata/events
// and compares the alerts with testdata/golden.
func TestFixturesGolden(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("testdata/events/*.json")
	if len(files) < 10 {
		t.Fatalf("want at least 10 fixtures, have %d", len(files))
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			payload, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			rec := &alert.Recorder{}
			h := handlerWith(t, rec, Options{PriorityTag: "Priority", MaxLogLines: 3, Alarms: newFakeAlarms(), Logs: &fakeLogs{}})
			resp, err := h.Handle(context.Background(), payload)
			if err != nil {
				t.Fatal(err)
			}
			got := golden{Response: resp, Alerts: rec.Alerts()}
			if got.Alerts == nil {
				got.Alerts = []alert.Alert{}
			}
			b, _ := json.MarshalIndent(got, "", "  ")
			b = append(b, '\n')
			path := filepath.Join("testdata", "golden", name+".json")
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
				t.Errorf("%s differs (go test -run TestFixturesGolden -update to accept); got:\n%s", path, b)
			}
		})
	}
}

func TestAlarmThenOKUsesTheSameAlias(t *testing.T) {
	t.Parallel()
	for _, pair := range [][2]string{
		{"sns-log-metric-filter-alarm", "sns-log-metric-filter-ok"},
		{"eventbridge-metric-alarm", "eventbridge-metric-ok"},
	} {
		rec := &alert.Recorder{}
		h := handlerWith(t, rec, Options{})
		for _, name := range pair {
			payload, _ := os.ReadFile("testdata/events/" + name + ".json")
			if _, err := h.Handle(context.Background(), payload); err != nil {
				t.Fatal(err)
			}
		}
		got := rec.Alerts()
		if len(got) != 2 || got[0].Action != alert.Create || got[1].Action != alert.Close || got[0].Alias != got[1].Alias ||
			!strings.HasPrefix(got[0].Alias, "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:") {
			t.Errorf("%v:\n%s", pair, alert.Summary(got))
		}
	}
}

func TestLogLinesNewestFirstInTheWindow(t *testing.T) {
	t.Parallel()
	payload, _ := os.ReadFile("testdata/events/sns-log-metric-filter-alarm.json")
	logs := &fakeLogs{}
	rec := &alert.Recorder{}
	h := handlerWith(t, rec, Options{MaxLogLines: 3, Logs: logs})
	if _, err := h.Handle(context.Background(), payload); err != nil {
		t.Fatal(err)
	}
	a := rec.Alerts()[0]
	want := []string{
		`2024-05-14T09:09:41.000Z [checkout/web/1a2b] {"level":"ERROR","msg":"retry budget exhausted","order":1007}`,
		`2024-05-14T09:09:40.000Z [checkout/web/1a2b] ERROR upstream timeout calling payments after 3000 ms`,
		`2024-05-14T09:06:02.000Z [checkout/web/3c4d] ERROR upstream timeout calling payments after 3000 ms`,
	}
	idx := -1
	for _, w := range want {
		i := strings.Index(a.Description, w)
		if i < 0 || i < idx {
			t.Fatalf("description lacks %q in order:\n%s", w, a.Description)
		}
		idx = i
	}
	if strings.Contains(a.Description, "order=1001") {
		t.Error("the oldest line should have been cut at MAX_LOG_LINES=3")
	}
	if !strings.Contains(a.Description, "3 of 4 between 2024-05-14T09:05:00Z and 2024-05-14T09:10:41Z (more in Logs Insights)") {
		t.Errorf("window line missing:\n%s", a.Description)
	}
	in := logs.filters[0]
	if aws.ToString(in.FilterPattern) != `"ERROR"` || aws.ToString(in.LogGroupName) != "/ecs/checkout" ||
		aws.ToInt64(in.StartTime) != time.Date(2024, 5, 14, 9, 5, 0, 0, time.UTC).UnixMilli() || len(logs.filters) != 2 {
		t.Errorf("FilterLogEvents input %+v (%d calls)", in, len(logs.filters))
	}
	if a.Details["matchedLogLines"] != "4" || a.Details["logGroups"] != "/ecs/checkout" || !strings.Contains(a.Details["insightsURL"], "logs-insights") {
		t.Errorf("details %v", a.Details)
	}
}

func TestLookupFailuresStillPage(t *testing.T) {
	t.Parallel()
	payload, _ := os.ReadFile("testdata/events/sns-log-metric-filter-alarm.json")
	alarms := newFakeAlarms()
	alarms.tagErr = errors.New("AccessDenied: not authorized to perform cloudwatch:ListTagsForResource")
	rec := &alert.Recorder{}
	h := handlerWith(t, rec, Options{DefaultPriority: alert.P4, PriorityTag: "Priority", MaxLogLines: 5, Alarms: alarms,
		Logs: &fakeLogs{err: errors.New("ThrottlingException: Rate exceeded")}})
	if _, err := h.Handle(context.Background(), payload); err != nil {
		t.Fatal(err)
	}
	a := rec.Alerts()[0]
	if a.Priority != alert.P4 || !strings.Contains(a.Description, "Lookup errors: FilterLogEvents /ecs/checkout: ThrottlingException") {
		t.Errorf("alert %s\n%s", alert.Summary([]alert.Alert{a}), a.Description)
	}
	// Errors are not cached: the next notification asks again.
	_, _ = h.Handle(context.Background(), payload)
	if n := alarms.tagCalls["arn:aws:cloudwatch:eu-west-1:123456789012:alarm:checkout-errors"]; n != 2 {
		t.Errorf("%d tag lookups, want 2", n)
	}
}

func TestPriorityTagIsCached(t *testing.T) {
	t.Parallel()
	alarms := newFakeAlarms()
	now := time.Date(2024, 5, 14, 9, 0, 0, 0, time.UTC)
	rec := &alert.Recorder{}
	h := handlerWith(t, rec, Options{PriorityTag: "Priority", Alarms: alarms, TagCacheTTL: time.Minute, Now: func() time.Time { return now }})
	payload, _ := os.ReadFile("testdata/events/eventbridge-metric-alarm.json")
	for range 3 {
		_, _ = h.Handle(context.Background(), payload)
	}
	arn := "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:web-1-cpu-high"
	if alarms.tagCalls[arn] != 1 {
		t.Errorf("%d lookups within the TTL, want 1", alarms.tagCalls[arn])
	}
	now = now.Add(2 * time.Minute)
	_, _ = h.Handle(context.Background(), payload)
	if alarms.tagCalls[arn] != 2 {
		t.Errorf("%d lookups after the TTL, want 2", alarms.tagCalls[arn])
	}
	for _, a := range rec.Alerts() {
		if a.Priority != alert.P2 {
			t.Errorf("priority %s, want P2 from the lower-case tag", a.Priority)
		}
	}
	// A tag value that is not a priority falls back to the default.
	payload, _ = os.ReadFile("testdata/events/eventbridge-metric-math-alarm.json")
	_, _ = h.Handle(context.Background(), payload)
	if got := rec.Alerts(); got[len(got)-1].Priority != alert.P3 {
		t.Errorf("priority %s for tag value urgent, want the default", got[len(got)-1].Priority)
	}
}

func TestInsufficientData(t *testing.T) {
	t.Parallel()
	payload, _ := os.ReadFile("testdata/events/eventbridge-insufficient-data.json")
	for mode, want := range map[string]string{InsufficientIgnore: "", InsufficientAlert: "create", InsufficientClose: "close"} {
		rec := &alert.Recorder{}
		resp, err := handlerWith(t, rec, Options{InsufficientData: mode}).Handle(context.Background(), payload)
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if a := rec.Alerts(); len(a) == 1 {
			got = string(a[0].Action)
		}
		if got != want || (want == "" && len(resp.Skipped) != 1) {
			t.Errorf("%s: action %q skipped %+v", mode, got, resp.Skipped)
		}
	}
}

func TestDecodeRejections(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ payload, want string }{
		{`[]`, "not a JSON object"},
		{`{"x":1}`, "neither an SNS event"},
		{`{"detail-type":"EC2 Instance State-change Notification","detail":{}}`, `is not "CloudWatch Alarm State Change"`},
		{`{"detail-type":"CloudWatch Alarm State Change","detail":{"alarmName":"a"}}`, "without alarmName / state.value"},
		{`{"Records":[{"Sns":{"MessageId":"m1","Message":"{\"AlarmName\":\"a\",\"NewStateValue\":\"ALARM\",\"StateChangeTime\":\"yesterday\",\"AlarmArn\":\"arn:aws:cloudwatch:r:1:alarm:a\"}"}}]}`, "cannot read time"},
		{`{"Records":[{"Sns":{"MessageId":"m2","Message":"{\"AlarmName\":\"a\",\"NewStateValue\":\"ALARM\"}"}}]}`, "has no AlarmArn"},
	} {
		_, rej := Decode([]byte(tc.payload))
		if len(rej) != 1 || !strings.Contains(rej[0].Reason, tc.want) {
			t.Errorf("%s: %+v, want %q", tc.payload, rej, tc.want)
		}
	}
}

func TestInsightsQueryAndURL(t *testing.T) {
	t.Parallel()
	for pattern, want := range map[string]string{
		`"ERROR"`:               `@message like "ERROR"`,
		`ERROR -healthcheck`:    `@message like "ERROR" and @message not like "healthcheck"`,
		`?ERROR ?FATAL`:         `(@message like "ERROR" or @message like "FATAL")`,
		`"Failed password" ssh`: `@message like "Failed password" and @message like "ssh"`,
		`{ $.level = "error" }`: `level = "error"`,
		`{ ($.status >= 500) && ($.path != "/health") }`:                              `status >= 500 and path != "/health"`,
		`{ $.errorCode = "*UnauthorizedOperation" || $.errorCode = "AccessDenied*" }`: "",
		`[ip, user, status=5*]`: "",
		``:                      "",
	} {
		q := InsightsQuery(pattern, 20)
		if want == "" {
			if strings.Contains(q, "| filter") {
				t.Errorf("%s: %q has a filter", pattern, q)
			}
			continue
		}
		if !strings.Contains(q, "\n| filter "+want+"\n") || !strings.HasPrefix(q, "fields @timestamp, @logStream, @message") || !strings.HasSuffix(q, "| sort @timestamp desc\n| limit 20") {
			t.Errorf("%s: %q", pattern, q)
		}
	}
	start := time.Date(2024, 1, 27, 0, 0, 0, 0, time.UTC)
	u := InsightsURL("ap-northeast-1", []FilterRef{{LogGroup: "/aws/cloudtrail", Pattern: ""}}, start, start.Add(24*time.Hour-time.Second), 20)
	want := "https://ap-northeast-1.console.aws.amazon.com/cloudwatch/home?region=ap-northeast-1#logsV2:logs-insights$3FqueryDetail$3D" +
		"$257E$2528end$257E$25272024-01-28T00*3A00*3A00.000Z$257Estart$257E$25272024-01-27T00*3A00*3A00.000Z$257E" +
		"timeType$257E$2527ABSOLUTE$257Etz$257E$2527UTC$257E" +
		"editorString$257E$2527fields+*40timestamp*2C+*40logStream*2C+*40message*0A*7C+sort+*40timestamp+desc*0A*7C+limit+20$257E" +
		"source$257E$2528$257E$2527*2Faws*2Fcloudtrail$2529$2529"
	if u != want {
		t.Errorf("InsightsURL =\n%s\nwant\n%s", u, want)
	}
}

func FuzzDecode(f *testing.F) {
	// Small seeds: the fuzzer minimizes every new input, which is slow for
	// the multi-kilobyte fixtures (they are covered by TestFixturesGolden).
	f.Add([]byte(`{"Records":[{"Sns":{"MessageId":"m","Message":"{\"AlarmName\":\"a\",\"NewStateValue\":\"ALARM\",\"StateChangeTime\":\"2024-05-14T09:10:41.096+0000\",\"AlarmArn\":\"arn:aws:cloudwatch:r:1:alarm:a\",\"Trigger\":{\"Metrics\":[{\"Id\":\"m1\",\"MetricStat\":{\"Metric\":{\"MetricName\":\"E\",\"Namespace\":\"N\"}}}]},\"AlarmRule\":\"ALARM(b)\",\"TriggeringChildren\":[{\"Arn\":\"arn:aws:cloudwatch:r:1:alarm:b\"}]}"}}]}`))
	f.Add([]byte(`{"detail-type":"CloudWatch Alarm State Change","resources":["arn:aws:cloudwatch:r:1:alarm:a"],"detail":{"alarmName":"a","state":{"value":"OK","timestamp":"2024-05-14T09:10:41.096+0000","reasonData":"{\"startDate\":\"2024-05-14T09:00:00.000+0000\",\"threshold\":1}"},"configuration":{"metrics":[{"id":"m","metricStat":{"metric":{"name":"E","namespace":"N","dimensions":{"k":"v"}},"period":60}}]}}}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		notes, rej := Decode(payload)
		for _, n := range notes {
			if n.AlarmARN == "" || n.State == "" {
				t.Errorf("notification without ARN or state: %+v", n)
			}
			a := Build(&n, alert.Create, alert.P3, nil, nil, nil)
			a.Normalize(alert.P3)
			if a.Alias == "" {
				t.Error("alert without alias")
			}
		}
		if len(notes) == 0 && len(rej) == 0 {
			t.Errorf("neither notifications nor rejections for %q", payload)
		}
	})
}
