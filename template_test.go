package tributary_test

// The checks here cover what cfn-lint cannot know: that the SAM template agrees with this repository
// (Makefile targets, function folders, the variables each function's config loader reads) and with the
// pipeline's own contracts (partition keys, the lake layout, the feedback loop through the account-level
// subscription policy), plus a least-privilege rule for IAM that is stricter than any linter's default.
//
// Each check is a function from a parsed template to a list of problems, so the tests run it both on
// template.yaml and on small broken templates under testdata/template/ that prove it fails when it should.

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/tributary-logs/tributary/shared/config"
)

// ---------------------------------------------------------------------------------------------------
// Parsing: YAML nodes to plain Go values, CloudFormation short-form tags to their long form
// ---------------------------------------------------------------------------------------------------

// cfnTemplate is a parsed template: maps, lists, strings and nil, with every intrinsic function in its
// long form ({"Ref": …}, {"Fn::Sub": …}). Scalars stay strings, as CloudFormation mostly treats them.
type cfnTemplate struct {
	root map[string]any
}

// shortForms maps each short-form tag to its long-form key.
var shortForms = map[string]string{
	"!Ref":         "Ref",
	"!Condition":   "Condition",
	"!Sub":         "Fn::Sub",
	"!GetAtt":      "Fn::GetAtt",
	"!If":          "Fn::If",
	"!Equals":      "Fn::Equals",
	"!Join":        "Fn::Join",
	"!Select":      "Fn::Select",
	"!Split":       "Fn::Split",
	"!Not":         "Fn::Not",
	"!And":         "Fn::And",
	"!Or":          "Fn::Or",
	"!FindInMap":   "Fn::FindInMap",
	"!ImportValue": "Fn::ImportValue",
	"!GetAZs":      "Fn::GetAZs",
	"!Base64":      "Fn::Base64",
	"!Cidr":        "Fn::Cidr",
}

func parseTemplate(data []byte) (*cfnTemplate, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 {
		return nil, errors.New("empty template")
	}
	v, err := fromNode(&doc)
	if err != nil {
		return nil, err
	}
	root, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("template is not a mapping")
	}
	return &cfnTemplate{root: root}, nil
}

func readTemplate(path string) (*cfnTemplate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	t, err := parseTemplate(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

func fromNode(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.DocumentNode:
		return fromNode(n.Content[0])
	case yaml.AliasNode:
		return fromNode(n.Alias)
	}
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		return fromShortForm(n)
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return nil, nil
		}
		return n.Value, nil
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := fromNode(c)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Value == "<<" {
				return nil, fmt.Errorf("line %d: YAML merge keys are not supported by CloudFormation", k.Line)
			}
			if _, dup := out[k.Value]; dup {
				return nil, fmt.Errorf("line %d: duplicate key %q", k.Line, k.Value)
			}
			v, err := fromNode(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			out[k.Value] = v
		}
		return out, nil
	}
	return nil, fmt.Errorf("line %d: unexpected YAML node kind %v", n.Line, n.Kind)
}

func fromShortForm(n *yaml.Node) (any, error) {
	key, ok := shortForms[n.Tag]
	if !ok {
		return nil, fmt.Errorf("line %d: unknown tag %s", n.Line, n.Tag)
	}
	plain := *n
	plain.Tag = ""
	switch n.Kind {
	case yaml.ScalarNode:
		plain.Tag = "!!str"
	case yaml.SequenceNode:
		plain.Tag = "!!seq"
	case yaml.MappingNode:
		plain.Tag = "!!map"
	}
	v, err := fromNode(&plain)
	if err != nil {
		return nil, err
	}
	if key == "Fn::GetAtt" {
		if s, ok := v.(string); ok {
			res, attr, found := strings.Cut(s, ".")
			if !found {
				return nil, fmt.Errorf("line %d: !GetAtt %q wants Resource.Attribute", n.Line, s)
			}
			v = []any{res, attr}
		}
	}
	return map[string]any{key: v}, nil
}

// ---------------------------------------------------------------------------------------------------
// Small accessors
// ---------------------------------------------------------------------------------------------------

func asMap(v any) map[string]any { m, _ := v.(map[string]any); return m }
func asList(v any) []any         { l, _ := v.([]any); return l }
func asString(v any) string      { s, _ := v.(string); return s }

// dig follows map keys; nil when any step is missing.
func dig(v any, keys ...string) any {
	for _, k := range keys {
		m := asMap(v)
		if m == nil {
			return nil
		}
		v = m[k]
	}
	return v
}

func (t *cfnTemplate) resources() map[string]any { return asMap(t.root["Resources"]) }

func (t *cfnTemplate) resourceIDs(typ string) []string {
	var ids []string
	for id, r := range t.resources() {
		if typ == "" || dig(r, "Type") == typ {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

func (t *cfnTemplate) props(id string) map[string]any {
	return asMap(dig(t.resources()[id], "Properties"))
}

// functionProp is a function's property, or the Globals.Function one when the function has none.
func (t *cfnTemplate) functionProp(id string, keys ...string) any {
	if v := dig(t.props(id), keys...); v != nil {
		return v
	}
	return dig(t.root["Globals"], append([]string{"Function"}, keys...)...)
}

// env is a function's environment: Globals.Function.Environment.Variables overlaid by its own.
func (t *cfnTemplate) env(id string) map[string]any {
	out := map[string]any{}
	for k, v := range asMap(dig(t.root["Globals"], "Function", "Environment", "Variables")) {
		out[k] = v
	}
	for k, v := range asMap(dig(t.props(id), "Environment", "Variables")) {
		out[k] = v
	}
	return out
}

// isIntrinsic reports whether v is a one-key map naming an intrinsic function.
func isIntrinsic(v any, name string) bool {
	m := asMap(v)
	_, ok := m[name]
	return ok && len(m) == 1
}

func isNoValue(v any) bool { return asString(dig(v, "Ref")) == "AWS::NoValue" }

// branches expands Fn::If into both of its outcomes (AWS::NoValue dropped), recursively: what the value
// may be once CloudFormation has resolved the conditions.
func branches(v any) []any {
	if isIntrinsic(v, "Fn::If") {
		args := asList(asMap(v)["Fn::If"])
		if len(args) != 3 {
			return []any{v}
		}
		var out []any
		for _, b := range args[1:] {
			if !isNoValue(b) {
				out = append(out, branches(b)...)
			}
		}
		return out
	}
	return []any{v}
}

// subText is the text of an Fn::Sub (either form), or a plain string.
func subText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	switch s := asMap(v)["Fn::Sub"].(type) {
	case string:
		return s
	case []any:
		if len(s) > 0 {
			return asString(s[0])
		}
	}
	return ""
}

// references reports whether v names resource id: Ref, Fn::GetAtt or ${id…} inside Fn::Sub.
func references(v any, id string) bool {
	switch x := v.(type) {
	case map[string]any:
		if asString(x["Ref"]) == id {
			return true
		}
		if ga := asList(x["Fn::GetAtt"]); len(ga) > 0 && asString(ga[0]) == id {
			return true
		}
		if s := subText(map[string]any{"Fn::Sub": x["Fn::Sub"]}); s != "" {
			if strings.Contains(s, "${"+id+"}") || strings.Contains(s, "${"+id+".") {
				return true
			}
		}
		for _, c := range x {
			if references(c, id) {
				return true
			}
		}
	case []any:
		for _, c := range x {
			if references(c, id) {
				return true
			}
		}
	}
	return false
}

// literal resolves v to a string when it is a plain string or a Ref to a parameter (its Default).
func (t *cfnTemplate) literal(v any) (string, bool) {
	if s, ok := v.(string); ok {
		return s, true
	}
	if isIntrinsic(v, "Ref") {
		p := asMap(dig(t.root["Parameters"], asString(dig(v, "Ref"))))
		if def, ok := p["Default"]; ok {
			return asString(def), true
		}
	}
	return "", false
}

// ---------------------------------------------------------------------------------------------------
// Makefile: rule targets, including those generated by $(eval $(call <define>,args…))
// ---------------------------------------------------------------------------------------------------

type makeRule struct {
	targets []string
	recipe  string
}

var (
	makeRuleRe   = regexp.MustCompile(`^([^\s#:=][^:=]*?)\s*::?(?:[^=]|$)`)
	makeDefineRe = regexp.MustCompile(`(?ms)^define[ \t]+(\S+)[ \t]*\n(.*?)^endef[ \t]*$`)
	makeCallRe   = regexp.MustCompile(`\$\(call[ \t]+([^,\s)]+)((?:,[^,)]*)*)\)`)
	makeArgRe    = regexp.MustCompile(`\$[({](\d+)[)}]`)
	functionDir  = regexp.MustCompile(`\./functions/([A-Za-z0-9_.-]+)`)
)

func parseMakeRules(text string) []makeRule {
	var rules []makeRule
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "\t") {
			if len(rules) > 0 {
				rules[len(rules)-1].recipe += line + "\n"
			}
			continue
		}
		m := makeRuleRe.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		rules = append(rules, makeRule{targets: strings.Fields(m[1])})
	}
	return rules
}

