package tributary_test

// Check 5: the pipeline watches itself. Every metric an alarm or a dashboard widget names must be one
// something emits, with the dimensions it is emitted with: in the Tributary namespace that is
// emf.Catalogue (which shared/emf's own test keeps in step with the code), in AWS namespaces the
// dimensions each service publishes, pointing at resources of this template. A typo there is not an
// error anywhere else: the widget stays empty and the alarm never fires.
//
// The alarms must also page the way docs/operations.md says: every member of the composite alarm stays
// silent, the composite notifies the alarm topic, and the alarm function's EventBridge rule leaves the
// stack's own alarms out (else every member would page once more through EventBridge).

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/tributary-logs/tributary/shared/emf"
)

// metricRef is one metric named by an alarm or a dashboard widget.
type metricRef struct {
	where     string
	namespace string
	name      string
	dims      []dimRef
	search    bool // from a SEARCH expression: dimension names only
}

// dimRef is one dimension; value is a plain string, an intrinsic function (alarms) or «Target» for a
// resource named inside Fn::Sub (dashboards).
type dimRef struct {
	name  string
	value any
}

// awsMetrics are the metric names and the dimension set each AWS namespace publishes them with, for
// the metrics Tributary watches (extend when a new one is watched), and the resource type the
// dimension's value must name.
var awsMetrics = map[string]struct {
	dims     []string
	names    []string
	resource map[string][]string // dimension -> resource types whose name it holds
}{
	"AWS/Firehose": {
		dims: []string{"DeliveryStreamName"},
		names: []string{"IncomingRecords", "IncomingBytes", "IncomingPutRequests", "ThrottledRecords",
			"DeliveryToS3.DataFreshness", "DeliveryToS3.Success", "DeliveryToS3.Records", "DeliveryToS3.Bytes",
			"ExecuteProcessing.Duration", "ExecuteProcessing.Success", "SucceedProcessing.Records", "SucceedProcessing.Bytes"},
		resource: map[string][]string{"DeliveryStreamName": {"AWS::KinesisFirehose::DeliveryStream"}},
	},
	"AWS/Lambda": {
		dims: []string{"FunctionName"},
		names: []string{"Invocations", "Errors", "Throttles", "Duration", "ConcurrentExecutions",
			"AsyncEventAge", "AsyncEventsReceived", "AsyncEventsDropped", "DeadLetterErrors", "DestinationDeliveryFailures"},
		resource: map[string][]string{"FunctionName": {"AWS::Serverless::Function", "AWS::Lambda::Function"}},
	},
	"AWS/ES": {
		dims: []string{"ClientId", "DomainName"},
		names: []string{"ClusterStatus.red", "ClusterStatus.yellow", "ClusterStatus.green", "FreeStorageSpace",
			"ThreadpoolWriteRejected", "ThreadpoolWriteQueue", "ClusterIndexWritesBlocked", "CPUUtilization",
			"JVMMemoryPressure", "Nodes", "AutomatedSnapshotFailure"},
	},
	"AWS/SQS": {
		dims:     []string{"QueueName"},
		names:    []string{"ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage", "NumberOfMessagesSent", "NumberOfMessagesReceived"},
		resource: map[string][]string{"QueueName": {"AWS::SQS::Queue"}},
	},
}

func (m metricRef) String() string { return m.namespace + "/" + m.name }

func (m metricRef) dimNames() []string {
	out := make([]string, len(m.dims))
	for i, d := range m.dims {
		out[i] = d.name
	}
	return out
}

// target is the resource (and attribute) a dimension value names: Ref X, GetAtt X.Attr or «X.Attr».
func target(v any) (res, attr string, ok bool) {
	switch x := v.(type) {
	case string:
		if strings.HasPrefix(x, "«") && strings.HasSuffix(x, "»") {
			res, attr, _ = strings.Cut(strings.TrimSuffix(strings.TrimPrefix(x, "«"), "»"), ".")
			return res, attr, true
		}
	case map[string]any:
		if r := asString(x["Ref"]); r != "" && len(x) == 1 {
			return r, "", true
		}
		if ga := asList(x["Fn::GetAtt"]); len(ga) == 2 && len(x) == 1 {
			return asString(ga[0]), asString(ga[1]), true
		}
	}
	return "", "", false
}

