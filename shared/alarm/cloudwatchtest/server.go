// Package cloudwatchtest is a local CloudWatch (alarms) endpoint for tests:
// it answers DescribeAlarms and ListTagsForResource in the Smithy RPC v2
// CBOR protocol the Go SDK's cloudwatch client speaks, which moto cannot.
// Point a client or a bootstrap at it with AWS_ENDPOINT_URL_CLOUDWATCH.
//
// Responses are written by the SDK's own output types through a CBOR shape
// serializer, so what the client decodes is what CloudWatch would send for
// the same alarms. Other operations answer UnknownOperationException.
package cloudwatchtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/encoding/cbor"
)

// Alarm is one alarm the server knows: a metric or a composite alarm, and
// its tags. In JSON (ReadAlarms), the alarms have the API's member names, as
// `aws cloudwatch describe-alarms` prints them.
type Alarm struct {
	Metric    *types.MetricAlarm    `json:"metricAlarm,omitempty"`
	Composite *types.CompositeAlarm `json:"compositeAlarm,omitempty"`
	Tags      map[string]string     `json:"tags,omitempty"`
}

// ReadAlarms reads a JSON list of alarms.
func ReadAlarms(r io.Reader) ([]Alarm, error) {
	var out []Alarm
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("cloudwatchtest: alarms: %w", err)
	}
	for i, a := range out {
		if (a.Metric == nil) == (a.Composite == nil) || a.name() == "" || a.arn() == "" {
			return nil, fmt.Errorf("cloudwatchtest: alarm %d: want one metricAlarm or compositeAlarm with a name and an ARN", i)
		}
	}
	return out, nil
}

func (a Alarm) name() string {
	if a.Composite != nil {
		return aws.ToString(a.Composite.AlarmName)
	}
	if a.Metric != nil {
		return aws.ToString(a.Metric.AlarmName)
	}
	return ""
}

func (a Alarm) arn() string {
	if a.Composite != nil {
		return aws.ToString(a.Composite.AlarmArn)
	}
	if a.Metric != nil {
		return aws.ToString(a.Metric.AlarmArn)
	}
	return ""
}

// Call is one request the server answered.
type Call struct {
	Op          string   `json:"op"`
	ResourceARN string   `json:"resourceArn,omitempty"`
	AlarmNames  []string `json:"alarmNames,omitempty"`
	AlarmTypes  []string `json:"alarmTypes,omitempty"`
	StateValue  string   `json:"stateValue,omitempty"`
	Status      int      `json:"status"`
}

// Server is the endpoint.
type Server struct {
	URL string

	srv    *httptest.Server
	mu     sync.Mutex
	alarms []Alarm
	calls  []Call
	fail   map[string]string // op -> error code
}