// makefileRules are the Makefile's rules: the plain ones, and every define expanded once per $(call).
func makefileRules(text string) []makeRule {
	defines := map[string]string{}
	for _, m := range makeDefineRe.FindAllStringSubmatch(text, -1) {
		defines[m[1]] = m[2]
	}
	rules := parseMakeRules(makeDefineRe.ReplaceAllString(text, ""))
	for _, m := range makeCallRe.FindAllStringSubmatch(text, -1) {
		body, ok := defines[m[1]]
		if !ok {
			continue
		}
		args := strings.Split(strings.TrimPrefix(m[2], ","), ",")
		expanded := makeArgRe.ReplaceAllStringFunc(body, func(ref string) string {
			i, _ := strconv.Atoi(makeArgRe.FindStringSubmatch(ref)[1])
			if i >= 1 && i <= len(args) {
				return strings.TrimSpace(args[i-1])
			}
			return ""
		})
		rules = append(rules, parseMakeRules(expanded)...)
	}
	return rules
}

// ---------------------------------------------------------------------------------------------------
// Check 1: every function is built by the Makefile from a functions/<fn>/main.go that exists
// ---------------------------------------------------------------------------------------------------

// functionFolder is the folder under functions/ that a function's logical id stands for.
func functionFolder(id string) string {
	return strings.ToLower(strings.TrimSuffix(id, "Function"))
}

func checkBuild(t *cfnTemplate, repoRoot, makefile string) []string {
	var problems []string
	rules := map[string]makeRule{}
	for _, r := range makefileRules(makefile) {
		for _, target := range r.targets {
			rules[target] = r
		}
	}
	built := map[string]bool{}
	for _, id := range t.resourceIDs("AWS::Serverless::Function") {
		if bm := asString(dig(t.resources()[id], "Metadata", "BuildMethod")); bm != "makefile" {
			problems = append(problems, fmt.Sprintf("%s: Metadata.BuildMethod is %q; want makefile", id, bm))
		}
		codeURI, ok := t.functionProp(id, "CodeUri").(string)
		if !ok || codeURI == "" {
			problems = append(problems, fmt.Sprintf("%s: CodeUri must be a local folder (the one holding the Makefile)", id))
		} else if st, err := os.Stat(filepath.Join(repoRoot, codeURI)); err != nil || !st.IsDir() {
			problems = append(problems, fmt.Sprintf("%s: CodeUri folder %q does not exist", id, codeURI))
		} else if _, err := os.Stat(filepath.Join(repoRoot, codeURI, "Makefile")); err != nil {
			problems = append(problems, fmt.Sprintf("%s: CodeUri folder %q holds no Makefile", id, codeURI))
		}
		fn := functionFolder(id)
		built[fn] = true
		rule, ok := rules["build-"+id]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: the Makefile has no build-%s target (sam build runs make build-%s)", id, id, id))
		} else if m := functionDir.FindStringSubmatch(rule.recipe); m != nil && m[1] != fn {
			problems = append(problems, fmt.Sprintf("%s: build-%s builds ./functions/%s; want ./functions/%s", id, id, m[1], fn))
		}
		if _, err := os.Stat(filepath.Join(repoRoot, "functions", fn, "main.go")); err != nil {
			problems = append(problems, fmt.Sprintf("%s: functions/%s/main.go does not exist", id, fn))
		}
	}
	for _, fn := range config.Functions {
		if !built[fn] {
			problems = append(problems, fmt.Sprintf("config.Functions lists %q but the template has no function built from functions/%s", fn, fn))
		}
	}
	return problems
}

// ---------------------------------------------------------------------------------------------------
// Check 2: every variable a function's config loader reads is set by the template
// ---------------------------------------------------------------------------------------------------

// setByLambda are variables Lambda or the test harness provide; the template must not set them.
func setByLambda(name string) bool {
	return name == "AWS_REGION" || strings.HasPrefix(name, "AWS_ENDPOINT_URL_")
}

func checkEnvironment(t *cfnTemplate, variables func(fn string) []string) []string {
	var problems []string
	for _, id := range t.resourceIDs("AWS::Serverless::Function") {
		fn := functionFolder(id)
		want := variables(fn)
		if want == nil {
			problems = append(problems, fmt.Sprintf("%s: config.Variables(%q) knows no such function", id, fn))
			continue
		}
		env := t.env(id)
		for _, name := range want {
			if setByLambda(name) {
				continue
			}
			if _, ok := env[name]; !ok {
				problems = append(problems, fmt.Sprintf("%s: %s (read by config for %q) is not set in Environment.Variables or Globals.Function.Environment.Variables", id, name, fn))
			}
		}
		own := asMap(dig(t.props(id), "Environment", "Variables"))
		for _, name := range sortedKeys(own) {
			if setByLambda(name) {
				problems = append(problems, fmt.Sprintf("%s: sets %s, which Lambda or the SDK sets; leave it out", id, name))
			} else if !slices.Contains(want, name) {
				problems = append(problems, fmt.Sprintf("%s: sets %s, which config for %q never reads (a typo?)", id, name, fn))
			}
		}
	}
	return problems
}