func (t *cfnTemplate) checkMetricRef(m metricRef) []string {
	var problems []string
	where := m.where + ": " + m.String()
	if m.namespace == emf.Namespace {
		c, ok := emf.Lookup(m.name)
		if !ok {
			return []string{where + " is not in emf.Catalogue: no function emits it, so this stays empty"}
		}
		if !c.HasDimensions(m.dimNames()) {
			var sets []string
			for _, set := range c.Dimensions {
				sets = append(sets, fmt.Sprint(set))
			}
			problems = append(problems, fmt.Sprintf("%s with dimensions %v; the code emits it with %s", where, m.dimNames(), strings.Join(sets, " or ")))
		}
		if m.search {
			return problems
		}
		for _, d := range m.dims {
			if d.name != emf.DimensionFunction {
				continue
			}
			fn, isString := d.value.(string)
			switch {
			case !isString || strings.HasPrefix(fn, "«"):
				problems = append(problems, fmt.Sprintf("%s: Function must be a literal function name (%s), not %v", where, strings.Join(c.Functions, ", "), d.value))
			case !c.EmittedBy(fn):
				problems = append(problems, fmt.Sprintf("%s for Function=%s, but only %s emits it", where, fn, strings.Join(c.Functions, ", ")))
			}
		}
		return problems
	}
	spec, ok := awsMetrics[m.namespace]
	if !ok {
		return []string{where + ": namespace " + m.namespace + " is not known to this check; add what it publishes to awsMetrics"}
	}
	if !slices.Contains(spec.names, m.name) {
		problems = append(problems, fmt.Sprintf("%s: %s does not publish %s (known: %s)", where, m.namespace, m.name, strings.Join(spec.names, ", ")))
	}
	if got := slices.Sorted(slices.Values(m.dimNames())); !slices.Equal(got, spec.dims) {
		problems = append(problems, fmt.Sprintf("%s with dimensions %v; %s publishes it with %v", where, m.dimNames(), m.namespace, spec.dims))
	}
	if m.search {
		return problems
	}
	for _, d := range m.dims {
		if s, isString := d.value.(string); isString && s == "" {
			problems = append(problems, fmt.Sprintf("%s: dimension %s is empty", where, d.name))
			continue
		}
		types := spec.resource[d.name]
		if len(types) == 0 {
			continue
		}
		res, _, ok := target(d.value)
		if !ok || !slices.Contains(types, asString(dig(t.resources()[res], "Type"))) {
			problems = append(problems, fmt.Sprintf("%s: dimension %s must name this template's %s, not %v", where, d.name, strings.Join(types, " or "), d.value))
		}
	}
	return problems
}

// ---------------------------------------------------------------------------------------------------
// Alarms
// ---------------------------------------------------------------------------------------------------

func alarmMetricRefs(id string, p map[string]any) []metricRef {
	dims := func(v any) []dimRef {
		var out []dimRef
		for _, d := range asList(v) {
			out = append(out, dimRef{name: asString(dig(d, "Name")), value: dig(d, "Value")})
		}
		return out
	}
	var refs []metricRef
	if p["MetricName"] != nil {
		refs = append(refs, metricRef{where: id, namespace: asString(p["Namespace"]), name: asString(p["MetricName"]), dims: dims(p["Dimensions"])})
	}
	for i, q := range asList(p["Metrics"]) {
		for _, b := range branches(q) {
			if m := dig(b, "MetricStat", "Metric"); m != nil {
				refs = append(refs, metricRef{where: fmt.Sprintf("%s.Metrics[%d]", id, i), namespace: asString(dig(m, "Namespace")),
					name: asString(dig(m, "MetricName")), dims: dims(dig(m, "Dimensions"))})
			}
		}
	}
	return refs
}

// ---------------------------------------------------------------------------------------------------
// Dashboards: Fn::Sub bodies resolved per combination of the conditions their variables depend on
// ---------------------------------------------------------------------------------------------------

var subVarRe = regexp.MustCompile(`\$\{([^}]*)\}`)

// conditionsIn lists the conditions Fn::If refers to anywhere in v.
func conditionsIn(v any, into map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		if isIntrinsic(x, "Fn::If") {
			if args := asList(x["Fn::If"]); len(args) == 3 {
				into[asString(args[0])] = true
			}
		}
		for _, c := range x {
			conditionsIn(c, into)
		}
	case []any:
		for _, c := range x {
			conditionsIn(c, into)
		}
	}
}

