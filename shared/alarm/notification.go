// Package alarm is the core of the alarm function: CloudWatch alarm state
// changes (SNS notifications of metric, metric-math and composite alarms, or
// EventBridge "CloudWatch Alarm State Change" events) become alerts whose
// alias is the alarm ARN, so ALARM opens exactly what OK closes. When the
// alarm's metric comes from a log metric filter, the log lines that matched
// in the alarm's evaluation window go into the alert, with a Logs Insights
// link.
//
// Tributary's own pipeline alarms (tagged tributary:pipeline-alarm=<kind>,
// see template.yaml and docs/operations.md) get what a responder needs
// instead (pipeline.go): where dead letters are and the command that
// replays them, each log group's newest event for the silence alarms, the
// members in ALARM of the composite pipeline-degraded alarm, and always the
// runbook section of the kind. When the alarm's tags cannot be read, the
// runbook link at the end of the alarm's description still identifies the
// kind, and the alert says what it could not know.
package alarm

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// Alarm states.
const (
	StateAlarm            = "ALARM"
	StateOK               = "OK"
	StateInsufficientData = "INSUFFICIENT_DATA"
)

// Kinds of alarms.
const (
	KindMetric     = "metric"
	KindMetricMath = "metric-math"
	KindComposite  = "composite"
)

// Metric is one metric (or expression) an alarm watches.
type Metric struct {
	ID         string            `json:"id,omitempty"`
	Expression string            `json:"expression,omitempty"`
	Label      string            `json:"label,omitempty"`
	Namespace  string            `json:"namespace,omitempty"`
	Name       string            `json:"name,omitempty"`
	Dimensions map[string]string `json:"dimensions,omitempty"`
	Period     int64             `json:"period,omitempty"`
	Stat       string            `json:"stat,omitempty"`
	ReturnData bool              `json:"returnData,omitempty"`
}

// String is "AWS/EC2 CPUUtilization {InstanceId=i-1} Average/300s", or the
// expression.
func (m Metric) String() string {
	if m.Expression != "" {
		s := m.ID + " = " + m.Expression
		if m.Label != "" {
			s += fmt.Sprintf(" (%s)", m.Label)
		}
		return s
	}
	var b strings.Builder
	if m.ID != "" {
		b.WriteString(m.ID + " = ")
	}
	b.WriteString(m.Namespace + " " + m.Name)
	if len(m.Dimensions) > 0 {
		keys := make([]string, 0, len(m.Dimensions))
		for k := range m.Dimensions {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + "=" + m.Dimensions[k]
		}
		b.WriteString(" {" + strings.Join(parts, ", ") + "}")
	}
	if m.Stat != "" || m.Period > 0 {
		fmt.Fprintf(&b, " %s/%ds", m.Stat, m.Period)
	}
	return b.String()
}

// Child is an alarm that triggered a composite alarm.
type Child struct {
	ARN   string `json:"arn"`
	Name  string `json:"name"`
	State string `json:"state,omitempty"`
	Time  string `json:"time,omitempty"`
}

// Notification is one alarm state change, whichever way it came.
type Notification struct {
	Route             string    `json:"route"` // "sns" or "eventbridge"
	Ref               string    `json:"ref"`   // SNS MessageId or EventBridge event id
	Kind              string    `json:"kind"`
	AlarmName         string    `json:"alarmName"`
	AlarmARN          string    `json:"alarmArn"`
	Description       string    `json:"description,omitempty"`
	Account           string    `json:"account"`
	Region            string    `json:"region"`
	State             string    `json:"state"`
	PreviousState     string    `json:"previousState,omitempty"`
	Reason            string    `json:"reason,omitempty"`
	Time              time.Time `json:"time"`
	WindowStart       time.Time `json:"windowStart,omitzero"` // from reasonData, when given
	Metrics           []Metric  `json:"metrics,omitempty"`
	Period            int64     `json:"period,omitempty"`
	EvaluationPeriods int64     `json:"evaluationPeriods,omitempty"`
	Threshold         *float64  `json:"threshold,omitempty"`
	Comparison        string    `json:"comparison,omitempty"`
	AlarmRule         string    `json:"alarmRule,omitempty"`
	Children          []Child   `json:"children,omitempty"`
}