// loaders run each function's real config loader, so the template's literal values and parameter
// defaults are checked by the same code that reads them at cold start.
var loaders = map[string]func(config.LookupFunc) error{
	"transform": func(l config.LookupFunc) error { _, err := config.LoadTransform(l); return err },
	"indexer":   func(l config.LookupFunc) error { _, err := config.LoadIndexer(l); return err },
	"lake":      func(l config.LookupFunc) error { _, err := config.LoadLake(l); return err },
	"alarm":     func(l config.LookupFunc) error { _, err := config.LoadAlarm(l); return err },
	"opsgenie":  func(l config.LookupFunc) error { _, err := config.LoadOpsgenie(l); return err },
}

// checkEnvironmentValues loads each function's configuration from the values the template gives
// without deploying (literals, parameter defaults; both branches of an Fn::If) and reports what the
// loader rejects. Values only known at deploy time (resource names, ARNs) are left unset, and the
// errors they cause are not reported.
func checkEnvironmentValues(t *cfnTemplate) []string {
	var problems []string
	for _, id := range t.resourceIDs("AWS::Serverless::Function") {
		fn := functionFolder(id)
		load, ok := loaders[fn]
		if !ok {
			continue
		}
		for _, known := range envVariants(t, t.env(id)) {
			err := load(func(name string) (string, bool) { v, ok := known[name]; return v, ok })
			var joined interface{ Unwrap() []error }
			errs := []error{err}
			if errors.As(err, &joined) {
				errs = joined.Unwrap()
			}
			for _, e := range errs {
				var ce *config.Error
				if errors.As(e, &ce) && known[ce.Variable] != "" {
					problems = append(problems, fmt.Sprintf("%s: %s=%q is rejected by its loader: %v", id, ce.Variable, known[ce.Variable], ce))
				}
			}
		}
	}
	return slices.Compact(problems)
}

// envVariants resolves an environment into the maps of known values it may become: one per branch
// of each Fn::If (kept small: the branches of different variables are combined index by index).
func envVariants(t *cfnTemplate, env map[string]any) []map[string]string {
	width := 1
	for _, v := range env {
		width = max(width, len(branches(v)))
	}
	out := make([]map[string]string, width)
	for i := range out {
		out[i] = map[string]string{}
		for name, v := range env {
			bs := branches(v)
			if len(bs) == 0 {
				continue
			}
			if s, ok := t.literal(bs[min(i, len(bs)-1)]); ok {
				out[i][name] = s
			}
		}
	}
	return out
}

// ---------------------------------------------------------------------------------------------------
// Check 3: IAM least privilege
// ---------------------------------------------------------------------------------------------------

// actionsWithoutResourceLevelPermissions are the only actions a statement may grant on Resource "*":
// IAM has no resource type for them, so "*" is the narrowest grant there is. Keep this list short; an
// action that supports resource ARNs never belongs here.
var actionsWithoutResourceLevelPermissions = map[string]bool{
	"cloudwatch:putmetricdata": true, // restricted only by the cloudwatch:namespace condition key
	"cloudwatch:getmetricdata": true, // no resource type
	"xray:puttracesegments":    true, // no resource type
	"xray:puttelemetryrecords": true, // no resource type
}

var serviceWildcard = regexp.MustCompile(`^[a-zA-Z0-9-]+:\*$`)

// policyDocument is one IAM policy document and where it sits in the template.
type policyDocument struct {
	where string
	doc   any
}

// policyDocuments finds every IAM policy document: function Policies (inline documents only; SAM
// policy templates are scoped by their parameters), roles (inline policies; trust policies are checked
// for wildcard actions too), standalone and managed policies, and bucket, topic and queue policies.
func policyDocuments(t *cfnTemplate) []policyDocument {
	var docs []policyDocument
	for _, id := range t.resourceIDs("") {
		p := t.props(id)
		base := "Resources." + id + ".Properties"
		switch asString(dig(t.resources()[id], "Type")) {
		case "AWS::Serverless::Function", "AWS::Serverless::StateMachine":
			pol := p["Policies"]
			if _, ok := pol.([]any); !ok {
				pol = []any{pol}
			}
			for i, item := range asList(pol) {
				for _, b := range branches(item) {
					if _, ok := asMap(b)["Statement"]; ok {
						docs = append(docs, policyDocument{fmt.Sprintf("%s.Policies[%d]", base, i), b})
					}
				}
			}
		case "AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group":
			if d := p["AssumeRolePolicyDocument"]; d != nil {
				docs = append(docs, policyDocument{base + ".AssumeRolePolicyDocument", d})
			}
			for i, item := range asList(p["Policies"]) {
				for _, b := range branches(item) {
					docs = append(docs, policyDocument{fmt.Sprintf("%s.Policies[%d].PolicyDocument", base, i), dig(b, "PolicyDocument")})
				}
			}
		case "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::S3::BucketPolicy", "AWS::SNS::TopicPolicy",
			"AWS::SQS::QueuePolicy", "AWS::KMS::Key", "AWS::SecretsManager::ResourcePolicy":
			key := "PolicyDocument"
			if _, ok := p["KeyPolicy"]; ok {
				key = "KeyPolicy"
			} else if _, ok := p["ResourcePolicy"]; ok {
				key = "ResourcePolicy"
			}
			docs = append(docs, policyDocument{base + "." + key, p[key]})
		}
	}
	return docs
}