// resolveString evaluates v for one assignment of conditions: Fn::If picks its branch, Fn::Sub
// substitutes, a parameter is its Default, and any other name becomes «Name» so a check can see which
// resource a value names.
func (t *cfnTemplate) resolveString(v any, conds map[string]bool, vars map[string]string) string {
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		switch {
		case isIntrinsic(x, "Fn::If"):
			args := asList(x["Fn::If"])
			if len(args) == 3 {
				if conds[asString(args[0])] {
					return t.resolveString(args[1], conds, vars)
				}
				return t.resolveString(args[2], conds, vars)
			}
		case isIntrinsic(x, "Ref"):
			return t.substituteName(asString(x["Ref"]), vars)
		case isIntrinsic(x, "Fn::Sub"):
			text := subText(x)
			inner := map[string]string{}
			if l := asList(x["Fn::Sub"]); len(l) == 2 {
				for name, val := range asMap(l[1]) {
					inner[name] = t.resolveString(val, conds, nil)
				}
			}
			return subVarRe.ReplaceAllStringFunc(text, func(m string) string {
				name := m[2 : len(m)-1]
				if strings.HasPrefix(name, "!") {
					return "${" + name[1:] + "}"
				}
				return t.substituteName(name, inner)
			})
		}
	}
	return "«?»"
}

func (t *cfnTemplate) substituteName(name string, vars map[string]string) string {
	if v, ok := vars[name]; ok {
		return v
	}
	if p := asMap(dig(t.root["Parameters"], name)); p != nil {
		if def, ok := p["Default"]; ok {
			return asString(def)
		}
	}
	return "«" + name + "»"
}

// bodyVariant is one resolved dashboard body and the conditions it was resolved for.
type bodyVariant struct {
	conds map[string]bool
	text  string
}

func (t *cfnTemplate) bodyVariants(v any) []bodyVariant {
	used := map[string]bool{}
	conditionsIn(v, used)
	names := slices.Sorted(mapKeysOf(used))
	var out []bodyVariant
	for mask := 0; mask < 1<<len(names); mask++ {
		conds := map[string]bool{}
		for i, n := range names {
			conds[n] = mask&(1<<i) != 0
		}
		out = append(out, bodyVariant{conds: conds, text: t.resolveString(v, conds, nil)})
	}
	return out
}