// New starts a server knowing alarms.
func New(alarms ...Alarm) *Server {
	s := &Server{fail: map[string]string{}}
	for _, a := range alarms {
		s.Put(a)
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// StartForTest starts a server closed at the end of the test.
func StartForTest(t testing.TB, alarms ...Alarm) *Server {
	t.Helper()
	s := New(alarms...)
	t.Cleanup(s.Close)
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Put adds an alarm, or replaces the one of the same name.
func (s *Server) Put(a Alarm) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.alarms {
		if s.alarms[i].name() == a.name() {
			s.alarms[i] = a
			return
		}
	}
	s.alarms = append(s.alarms, a)
}

// Fail makes every call of op answer the error code (a throttling or access
// error, say); "" heals it.
func (s *Server) Fail(op, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if code == "" {
		delete(s.fail, op)
		return
	}
	s.fail[op] = code
}

// Calls returns the requests answered so far.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// ResetCalls forgets the requests answered so far.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
}

const pathPrefix = "/service/GraniteServiceVersion20100801/operation/"

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	op, ok := strings.CutPrefix(r.URL.Path, pathPrefix)
	if !ok || r.Method != http.MethodPost || r.Header.Get("Smithy-Protocol") != "rpc-v2-cbor" {
		writeError(w, http.StatusNotFound, "UnknownOperationException", "not a CloudWatch RPC v2 CBOR request: "+r.Method+" "+r.URL.Path)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	in := cbor.Map{}
	if len(body) > 0 {
		v, err := cbor.Decode(body)
		m, isMap := v.(cbor.Map)
		if err != nil || !isMap {
			writeError(w, http.StatusBadRequest, "SerializationException", fmt.Sprintf("request body is not a CBOR map: %v", err))
			return
		}
		in = m
	}
	call := Call{Op: op, ResourceARN: str(in["ResourceARN"]), AlarmNames: strs(in["AlarmNames"]), AlarmTypes: strs(in["AlarmTypes"]), StateValue: str(in["StateValue"])}
	status, out, code, msg := s.answer(&call, in)
	call.Status = status
	s.mu.Lock()
	s.calls = append(s.calls, call)
	s.mu.Unlock()
	if code != "" {
		writeError(w, status, code, msg)
		return
	}
	ser := &valueSerializer{}
	out.Serialize(ser)
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.Header().Set("Content-Type", "application/cbor")
	_, _ = w.Write(ser.Bytes())
}

func (s *Server) answer(call *Call, in cbor.Map) (int, smithy.Serializable, string, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if code, ok := s.fail[call.Op]; ok {
		status := http.StatusBadRequest
		if strings.Contains(code, "Internal") || strings.Contains(code, "Unavailable") {
			status = http.StatusInternalServerError
		}
		return status, nil, code, "injected failure of " + call.Op
	}
	switch call.Op {
	case "ListTagsForResource":
		for _, a := range s.alarms {
			if a.arn() == call.ResourceARN {
				out := &cloudwatch.ListTagsForResourceOutput{Tags: []types.Tag{}}
				keys := make([]string, 0, len(a.Tags))
				for k := range a.Tags {
					keys = append(keys, k)
				}
				slices.Sort(keys)
				for _, k := range keys {
					out.Tags = append(out.Tags, types.Tag{Key: aws.String(k), Value: aws.String(a.Tags[k])})
				}
				return http.StatusOK, out, "", ""
			}
		}
		return http.StatusBadRequest, nil, "ResourceNotFoundException", "no alarm " + call.ResourceARN
	case "DescribeAlarms":
		return http.StatusOK, s.describe(call, in), "", ""
	}
	return http.StatusBadRequest, nil, "UnknownOperationException", "cloudwatchtest does not serve " + call.Op
}

// describe filters like CloudWatch: by names (or a name prefix), by type
// (metric alarms only when no type is given), by state.
func (s *Server) describe(call *Call, in cbor.Map) *cloudwatch.DescribeAlarmsOutput {
	prefix, state := str(in["AlarmNamePrefix"]), call.StateValue
	want := call.AlarmTypes
	if len(want) == 0 {
		want = []string{string(types.AlarmTypeMetricAlarm)}
	}
	out := &cloudwatch.DescribeAlarmsOutput{}
	for _, a := range s.alarms {
		name := a.name()
		if len(call.AlarmNames) > 0 && !slices.Contains(call.AlarmNames, name) || !strings.HasPrefix(name, prefix) {
			continue
		}
		switch {
		case a.Metric != nil && slices.Contains(want, string(types.AlarmTypeMetricAlarm)):
			if state == "" || string(a.Metric.StateValue) == state {
				out.MetricAlarms = append(out.MetricAlarms, *a.Metric)
			}
		case a.Composite != nil && slices.Contains(want, string(types.AlarmTypeCompositeAlarm)):
			if state == "" || string(a.Composite.StateValue) == state {
				out.CompositeAlarms = append(out.CompositeAlarms, *a.Composite)
			}
		}
	}
	return out
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.Header().Set("Content-Type", "application/cbor")
	w.WriteHeader(status)
	_, _ = w.Write(cbor.Encode(cbor.Map{"__type": cbor.String("com.amazonaws.cloudwatch#" + code), "message": cbor.String(msg)}))
}

func str(v cbor.Value) string {
	if s, ok := v.(cbor.String); ok {
		return string(s)
	}
	return ""
}

func strs(v cbor.Value) []string {
	l, ok := v.(cbor.List)
	if !ok {
		return nil
	}
	out := make([]string, 0, len(l))
	for _, e := range l {
		out = append(out, str(e))
	}
	return out
}