// Rejection is an input that is not an alarm notification, with why.
type Rejection struct {
	Ref    string `json:"ref"`
	Reason string `json:"reason"`
}

// DetailType is EventBridge's detail-type of alarm state changes.
const DetailType = "CloudWatch Alarm State Change"

// snsAlarm is the SNS message of a metric or composite alarm.
type snsAlarm struct {
	events.CloudWatchAlarmSNSPayload
	// Trigger shadows the embedded one to add ExtendedStatistic (p99 ...).
	Trigger struct {
		events.CloudWatchAlarmTrigger
		ExtendedStatistic string `json:"ExtendedStatistic"`
	} `json:"Trigger"`
	AlarmRule          string `json:"AlarmRule"`
	TriggeringChildren []struct {
		Arn   string `json:"Arn"`
		State struct {
			Value     string `json:"Value"`
			Timestamp string `json:"Timestamp"`
		} `json:"State"`
	} `json:"TriggeringChildren"`
}

type ebEvent struct {
	ID         string   `json:"id"`
	DetailType string   `json:"detail-type"`
	Account    string   `json:"account"`
	Region     string   `json:"region"`
	Time       string   `json:"time"`
	Resources  []string `json:"resources"`
	Detail     struct {
		AlarmName     string  `json:"alarmName"`
		State         ebState `json:"state"`
		PreviousState ebState `json:"previousState"`
		Configuration struct {
			Description string `json:"description"`
			AlarmRule   string `json:"alarmRule"`
			Metrics     []struct {
				ID         string `json:"id"`
				Expression string `json:"expression"`
				Label      string `json:"label"`
				ReturnData bool   `json:"returnData"`
				MetricStat *struct {
					Metric struct {
						Namespace  string            `json:"namespace"`
						Name       string            `json:"name"`
						Dimensions map[string]string `json:"dimensions"`
					} `json:"metric"`
					Period int64  `json:"period"`
					Stat   string `json:"stat"`
				} `json:"metricStat"`
			} `json:"metrics"`
		} `json:"configuration"`
	} `json:"detail"`
}

type ebState struct {
	Value      string `json:"value"`
	Reason     string `json:"reason"`
	ReasonData string `json:"reasonData"`
	Timestamp  string `json:"timestamp"`
}

// reasonData is the JSON in state.reasonData.
type reasonData struct {
	StartDate        string  `json:"startDate"`
	QueryDate        string  `json:"queryDate"`
	Period           int64   `json:"period"`
	Threshold        float64 `json:"threshold"`
	TriggeringAlarms []struct {
		Arn   string `json:"arn"`
		State struct {
			Value     string `json:"value"`
			Timestamp string `json:"timestamp"`
		} `json:"state"`
	} `json:"triggeringAlarms"`
}

// Decode reads one invocation's payload: an SNS event with alarm
// notifications, or an EventBridge alarm state change.
func Decode(payload []byte) ([]Notification, []Rejection) {
	var probe struct {
		Records    []json.RawMessage `json:"Records"`
		DetailType *string           `json:"detail-type"`
	}
	if err := json.Unmarshal(payload, &probe); err != nil {
		return nil, []Rejection{{Ref: "payload", Reason: "not a JSON object: " + err.Error()}}
	}
	switch {
	case probe.DetailType != nil:
		n, err := decodeEventBridge(payload)
		if err != nil {
			return nil, []Rejection{{Ref: "eventbridge", Reason: err.Error()}}
		}
		return []Notification{n}, nil
	case probe.Records != nil:
		if len(probe.Records) == 0 {
			return nil, []Rejection{{Ref: "sns", Reason: "SNS event without records"}}
		}
		var ev events.SNSEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, []Rejection{{Ref: "sns", Reason: "not an SNS event: " + err.Error()}}
		}
		var out []Notification
		var rej []Rejection
		for i, r := range ev.Records {
			ref := r.SNS.MessageID
			if ref == "" {
				ref = fmt.Sprintf("Records[%d]", i)
			}
			n, err := decodeSNS(r.SNS.Message)
			if err != nil {
				rej = append(rej, Rejection{Ref: ref, Reason: err.Error()})
				continue
			}
			n.Ref = ref
			out = append(out, n)
		}
		return out, rej
	}
	return nil, []Rejection{{Ref: "payload", Reason: "neither an SNS event (Records) nor an EventBridge event (detail-type)"}}
}