// stringsOf lists the literal strings a string-or-list value may hold, through Fn::If.
func stringsOf(v any) []string {
	var out []string
	for _, b := range branches(v) {
		if s, ok := b.(string); ok {
			out = append(out, s)
			continue
		}
		for _, item := range asList(b) {
			for _, ib := range branches(item) {
				if s, ok := ib.(string); ok {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

func checkIAM(t *cfnTemplate) []string {
	var problems []string
	for _, d := range policyDocuments(t) {
		stmts := dig(d.doc, "Statement")
		if _, ok := stmts.([]any); !ok {
			stmts = []any{stmts}
		}
		for i, item := range asList(stmts) {
			for _, stmt := range branches(item) {
				where := fmt.Sprintf("%s.Statement[%d]", d.where, i)
				if sid := asString(dig(stmt, "Sid")); sid != "" {
					where += " (" + sid + ")"
				}
				problems = append(problems, checkStatement(where, asMap(stmt))...)
			}
		}
	}
	for _, id := range t.resourceIDs("") {
		for _, arn := range stringsOf(t.props(id)["ManagedPolicyArns"]) {
			if isBroadManagedPolicy(arn) {
				problems = append(problems, fmt.Sprintf("Resources.%s: managed policy %s grants far more than any function needs", id, arn))
			}
		}
		if dig(t.resources()[id], "Type") == "AWS::Serverless::Function" {
			for _, name := range stringsOf(t.props(id)["Policies"]) {
				if isBroadManagedPolicy(name) {
					problems = append(problems, fmt.Sprintf("Resources.%s: managed policy %s grants far more than any function needs", id, name))
				}
			}
		}
		if dig(t.resources()[id], "Type") == "AWS::Lambda::Permission" {
			for _, a := range stringsOf(t.props(id)["Action"]) {
				if a == "*" || serviceWildcard.MatchString(a) {
					problems = append(problems, fmt.Sprintf("Resources.%s: Action %q; a permission grants one action", id, a))
				}
			}
		}
	}
	return problems
}

func isBroadManagedPolicy(name string) bool {
	base := name[strings.LastIndex(name, "/")+1:]
	return base == "AdministratorAccess" || base == "PowerUserAccess" || strings.HasSuffix(base, "FullAccess")
}

func checkStatement(where string, stmt map[string]any) []string {
	// A Deny only takes away: "s3:*" in a TLS-only bucket policy is the strongest form of that rule.
	if asString(stmt["Effect"]) == "Deny" {
		return nil
	}
	var problems []string
	if stmt["NotAction"] != nil {
		problems = append(problems, where+": NotAction with Allow grants every other action")
	}
	if stmt["NotResource"] != nil {
		problems = append(problems, where+": NotResource with Allow grants every other resource")
	}
	actions := stringsOf(stmt["Action"])
	for _, a := range actions {
		switch {
		case a == "*":
			problems = append(problems, fmt.Sprintf("%s: Action %q allows every action", where, a))
		case serviceWildcard.MatchString(a):
			problems = append(problems, fmt.Sprintf("%s: Action %q allows every action of a service", where, a))
		}
	}
	if !slices.Contains(stringsOf(stmt["Resource"]), "*") {
		return problems
	}
	for _, a := range actions {
		if a == "*" || serviceWildcard.MatchString(a) {
			continue // reported above
		}
		if !actionsWithoutResourceLevelPermissions[strings.ToLower(a)] {
			problems = append(problems, fmt.Sprintf("%s: Resource \"*\" with %s, which supports resource-level permissions: name its resources", where, a))
		}
	}
	return problems
}

// ---------------------------------------------------------------------------------------------------
// Check 4: the pipeline's own contracts
// ---------------------------------------------------------------------------------------------------

// transformPartitionKeys are the keys the transform returns in each record's metadata for Firehose
// dynamic partitioning; the stream's prefix must use exactly these.
var transformPartitionKeys = []string{"owner", "log_group", "dt", "hour"}

// lakeColumns is the normalized record as the lake writes it (DESIGN.md, "The normalized record").
var lakeColumns = [][2]string{
	{"timestamp", "timestamp"}, {"id", "string"}, {"owner", "string"}, {"log_group", "string"},
	{"log_stream", "string"}, {"message", "string"}, {"level", "string"}, {"trace_id", "string"},
	{"source_type", "string"}, {"fields", "string"},
}

var partitionKeyRe = regexp.MustCompile(`!\{partitionKeyFromLambda:([^}]*)\}`)

// asyncEvents are SAM event types whose source invokes the function asynchronously.
var asyncEvents = map[string]bool{
	"S3": true, "SNS": true, "EventBridgeRule": true, "CloudWatchEvent": true, "Schedule": true,
	"ScheduleV2": true, "CloudWatchLogs": true, "IoTRule": true, "AlexaSkill": true, "Cognito": true,
}

func checkPipeline(t *cfnTemplate) []string {
	var problems []string
	problems = append(problems, checkFirehose(t)...)
	problems = append(problems, checkAccountPolicy(t)...)
	problems = append(problems, checkLake(t)...)
	problems = append(problems, checkAsyncFailures(t)...)
	problems = append(problems, checkQueueTimeouts(t)...)
	problems = append(problems, checkSharedNormalizing(t)...)
	problems = append(problems, checkEventPatterns(t)...)
	problems = append(problems, checkBuckets(t)...)
	return problems
}

// checkBuckets: every bucket is private, encrypted, owned by its account alone, and refuses plain HTTP.
func checkBuckets(t *cfnTemplate) []string {
	var problems []string
	for _, b := range t.resourceIDs("AWS::S3::Bucket") {
		p := t.props(b)
		for _, k := range []string{"BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"} {
			if dig(p, "PublicAccessBlockConfiguration", k) != "true" {
				problems = append(problems, fmt.Sprintf("%s: PublicAccessBlockConfiguration.%s must be true", b, k))
			}
		}
		if len(asList(dig(p, "BucketEncryption", "ServerSideEncryptionConfiguration"))) == 0 {
			problems = append(problems, b+": no BucketEncryption")
		}
		enforced := false
		for _, r := range asList(dig(p, "OwnershipControls", "Rules")) {
			enforced = enforced || dig(r, "ObjectOwnership") == "BucketOwnerEnforced"
		}
		if !enforced {
			problems = append(problems, b+": OwnershipControls must be BucketOwnerEnforced (no ACLs)")
		}
		tlsOnly := false
		for _, pid := range t.resourceIDs("AWS::S3::BucketPolicy") {
			if !references(t.props(pid)["Bucket"], b) {
				continue
			}
			for _, s := range asList(dig(t.props(pid), "PolicyDocument", "Statement")) {
				if dig(s, "Effect") == "Deny" && dig(s, "Condition", "Bool", "aws:SecureTransport") == "false" {
					tlsOnly = true
				}
			}
		}
		if !tlsOnly {
			problems = append(problems, b+": no bucket policy denies requests without TLS (aws:SecureTransport false)")
		}
	}
	return problems
}

func checkFirehose(t *cfnTemplate) []string {
	var problems []string
	streams := t.resourceIDs("AWS::KinesisFirehose::DeliveryStream")
	if len(streams) == 0 {
		return []string{"no AWS::KinesisFirehose::DeliveryStream: the transform has nothing to process"}
	}
	for _, id := range streams {
		dest := asMap(t.props(id)["ExtendedS3DestinationConfiguration"])
		if dest == nil {
			problems = append(problems, id+": has no ExtendedS3DestinationConfiguration")
			continue
		}
		var lambdaArn any
		var bufferMB string
		for _, proc := range asList(dig(dest, "ProcessingConfiguration", "Processors")) {
			if dig(proc, "Type") != "Lambda" {
				continue
			}
			for _, p := range asList(dig(proc, "Parameters")) {
				switch dig(p, "ParameterName") {
				case "LambdaArn":
					lambdaArn = dig(p, "ParameterValue")
				case "BufferSizeInMBs":
					bufferMB = asString(dig(p, "ParameterValue"))
				}
			}
		}
		if !references(lambdaArn, "TransformFunction") {
			problems = append(problems, id+": the Lambda processor's LambdaArn must be TransformFunction's ARN")
		}
		if mb, err := strconv.ParseFloat(bufferMB, 64); err != nil || mb > 1 {
			problems = append(problems, fmt.Sprintf("%s: processor BufferSizeInMBs is %q; want at most 1 so the inflated output fits in Lambda's 6 MB response", id, bufferMB))
		}
		if to, err := strconv.Atoi(asString(t.functionProp("TransformFunction", "Timeout"))); err == nil && to > 300 {
			problems = append(problems, fmt.Sprintf("TransformFunction: Timeout %d s is longer than Firehose waits for a processor (300 s)", to))
		}
		if dig(dest, "DynamicPartitioningConfiguration", "Enabled") != "true" {
			problems = append(problems, id+": DynamicPartitioningConfiguration.Enabled must be true")
		}
		if mb, _ := strconv.Atoi(asString(dig(dest, "BufferingHints", "SizeInMBs"))); mb < 64 {
			problems = append(problems, fmt.Sprintf("%s: BufferingHints.SizeInMBs is %d; dynamic partitioning needs at least 64", id, mb))
		}
		prefix := asString(dest["Prefix"])
		var keys []string
		for _, m := range partitionKeyRe.FindAllStringSubmatch(prefix, -1) {
			keys = append(keys, m[1])
		}
		if !slices.Equal(keys, transformPartitionKeys) {
			problems = append(problems, fmt.Sprintf("%s: Prefix uses partition keys %v; the transform emits %v, in that order", id, keys, transformPartitionKeys))
		}
		if !strings.Contains(asString(dest["ErrorOutputPrefix"]), "!{firehose:error-output-type}") {
			problems = append(problems, id+": ErrorOutputPrefix must contain !{firehose:error-output-type}")
		}
		if raw, ok := t.literal(t.env("LakeFunction")["RAW_PREFIX"]); ok && !strings.HasPrefix(prefix, raw) {
			problems = append(problems, fmt.Sprintf("%s: Prefix %q is not under the lake function's RAW_PREFIX %q", id, prefix, raw))
		}
	}
	return problems
}

// checkAccountPolicy: an account-level subscription policy sends every log group to Firehose, so it
// must exclude Tributary's own log groups (functions and Firehose's error log); else each log line the
// pipeline writes about an event comes back as a new event.
func checkAccountPolicy(t *cfnTemplate) []string {
	var problems []string
	for _, id := range t.resourceIDs("AWS::Logs::AccountPolicy") {
		p := t.props(id)
		if p["PolicyType"] != "SUBSCRIPTION_FILTER_POLICY" {
			continue
		}
		var own []string // log group resources that must be excluded
		for _, fid := range t.resourceIDs("AWS::Serverless::Function") {
			lg := asString(dig(t.functionProp(fid, "LoggingConfig", "LogGroup"), "Ref"))
			if lg == "" {
				problems = append(problems, fmt.Sprintf("%s: no LoggingConfig.LogGroup naming a log group of the template, so %s cannot exclude its log group", fid, id))
				continue
			}
			own = append(own, lg)
		}
		for _, sid := range t.resourceIDs("AWS::KinesisFirehose::DeliveryStream") {
			if lg := asString(dig(t.props(sid), "ExtendedS3DestinationConfiguration", "CloudWatchLoggingOptions", "LogGroupName", "Ref")); lg != "" {
				own = append(own, lg)
			}
		}
		for _, sel := range branches(p["SelectionCriteria"]) {
			text := subText(sel)
			if !strings.HasPrefix(text, "LogGroupName NOT IN [") {
				problems = append(problems, fmt.Sprintf("%s: SelectionCriteria must be LogGroupName NOT IN [...] listing Tributary's own log groups", id))
				continue
			}
			for _, lg := range own {
				if !strings.Contains(text, `"${`+lg+`}"`) {
					problems = append(problems, fmt.Sprintf("%s: SelectionCriteria does not exclude %s (feedback loop)", id, lg))
				}
			}
		}
		toStream := false
		for _, sid := range t.resourceIDs("AWS::KinesisFirehose::DeliveryStream") {
			toStream = toStream || references(p["PolicyDocument"], sid)
		}
		if !toStream {
			problems = append(problems, id+": PolicyDocument's DestinationArn is not a delivery stream of the template")
		}
	}
	return problems
}

// checkLake: raw objects reach the lake function under the prefix it reads, and the Glue table
// describes what it writes, where it writes it.
func checkLake(t *cfnTemplate) []string {
	var problems []string
	env := t.env("LakeFunction")
	raw, _ := t.literal(env["RAW_PREFIX"])
	lakePrefix, _ := t.literal(env["LAKE_PREFIX"])
	for _, b := range t.resourceIDs("AWS::S3::Bucket") {
		nc := asMap(t.props(b)["NotificationConfiguration"])
		for _, kind := range []string{"QueueConfigurations", "LambdaConfigurations", "TopicConfigurations"} {
			for _, c := range asList(nc[kind]) {
				for _, rule := range asList(dig(c, "Filter", "S3Key", "Rules")) {
					if strings.EqualFold(asString(dig(rule, "Name")), "prefix") && asString(dig(rule, "Value")) != raw {
						problems = append(problems, fmt.Sprintf("%s: notification prefix %q differs from the lake function's RAW_PREFIX %q", b, dig(rule, "Value"), raw))
					}
				}
			}
		}
	}
	tables := t.resourceIDs("AWS::Glue::Table")
	if len(tables) == 0 {
		return append(problems, "no AWS::Glue::Table describes the lake")
	}
	for _, id := range tables {
		in := asMap(t.props(id)["TableInput"])
		if !reflect.DeepEqual(in["Name"], env["LAKE_TABLE"]) {
			problems = append(problems, fmt.Sprintf("%s: table name %v and LakeFunction's LAKE_TABLE %v differ", id, in["Name"], env["LAKE_TABLE"]))
		}
		var cols [][2]string
		for _, c := range asList(dig(in, "StorageDescriptor", "Columns")) {
			cols = append(cols, [2]string{asString(dig(c, "Name")), asString(dig(c, "Type"))})
		}
		if !slices.Equal(cols, lakeColumns) {
			problems = append(problems, fmt.Sprintf("%s: columns %v; the normalized record is %v", id, cols, lakeColumns))
		}
		var parts []string
		for _, c := range asList(in["PartitionKeys"]) {
			parts = append(parts, asString(dig(c, "Name")))
		}
		if !slices.Equal(parts, []string{"dt", "hour"}) {
			problems = append(problems, fmt.Sprintf("%s: partition keys %v; the lake writes dt=…/hour=…", id, parts))
		}
		params := asMap(in["Parameters"])
		for _, k := range []string{"projection.enabled", "projection.dt.type", "projection.dt.format", "projection.dt.range", "projection.hour.type", "projection.hour.range", "projection.hour.digits"} {
			if params[k] == nil {
				problems = append(problems, fmt.Sprintf("%s: partition projection parameter %s is missing", id, k))
			}
		}
		loc := strings.ReplaceAll(subText(params["storage.location.template"]), "${!", "${")
		tableRef := "${" + asString(dig(in["Name"], "Ref")) + "}"
		if s, ok := in["Name"].(string); ok {
			tableRef = s
		}
		if want := "/" + lakePrefix + tableRef + "/dt=${dt}/hour=${hour}/"; !strings.HasSuffix(loc, want) {
			problems = append(problems, fmt.Sprintf("%s: storage.location.template %q does not end in %q (LAKE_PREFIX, table, partitions)", id, loc, want))
		}
	}
	return problems
}

// checkAsyncFailures: a function invoked asynchronously keeps what it failed on, in an on-failure
// destination or a dead-letter queue; else Lambda drops the event after its retries.
func checkAsyncFailures(t *cfnTemplate) []string {
	async := map[string]string{}
	for _, id := range t.resourceIDs("AWS::Serverless::Function") {
		events := asMap(t.props(id)["Events"])
		for _, name := range sortedKeys(events) {
			if _, seen := async[id]; !seen && asyncEvents[asString(dig(events[name], "Type"))] {
				async[id] = "event " + name
			}
		}
	}
	for _, id := range t.resourceIDs("AWS::Logs::SubscriptionFilter") {
		for fid := range t.functionsNamedBy(t.props(id)["DestinationArn"]) {
			async[fid] = "subscription filter " + id
		}
	}
	var problems []string
	for _, id := range sortedKeys(async) {
		onFailure := dig(t.functionProp(id, "EventInvokeConfig"), "DestinationConfig", "OnFailure")
		if onFailure == nil && t.functionProp(id, "DeadLetterQueue") == nil {
			problems = append(problems, fmt.Sprintf("%s: invoked asynchronously (%s) but has neither EventInvokeConfig.DestinationConfig.OnFailure nor DeadLetterQueue", id, async[id]))
		}
	}
	return problems
}

func (t *cfnTemplate) functionsNamedBy(v any) map[string]bool {
	out := map[string]bool{}
	for _, id := range t.resourceIDs("AWS::Serverless::Function") {
		if references(v, id) {
			out[id] = true
		}
	}
	return out
}

// checkQueueTimeouts: Lambda refuses an SQS event source whose visibility timeout is shorter than
// the function's timeout.
func checkQueueTimeouts(t *cfnTemplate) []string {
	var problems []string
	for _, id := range t.resourceIDs("AWS::Serverless::Function") {
		timeout, _ := strconv.Atoi(asString(t.functionProp(id, "Timeout")))
		if timeout == 0 {
			timeout = 3
		}
		for name, ev := range asMap(t.props(id)["Events"]) {
			if dig(ev, "Type") != "SQS" {
				continue
			}
			ga := asList(dig(ev, "Properties", "Queue", "Fn::GetAtt"))
			if len(ga) == 0 {
				continue
			}
			q := asString(ga[0])
			vis := 30
			if s := asString(dig(t.props(q), "VisibilityTimeout")); s != "" {
				vis, _ = strconv.Atoi(s)
			}
			if vis < timeout {
				problems = append(problems, fmt.Sprintf("%s: event %s polls %s, whose VisibilityTimeout %d s is shorter than the function's Timeout %d s", id, name, q, vis, timeout))
			}
		}
	}
	return problems
}

// checkSharedNormalizing: transform and indexer normalize the same way, so an event looks the same in
// S3 and in OpenSearch; their normalizing variables must have the same values.
func checkSharedNormalizing(t *cfnTemplate) []string {
	if t.resources()["TransformFunction"] == nil || t.resources()["IndexerFunction"] == nil {
		return nil
	}
	te, ie := t.env("TransformFunction"), t.env("IndexerFunction")
	indexerReads := config.Variables("indexer")
	var problems []string
	for _, name := range config.Variables("transform") {
		// Only what both read: a transform-only setting (METRIC_LOG_GROUPS) is no normalizing rule.
		if setByLambda(name) || !slices.Contains(indexerReads, name) {
			continue
		}
		if !reflect.DeepEqual(te[name], ie[name]) {
			problems = append(problems, fmt.Sprintf("%s differs between TransformFunction (%v) and IndexerFunction (%v)", name, te[name], ie[name]))
		}
	}
	return problems
}

// eventPatternQuota is EventBridge's default limit on a rule's event pattern, in characters (it can be
// raised to 4096 by a quota request, which a deployment should not depend on).
const eventPatternQuota = 2048

// checkEventPatterns: every EventBridge pattern, with its Fn::If resolved to the longest outcome, fits
// the default quota; CloudFormation only learns otherwise halfway through a deployment.
func checkEventPatterns(t *cfnTemplate) []string {
	type pattern struct {
		where string
		value any
	}
	var patterns []pattern
	for _, id := range t.resourceIDs("") {
		switch dig(t.resources()[id], "Type") {
		case "AWS::Serverless::Function":
			events := asMap(t.props(id)["Events"])
			for _, name := range sortedKeys(events) {
				if typ := dig(events[name], "Type"); typ == "EventBridgeRule" || typ == "CloudWatchEvent" {
					patterns = append(patterns, pattern{id + " event " + name, dig(events[name], "Properties", "Pattern")})
				}
			}
		case "AWS::Events::Rule":
			if p := t.props(id)["EventPattern"]; p != nil {
				patterns = append(patterns, pattern{id, p})
			}
		}
	}
	var problems []string
	for _, p := range patterns {
		data, err := json.Marshal(longest(p.value))
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: event pattern: %v", p.where, err))
		} else if len(data) > eventPatternQuota {
			problems = append(problems, fmt.Sprintf("%s: event pattern is %d characters; EventBridge's default quota is %d", p.where, len(data), eventPatternQuota))
		}
	}
	return problems
}

// noValue stands for AWS::NoValue while resolving: the key or item holding it disappears.
type noValue struct{}

// longest resolves every Fn::If to the outcome whose JSON is longest.
func longest(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if isNoValue(x) {
			return noValue{}
		}
		if isIntrinsic(x, "Fn::If") {
			args := asList(x["Fn::If"])
			if len(args) == 3 {
				var best any = noValue{}
				bestLen := -1
				for _, b := range args[1:] {
					r := longest(b)
					if _, none := r.(noValue); none {
						continue
					}
					if data, _ := json.Marshal(r); len(data) > bestLen {
						best, bestLen = r, len(data)
					}
				}
				return best
			}
		}
		out := make(map[string]any, len(x))
		for k, c := range x {
			if r := longest(c); r != (noValue{}) {
				out[k] = r
			}
		}
		return out
	case []any:
		out := make([]any, 0, len(x))
		for _, c := range x {
			if r := longest(c); r != (noValue{}) {
				out = append(out, r)
			}
		}
		return out
	}
	return v
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ---------------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------------

func TestTemplate(t *testing.T) {
	t.Parallel()
	tpl, err := readTemplate("template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	makefile, err := os.ReadFile("Makefile")
	if err != nil {
		t.Fatal(err)
	}
	runbook, err := os.ReadFile(filepath.Join("docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name string
		run  func() []string
	}{
		{"build", func() []string { return checkBuild(tpl, ".", string(makefile)) }},
		{"environment", func() []string { return checkEnvironment(tpl, config.Variables) }},
		{"environment values", func() []string { return checkEnvironmentValues(tpl) }},
		{"iam", func() []string { return checkIAM(tpl) }},
		{"pipeline", func() []string { return checkPipeline(tpl) }},
		{"health metrics", func() []string { return checkHealthMetrics(tpl) }},
		{"health alarms", func() []string { return checkHealthAlarms(tpl, string(runbook)) }},
		{"health dashboard", func() []string { return checkDashboardCoverage(tpl, dashboardRequired) }},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			for _, p := range c.run() {
				t.Error(p)
			}
		})
	}
}

// fakeRepo is a repository with functions/transform/main.go and a Makefile, for the build check.
func fakeRepo(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "functions", "transform"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{
		"functions/transform/main.go": "package main\n\nfunc main() {}\n",
		"Makefile":                    fakeMakefile,
	} {
		if err := os.WriteFile(filepath.Join(root, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

const fakeMakefile = `GO ?= go
FLAGS := -trimpath
define sam_target
build-$(1):
	$(GO) build $(FLAGS) -o $$(ARTIFACTS_DIR)/bootstrap ./functions/$(2)
endef
$(eval $(call sam_target,TransformFunction,transform))

build-LakeFunction:
	$(GO) build -o $(ARTIFACTS_DIR)/bootstrap ./functions/indexer
`

func TestTemplateChecksFail(t *testing.T) {
	t.Parallel()
	// Only the functions the fixtures use exist in the fake repository and config.
	variables := func(fn string) []string {
		switch fn {
		case "transform", "lake":
			return config.Variables(fn)
		}
		return nil
	}
	tests := []struct {
		fixture string
		check   func(t *testing.T, tpl *cfnTemplate) []string
		want    []string
	}{
		{
			fixture: "missing-build-target.yaml",
			check: func(t *testing.T, tpl *cfnTemplate) []string {
				return checkBuild(tpl, fakeRepo(t), fakeMakefile)
			},
			want: []string{
				`ExtraFunction: Metadata.BuildMethod is ""; want makefile`,
				`ExtraFunction: the Makefile has no build-ExtraFunction target (sam build runs make build-ExtraFunction)`,
				`ExtraFunction: functions/extra/main.go does not exist`,
				`LakeFunction: build-LakeFunction builds ./functions/indexer; want ./functions/lake`,
				`LakeFunction: functions/lake/main.go does not exist`,
				`TransformFunction: CodeUri folder "nowhere" does not exist`,
				`config.Functions lists "indexer" but the template has no function built from functions/indexer`,
				`config.Functions lists "alarm" but the template has no function built from functions/alarm`,
				`config.Functions lists "opsgenie" but the template has no function built from functions/opsgenie`,
			},
		},
		{
			fixture: "wildcard-action.yaml",
			check:   func(_ *testing.T, tpl *cfnTemplate) []string { return checkIAM(tpl) },
			want: []string{
				`Resources.AdminRole.Properties.Policies[0].PolicyDocument.Statement[0]: Action "*" allows every action`,
				`Resources.BucketPolicy.Properties.PolicyDocument.Statement[0] (Everything): Action "s3:*" allows every action of a service`,
				`Resources.SomeFunction.Properties.Policies[0].Statement[0] (Maybe): Action "dynamodb:*" allows every action of a service`,
				`Resources.SomeFunction: managed policy AmazonS3FullAccess grants far more than any function needs`,
			},
		},
		{
			fixture: "star-resource.yaml",
			check:   func(_ *testing.T, tpl *cfnTemplate) []string { return checkIAM(tpl) },
			want: []string{
				`Resources.ReadPolicy.Properties.PolicyDocument.Statement[0] (ReadAnything): Resource "*" with s3:GetObject, which supports resource-level permissions: name its resources`,
				`Resources.ReadPolicy.Properties.PolicyDocument.Statement[2] (Sneaky): Resource "*" with sns:Publish, which supports resource-level permissions: name its resources`,
				`Resources.ReadPolicy.Properties.PolicyDocument.Statement[3]: NotAction with Allow grants every other action`,
			},
		},
		{
			fixture: "missing-env.yaml",
			check: func(_ *testing.T, tpl *cfnTemplate) []string {
				return append(checkEnvironment(tpl, variables), checkEnvironmentValues(tpl)...)
			},
			want: []string{
				`LakeFunction: LAKE_TABLE (read by config for "lake") is not set in Environment.Variables or Globals.Function.Environment.Variables`,
				`LakeFunction: sets LAKE_TABEL, which config for "lake" never reads (a typo?)`,
				`LakeFunction: TARGET_FILE_MB="lots" is rejected by its loader: config: TARGET_FILE_MB is "lots"; want an integer`,
				`LakeFunction: ROW_GROUP_MB="0" is rejected by its loader: config: ROW_GROUP_MB is 0; want 1..512`,
			},
		},
		{
			fixture: "pipeline.yaml",
			check:   func(_ *testing.T, tpl *cfnTemplate) []string { return checkPipeline(tpl) },
			want: []string{
				`Stream: the Lambda processor's LambdaArn must be TransformFunction's ARN`,
				`Stream: processor BufferSizeInMBs is "3"; want at most 1 so the inflated output fits in Lambda's 6 MB response`,
				`TransformFunction: Timeout 600 s is longer than Firehose waits for a processor (300 s)`,
				`Stream: BufferingHints.SizeInMBs is 5; dynamic partitioning needs at least 64`,
				`Stream: Prefix uses partition keys [owner dt hour]; the transform emits [owner log_group dt hour], in that order`,
				`Stream: ErrorOutputPrefix must contain !{firehose:error-output-type}`,
				`Policy: SelectionCriteria does not exclude LakeLogs (feedback loop)`,
				`TransformFunction: no LoggingConfig.LogGroup naming a log group of the template, so Policy cannot exclude its log group`,
				`Bucket: notification prefix "incoming/" differs from the lake function's RAW_PREFIX "raw/"`,
				`Table: partition keys [day]; the lake writes dt=…/hour=…`,
				`Table: partition projection parameter projection.hour.type is missing`,
				`Table: partition projection parameter projection.hour.range is missing`,
				`Table: partition projection parameter projection.hour.digits is missing`,
				`Table: storage.location.template "s3://b/lake/logs/dt=${dt}/" does not end in "/lake/${TableName}/dt=${dt}/hour=${hour}/" (LAKE_PREFIX, table, partitions)`,
				`LakeFunction: invoked asynchronously (event Hourly) but has neither EventInvokeConfig.DestinationConfig.OnFailure nor DeadLetterQueue`,
				`LakeFunction: event Raw polls Queue, whose VisibilityTimeout 30 s is shorter than the function's Timeout 900 s`,
				`Bucket: PublicAccessBlockConfiguration.BlockPublicAcls must be true`,
				`Bucket: PublicAccessBlockConfiguration.BlockPublicPolicy must be true`,
				`Bucket: PublicAccessBlockConfiguration.IgnorePublicAcls must be true`,
				`Bucket: PublicAccessBlockConfiguration.RestrictPublicBuckets must be true`,
				`Bucket: no BucketEncryption`,
				`Bucket: OwnershipControls must be BucketOwnerEnforced (no ACLs)`,
				`Bucket: no bucket policy denies requests without TLS (aws:SecureTransport false)`,
			},
		},
	}
	tests = append(tests, struct {
		fixture string
		check   func(t *testing.T, tpl *cfnTemplate) []string
		want    []string
	}{
		fixture: "health.yaml",
		check: func(_ *testing.T, tpl *cfnTemplate) []string {
			p := append(checkHealthMetrics(tpl), checkHealthAlarms(tpl, `<a id="typo"></a>`)...)
			return append(p, checkDashboardCoverage(tpl, []string{"Tributary/RecordsReingested", "AWS/Firehose/IncomingRecords"})...)
		},
		want: healthFixtureProblems,
	})
	for _, tc := range tests {
		t.Run(tc.fixture, func(t *testing.T) {
			t.Parallel()
			tpl, err := readTemplate(filepath.Join("testdata", "template", tc.fixture))
			if err != nil {
				t.Fatal(err)
			}
			got := tc.check(t, tpl)
			sort.Strings(got)
			want := slices.Clone(tc.want)
			sort.Strings(want)
			if !slices.Equal(got, want) {
				t.Errorf("problems:\n  got  %q\n  want %q", got, want)
			}
		})
	}
}

func TestTemplateParseShortForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		yaml string
		want any
	}{
		{`!Ref Bucket`, map[string]any{"Ref": "Bucket"}},
		{`!Condition IsProd`, map[string]any{"Condition": "IsProd"}},
		{`!Sub "arn:${AWS::Partition}:s3:::${Bucket}"`, map[string]any{"Fn::Sub": "arn:${AWS::Partition}:s3:::${Bucket}"}},
		{"!Sub\n- '${A}-${B}'\n- B: !Ref X", map[string]any{"Fn::Sub": []any{"${A}-${B}", map[string]any{"B": map[string]any{"Ref": "X"}}}}},
		{`!GetAtt Queue.Arn`, map[string]any{"Fn::GetAtt": []any{"Queue", "Arn"}}},
		{`!GetAtt Stack.Outputs.Name`, map[string]any{"Fn::GetAtt": []any{"Stack", "Outputs.Name"}}},
		{`!GetAtt [Queue, Arn]`, map[string]any{"Fn::GetAtt": []any{"Queue", "Arn"}}},
		{`!If [C, a, !Ref AWS::NoValue]`, map[string]any{"Fn::If": []any{"C", "a", map[string]any{"Ref": "AWS::NoValue"}}}},
		{`!Equals [!Ref P, ""]`, map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "P"}, ""}}},
		{`!Join [",", [a, b]]`, map[string]any{"Fn::Join": []any{",", []any{"a", "b"}}}},
		{`!Select [0, !GetAZs ""]`, map[string]any{"Fn::Select": []any{"0", map[string]any{"Fn::GetAZs": ""}}}},
		{`!Split [",", !ImportValue Shared]`, map[string]any{"Fn::Split": []any{",", map[string]any{"Fn::ImportValue": "Shared"}}}},
		{`!Not [!Condition A]`, map[string]any{"Fn::Not": []any{map[string]any{"Condition": "A"}}}},
		{`!And [!Condition A, !Or [!Condition B, !Condition C]]`, map[string]any{"Fn::And": []any{
			map[string]any{"Condition": "A"},
			map[string]any{"Fn::Or": []any{map[string]any{"Condition": "B"}, map[string]any{"Condition": "C"}}},
		}}},
		{`!FindInMap [Map, !Ref AWS::Region, Key]`, map[string]any{"Fn::FindInMap": []any{"Map", map[string]any{"Ref": "AWS::Region"}, "Key"}}},
		{`!Base64 {"Fn::Sub": "x"}`, map[string]any{"Fn::Base64": map[string]any{"Fn::Sub": "x"}}},
		{`!Cidr [10.0.0.0/16, 4, 8]`, map[string]any{"Fn::Cidr": []any{"10.0.0.0/16", "4", "8"}}},
		{"a: &x 1\nb: *x", map[string]any{"a": "1", "b": "1"}},
		{"a: ~\nb: true", map[string]any{"a": nil, "b": "true"}},
	}
	for _, tc := range tests {
		t.Run(tc.yaml, func(t *testing.T) {
			t.Parallel()
			var doc yaml.Node
			if err := yaml.Unmarshal([]byte(tc.yaml), &doc); err != nil {
				t.Fatal(err)
			}
			got, err := fromNode(&doc)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %#v\nwant %#v", got, tc.want)
			}
		})
	}
}

func TestTemplateParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ yaml, want string }{
		{"a: !Bogus x", "line 1: unknown tag !Bogus"},
		{"a: 1\na: 2", `line 2: duplicate key "a"`},
		{"b: &m {x: 1}\na:\n  <<: *m", "line 3: YAML merge keys are not supported by CloudFormation"},
		{"a: !GetAtt NoDot", `line 1: !GetAtt "NoDot" wants Resource.Attribute`},
		{"- a", "template is not a mapping"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			t.Parallel()
			_, err := parseTemplate([]byte(tc.yaml))
			if err == nil || err.Error() != tc.want {
				t.Errorf("error %v; want %q", err, tc.want)
			}
		})
	}
}

