package cloudwatchtest

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

func client(s *Server) *cloudwatch.Client {
	return cloudwatch.New(cloudwatch.Options{
		Region:       "eu-west-1",
		BaseEndpoint: aws.String(s.URL),
		Credentials:  aws.AnonymousCredentials{},
		Retryer:      aws.NopRetryer{},
	})
}

var updated = time.Date(2024, 5, 14, 9, 10, 41, 96_000_000, time.UTC)

func metricAlarm() *types.MetricAlarm {
	return &types.MetricAlarm{
		AlarmName:             aws.String("prod-processing-failed"),
		AlarmArn:              aws.String("arn:aws:cloudwatch:eu-west-1:123456789012:alarm:prod-processing-failed"),
		AlarmDescription:      aws.String("The transform returned ProcessingFailed."),
		StateValue:            types.StateValueAlarm,
		StateReason:           aws.String("Threshold Crossed: 1 datapoint [3.0 (14/05/24 09:05:00)] was greater than the threshold (0.0)."),
		StateUpdatedTimestamp: aws.Time(updated),
		Namespace:             aws.String("Tributary"),
		MetricName:            aws.String("RecordsFailed"),
		Dimensions:            []types.Dimension{{Name: aws.String("Function"), Value: aws.String("transform")}},
		Statistic:             types.StatisticSum,
		Period:                aws.Int32(300),
		EvaluationPeriods:     aws.Int32(1),
		Threshold:             aws.Float64(0),
		ComparisonOperator:    types.ComparisonOperatorGreaterThanThreshold,
		ActionsEnabled:        aws.Bool(true),
		AlarmActions:          []string{},
	}
}

// TestSDKClientReadsWhatTheServerSends runs the SDK's cloudwatch client
// against the server: its RPC v2 CBOR decoder must read back every field.
func TestSDKClientReadsWhatTheServerSends(t *testing.T) {
	t.Parallel()
	composite := &types.CompositeAlarm{
		AlarmName:             aws.String("prod-pipeline-degraded"),
		AlarmArn:              aws.String("arn:aws:cloudwatch:eu-west-1:123456789012:alarm:prod-pipeline-degraded"),
		AlarmRule:             aws.String(`ALARM("prod-processing-failed") OR FALSE`),
		StateValue:            types.StateValueAlarm,
		StateUpdatedTimestamp: aws.Time(updated),
	}
	math := &types.MetricAlarm{
		AlarmName: aws.String("prod-silence-anomaly"), AlarmArn: aws.String("arn:aws:cloudwatch:eu-west-1:123456789012:alarm:prod-silence-anomaly"),
		StateValue: types.StateValueOk, EvaluationPeriods: aws.Int32(3), ThresholdMetricId: aws.String("ad1"),
		Metrics: []types.MetricDataQuery{
			{Id: aws.String("m1"), ReturnData: aws.Bool(true), MetricStat: &types.MetricStat{Period: aws.Int32(300), Stat: aws.String("Sum"),
				Metric: &types.Metric{Namespace: aws.String("AWS/Firehose"), MetricName: aws.String("IncomingRecords"),
					Dimensions: []types.Dimension{{Name: aws.String("DeliveryStreamName"), Value: aws.String("prod-stream")}}}}},
			{Id: aws.String("ad1"), Expression: aws.String("ANOMALY_DETECTION_BAND(m1, 3)"), ReturnData: aws.Bool(true)},
		},
	}
	s := StartForTest(t,
		Alarm{Metric: metricAlarm(), Tags: map[string]string{"tributary:pipeline-alarm": "processing-failed", "Priority": "P2"}},
		Alarm{Composite: composite},
		Alarm{Metric: math},
	)
	cw := client(s)
	ctx := context.Background()

	tags, err := cw.ListTagsForResource(ctx, &cloudwatch.ListTagsForResourceInput{ResourceARN: metricAlarm().AlarmArn})
	if err != nil {
		t.Fatal(err)
	}
	want := []types.Tag{{Key: aws.String("Priority"), Value: aws.String("P2")}, {Key: aws.String("tributary:pipeline-alarm"), Value: aws.String("processing-failed")}}
	if !reflect.DeepEqual(tags.Tags, want) {
		t.Errorf("tags %+v", tags.Tags)
	}

	out, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"prod-processing-failed", "prod-pipeline-degraded", "prod-silence-anomaly"},
		AlarmTypes: []types.AlarmType{types.AlarmTypeMetricAlarm, types.AlarmTypeCompositeAlarm}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.MetricAlarms) != 2 || len(out.CompositeAlarms) != 1 {
		t.Fatalf("%d metric, %d composite alarms", len(out.MetricAlarms), len(out.CompositeAlarms))
	}
	for i, pair := range [][2]any{{out.MetricAlarms[0], metricAlarm()}, {out.MetricAlarms[1], math}, {out.CompositeAlarms[0], composite}} {
		if got, want := plain(t, pair[0]), plain(t, pair[1]); got != want {
			t.Errorf("alarm %d read back as\n%s\nwant\n%s", i, got, want)
		}
	}

	// No type: metric alarms only, as CloudWatch does; a state filter.
	out, err = cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{StateValue: types.StateValueAlarm})
	if err != nil || len(out.MetricAlarms) != 1 || len(out.CompositeAlarms) != 0 || aws.ToString(out.MetricAlarms[0].AlarmName) != "prod-processing-failed" {
		t.Errorf("by state: %+v (%v)", out, err)
	}

	calls := s.Calls()
	if len(calls) != 3 || calls[0].Op != "ListTagsForResource" || calls[0].ResourceARN != aws.ToString(metricAlarm().AlarmArn) ||
		calls[1].Op != "DescribeAlarms" || len(calls[1].AlarmNames) != 3 || !reflect.DeepEqual(calls[1].AlarmTypes, []string{"MetricAlarm", "CompositeAlarm"}) {
		t.Errorf("calls %+v", calls)
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	s := StartForTest(t, Alarm{Metric: metricAlarm()})
	cw := client(s)
	ctx := context.Background()
	_, err := cw.ListTagsForResource(ctx, &cloudwatch.ListTagsForResourceInput{ResourceARN: aws.String("arn:aws:cloudwatch:eu-west-1:123456789012:alarm:nope")})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("unknown alarm: %v, want ResourceNotFoundException", err)
	}
	s.Fail("ListTagsForResource", "AccessDenied")
	_, err = cw.ListTagsForResource(ctx, &cloudwatch.ListTagsForResourceInput{ResourceARN: metricAlarm().AlarmArn})
	if err == nil || !containsAll(err.Error(), "AccessDenied", "injected failure") {
		t.Errorf("injected failure: %v", err)
	}
	s.Fail("ListTagsForResource", "")
	if _, err = cw.ListTagsForResource(ctx, &cloudwatch.ListTagsForResourceInput{ResourceARN: metricAlarm().AlarmArn}); err != nil {
		t.Errorf("healed: %v", err)
	}
	_, err = cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("x"), EvaluationPeriods: aws.Int32(1),
		ComparisonOperator: types.ComparisonOperatorGreaterThanThreshold})
	if err == nil || !containsAll(err.Error(), "UnknownOperationException", "PutMetricAlarm") {
		t.Errorf("unserved operation: %v", err)
	}
	// The SDK retries 5xx: a default client gives up after its attempts.
	s.Fail("DescribeAlarms", "InternalServiceError")
	cw = cloudwatch.New(cloudwatch.Options{Region: "eu-west-1", BaseEndpoint: aws.String(s.URL), Credentials: aws.AnonymousCredentials{},
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) { o.MaxAttempts = 2; o.MaxBackoff = time.Millisecond })})
	_, err = cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{})
	n := 0
	for _, c := range s.Calls() {
		if c.Op == "DescribeAlarms" {
			n++
		}
	}
	if err == nil || n != 2 {
		t.Errorf("5xx: %v after %d attempts, want an error after 2", err, n)
	}
}