func mapKeysOf[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// searchRe reads the schema and metric name of a SEARCH expression.
var searchRe = regexp.MustCompile(`SEARCH\(\s*'\{([^}]*)\}([^']*)'`)
var searchMetricRe = regexp.MustCompile(`MetricName\s*=\s*"([^"]+)"`)

// dashboardMetricRefs reads the metrics of one resolved body; problems are widgets it cannot check.
func dashboardMetricRefs(id string, v bodyVariant) ([]metricRef, []string) {
	var on []string
	for _, n := range slices.Sorted(mapKeysOf(v.conds)) {
		if v.conds[n] {
			on = append(on, n)
		}
	}
	label := fmt.Sprintf("%s (conditions true: %v)", id, on)
	var body struct {
		Widgets []struct {
			Type       string `json:"type"`
			Properties struct {
				Title   string  `json:"title"`
				Region  string  `json:"region"`
				Metrics [][]any `json:"metrics"`
			} `json:"properties"`
		} `json:"widgets"`
	}
	if err := json.Unmarshal([]byte(v.text), &body); err != nil {
		return nil, []string{fmt.Sprintf("%s: DashboardBody is not valid JSON: %v", label, err)}
	}
	var refs []metricRef
	var problems []string
	for wi, w := range body.Widgets {
		if w.Type != "metric" {
			continue
		}
		where := fmt.Sprintf("%s widget %q", id, w.Properties.Title)
		if w.Properties.Region == "" {
			problems = append(problems, where+": no region")
		}
		if len(w.Properties.Metrics) == 0 {
			problems = append(problems, fmt.Sprintf("%s (widget %d): no metrics", where, wi))
		}
		for _, m := range w.Properties.Metrics {
			var parts []string
			for _, item := range m {
				switch x := item.(type) {
				case string:
					parts = append(parts, x)
				case map[string]any:
					expr, _ := x["expression"].(string)
					if expr == "" || !strings.Contains(expr, "SEARCH(") {
						continue
					}
					sm := searchRe.FindStringSubmatch(expr)
					mm := searchMetricRe.FindStringSubmatch(expr)
					if sm == nil || mm == nil {
						problems = append(problems, fmt.Sprintf("%s: SEARCH expression %q needs a schema {Namespace,Dim…} and MetricName=\"…\"", where, expr))
						continue
					}
					schema := strings.Split(sm[1], ",")
					ref := metricRef{where: where, namespace: strings.TrimSpace(schema[0]), name: mm[1], search: true}
					for _, d := range schema[1:] {
						ref.dims = append(ref.dims, dimRef{name: strings.TrimSpace(d)})
					}
					refs = append(refs, ref)
				}
			}
			if len(parts) == 0 {
				continue
			}
			if slices.Contains(parts, ".") {
				problems = append(problems, fmt.Sprintf("%s: metric %v uses the \".\" shorthand; write each metric in full so it can be checked", where, parts))
				continue
			}
			if len(parts) < 2 || len(parts)%2 != 0 {
				problems = append(problems, fmt.Sprintf("%s: metric %v is not [namespace, name, dimension, value, …]", where, parts))
				continue
			}
			ref := metricRef{where: where, namespace: parts[0], name: parts[1]}
			for i := 2; i < len(parts); i += 2 {
				ref.dims = append(ref.dims, dimRef{name: parts[i], value: parts[i+1]})
			}
			refs = append(refs, ref)
		}
	}
	return refs, problems
}

// checkHealthMetrics: every metric of every alarm and dashboard (in every combination of conditions)
// is one that is emitted, with its dimensions.
func checkHealthMetrics(t *cfnTemplate) []string {
	var problems []string
	for _, id := range t.resourceIDs("AWS::CloudWatch::Alarm") {
		for _, ref := range alarmMetricRefs(id, t.props(id)) {
			problems = append(problems, t.checkMetricRef(ref)...)
		}
	}
	for _, id := range t.resourceIDs("AWS::CloudWatch::AnomalyDetector") {
		m := asMap(t.props(id)["SingleMetricAnomalyDetector"])
		ref := metricRef{where: id, namespace: asString(m["Namespace"]), name: asString(m["MetricName"])}
		for _, d := range asList(m["Dimensions"]) {
			ref.dims = append(ref.dims, dimRef{name: asString(dig(d, "Name")), value: dig(d, "Value")})
		}
		problems = append(problems, t.checkMetricRef(ref)...)
	}
	for _, id := range t.resourceIDs("AWS::CloudWatch::Dashboard") {
		for _, v := range t.bodyVariants(t.props(id)["DashboardBody"]) {
			refs, ps := dashboardMetricRefs(id, v)
			problems = append(problems, ps...)
			for _, ref := range refs {
				problems = append(problems, t.checkMetricRef(ref)...)
			}
		}
	}
	return sortedUnique(problems)
}

func sortedUnique(s []string) []string {
	sort.Strings(s)
	return slices.Compact(s)
}

// ---------------------------------------------------------------------------------------------------
// Alarm routing: one page, through the alarm topic, with a runbook section for each alarm
// ---------------------------------------------------------------------------------------------------

// pipelineAlarmTag is the tag the alarm function recognises Tributary's own alarms by.
const pipelineAlarmTag = "tributary:pipeline-alarm"

func tagValue(p map[string]any, key string) string {
	for _, tg := range asList(p["Tags"]) {
		for _, b := range branches(tg) {
			if asString(dig(b, "Key")) == key {
				return asString(dig(b, "Value"))
			}
		}
	}
	return ""
}

// alarmTopics are the SNS topics the alarm function subscribes to.
func (t *cfnTemplate) alarmTopics() []string {
	var topics []string
	for _, ev := range asMap(t.props("AlarmFunction")["Events"]) {
		if dig(ev, "Type") == "SNS" {
			if res, _, ok := target(dig(ev, "Properties", "Topic")); ok {
				topics = append(topics, res)
			}
		}
	}
	sort.Strings(topics)
	return topics
}

// notifies reports whether an action list may notify one of topics, and whether it always does.
func notifies(v any, topics []string) (may, always bool) {
	bs := branches(v)
	if v == nil {
		return false, false
	}
	always = true
	if isIntrinsic(v, "Fn::If") {
		// A NoValue branch means "sometimes not".
		for _, b := range asList(asMap(v)["Fn::If"])[1:] {
			if isNoValue(b) {
				always = false
			}
		}
	}
	for _, b := range bs {
		hit := false
		for _, item := range asList(b) {
			if res, _, ok := target(item); ok && slices.Contains(topics, res) {
				hit = true
			}
		}
		may = may || hit
		always = always && hit
	}
	return may, always
}

// tagValueRe is what AWS allows in a tag value.
var tagValueRe = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)

