package alarm

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/tributary-logs/tributary/shared/alert"
	"github.com/tributary-logs/tributary/shared/localaws"
)

// setupLogMetricFilter creates a log group with a metric filter (a term
// pattern: moto does not evaluate JSON patterns) and puts lines in it, keyed
// by their time.
func setupLogMetricFilter(ctx context.Context, t testing.TB, logs *cloudwatchlogs.Client, group string, lines map[time.Time]string) {
	t.Helper()
	if _, err := logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)}); err != nil {
		t.Fatal(err)
	}
	if _, err := logs.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String("web/1")}); err != nil {
		t.Fatal(err)
	}
	if _, err := logs.PutMetricFilter(ctx, &cloudwatchlogs.PutMetricFilterInput{
		LogGroupName: aws.String(group), FilterName: aws.String("errors"), FilterPattern: aws.String(`"ERROR"`),
		MetricTransformations: []logstypes.MetricTransformation{{MetricName: aws.String("ErrorCount"), MetricNamespace: aws.String("Tributary/App"), MetricValue: aws.String("1")}},
	}); err != nil {
		t.Fatal(err)
	}
	var evs []logstypes.InputLogEvent
	for ts, msg := range lines {
		evs = append(evs, logstypes.InputLogEvent{Timestamp: aws.Int64(ts.UnixMilli()), Message: aws.String(msg)})
	}
	// PutLogEvents wants events in time order.
	for i := range evs {
		for j := i + 1; j < len(evs); j++ {
			if *evs[j].Timestamp < *evs[i].Timestamp {
				evs[i], evs[j] = evs[j], evs[i]
			}
		}
	}
	if _, err := logs.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String("web/1"), LogEvents: evs}); err != nil {
		t.Fatal(err)
	}
}

