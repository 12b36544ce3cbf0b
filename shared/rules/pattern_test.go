package rules

import (
	"strings"
	"testing"

	"github.com/valyala/fastjson"
)

const sampleEvent = `{
  "detail-type": "AWS API Call via CloudTrail", "source": "aws.ec2", "account": "123456789012", "region": "eu-west-1",
  "resources": ["arn:aws:ec2:eu-west-1:123456789012:vpc/vpc-1", "arn:aws:ec2:eu-west-1:123456789012:subnet/subnet-1"],
  "detail": {
    "eventName": "AuthorizeSecurityGroupIngress", "errorCode": null, "readOnly": false, "severity": 7.5,
    "sourceIPAddress": "203.0.113.10",
    "userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::123456789012:assumed-role/terraform-apply/ci"},
    "requestParameters": {"groupId": "sg-1", "ipPermissions": {"items": [
      {"fromPort": 22, "ipRanges": {"items": [{"cidrIp": "10.0.0.0/8"}]}},
      {"fromPort": 443, "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}}]}},
    "findings": [{"Severity": {"Label": "HIGH"}, "RecordState": "ACTIVE"}, {"Severity": {"Label": "LOW"}, "RecordState": "ARCHIVED"}]
  }
}`

func TestPatternMatching(t *testing.T) {
	t.Parallel()
	var p fastjson.Parser
	ev, err := p.Parse(sampleEvent)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		pattern string
		want    bool
	}{
		{"exact", `{"detail-type": ["AWS API Call via CloudTrail"]}`, true},
		{"exact miss", `{"detail-type": ["GuardDuty Finding"]}`, false},
		{"list is OR", `{"detail": {"eventName": ["CreateVpc", "AuthorizeSecurityGroupIngress"]}}`, true},
		{"keys are AND", `{"source": ["aws.ec2"], "account": ["999"]}`, false},
		{"nested", `{"detail": {"userIdentity": {"type": ["AssumedRole"]}}}`, true},
		{"dotted path", `{"detail.userIdentity.type": ["AssumedRole"]}`, true},
		{"dotted path miss", `{"detail.userIdentity.type": ["Root"]}`, false},
		{"prefix", `{"detail": {"userIdentity": {"arn": [{"prefix": "arn:aws:sts::123456789012:assumed-role/"}]}}}`, true},
		{"suffix", `{"detail": {"eventName": [{"suffix": "Ingress"}]}}`, true},
		{"ignore case", `{"source": [{"equals-ignore-case": "AWS.EC2"}]}`, true},
		{"wildcard", `{"detail.userIdentity.arn": [{"wildcard": "arn:aws:sts::*:assumed-role/terraform-*/*"}]}`, true},
		{"wildcard miss", `{"detail.userIdentity.arn": [{"wildcard": "arn:aws:sts::*:assumed-role/admin-*"}]}`, false},
		{"exists", `{"detail": {"userIdentity": {"invokedBy": [{"exists": false}]}}}`, true},
		{"exists true", `{"detail": {"userIdentity": {"invokedBy": [{"exists": true}]}}}`, false},
		{"null", `{"detail": {"errorCode": [null]}}`, true},
		{"null exists", `{"detail": {"errorCode": [{"exists": true}]}}`, true},
		{"boolean", `{"detail": {"readOnly": [false]}}`, true},
		{"number", `{"detail": {"severity": [7.5]}}`, true},
		{"numeric range", `{"detail": {"severity": [{"numeric": [">=", 7, "<", 9]}]}}`, true},
		{"numeric out of range", `{"detail": {"severity": [{"numeric": [">", 8]}]}}`, false},
		{"numeric on a string", `{"source": [{"numeric": [">", 0]}]}`, false},
		{"cidr", `{"detail": {"sourceIPAddress": [{"cidr": "203.0.113.0/24"}]}}`, true},
		{"cidr miss", `{"detail": {"sourceIPAddress": [{"cidr": "10.0.0.0/8"}]}}`, false},
		{"anything-but value", `{"detail": {"eventName": [{"anything-but": "HeadBucket"}]}}`, true},
		{"anything-but list", `{"detail": {"eventName": [{"anything-but": ["AuthorizeSecurityGroupIngress", "X"]}]}}`, false},
		{"anything-but prefix", `{"detail": {"eventName": [{"anything-but": {"prefix": "Authorize"}}]}}`, false},
		{"anything-but needs the field", `{"detail": {"missing": [{"anything-but": "x"}]}}`, false},
		{"array of leaves: any element", `{"resources": [{"suffix": "subnet/subnet-1"}]}`, true},
		{"arrays of objects, through items", `{"detail.requestParameters.ipPermissions.items.ipRanges.items.cidrIp": ["0.0.0.0/0"]}`, true},
		{"array element matched as a whole", `{"detail": {"findings": {"Severity": {"Label": ["HIGH"]}, "RecordState": ["ARCHIVED"]}}}`, false},
		{"array element matched as a whole (hit)", `{"detail": {"findings": {"Severity": {"Label": ["LOW"]}, "RecordState": ["ARCHIVED"]}}}`, true},
		{"$or", `{"$or": [{"source": ["aws.iam"]}, {"detail": {"eventName": [{"prefix": "Authorize"}]}}]}`, true},
		{"$or none", `{"$or": [{"source": ["aws.iam"]}, {"account": ["1"]}]}`, false},
		{"$or nested", `{"detail": {"$or": [{"readOnly": [true]}, {"severity": [{"numeric": ["=", 7.5]}]}]}}`, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := CompilePattern([]byte(tc.pattern))
			if err != nil {
				t.Fatalf("CompilePattern: %v", err)
			}
			if got := p.Match(ev); got != tc.want {
				t.Errorf("Match = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPatternErrors(t *testing.T) {
	t.Parallel()
	cases := []struct{ pattern, want string }{
		{`[]`, "want an object of field names, got a list"},
		{`{}`, "empty pattern object"},
		{`{"source": "aws.ec2"}`, `source: want a list of values or a nested object, got a string (write ["aws.ec2"])`},
		{`{"source": []}`, "source: empty list"},
		{`{"detail": {"x": [{"prefix": 1}]}}`, "detail.x[0].prefix: want a string, got a number"},
		{`{"detail": {"x": [{"numeric": [">", "a"]}]}}`, "detail.x[0].numeric: want operator, number pairs"},
		{`{"detail": {"x": [{"numeric": ["~", 1]}]}}`, `operator "~" is not one of`},
		{`{"x": [{"cidr": "10.0.0.0/33"}]}`, "x[0].cidr: not a CIDR block"},
		{`{"x": [{"regex": "a.*"}]}`, `x[0].regex: unknown matcher "regex"`},
		{`{"x": [{"prefix": "a", "suffix": "b"}]}`, "exactly one key"},
		{`{"x": [{"anything-but": {"exists": true}}]}`, "anything-but takes values"},
		{`{"$or": [{"a": ["b"]}]}`, "$or: want a list of at least two patterns"},
		{`{"a..b": ["x"]}`, "empty field name"},
		{`{"a": [["nested"]]}`, "unsupported value a list"},
		{`{"a": `, "not valid JSON"},
	}
	for _, tc := range cases {
		_, err := CompilePattern([]byte(tc.pattern))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("CompilePattern(%s) error = %v, want %q", tc.pattern, err, tc.want)
		}
	}
}

func TestWildcard(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		p, s string
		want bool
	}{
		{"a*", "abc", true}, {"*c", "abc", true}, {"a*c", "abc", true}, {"a*c", "ac", true},
		{"a*a", "a", false}, {"*b*b", "bb", true}, {"a*b*c", "aXbYc", true}, {"a*b*c", "aXcYb", false}, {"abc", "abc", true}, {"*", "", true},
	} {
		if got := wildcard(tc.p, tc.s); got != tc.want {
			t.Errorf("wildcard(%q, %q) = %v", tc.p, tc.s, got)
		}
	}
}

func TestTemplate(t *testing.T) {
	t.Parallel()
	var p fastjson.Parser
	ev, _ := p.Parse(sampleEvent)
	for _, tc := range []struct{ tmpl, want string }{
		{"{rule}:{account}", "r1:123456789012"},
		{"{detail.findings.0.Severity.Label}/{detail.severity}/{detail.readOnly}", "HIGH/7.5/false"},
		{"{detail.missing}|{detail.errorCode}", "-|-"},
		{"{{literal}} {source}", "{literal} aws.ec2"},
		{"{detail.requestParameters.ipPermissions.items.1.fromPort}", "443"},
		{"{detail.userIdentity}", `{"type":"AssumedRole","arn":"arn:aws:sts::123456789012:assumed-role/terraform-apply/ci"}`},
	} {
		tp, err := ParseTemplate(tc.tmpl)
		if err != nil {
			t.Fatalf("%s: %v", tc.tmpl, err)
		}
		if got := tp.Render(ev, "r1"); got != tc.want {
			t.Errorf("%s = %q, want %q", tc.tmpl, got, tc.want)
		}
	}
	for _, bad := range []string{"{", "a}", "{}", "{ a b }", "{a..b}", "{.a}"} {
		if _, err := ParseTemplate(bad); err == nil {
			t.Errorf("ParseTemplate(%q) accepted", bad)
		}
	}
}

func FuzzPattern(f *testing.F) {
	f.Add(`{"detail": {"eventName": [{"prefix": "Create"}, "DeleteVpc"], "x": [{"numeric": [">", 1]}]}}`, sampleEvent)
	f.Add(`{"$or": [{"a": [{"cidr": "10.0.0.0/8"}]}, {"b.c": [{"anything-but": ["x"]}]}]}`, `{"a": "10.1.2.3", "b": {"c": ["y", 1]}}`)
	f.Add(`{"a": [{"wildcard": "**a*"}]}`, `{"a": "xa"}`)
	f.Fuzz(func(t *testing.T, pattern, event string) {
		p, err := CompilePattern([]byte(pattern))
		if err != nil {
			return
		}
		var parser fastjson.Parser
		v, err := parser.Parse(event)
		if err != nil {
			return
		}
		_ = p.Match(v) // must not panic
	})
}

func FuzzTemplate(f *testing.F) {
	f.Add("{rule}:{detail.findings.0.Id}", sampleEvent)
	f.Add("{{a}}{b.0.c}", `{"b": [{"c": 1}]}`)
	f.Fuzz(func(t *testing.T, tmpl, event string) {
		tp, err := ParseTemplate(tmpl)
		if err != nil {
			return
		}
		var parser fastjson.Parser
		v, _ := parser.Parse(event)
		_ = tp.Render(v, "rule")
	})
}