var alarmRuleRe = regexp.MustCompile(`ALARM\("\$\{([A-Za-z0-9]+)\}"\)`)

func checkHealthAlarms(t *cfnTemplate, runbook string) []string {
	var problems []string
	topics := t.alarmTopics()
	if len(topics) == 0 {
		return []string{"AlarmFunction: no SNS event names the alarm topic; pipeline alarms cannot reach it"}
	}
	composites := t.resourceIDs("AWS::CloudWatch::CompositeAlarm")
	metricAlarms := t.resourceIDs("AWS::CloudWatch::Alarm")
	for _, id := range append(slices.Clone(metricAlarms), composites...) {
		p := t.props(id)
		kind := tagValue(p, pipelineAlarmTag)
		if kind == "" {
			problems = append(problems, fmt.Sprintf("%s: no %s tag; the alarm function cannot recognise it", id, pipelineAlarmTag))
		}
		if name := subText(p["AlarmName"]); !strings.HasPrefix(name, "${AWS::StackName}-") {
			problems = append(problems, fmt.Sprintf("%s: AlarmName %q must start with ${AWS::StackName}- (the EventBridge exclusion and the alarm function rely on it)", id, name))
		}
		desc := asString(p["AlarmDescription"])
		switch {
		case desc == "":
			problems = append(problems, id+": no AlarmDescription")
		case kind != "" && !strings.Contains(desc, "docs/operations.md#"+kind):
			problems = append(problems, fmt.Sprintf("%s: AlarmDescription does not point at its runbook section docs/operations.md#%s", id, kind))
		}
		if kind != "" && !strings.Contains(runbook, `<a id="`+kind+`"></a>`) {
			problems = append(problems, fmt.Sprintf("%s: docs/operations.md has no section <a id=%q></a>", id, kind))
		}
		for _, tg := range asList(p["Tags"]) {
			for _, b := range branches(tg) {
				v := dig(b, "Value")
				text := subVarRe.ReplaceAllString(subText(v), "")
				if s, ok := v.(string); ok {
					text = s
				}
				if !tagValueRe.MatchString(text) {
					problems = append(problems, fmt.Sprintf("%s: tag %s value %q has characters CloudWatch refuses in tags (letters, digits, spaces and _ . : / = + - @ only)", id, asString(dig(b, "Key")), text))
				}
			}
		}
		for _, key := range []string{"tributary:stack", "Priority"} {
			if tagValue(p, key) == "" && !isIntrinsic(findTag(p, key), "Ref") {
				problems = append(problems, fmt.Sprintf("%s: no %s tag", id, key))
			}
		}
	}
	for _, id := range metricAlarms {
		p := t.props(id)
		th := p["Threshold"]
		if isIntrinsic(th, "Ref") {
			param := asMap(dig(t.root["Parameters"], asString(dig(th, "Ref"))))
			if param == nil || param["Default"] == nil {
				problems = append(problems, fmt.Sprintf("%s: Threshold refers to %v, which is no parameter with a default", id, dig(th, "Ref")))
			}
		} else if th != nil && th != "0" {
			problems = append(problems, fmt.Sprintf("%s: Threshold %v is fixed; make it a parameter with a sensible default (only 0, \"any\", may stay literal)", id, th))
		}
		if th == nil && p["ThresholdMetricId"] == nil {
			problems = append(problems, id+": neither Threshold nor ThresholdMetricId")
		}
		if may, always := notifies(p["AlarmActions"], topics); always {
			problems = append(problems, fmt.Sprintf("%s: a member alarm that always notifies the alarm topic pages on its own; only the composite alarm should (use PageEachPipelineAlarm)", id))
		} else if !may && p["AlarmActions"] != nil {
			problems = append(problems, fmt.Sprintf("%s: AlarmActions name no topic the alarm function subscribes to", id))
		}
	}
	if len(composites) != 1 {
		problems = append(problems, fmt.Sprintf("want exactly one AWS::CloudWatch::CompositeAlarm (the one page), found %d", len(composites)))
	}
	for _, c := range composites {
		p := t.props(c)
		for _, key := range []string{"AlarmActions", "OKActions"} {
			if _, always := notifies(p[key], topics); !always {
				problems = append(problems, fmt.Sprintf("%s: %s must notify %v, so ALARM opens the alert and OK closes it", c, key, topics))
			}
		}
		members := map[string]string{} // member -> condition guarding it in the rule ("" = none)
		var walk func(v any, cond string)
		walk = func(v any, cond string) {
			switch x := v.(type) {
			case map[string]any:
				if isIntrinsic(x, "Fn::If") {
					args := asList(x["Fn::If"])
					if len(args) == 3 {
						walk(args[1], asString(args[0]))
						walk(args[2], "")
						return
					}
				}
				if s := subText(x); s != "" && isIntrinsic(x, "Fn::Sub") {
					for _, m := range alarmRuleRe.FindAllStringSubmatch(s, -1) {
						members[m[1]] = cond
					}
					return
				}
				for _, c := range x {
					walk(c, cond)
				}
			case []any:
				for _, c := range x {
					walk(c, cond)
				}
			case string:
				if strings.Contains(x, "ALARM(") {
					problems = append(problems, fmt.Sprintf("%s: AlarmRule names %q literally; use !Sub 'ALARM(\"${LogicalId}\")' so the name follows the resource", c, x))
				}
			}
		}
		walk(p["AlarmRule"], "")
		for _, id := range metricAlarms {
			cond, ok := members[id]
			own := asString(dig(t.resources()[id], "Condition"))
			switch {
			case !ok:
				problems = append(problems, fmt.Sprintf("%s: not in %s's AlarmRule, so it never pages", id, c))
			case own != "" && cond != own:
				problems = append(problems, fmt.Sprintf("%s: exists only if %s, but %s names it outside !If [%s, …]", id, own, c, own))
			}
		}
		for m := range members {
			if dig(t.resources()[m], "Type") != "AWS::CloudWatch::Alarm" {
				problems = append(problems, fmt.Sprintf("%s: AlarmRule names %s, which is no metric alarm of this template", c, m))
			}
		}
	}
	problems = append(problems, checkAlarmEventRule(t)...)
	return sortedUnique(problems)
}