// TestFinderAgainstMoto finds the lines behind a metric-filter alarm with the
// real CloudWatch Logs wire protocol: DescribeMetricFilters by metric name
// and namespace, then FilterLogEvents with the filter's pattern in the
// evaluation window, newest first, up to the limit.
func TestFinderAgainstMoto(t *testing.T) {
	m := localaws.MotoForTest(t)
	ctx := context.Background()
	cfg, err := m.Config(ctx, "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	logs := cloudwatchlogs.NewFromConfig(cfg)
	stateChange := time.Now().UTC().Truncate(time.Minute).Add(-30 * time.Minute).Add(41 * time.Second)
	periodStart := stateChange.Truncate(5 * time.Minute).Add(-5 * time.Minute)
	lines := map[time.Time]string{
		periodStart.Add(-2 * time.Minute):  "ERROR too early: before the window",
		periodStart.Add(10 * time.Second):  "ERROR first in the window",
		periodStart.Add(20 * time.Second):  "INFO request served",
		periodStart.Add(90 * time.Second):  "ERROR second in the window",
		periodStart.Add(200 * time.Second): "ERROR third in the window",
		stateChange.Add(-time.Second):      "ERROR last in the window",
		stateChange.Add(3 * time.Minute):   "ERROR too late: after the state change",
	}
	setupLogMetricFilter(ctx, t, logs, "/ecs/checkout", lines)

	n := Notification{Kind: KindMetric, AlarmName: "checkout-errors", Region: "eu-west-1", Time: stateChange, Period: 300, EvaluationPeriods: 1,
		Metrics: []Metric{{Namespace: "Tributary/App", Name: "ErrorCount", Period: 300}}}
	f := &Finder{Logs: logs}
	ev := f.Find(ctx, &n, 3)
	if len(ev.Errors) > 0 {
		t.Fatalf("errors: %v", ev.Errors)
	}
	if len(ev.Filters) != 1 || ev.Filters[0].LogGroup != "/ecs/checkout" || ev.Filters[0].Pattern != `"ERROR"` {
		t.Fatalf("filters %+v", ev.Filters)
	}
	var got []string
	for _, l := range ev.Lines {
		got = append(got, l.Message)
	}
	want := []string{"ERROR last in the window", "ERROR third in the window", "ERROR second in the window"}
	if strings.Join(got, "|") != strings.Join(want, "|") || ev.Matched != 4 {
		t.Errorf("lines %q (matched %d), want %q of 4", got, ev.Matched, want)
	}
	if !ev.Start.Equal(periodStart) || ev.Lines[0].LogStream != "web/1" {
		t.Errorf("window start %s, want %s; stream %q", ev.Start, periodStart, ev.Lines[0].LogStream)
	}
	if !strings.Contains(ev.InsightsURL, "*2Fecs*2Fcheckout") {
		t.Errorf("insights URL %s", ev.InsightsURL)
	}
	// A metric no filter feeds: no lines, no errors.
	n.Metrics = []Metric{{Namespace: "AWS/EC2", Name: "CPUUtilization"}}
	if ev := f.Find(ctx, &n, 3); len(ev.Filters) != 0 || len(ev.Errors) != 0 {
		t.Errorf("unrelated metric: %+v", ev)
	}
}

// TestSilenceAgainstMoto reads the newest event time of each log group with
// the real CloudWatch Logs wire protocol: DescribeLogGroups page by page,
// then DescribeLogStreams ordered by LastEventTime, descending, limit 1, per
// group; Tributary's own groups skipped, the subscribed one marked.
func TestSilenceAgainstMoto(t *testing.T) {
	m := localaws.MotoForTest(t)
	ctx := context.Background()
	cfg, err := m.Config(ctx, "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	logs := cloudwatchlogs.NewFromConfig(cfg)
	now := time.Now().UTC().Truncate(time.Second)
	put := func(group, stream string, at ...time.Time) {
		t.Helper()
		_, _ = logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)})
		if _, err := logs.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream)}); err != nil {
			t.Fatal(err)
		}
		var evs []logstypes.InputLogEvent
		for _, ts := range at {
			evs = append(evs, logstypes.InputLogEvent{Timestamp: aws.Int64(ts.UnixMilli()), Message: aws.String("line")})
		}
		if len(evs) > 0 {
			if _, err := logs.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream), LogEvents: evs}); err != nil {
				t.Fatal(err)
			}
		}
	}
	put("/ecs/checkout", "web/1", now.Add(-3*time.Hour), now.Add(-2*time.Minute))
	put("/ecs/checkout", "web/2", now.Add(-50*time.Minute)) // an older stream: the group's newest is web/1's
	put("/aws/lambda/orders", "2024/05/14/[$LATEST]abc", now.Add(-3*time.Hour))
	put("/ecs/quiet", "web/1")
	put("/tributary/prod/transform", "x", now.Add(-time.Minute))
	put("/app/subscribed", "a", now.Add(-40*time.Minute))
	for i := range 7 { // more than the cap
		put(fmt.Sprintf("/zz/batch/%d", i), "s", now.Add(-time.Duration(10+i)*time.Hour))
	}

	h := New(alert.NewDispatcher(nil), Options{LogGroups: logs, MaxLogGroups: 8})
	s := h.silence(ctx, "/tributary/prod/", "/app/subscribed").since(now.Add(-15 * time.Minute))
	if len(s.Errors) > 0 {
		t.Fatalf("errors: %v", s.Errors)
	}
	var got []string
	for _, g := range s.Groups {
		when := "none"
		if !g.LastEvent.IsZero() {
			when = now.Sub(g.LastEvent).String()
		}
		sub := ""
		if g.Subscribed {
			sub = "*"
		}
		got = append(got, g.LogGroup+sub+"@"+when)
	}
	// Groups come by name: the subscribed one, then /aws…, /ecs…, and /zz/batch/0..3 fill the cap of 8.
	want := "/ecs/checkout@2m0s /app/subscribed*@40m0s /aws/lambda/orders@3h0m0s /zz/batch/0@10h0m0s /zz/batch/1@11h0m0s /zz/batch/2@12h0m0s /zz/batch/3@13h0m0s /ecs/quiet@none"
	if strings.Join(got, " ") != want || s.Checked != 8 || !s.More || s.Writing != 1 {
		t.Errorf("groups %s (checked %d, more %v, writing %d)\nwant %s", strings.Join(got, " "), s.Checked, s.More, s.Writing, want)
	}
	s = h.silence(ctx, "/tributary/prod/", "").since(now.Add(-15 * time.Minute))
	if s.Checked != 8 || !slices.ContainsFunc(s.Groups, func(g GroupActivity) bool { return g.LogGroup == "/ecs/quiet" && g.LastEvent.IsZero() }) {
		t.Errorf("a group without events: %+v", s)
	}
}