func decodeSNS(msg string) (Notification, error) {
	var m snsAlarm
	if err := json.Unmarshal([]byte(msg), &m); err != nil {
		return Notification{}, fmt.Errorf("SNS message is not a CloudWatch alarm notification: %v", err)
	}
	if m.AlarmName == "" || m.NewStateValue == "" {
		return Notification{}, fmt.Errorf("SNS message is not a CloudWatch alarm notification (no AlarmName / NewStateValue)")
	}
	n := Notification{
		Route: "sns", AlarmName: m.AlarmName, AlarmARN: m.AlarmARN, Description: m.AlarmDescription,
		Account: m.AWSAccountID, State: m.NewStateValue, PreviousState: m.OldStateValue, Reason: m.NewStateReason,
		AlarmRule: m.AlarmRule,
	}
	// SNS gives the Region's display name ("US East (N. Virginia)"); the ARN has its code.
	n.Region, n.Account = arnRegionAccount(m.AlarmARN, n.Account)
	if n.AlarmARN == "" {
		return Notification{}, fmt.Errorf("alarm notification for %q has no AlarmArn", m.AlarmName)
	}
	t, err := parseTime(m.StateChangeTime)
	if err != nil {
		return Notification{}, fmt.Errorf("alarm %s: StateChangeTime: %v", m.AlarmName, err)
	}
	n.Time = t
	tr := m.Trigger
	n.Period, n.EvaluationPeriods, n.Comparison = tr.Period, tr.EvaluationPeriods, tr.ComparisonOperator
	if tr.ComparisonOperator != "" {
		th := tr.Threshold
		n.Threshold = &th
	}
	if tr.MetricName != "" {
		dims := map[string]string{}
		for _, d := range tr.Dimensions {
			dims[d.Name] = d.Value
		}
		stat := tr.Statistic
		if stat == "" {
			stat = tr.ExtendedStatistic
		}
		n.Metrics = append(n.Metrics, Metric{Namespace: tr.Namespace, Name: tr.MetricName, Dimensions: nilIfEmpty(dims), Period: tr.Period, Stat: normStat(stat), ReturnData: true})
	}
	for _, q := range tr.Metrics {
		mm := Metric{ID: q.ID, Expression: q.Expression, Label: q.Label, ReturnData: q.ReturnData}
		if q.MetricStat.Metric.MetricName != "" {
			dims := map[string]string{}
			for _, d := range q.MetricStat.Metric.Dimensions {
				dims[d.Name] = d.Value
			}
			mm.Namespace, mm.Name, mm.Dimensions = q.MetricStat.Metric.Namespace, q.MetricStat.Metric.MetricName, nilIfEmpty(dims)
			mm.Period, mm.Stat = q.MetricStat.Period, q.MetricStat.Stat
		}
		n.Metrics = append(n.Metrics, mm)
	}
	for _, c := range m.TriggeringChildren {
		n.Children = append(n.Children, Child{ARN: c.Arn, Name: alarmName(c.Arn), State: c.State.Value, Time: c.State.Timestamp})
	}
	n.Kind = kind(n)
	return n, nil
}