func findTag(p map[string]any, key string) any {
	for _, tg := range asList(p["Tags"]) {
		for _, b := range branches(tg) {
			if asString(dig(b, "Key")) == key {
				return dig(b, "Value")
			}
		}
	}
	return nil
}

// checkAlarmEventRule: an EventBridge rule that sends alarm state changes to the alarm function must
// leave the stack's own alarms out, or each member of the composite alarm pages through it.
func checkAlarmEventRule(t *cfnTemplate) []string {
	var problems []string
	want := "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:${AWS::StackName}-"
	events := asMap(t.props("AlarmFunction")["Events"])
	for _, name := range sortedKeys(events) {
		ev := events[name]
		if dig(ev, "Type") != "EventBridgeRule" {
			continue
		}
		pattern := dig(ev, "Properties", "Pattern")
		if !slices.Contains(stringsOf(dig(pattern, "source")), "aws.cloudwatch") {
			continue
		}
		excluded := false
		for _, r := range asList(dig(pattern, "resources")) {
			if subText(dig(r, "anything-but", "prefix")) == want {
				excluded = true
			}
		}
		if !excluded {
			problems = append(problems, fmt.Sprintf("AlarmFunction event %s: the pattern must exclude the stack's own alarms (resources: [{anything-but: {prefix: !Sub %q}}]), or every member alarm pages through EventBridge", name, want))
		}
	}
	return problems
}

