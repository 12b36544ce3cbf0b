package tributary_test

import (
	"fmt"
	"strings"
	"testing"
)

// evalCondition evaluates a template condition for the given parameter
// values, with the intrinsics our conditions use. Parameters not given take
// their defaults.
func evalCondition(t *testing.T, tpl *cfnTemplate, name string, params map[string]string) bool {
	t.Helper()
	var eval func(v any) any
	eval = func(v any) any {
		switch x := v.(type) {
		case string:
			return x
		case []any:
			out := make([]any, len(x))
			for i, e := range x {
				out[i] = eval(e)
			}
			return out
		}
		m := asMap(v)
		if len(m) != 1 {
			t.Fatalf("condition %s: cannot evaluate %v", name, v)
		}
		for fn, arg := range m {
			args := asList(arg)
			switch fn {
			case "Ref":
				p := asString(arg)
				if val, ok := params[p]; ok {
					return val
				}
				def, ok := dig(tpl.root, "Parameters", p, "Default").(string)
				if !ok {
					t.Fatalf("condition %s: parameter %s has no value", name, p)
				}
				return def
			case "Condition":
				return evalCondition(t, tpl, asString(arg), params)
			case "Fn::Equals":
				return fmt.Sprint(eval(args[0])) == fmt.Sprint(eval(args[1]))
			case "Fn::Not":
				return !eval(args[0]).(bool)
			case "Fn::And", "Fn::Or":
				all := fn == "Fn::And"
				for _, a := range args {
					if eval(a).(bool) != all {
						return !all
					}
				}
				return all
			case "Fn::Join":
				var parts []string
				for _, p := range asList(eval(args[1])) {
					parts = append(parts, p.(string))
				}
				return strings.Join(parts, asString(args[0]))
			case "Fn::Split":
				var out []any
				for _, p := range strings.Split(eval(args[1]).(string), asString(args[0])) {
					out = append(out, p)
				}
				return out
			case "Fn::Select":
				var i int
				fmt.Sscan(fmt.Sprint(args[0]), &i)
				list := asList(eval(args[1]))
				if i >= len(list) {
					t.Fatalf("condition %s: Fn::Select index %d out of range %v: CloudFormation rejects the stack", name, i, list)
				}
				return list[i]
			}
			t.Fatalf("condition %s: intrinsic %s not supported here", name, fn)
		}
		return nil
	}
	cond, ok := dig(tpl.root, "Conditions", name).(any)
	if !ok || cond == nil {
		t.Fatalf("no condition %s", name)
	}
	b, ok := eval(cond).(bool)
	if !ok {
		t.Fatalf("condition %s is not a boolean", name)
	}
	return b
}

// TestOpsgenieKeyPermissions: the functions that read the Opsgenie key get
// the one permission its store needs, whichever store holds it, and
// kms:Decrypt only when a customer-managed key is named.
func TestOpsgenieKeyPermissions(t *testing.T) {
	tpl, err := readTemplate("template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		key, kms            string
		secrets, ssm, crypt bool
	}{
		{key: ""},
		{key: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:opsgenie-AbCdEf", secrets: true},
		{key: "arn:aws:ssm:eu-west-1:123456789012:parameter/tributary/opsgenie", ssm: true},
		{key: "arn:aws-us-gov:ssm:us-gov-west-1:123456789012:parameter/og", kms: "arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", ssm: true, crypt: true},
	} {
		p := map[string]string{"OpsgenieApiKeySecretArn": tc.key, "SecretsKmsKeyArn": tc.kms}
		got := [3]bool{evalCondition(t, tpl, "OpsgenieKeyInSecretsManager", p), evalCondition(t, tpl, "OpsgenieKeyInSsm", p), evalCondition(t, tpl, "HasSecretsKmsKey", p)}
		if want := [3]bool{tc.secrets, tc.ssm, tc.crypt}; got != want {
			t.Errorf("key %q, kms %q: secrets manager, ssm, kms = %v, want %v", tc.key, tc.kms, got, want)
		}
	}
	for _, fn := range []string{"AlarmFunction", "OpsgenieFunction"} {
		var sids []string
		for _, stmt := range asList(dig(tpl.props(fn), "Policies")) {
			for _, s := range asList(dig(stmt, "Statement")) {
				if c := asList(dig(s, "Fn::If")); len(c) == 3 {
					sids = append(sids, asString(c[0])+":"+asString(dig(c[1], "Sid"))+":"+fmt.Sprint(dig(c[1], "Action")))
				}
			}
		}
		all := strings.Join(sids, " ")
		for _, want := range []string{
			"OpsgenieKeyInSecretsManager:ApiKey:secretsmanager:GetSecretValue",
			"OpsgenieKeyInSsm:ApiKeyParameter:ssm:GetParameter",
			"HasSecretsKmsKey:DecryptApiKey:kms:Decrypt",
		} {
			if !strings.Contains(all, want) {
				t.Errorf("%s: no conditional statement %s (has %s)", fn, want, all)
			}
		}
	}
}