func TestTemplateMakefileTargets(t *testing.T) {
	t.Parallel()
	rules := makefileRules(fakeMakefile + "\n.PHONY: all\nall build: dep\nVAR = x:y\nX := y\n\t@echo not a rule: here\n")
	got := map[string]string{}
	for _, r := range rules {
		for _, target := range r.targets {
			got[target] = strings.TrimSpace(r.recipe)
		}
	}
	want := map[string]string{
		"build-TransformFunction": "$(GO) build $(FLAGS) -o $$(ARTIFACTS_DIR)/bootstrap ./functions/transform",
		"build-LakeFunction":      "$(GO) build -o $(ARTIFACTS_DIR)/bootstrap ./functions/indexer",
		".PHONY":                  "",
		"all":                     "@echo not a rule: here",
		"build":                   "@echo not a rule: here",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("targets:\n  got  %q\n  want %q", got, want)
	}
}

func TestTemplateEventPatternSize(t *testing.T) {
	t.Parallel()
	names := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "            - SomeRatherLongApiCallName%03d\n", i)
		}
		return b.String()
	}
	tests := []struct {
		name  string
		names int
		want  []string
	}{
		{"fits", 40, nil},
		{"too long", 80, []string{"F event Calls: event pattern is 2506 characters; EventBridge's default quota is 2048", "Rule: event pattern is 2506 characters; EventBridge's default quota is 2048"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := `Conditions:
  C: !Equals [a, b]
Resources:
  F:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Calls:
          Type: EventBridgeRule
          Properties:
            Pattern:
              detail: !If
                - C
                - eventName:
` + strings.ReplaceAll(names(tc.names), "            - ", "                    - ") + `                - !Ref AWS::NoValue
  Rule:
    Type: AWS::Events::Rule
    Properties:
      EventPattern:
        detail:
          eventName:
` + names(tc.names)
			tpl, err := parseTemplate([]byte(src))
			if err != nil {
				t.Fatal(err)
			}
			if got := checkEventPatterns(tpl); !slices.Equal(got, tc.want) {
				t.Errorf("got %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestTemplateResourceStarAllowList proves the allow-list is honoured (and stays an allow-list of
// actions without resource-level permissions, not a list of exceptions someone found convenient).
func TestTemplateResourceStarAllowList(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		stmt map[string]any
		want int
	}{
		{"allow-listed", map[string]any{"Effect": "Allow", "Action": []any{"cloudwatch:PutMetricData", "xray:PutTraceSegments"}, "Resource": "*"}, 0},
		{"case-insensitive", map[string]any{"Effect": "Allow", "Action": "CloudWatch:putMetricData", "Resource": []any{"*"}}, 0},
		{"mixed", map[string]any{"Effect": "Allow", "Action": []any{"cloudwatch:PutMetricData", "s3:PutObject"}, "Resource": "*"}, 1},
		{"explicitly refused", map[string]any{"Effect": "Allow", "Action": "ec2:CreateNetworkInterface", "Resource": "*"}, 1},
		{"behind Fn::If", map[string]any{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": map[string]any{"Fn::If": []any{"C", "arn:aws:sqs:::q", "*"}}}, 1},
		{"deny is not a grant", map[string]any{"Effect": "Deny", "Action": "*", "Resource": "*"}, 0},
		{"named resource", map[string]any{"Effect": "Allow", "Action": "s3:GetObject", "Resource": map[string]any{"Fn::Sub": "${B.Arn}/*"}}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := checkStatement("s", tc.stmt); len(got) != tc.want {
				t.Errorf("got %d problems %q; want %d", len(got), got, tc.want)
			}
		})
	}
}