// dashboardRequired are the metrics the issue asks the dashboard to show (namespace/name).
var dashboardRequired = []string{
	"Tributary/EventsIn", "Tributary/EventsOut", "Tributary/EventsIndexed", "Tributary/LakeRows",
	"Tributary/RecordsFailed", "Tributary/RecordsReingested", "Tributary/EventsDeadLettered",
	"Tributary/BulkLatency", "Tributary/Throttled", "Tributary/LakeLagSeconds", "Tributary/LakeBytes", "Tributary/LakeFiles",
	"AWS/Firehose/IncomingRecords", "AWS/Firehose/DeliveryToS3.DataFreshness", "AWS/Firehose/DeliveryToS3.Success",
	"AWS/Lambda/Errors", "AWS/Lambda/Throttles", "AWS/Lambda/Duration", "AWS/Lambda/ConcurrentExecutions",
	"AWS/ES/ClusterStatus.red", "AWS/ES/ClusterStatus.yellow", "AWS/ES/FreeStorageSpace", "AWS/ES/ThreadpoolWriteRejected",
}

// checkDashboardCoverage: the dashboards, in the variant where every condition holds, show each of
// the required metrics.
func checkDashboardCoverage(t *cfnTemplate, required []string) []string {
	shown := map[string]bool{}
	for _, id := range t.resourceIDs("AWS::CloudWatch::Dashboard") {
		for _, v := range t.bodyVariants(t.props(id)["DashboardBody"]) {
			refs, _ := dashboardMetricRefs(id, v)
			for _, r := range refs {
				shown[r.String()] = true
			}
		}
	}
	var problems []string
	for _, m := range required {
		if !shown[m] {
			problems = append(problems, "no dashboard widget shows "+m)
		}
	}
	return problems
}

// healthFixtureProblems are what the checks must say about testdata/template/health.yaml.
var healthFixtureProblems = []string{
	// metrics nobody emits, or not with these dimensions
	`Typo: Tributary/RecordsFaild is not in emf.Catalogue: no function emits it, so this stays empty`,
	`WrongDimension: Tributary/RecordsFailed with dimensions [FunctionName]; the code emits it with [Function]`,
	`WrongFunction: Tributary/EventsIndexed for Function=transform, but only indexer emits it`,
	`LambdaErrors.Metrics[0]: AWS/Lambda/Errors with dimensions [Function]; AWS/Lambda publishes it with [FunctionName]`,
	`LambdaErrors.Metrics[1]: AWS/ES/ClusterStatus.red with dimensions [DomainName]; AWS/ES publishes it with [ClientId DomainName]`,
	`LambdaErrors.Metrics[2]: AWS/SQS/ApproximateNumberOfMessagesVisible: dimension QueueName must name this template's AWS::SQS::Queue, not some-queue`,
	`Board widget "in": Tributary/EventsOutt is not in emf.Catalogue: no function emits it, so this stays empty`,
	`Board widget "in": Tributary/RecordsOk for Function=indexer, but only transform emits it`,
	`Board widget "in": metric [. RecordsIn . .] uses the "." shorthand; write each metric in full so it can be checked`,
	`Board widget "in": AWS/Firehose/IncomingRecord: AWS/Firehose does not publish IncomingRecord (known: IncomingRecords, IncomingBytes, IncomingPutRequests, ThrottledRecords, DeliveryToS3.DataFreshness, DeliveryToS3.Success, DeliveryToS3.Records, DeliveryToS3.Bytes, ExecuteProcessing.Duration, ExecuteProcessing.Success, SucceedProcessing.Records, SucceedProcessing.Bytes)`,
	`Board widget "in": AWS/Firehose/IncomingRecord: dimension DeliveryStreamName must name this template's AWS::KinesisFirehose::DeliveryStream, not «Queue»`,
	`Board widget "in": Tributary/LogGroupEvents with dimensions [Function]; the code emits it with [Function LogGroup]`,
	// only in the variant where HasThing holds
	`Board widget "maybe": AWS/Kinesis/GetRecords.Bytes: namespace AWS/Kinesis is not known to this check; add what it publishes to awsMetrics`,
	`Board widget "maybe": no region`,
	// routing, descriptions, thresholds
	`AlarmFunction event StateChange: the pattern must exclude the stack's own alarms (resources: [{anything-but: {prefix: !Sub "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:${AWS::StackName}-"}}]), or every member alarm pages through EventBridge`,
	`Degraded: AlarmRule names "ALARM(\"literal-name\")" literally; use !Sub 'ALARM("${LogicalId}")' so the name follows the resource`,
	`Degraded: OKActions must notify [AlarmTopic], so ALARM opens the alert and OK closes it`,
	`Degraded: docs/operations.md has no section <a id="pipeline-degraded"></a>`,
	`LambdaErrors: docs/operations.md has no section <a id="lambda-errors"></a>`,
	`LambdaErrors: not in Degraded's AlarmRule, so it never pages`,
	`WrongDimension: AlarmName "wrong-dimension" must start with ${AWS::StackName}- (the EventBridge exclusion and the alarm function rely on it)`,
	`WrongDimension: Threshold 5 is fixed; make it a parameter with a sensible default (only 0, "any", may stay literal)`,
	`WrongDimension: a member alarm that always notifies the alarm topic pages on its own; only the composite alarm should (use PageEachPipelineAlarm)`,
	`WrongDimension: docs/operations.md has no section <a id="wrong"></a>`,
	`WrongDimension: not in Degraded's AlarmRule, so it never pages`,
	`WrongFunction: AlarmActions name no topic the alarm function subscribes to`,
	`WrongFunction: Threshold refers to NoDefault, which is no parameter with a default`,
	`WrongFunction: exists only if HasThing, but Degraded names it outside !If [HasThing, …]`,
	`WrongFunction: no AlarmDescription`,
	`WrongFunction: no Priority tag`,
	`WrongFunction: no tributary:pipeline-alarm tag; the alarm function cannot recognise it`,
	`WrongFunction: no tributary:stack tag`,
	`Typo: tag tributary:replay value "replay --queue ''" has characters CloudWatch refuses in tags (letters, digits, spaces and _ . : / = + - @ only)`,
	// coverage
	`no dashboard widget shows Tributary/RecordsReingested`,
}