func decodeEventBridge(payload []byte) (Notification, error) {
	var ev ebEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return Notification{}, fmt.Errorf("not an EventBridge event: %v", err)
	}
	if ev.DetailType != DetailType {
		return Notification{}, fmt.Errorf("EventBridge detail-type %q is not %q", ev.DetailType, DetailType)
	}
	d := ev.Detail
	if d.AlarmName == "" || d.State.Value == "" {
		return Notification{}, fmt.Errorf("alarm state change without alarmName / state.value")
	}
	n := Notification{
		Route: "eventbridge", Ref: ev.ID, AlarmName: d.AlarmName, Description: d.Configuration.Description,
		Account: ev.Account, Region: ev.Region, State: d.State.Value, PreviousState: d.PreviousState.Value,
		Reason: d.State.Reason, AlarmRule: d.Configuration.AlarmRule,
	}
	for _, r := range ev.Resources {
		if strings.Contains(r, ":alarm:") {
			n.AlarmARN = r
			break
		}
	}
	if n.AlarmARN == "" {
		n.AlarmARN = fmt.Sprintf("arn:aws:cloudwatch:%s:%s:alarm:%s", n.Region, n.Account, n.AlarmName)
	}
	t, err := parseTime(d.State.Timestamp)
	if err != nil {
		if t, err = parseTime(ev.Time); err != nil {
			return Notification{}, fmt.Errorf("alarm %s: state.timestamp: %v", d.AlarmName, err)
		}
	}
	n.Time = t
	for _, q := range d.Configuration.Metrics {
		mm := Metric{ID: q.ID, Expression: q.Expression, Label: q.Label, ReturnData: q.ReturnData}
		if q.MetricStat != nil {
			mm.Namespace, mm.Name = q.MetricStat.Metric.Namespace, q.MetricStat.Metric.Name
			mm.Dimensions = nilIfEmpty(q.MetricStat.Metric.Dimensions)
			mm.Period, mm.Stat = q.MetricStat.Period, q.MetricStat.Stat
			if mm.Period > n.Period {
				n.Period = mm.Period
			}
		}
		n.Metrics = append(n.Metrics, mm)
	}
	if d.State.ReasonData != "" {
		var rd reasonData
		if json.Unmarshal([]byte(d.State.ReasonData), &rd) == nil {
			if s, err := parseTime(rd.StartDate); err == nil {
				n.WindowStart = s
			}
			if rd.Period > 0 {
				n.Period = rd.Period
			}
			if rd.Threshold != 0 || strings.Contains(d.State.ReasonData, `"threshold"`) {
				th := rd.Threshold
				n.Threshold = &th
			}
			for _, c := range rd.TriggeringAlarms {
				n.Children = append(n.Children, Child{ARN: c.Arn, Name: alarmName(c.Arn), State: c.State.Value, Time: c.State.Timestamp})
			}
		}
	}
	n.Kind = kind(n)
	return n, nil
}

func kind(n Notification) string {
	switch {
	case n.AlarmRule != "":
		return KindComposite
	case len(n.Metrics) > 1 || len(n.Metrics) == 1 && n.Metrics[0].Expression != "":
		return KindMetricMath
	}
	return KindMetric
}

// parseTime reads CloudWatch's "2019-10-02T17:04:40.989+0000" and RFC 3339.
func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02T15:04:05.000-0700", "2006-01-02T15:04:05-0700", time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("cannot read time %q", s)
}

// arnRegionAccount returns the region and account of an ARN (falling back
// to account when the ARN has none).
func arnRegionAccount(arn, account string) (string, string) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return "", account
	}
	if parts[4] != "" {
		account = parts[4]
	}
	return parts[3], account
}

// alarmName is the name in arn:aws:cloudwatch:region:account:alarm:NAME.
func alarmName(arn string) string {
	if _, name, ok := strings.Cut(arn, ":alarm:"); ok {
		return name
	}
	return arn
}

func nilIfEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

// normStat turns SNS's upper-case statistics (AVERAGE, SUM) into the API's.
func normStat(s string) string {
	switch strings.ToUpper(s) {
	case "AVERAGE":
		return "Average"
	case "SUM":
		return "Sum"
	case "MINIMUM":
		return "Minimum"
	case "MAXIMUM":
		return "Maximum"
	case "SAMPLECOUNT", "SAMPLE_COUNT":
		return "SampleCount"
	}
	return s
}