// plain is v as JSON without empty lists and nulls: the SDK's decoder gives
// empty lists where the input had nil ones.
func plain(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m any
	_ = json.Unmarshal(b, &m)
	var prune func(any) any
	prune = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				e = prune(e)
				if l, ok := e.([]any); e == nil || ok && len(l) == 0 {
					delete(x, k)
					continue
				}
				x[k] = e
			}
		case []any:
			for i := range x {
				x[i] = prune(x[i])
			}
		}
		return v
	}
	b, _ = json.Marshal(prune(m))
	return string(b)
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

func TestReadAlarms(t *testing.T) {
	t.Parallel()
	f, err := os.Open("../testdata/pipeline/alarms.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	alarms, err := ReadAlarms(f)
	if err != nil {
		t.Fatal(err)
	}
	s := StartForTest(t, alarms...)
	out, err := client(s).DescribeAlarms(context.Background(), &cloudwatch.DescribeAlarmsInput{StateValue: types.StateValueAlarm,
		AlarmTypes: []types.AlarmType{types.AlarmTypeMetricAlarm, types.AlarmTypeCompositeAlarm}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.MetricAlarms) != 4 || len(out.CompositeAlarms) != 1 || aws.ToInt32(out.MetricAlarms[0].Period) == 0 && out.MetricAlarms[0].Metrics == nil {
		t.Errorf("%d metric alarms, %d composite in ALARM: %+v", len(out.MetricAlarms), len(out.CompositeAlarms), out)
	}
	for _, bad := range []string{`[{"tags":{}}]`, `[{"metricAlarm":{"AlarmName":"a"}}]`, `[{"metricAlarm":{"AlarmName":"a","AlarmArn":"b","Bogus":1}}]`} {
		if _, err := ReadAlarms(strings.NewReader(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}