func TestTemplateResolveSub(t *testing.T) {
	t.Parallel()
	tpl, err := parseTemplate([]byte(`
Parameters:
  Width:
    Type: Number
    Default: 3
Resources:
  Fn:
    Type: AWS::Serverless::Function
Body: !Sub
  - '[${Inner}|${Fn}|${Fn.Arn}|${AWS::Region}|${Width}|${!Literal}|${Pick}]'
  - Inner: !If [On, !Sub ['<${Name} ${Width}>', {Name: !Select [1, !Split ["/", x/y]]}], ""]
    Pick: !If [On, !Ref Width, "2"]
`))
	if err != nil {
		t.Fatal(err)
	}
	body := tpl.root["Body"]
	got := map[string]string{}
	for _, v := range tpl.bodyVariants(body) {
		got[fmt.Sprint(v.conds)] = v.text
	}
	want := map[string]string{
		"map[On:true]":  "[<«?» 3>|«Fn»|«Fn.Arn»|«AWS::Region»|3|${Literal}|3]",
		"map[On:false]": "[|«Fn»|«Fn.Arn»|«AWS::Region»|3|${Literal}|2]",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("variants:\n got  %q\n want %q", got, want)
	}
}

// TestTemplateHealthVariants: the real dashboard resolves in every combination of its conditions, and
// each variant shows the widgets of the parts that exist.
func TestTemplateHealthVariants(t *testing.T) {
	t.Parallel()
	tpl, err := readTemplate("template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	variants := tpl.bodyVariants(tpl.props("Dashboard")["DashboardBody"])
	if len(variants) < 4 {
		t.Fatalf("%d variants; the dashboard should depend on HasOpenSearch, IndexerCallsDomain and the silence conditions", len(variants))
	}
	for _, v := range variants {
		refs, problems := dashboardMetricRefs("Dashboard", v)
		for _, p := range problems {
			t.Error(p)
		}
		hasES, hasIndexer := false, false
		for _, r := range refs {
			hasES = hasES || r.namespace == "AWS/ES"
			hasIndexer = hasIndexer || r.String() == "Tributary/BulkLatency"
		}
		if hasES != v.conds["IndexerCallsDomain"] || hasIndexer != v.conds["HasOpenSearch"] {
			t.Errorf("conditions %v: OpenSearch widgets %v, indexer widgets %v", v.conds, hasES, hasIndexer)
		}
	}
}
