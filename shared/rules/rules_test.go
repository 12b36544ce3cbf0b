package rules

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/valyala/fastjson"

	"github.com/tributary-logs/tributary/shared/alert"
)

func TestBuiltinRulesCompile(t *testing.T) {
	t.Parallel()
	rules, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	set, err := CompileRules(rules, nil, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range set.Rules() {
		if seen[r.ID] {
			t.Errorf("duplicate id %s", r.ID)
		}
		seen[r.ID] = true
		if strings.HasPrefix(r.ID, "cis-") && len(r.Controls) == 0 {
			t.Errorf("%s names no CIS control", r.ID)
		}
	}
	for i := 1; i <= 15; i++ {
		found := false
		for _, r := range set.Rules() {
			for _, c := range r.Controls {
				if c == fmt.Sprintf("CIS 4.%d", i) {
					found = true
				}
			}
		}
		if !found {
			t.Errorf("no built-in rule implements CIS 4.%d", i)
		}
	}
}

func TestUserRulesJSONAndYAML(t *testing.T) {
	t.Parallel()
	js := `{"rules": [{"id": "deny-public-bucket", "title": "Public bucket", "priority": "p2", "tags": ["s3"],
	  "alias": "{rule}:{detail.requestParameters.bucketName}", "responders": ["team:SecOps"],
	  "match": {"detail-type": ["AWS API Call via CloudTrail"], "detail.eventName": ["PutBucketAcl"]}}]}`
	yml := `
rules:
  - id: deny-public-bucket
    title: Public bucket
    priority: p2
    tags: [s3]
    alias: "{rule}:{detail.requestParameters.bucketName}"
    responders: ["team:SecOps"]
    match:
      detail-type: [AWS API Call via CloudTrail]
      detail.eventName: [PutBucketAcl]
`
	var p fastjson.Parser
	ev, _ := p.Parse(`{"detail-type":"AWS API Call via CloudTrail","detail":{"eventName":"PutBucketAcl","requestParameters":{"bucketName":"b1"}}}`)
	for name, src := range map[string]string{"json": js, "yaml": yml, "list": `[` + js[strings.Index(js, "{\"id\""):strings.LastIndex(js, "]")] + `]`} {
		f, err := Parse([]byte(src), name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		set, err := CompileRules(nil, []File{f}, []string{name}, Options{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		m := set.Evaluate(ev)
		if len(m) != 1 || m[0].Priority != alert.P2 || m[0].Alias != "deny-public-bucket:b1" || m[0].Responders[0].Name != "SecOps" || m[0].Action != alert.Create {
			t.Errorf("%s: matches %+v", name, m)
		}
	}
}

func TestRuleErrorsNameRuleAndField(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, src, want string
	}{
		{"unknown field", `[{"id": "r1", "title": "t", "priorty": "P1", "match": {"a": ["b"]}}]`,
			`rules from f.json: rule "r1": field "priorty": json: unknown field "priorty"`},
		{"wrong type", `[{"id": "r2", "title": "t", "tags": "x", "match": {"a": ["b"]}}]`, `rule "r2": field "tags"`},
		{"bad priority", `[{"id": "r3", "title": "t", "priority": "P7", "match": {"a": ["b"]}}]`,
			`rule "r3": field "priority": "P7" is not P1..P5 or severity`},
		{"bad pattern", `[{"id": "r4", "title": "t", "match": {"detail": {"eventName": "CreateVpc"}}}]`,
			`rule "r4": field "match": detail.eventName: want a list of values`},
		{"no match", `[{"id": "r5", "title": "t"}]`, `rule "r5": field "match": is required`},
		{"no title", `[{"id": "r6", "match": {"a": ["b"]}}]`, `rule "r6": field "title": is required`},
		{"no id", `[{"title": "t", "match": {"a": ["b"]}}]`, `rule "(no id)": field "id"`},
		{"bad alias", `[{"id": "r7", "title": "t", "alias": "{rule", "match": {"a": ["b"]}}]`, `rule "r7": field "alias": unterminated {`},
		{"bad action", `[{"id": "r8", "title": "t", "action": "ack", "match": {"a": ["b"]}}]`, `rule "r8": field "action"`},
		{"bad responder", `[{"id": "r9", "title": "t", "responders": ["SecOps"], "match": {"a": ["b"]}}]`, `rule "r9": field "responders"`},
		{"bad suppression", `[{"id": "r10", "title": "t", "match": {"a": ["b"]}, "suppress": [{"match": {"a": ["c"]}}]}]`,
			`rule "r10": field "suppress[0].reason": is required`},
		{"bad tag", `[{"id": "r11", "title": "t", "tags": [""], "match": {"a": ["b"]}}]`, `rule "r11": field "tags[0]"`},
		{"not yaml", "rules: [\n  - id: x\n bad", "not valid JSON or YAML"},
		{"unknown top key", `{"rule": []}`, `field "rule": unknown top-level key`},
		{"rule not object", `["r"]`, `rule "#1": a rule must be an object`},
		{"override of a built-in with a bad field", `[{"id": "cis-vpc-changes", "priority": "urgent"}]`,
			`rules from f.json: rule "cis-vpc-changes": field "priority"`},
		{"global suppression unknown rule", `{"suppressions": [{"reason": "x", "match": {"a": ["b"]}, "rules": ["nope"]}]}`,
			`rule "suppressions[0]": field "rules": names unknown rule "nope"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, err := Parse([]byte(tc.src), "f.json")
			if err == nil {
				_, err = Compile([]File{f}, []string{"f.json"}, Options{})
			}
			var re *Error
			if err == nil || !errors.As(err, &re) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v\nwant it to contain %s", err, tc.want)
			}
		})
	}
}

func TestOverridesAndDisabled(t *testing.T) {
	t.Parallel()
	f, err := Parse([]byte(`[
	  {"id": "cis-unauthorized-api-calls", "enabled": false},
	  {"id": "cis-vpc-changes", "priority": "P1", "tags": ["network", "prod"],
	   "suppress": [{"reason": "Terraform", "match": {"detail.userIdentity.arn": [{"wildcard": "*:assumed-role/terraform-*"}]}}]}
	]`), "user.json")
	if err != nil {
		t.Fatal(err)
	}
	set, err := Compile([]File{f}, []string{"user.json"}, Options{Disabled: []string{"cis-nacl-changes"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range set.Rules() {
		switch r.ID {
		case "cis-unauthorized-api-calls", "cis-nacl-changes":
			if r.IsEnabled() {
				t.Errorf("%s still enabled", r.ID)
			}
		case "cis-vpc-changes":
			if r.Priority != "P1" || strings.Join(r.Tags, ",") != "network,prod" || len(r.Suppress) != 1 || r.Title != "VPC changed" || len(r.Match) == 0 {
				t.Errorf("override: %+v", r)
			}
		}
	}
	var p fastjson.Parser
	ev, _ := p.Parse(`{"detail-type":"AWS API Call via CloudTrail","id":"e1","detail":{"eventName":"CreateVpc","eventID":"x1",
	  "userIdentity":{"arn":"arn:aws:sts::1:assumed-role/terraform-apply/s"}}}`)
	m := set.Evaluate(ev)
	if len(m) != 1 || m[0].Suppressed != "Terraform" || m[0].Alerts() || m[0].Priority != alert.P1 || m[0].Alias != "cis-vpc-changes:x1" {
		t.Errorf("matches %+v", m)
	}

	_, err = Compile(nil, nil, Options{Disabled: []string{"cis-vpc-change"}})
	if err == nil || !strings.Contains(err.Error(), `rules from DISABLED_RULES: rule "cis-vpc-change": no such rule; known: cis-unauthorized-api-calls`) {
		t.Errorf("unknown disabled rule: %v", err)
	}
}

func TestFindingSeverity(t *testing.T) {
	t.Parallel()
	set, err := Compile(nil, nil, Options{MinFindingSeverity: 4})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		event    string
		priority alert.Priority
		label    string
		below    bool
	}{
		{`{"detail-type":"GuardDuty Finding","detail":{"id":"f","severity":9.5,"service":{"archived":false}}}`, alert.P1, Critical, false},
		{`{"detail-type":"GuardDuty Finding","detail":{"id":"f","severity":8,"service":{"archived":false}}}`, alert.P2, High, false},
		{`{"detail-type":"GuardDuty Finding","detail":{"id":"f","severity":5.2,"service":{}}}`, alert.P3, Medium, false},
		{`{"detail-type":"GuardDuty Finding","detail":{"id":"f","severity":3.9,"service":{"archived":false}}}`, alert.P4, Low, true},
		{`{"detail-type":"Security Hub Findings - Imported","detail":{"findings":[{"Id":"x","RecordState":"ACTIVE","Workflow":{"Status":"NEW"},"Severity":{"Label":"HIGH"}}]}}`, alert.P2, High, false},
		{`{"detail-type":"Security Hub Findings - Imported","detail":{"findings":[{"Id":"x","RecordState":"ACTIVE","Workflow":{"Status":"NEW"},"Severity":{"Label":"INFORMATIONAL"}}]}}`, alert.P5, Informational, true},
		{`{"detail-type":"Security Hub Findings - Imported","detail":{"findings":[{"Id":"x","RecordState":"ACTIVE","Workflow":{"Status":"NOTIFIED"},"Severity":{"Normalized":72}}]}}`, alert.P2, High, false},
	}
	for _, tc := range cases {
		var p fastjson.Parser
		ev, err := p.Parse(tc.event)
		if err != nil {
			t.Fatal(err)
		}
		m := set.Evaluate(ev)
		if len(m) != 1 || m[0].Priority != tc.priority || m[0].Severity == nil || m[0].Severity.Label != tc.label || m[0].BelowMinimum != tc.below {
			t.Errorf("%s: %+v", tc.event, m)
		}
	}
	// Findings never match the minimum for closing.
	var p fastjson.Parser
	ev, _ := p.Parse(`{"detail-type":"GuardDuty Finding","detail":{"id":"f","severity":1,"service":{"archived":true}}}`)
	if m := set.Evaluate(ev); len(m) != 1 || m[0].Action != alert.Close || m[0].BelowMinimum {
		t.Errorf("archived low finding: %+v", m)
	}
}

type fakeSSM struct{ value string }

func (f fakeSSM) GetParameter(_ context.Context, in *ssm.GetParameterInput, _ ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
	if aws.ToString(in.Name) != "/tributary/rules" {
		return nil, &ssmtypes.ParameterNotFound{Message: aws.String("Parameter " + aws.ToString(in.Name) + " not found.")}
	}
	return &ssm.GetParameterOutput{Parameter: &ssmtypes.Parameter{Value: aws.String(f.value)}}, nil
}

func TestLoadFileAndParameter(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(path, []byte("- id: cis-vpc-changes\n  enabled: false\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := LoadFile(path)
	if err != nil || len(f.Rules) != 1 || f.Rules[0].IsEnabled() {
		t.Errorf("LoadFile: %+v %v", f, err)
	}
	if _, err := LoadFile(filepath.Join(dir, "missing.json")); err == nil || !strings.Contains(err.Error(), "RULES_FILE") {
		t.Errorf("missing file: %v", err)
	}
	f, err = LoadParameter(context.Background(), fakeSSM{`{"rules":[{"id":"x","title":"X","match":{"a":["b"]}}]}`}, "/tributary/rules")
	if err != nil || len(f.Rules) != 1 {
		t.Errorf("LoadParameter: %+v %v", f, err)
	}
	_, err = LoadParameter(context.Background(), fakeSSM{}, "/nope")
	if err == nil || !strings.Contains(err.Error(), "RULES_PARAMETER /nope") {
		t.Errorf("missing parameter: %v", err)
	}
	_, err = LoadParameter(context.Background(), fakeSSM{`[{"id":"x","title":"X","match":{"a":"b"}}]`}, "/tributary/rules")
	if err == nil {
		_, err = Compile([]File{f}, []string{"RULES_PARAMETER /tributary/rules"}, Options{})
	}
	if err != nil && !strings.Contains(err.Error(), "RULES_PARAMETER") {
		t.Errorf("error does not name the source: %v", err)
	}
}

func TestExampleRulesFile(t *testing.T) {
	t.Parallel()
	f, err := LoadFile("testdata/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	set, err := Compile([]File{f}, []string{"example.yaml"}, Options{DefaultPriority: alert.P3})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("../securityevent/testdata/events/ct-sg-authorize-ingress.json")
	if err != nil {
		t.Fatal(err)
	}
	var p fastjson.Parser
	ev, _ := p.ParseBytes(raw)
	var got []string
	for _, m := range set.Evaluate(ev) {
		got = append(got, fmt.Sprintf("%s %s %s %q", m.Rule.ID, m.Priority, m.Alias, m.Message))
	}
	want := []string{
		`cis-security-group-changes P3 cis-security-group-changes:0b1c2d3e-4f5a-4b6c-9d7e-8f9a0b1c2d3e ""`,
		`sg-open-to-internet P2 sg-open-to-internet:sg-0a1b2c3d4e5f67890 "Security group sg-0a1b2c3d4e5f67890 opened to the internet by arn:aws:sts::123456789012:assumed-role/DeployRole/alice@example.com"`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("matches:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	raw, _ = os.ReadFile("../securityevent/testdata/events/signin-root.json")
	drill := strings.Replace(string(raw), `"sourceIPAddress": "203.0.113.10"`, `"sourceIPAddress": "192.0.2.44"`, 1)
	ev, _ = p.Parse(drill)
	if m := set.Evaluate(ev); len(m) != 1 || m[0].Suppressed != "break-glass drills announced in #ops" {
		t.Errorf("drill: %+v", m)
	}
}
