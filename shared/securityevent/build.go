package securityevent

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/valyala/fastjson"

	"github.com/tributary-logs/tributary/shared/alert"
	"github.com/tributary-logs/tributary/shared/rules"
)

// BuildOptions add to every alert.
type BuildOptions struct {
	Tags       []string
	Responders []alert.Responder
}

// Build turns a rule match on event ev into an alert that answers who, what,
// where and when. The result is not yet normalized (see alert.Normalize).
func Build(m *rules.Match, ev *fastjson.Value, opts BuildOptions) alert.Alert {
	a := alert.Alert{
		Action:     m.Action,
		Alias:      m.Alias,
		Priority:   m.Priority,
		Rule:       m.Rule.ID,
		Account:    str(ev, "account"),
		Region:     str(ev, "region"),
		Time:       str(ev, "time"),
		Details:    map[string]string{},
		Responders: append(append([]alert.Responder(nil), m.Responders...), opts.Responders...),
	}
	a.Tags = append(append(a.Tags, m.Rule.Tags...), opts.Tags...)
	var c content
	switch str(ev, "detail-type") {
	case DetailAPICall, DetailSignIn, DetailServiceEvt:
		c = cloudTrail(ev.Get("detail"), m)
	case DetailGuardDuty:
		c = guardDuty(ev.Get("detail"), a.Region)
	case DetailSecurityHub:
		c = securityHub(ev.Get("detail", "findings", "0"), a.Region)
	case DetailConfig:
		c = configChange(ev.Get("detail"), a.Region)
	default:
		c = generic(ev)
	}
	if a.Account == "" {
		a.Account = c.account
	}
	if a.Region == "" {
		a.Region = c.region
	}
	if m.Severity != nil {
		a.Details["severity"] = fmt.Sprintf("%s (%s)", fmtNum(m.Severity.Score), m.Severity.Label)
		a.Tags = append(a.Tags, "severity:"+strings.ToLower(m.Severity.Label))
	}
	for _, kv := range c.details {
		if kv.v != "" && kv.v != rules.Missing {
			a.Details[kv.k] = kv.v
		}
	}
	a.Details["rule"] = m.Rule.ID
	if a.Account != "" {
		a.Details["account"] = a.Account
	}
	if a.Region != "" {
		a.Details["region"] = a.Region
	}
	if id := str(ev, "id"); id != "" {
		a.Details["eventId"] = id
		a.Event = id
	}
	a.Entity = c.entity
	a.Source = c.source

	a.Message = m.Rule.Title + ": " + c.subject
	if m.Severity != nil {
		a.Message = fmt.Sprintf("%s (%s): %s", m.Rule.Title, m.Severity.Label, c.subject)
	}
	if m.Message != "" {
		a.Message = m.Message
	}
	if a.Action == alert.Close {
		a.Note = c.closeNote
		if a.Note == "" {
			a.Note = "Closed by rule " + m.Rule.ID
		}
	}
	a.Description = describe(m, &a, c)
	return a
}

type kv struct{ k, v string }

// content is what a source-specific builder learns from the event.
type content struct {
	subject   string // after "Title: " in the message
	who       []string
	what      []string
	where     []string
	when      []string
	extra     []string // e.g. finding description
	links     []kv
	details   []kv
	entity    string
	source    string
	account   string
	region    string
	closeNote string
}

func describe(m *rules.Match, a *alert.Alert, c content) string {
	var b strings.Builder
	b.WriteString(m.Rule.Title)
	if m.Rule.Description != "" {
		b.WriteString("\n" + m.Rule.Description)
	}
	b.WriteString("\n")
	section := func(name string, lines []string) {
		if len(lines) == 0 {
			return
		}
		fmt.Fprintf(&b, "\n%s\n", name)
		for _, l := range lines {
			fmt.Fprintf(&b, "  %s\n", l)
		}
	}
	section("Who", c.who)
	section("What", c.what)
	section("Where", c.where)
	section("When", c.when)
	if len(c.extra) > 0 {
		b.WriteString("\n" + strings.Join(c.extra, "\n") + "\n")
	}
	if len(c.links) > 0 {
		b.WriteString("\nLinks\n")
		for _, l := range c.links {
			fmt.Fprintf(&b, "  %s: %s\n", l.k, l.v)
		}
	}
	fmt.Fprintf(&b, "\nRule: %s", m.Rule.ID)
	if len(m.Rule.Controls) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(m.Rule.Controls, ", "))
	}
	if m.Rule.Runbook != "" {
		fmt.Fprintf(&b, "\nRunbook: %s", m.Rule.Runbook)
	}
	fmt.Fprintf(&b, "\nAlias: %s", a.Alias)
	return b.String()
}

// --- CloudTrail ------------------------------------------------------------

func cloudTrail(d *fastjson.Value, m *rules.Match) content {
	c := content{source: "AWS CloudTrail"}
	if d == nil {
		return c
	}
	uid := d.Get("userIdentity")
	ptype := str(uid, "type")
	arn := str(uid, "arn")
	who := principalName(uid)
	issuer := str(uid, "sessionContext", "sessionIssuer", "arn")
	mfa := mfaUsed(d)
	eventName, eventSource := str(d, "eventName"), str(d, "eventSource")
	account := str(d, "recipientAccountId")
	if account == "" {
		account = str(uid, "accountId")
	}
	region := str(d, "awsRegion")
	c.account, c.region = account, region
	ip, ua := str(d, "sourceIPAddress"), str(d, "userAgent")
	errCode, errMsg := str(d, "errorCode"), str(d, "errorMessage")
	eventID := str(d, "eventID")

	c.subject = fmt.Sprintf("%s by %s", eventName, who)
	if ip != "" {
		c.subject += " from " + ip
	}
	if account != "" {
		c.subject += " in " + account
	}

	principal := arn
	if principal == "" {
		principal = str(uid, "principalId")
	}
	c.who = append(c.who, fmt.Sprintf("%s (%s)", orDash(principal), orDash(ptype)))
	if issuer != "" && issuer != arn {
		c.who = append(c.who, "session issued by "+issuer)
	}
	if ib := str(uid, "invokedBy"); ib != "" {
		c.who = append(c.who, "invoked by "+ib)
	}
	line := "MFA: " + orDash(mfa)
	if k := str(uid, "accessKeyId"); k != "" {
		line += ", access key " + k
	}
	c.who = append(c.who, line)
	if ip != "" || ua != "" {
		c.who = append(c.who, fmt.Sprintf("from %s, user agent %q", orDash(ip), ua))
	}

	c.what = append(c.what, fmt.Sprintf("%s %s", eventSource, eventName))
	if outcome := str(d, "responseElements", "ConsoleLogin"); outcome != "" {
		c.what = append(c.what, "outcome: "+outcome)
	}
	if errCode != "" || errMsg != "" {
		c.what = append(c.what, fmt.Sprintf("error: %s %s", errCode, errMsg))
	}
	params := keyParameters(eventName, d.Get("requestParameters"))
	for _, p := range params {
		c.what = append(c.what, p.k+": "+p.v)
	}
	created := createdIDs(d.Get("responseElements"))
	if len(created) > 0 {
		c.what = append(c.what, "created: "+strings.Join(created, ", "))
	}

	c.where = append(c.where, fmt.Sprintf("account %s, region %s", orDash(account), orDash(region)))
	var resources []string
	for _, r := range array(d.Get("resources")) {
		if a := str(r, "ARN"); a != "" {
			resources = append(resources, a)
		}
	}
	if len(resources) > 0 {
		c.where = append(c.where, "resources: "+strings.Join(limit(resources, 5), ", "))
	}
	c.when = append(c.when, str(d, "eventTime"))

	if eventID != "" && region != "" {
		c.links = append(c.links, kv{"CloudTrail event", fmt.Sprintf("https://%s.console.aws.amazon.com/cloudtrailv2/home?region=%s#/events/%s", region, region, url.PathEscape(eventID))})
	}

	c.details = append(c.details,
		kv{"principal", principal}, kv{"principalType", ptype}, kv{"userName", userName(uid)},
		kv{"sessionIssuer", issuer}, kv{"mfa", mfa}, kv{"accessKeyId", str(uid, "accessKeyId")},
		kv{"sourceIP", ip}, kv{"userAgent", ua}, kv{"eventName", eventName}, kv{"eventSource", eventSource},
		kv{"eventTime", str(d, "eventTime")}, kv{"cloudTrailEventId", eventID},
		kv{"errorCode", errCode}, kv{"errorMessage", errMsg}, kv{"consoleLogin", str(d, "responseElements", "ConsoleLogin")},
	)
	for i, p := range params {
		if i == 12 {
			break
		}
		c.details = append(c.details, kv{"request." + p.k, p.v})
	}
	if len(created) > 0 {
		c.details = append(c.details, kv{"created", strings.Join(created, ", ")})
	}
	if len(c.links) > 0 {
		c.details = append(c.details, kv{"cloudTrailURL", c.links[0].v})
	}
	c.entity = firstNonEmpty(resourceEntity(params), first(created), account)
	return c
}

// principalName is a short, readable name for the actor.
func principalName(uid *fastjson.Value) string {
	switch str(uid, "type") {
	case "Root":
		return "root"
	case "IAMUser":
		if n := str(uid, "userName"); n != "" {
			return n
		}
	case "AssumedRole":
		// arn:aws:sts::123:assumed-role/Role/session -> Role/session
		if _, rest, ok := strings.Cut(str(uid, "arn"), ":assumed-role/"); ok {
			return rest
		}
	case "AWSService":
		if ib := str(uid, "invokedBy"); ib != "" {
			return ib
		}
	}
	if a := str(uid, "arn"); a != "" {
		return a
	}
	if p := str(uid, "principalId"); p != "" {
		return p
	}
	return "unknown principal"
}

func userName(uid *fastjson.Value) string {
	if n := str(uid, "userName"); n != "" {
		return n
	}
	return str(uid, "sessionContext", "sessionIssuer", "userName")
}

// mfaUsed is "yes", "no" or "" (not recorded).
func mfaUsed(d *fastjson.Value) string {
	switch strings.ToLower(str(d, "additionalEventData", "MFAUsed")) {
	case "yes":
		return "yes"
	case "no":
		return "no"
	}
	switch str(d, "userIdentity", "sessionContext", "attributes", "mfaAuthenticated") {
	case "true":
		return "yes"
	case "false":
		return "no"
	}
	return ""
}

// keyParameters picks the request parameters a responder needs: a summary
// of the rules of a security group change, then the other parameters,
// flattened (CloudTrail's {"items": [...]} wrappers removed).
func keyParameters(eventName string, rp *fastjson.Value) []kv {
	if rp == nil || rp.Type() != fastjson.TypeObject {
		return nil
	}
	var out []kv
	if strings.Contains(eventName, "SecurityGroup") {
		if perms := permissions(rp.Get("ipPermissions")); len(perms) > 0 {
			out = append(out, kv{"rules", strings.Join(perms, "; ")})
		}
	}
	flat := flatten(rp, "", nil, 30)
	for _, p := range flat {
		if len(out) > 0 && strings.HasPrefix(p.k, "ipPermissions") {
			continue // summarized above
		}
		out = append(out, p)
	}
	return out
}

// permissions summarizes ipPermissions: "tcp 22 from 0.0.0.0/0, ::/0".
func permissions(v *fastjson.Value) []string {
	items := unwrapItems(v)
	var out []string
	for _, p := range items {
		proto := str(p, "ipProtocol")
		if proto == "-1" {
			proto = "all traffic"
		}
		ports := ""
		from, to := p.Get("fromPort"), p.Get("toPort")
		if from != nil && to != nil && proto != "all traffic" {
			f, t := string(from.MarshalTo(nil)), string(to.MarshalTo(nil))
			ports = " " + f
			if f != t {
				ports += "-" + t
			}
		}
		var srcs []string
		for _, r := range unwrapItems(p.Get("ipRanges")) {
			srcs = append(srcs, str(r, "cidrIp"))
		}
		for _, r := range unwrapItems(p.Get("ipv6Ranges")) {
			srcs = append(srcs, str(r, "cidrIpv6"))
		}
		for _, r := range unwrapItems(p.Get("groups")) {
			srcs = append(srcs, str(r, "groupId"))
		}
		for _, r := range unwrapItems(p.Get("prefixListIds")) {
			srcs = append(srcs, str(r, "prefixListId"))
		}
		out = append(out, fmt.Sprintf("%s%s from %s", proto, ports, orDash(strings.Join(srcs, ", "))))
	}
	return out
}

// unwrapItems returns the elements of a CloudTrail list, written either as
// {"items": [...]} or as [...].
func unwrapItems(v *fastjson.Value) []*fastjson.Value {
	if v == nil {
		return nil
	}
	if it := v.Get("items"); it != nil {
		v = it
	}
	arr, _ := v.Array()
	return arr
}

// flatten lists the scalar leaves of v as dotted keys, at most max of them.
func flatten(v *fastjson.Value, prefix string, out []kv, max int) []kv {
	if len(out) >= max || v == nil {
		return out
	}
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		var keys []string
		o.Visit(func(k []byte, _ *fastjson.Value) { keys = append(keys, string(k)) })
		for _, k := range keys {
			child := v.Get(k)
			key := k
			if prefix != "" {
				key = prefix + "." + k
			}
			if k == "items" {
				key = prefix
			}
			out = flatten(child, key, out, max)
		}
	case fastjson.TypeArray:
		arr, _ := v.Array()
		for i, e := range arr {
			out = flatten(e, prefix+"["+strconv.Itoa(i)+"]", out, max)
		}
	case fastjson.TypeNull:
	default:
		s := str(v)
		if s == rules.Missing {
			return out
		}
		s, _ = alert.Truncate(s, 300)
		out = append(out, kv{prefix, s})
	}
	return out
}

// createdIDs finds the ids a call created: responseElements keys ending in
// "Id" (vpcId, groupId, routeTableId, ...), at most five.
func createdIDs(re *fastjson.Value) []string {
	if re == nil || re.Type() != fastjson.TypeObject {
		return nil
	}
	var out []string
	for _, p := range flatten(re, "", nil, 40) {
		last := p.k[strings.LastIndex(p.k, ".")+1:]
		if strings.HasSuffix(last, "Id") && last != "requestId" && last != "ownerId" && !strings.HasSuffix(last, "OwnerId") &&
			!strings.Contains(strings.ToLower(p.v), " ") && !contains(out, p.v) {
			out = append(out, p.v)
		}
	}
	return limit(out, 5)
}

// resourceEntity picks the main resource of a request as the entity.
func resourceEntity(params []kv) string {
	for _, want := range []string{"groupId", "vpcId", "networkAclId", "routeTableId", "internetGatewayId", "customerGatewayId",
		"bucketName", "keyId", "name", "roleName", "userName", "groupName", "policyArn", "accountId", "policyId"} {
		for _, p := range params {
			if p.k == want {
				return p.v
			}
		}
	}
	return ""
}

// --- GuardDuty -------------------------------------------------------------

func guardDuty(d *fastjson.Value, region string) content {
	c := content{source: "Amazon GuardDuty"}
	if d == nil {
		return c
	}
	if r := str(d, "region"); r != "" {
		region = r
	}
	id, ftype, title := str(d, "id"), str(d, "type"), str(d, "title")
	account := str(d, "accountId")
	c.account, c.region = account, region
	res := d.Get("resource")
	rtype := str(res, "resourceType")
	instance := str(res, "instanceDetails", "instanceId")
	akUser := str(res, "accessKeyDetails", "userName")
	akID := str(res, "accessKeyDetails", "accessKeyId")
	svc := d.Get("service")
	action := svc.Get("action")
	actionType := str(action, "actionType")
	remote := remoteIP(action)
	ip, country, org := str(remote, "ipAddressV4"), str(remote, "country", "countryName"), str(remote, "organization", "asnOrg")
	api := str(action, "awsApiCallAction", "api")
	count := str(svc, "count")
	first, last := str(svc, "eventFirstSeen"), str(svc, "eventLastSeen")

	c.subject = title
	if c.subject == rules.Missing || c.subject == "" {
		c.subject = ftype
	}
	if akUser != "" || akID != "" {
		c.who = append(c.who, fmt.Sprintf("IAM principal %s, access key %s (%s)", orDash(akUser), orDash(akID), str(res, "accessKeyDetails", "userType")))
	}
	if ip != "" {
		line := "remote " + ip
		if country != "" || org != "" {
			line += fmt.Sprintf(" (%s, %s)", orDash(country), orDash(org))
		}
		c.who = append(c.who, line)
	}
	c.what = append(c.what, "finding type "+ftype)
	if actionType != "" {
		line := "action " + actionType
		if api != "" {
			line += ": " + api
		}
		c.what = append(c.what, line)
	}
	if count != "" {
		c.what = append(c.what, "seen "+count+" times")
	}
	target := rtype
	if instance != "" {
		target += " " + instance
	}
	c.where = append(c.where, fmt.Sprintf("account %s, region %s, resource %s", orDash(account), orDash(region), orDash(target)))
	c.when = append(c.when, fmt.Sprintf("first seen %s, last seen %s (finding updated %s)", orDash(first), orDash(last), str(d, "updatedAt")))
	if desc := str(d, "description"); desc != "" {
		c.extra = append(c.extra, desc)
	}
	if id != "" && region != "" {
		c.links = append(c.links, kv{"GuardDuty finding", fmt.Sprintf("https://%s.console.aws.amazon.com/guardduty/home?region=%s#/findings?macros=current&fId=%s", region, region, url.QueryEscape(id))})
	}
	c.details = []kv{{"findingId", id}, {"findingType", ftype}, {"title", title}, {"resourceType", rtype}, {"instanceId", instance},
		{"accessKeyId", akID}, {"userName", akUser}, {"actionType", actionType}, {"api", api}, {"remoteIp", ip},
		{"remoteCountry", country}, {"remoteOrg", org}, {"count", count}, {"firstSeen", first}, {"lastSeen", last}}
	if len(c.links) > 0 {
		c.details = append(c.details, kv{"guardDutyURL", c.links[0].v})
	}
	c.entity = firstNonEmpty(instance, akUser, rtype)
	c.closeNote = "GuardDuty finding archived"
	return c
}

// remoteIP finds remoteIpDetails in whichever action the finding has.
func remoteIP(action *fastjson.Value) *fastjson.Value {
	if action == nil {
		return nil
	}
	for _, a := range []string{"networkConnectionAction", "awsApiCallAction", "kubernetesApiCallAction", "rdsLoginAttemptAction"} {
		if r := action.Get(a, "remoteIpDetails"); r != nil {
			return r
		}
	}
	return action.Get("portProbeAction", "portProbeDetails", "0", "remoteIpDetails")
}

// --- Security Hub ----------------------------------------------------------

func securityHub(f *fastjson.Value, region string) content {
	c := content{source: "AWS Security Hub"}
	if f == nil {
		return c
	}
	if r := str(f, "Region"); r != "" {
		region = r
	}
	id, title, product := str(f, "Id"), str(f, "Title"), str(f, "ProductName")
	account := str(f, "AwsAccountId")
	c.account, c.region = account, region
	rtype, rid := str(f, "Resources", "0", "Type"), str(f, "Resources", "0", "Id")
	compliance, workflow, recState := str(f, "Compliance", "Status"), str(f, "Workflow", "Status"), str(f, "RecordState")
	var types []string
	for _, t := range array(f.Get("Types")) {
		types = append(types, str(t))
	}
	c.subject = title
	c.what = append(c.what, fmt.Sprintf("%s finding from %s", orDash(str(f, "Severity", "Label")), orDash(product)))
	if len(types) > 0 {
		c.what = append(c.what, "types: "+strings.Join(types, ", "))
	}
	if g := str(f, "GeneratorId"); g != "" {
		c.what = append(c.what, "generator: "+g)
	}
	if compliance != "" {
		c.what = append(c.what, "compliance: "+compliance)
	}
	c.where = append(c.where, fmt.Sprintf("account %s, region %s", orDash(account), orDash(region)))
	if rid != "" {
		c.where = append(c.where, fmt.Sprintf("resource %s %s", rtype, rid))
	}
	c.when = append(c.when, fmt.Sprintf("first observed %s, updated %s", orDash(str(f, "FirstObservedAt")), orDash(str(f, "UpdatedAt"))))
	if desc := str(f, "Description"); desc != "" {
		c.extra = append(c.extra, desc)
	}
	if rem := str(f, "Remediation", "Recommendation", "Text"); rem != "" {
		c.extra = append(c.extra, "Remediation: "+rem)
	}
	if u := str(f, "Remediation", "Recommendation", "Url"); u != "" {
		c.links = append(c.links, kv{"Remediation", u})
	}
	if id != "" && region != "" {
		c.links = append([]kv{{"Security Hub finding", securityHubURL(region, id)}}, c.links...)
	}
	c.details = []kv{{"findingId", id}, {"title", title}, {"product", product}, {"generatorId", str(f, "GeneratorId")},
		{"types", strings.Join(types, ", ")}, {"resourceType", rtype}, {"resourceId", rid},
		{"compliance", compliance}, {"workflow", workflow}, {"recordState", recState}, {"updatedAt", str(f, "UpdatedAt")}}
	if id != "" && region != "" {
		c.details = append(c.details, kv{"securityHubURL", securityHubURL(region, id)})
	}
	c.entity = firstNonEmpty(rid, account)
	c.closeNote = fmt.Sprintf("Security Hub finding resolved (record %s, workflow %s, compliance %s)", orDash(recState), orDash(workflow), orDash(compliance))
	return c
}

// securityHubURL opens the findings page filtered to one finding id (the
// console double-encodes the filter value).
func securityHubURL(region, id string) string {
	filter := url.QueryEscape(`\operator\:EQUALS\:` + id)
	return fmt.Sprintf("https://%s.console.aws.amazon.com/securityhub/home?region=%s#/findings?search=Id%%3D%s", region, region, url.QueryEscape(filter))
}

// --- AWS Config --------------------------------------------------------------

func configChange(d *fastjson.Value, region string) content {
	c := content{source: "AWS Config"}
	if d == nil {
		return c
	}
	if r := str(d, "awsRegion"); r != "" {
		region = r
	}
	rule, rtype, rid := str(d, "configRuleName"), str(d, "resourceType"), str(d, "resourceId")
	account := str(d, "awsAccountId")
	c.account, c.region = account, region
	newC, oldC := str(d, "newEvaluationResult", "complianceType"), str(d, "oldEvaluationResult", "complianceType")
	annotation := str(d, "newEvaluationResult", "annotation")
	c.subject = fmt.Sprintf("%s on %s %s", rule, rtype, rid)
	c.what = append(c.what, fmt.Sprintf("rule %s: %s (was %s)", rule, newC, orDash(oldC)))
	if annotation != "" {
		c.what = append(c.what, "annotation: "+annotation)
	}
	c.where = append(c.where, fmt.Sprintf("account %s, region %s, resource %s %s", orDash(account), orDash(region), rtype, rid))
	c.when = append(c.when, orDash(str(d, "newEvaluationResult", "resultRecordedTime")))
	if rule != "" && region != "" {
		c.links = append(c.links, kv{"Config rule", fmt.Sprintf("https://%s.console.aws.amazon.com/config/home?region=%s#/rules/details?configRuleName=%s", region, region, url.QueryEscape(rule))})
	}
	c.details = []kv{{"configRule", rule}, {"resourceType", rtype}, {"resourceId", rid}, {"compliance", newC},
		{"previousCompliance", oldC}, {"annotation", annotation}}
	if len(c.links) > 0 {
		c.details = append(c.details, kv{"configURL", c.links[0].v})
	}
	c.entity = firstNonEmpty(rid, account)
	c.closeNote = fmt.Sprintf("Config rule %s now %s for %s %s", rule, newC, rtype, rid)
	return c
}

// --- anything else (user rules on other events) ---------------------------

func generic(ev *fastjson.Value) content {
	dt, src := str(ev, "detail-type"), str(ev, "source")
	c := content{source: src, subject: fmt.Sprintf("%s from %s", dt, src)}
	c.what = append(c.what, fmt.Sprintf("%s (%s)", dt, src))
	c.where = append(c.where, fmt.Sprintf("account %s, region %s", str(ev, "account"), str(ev, "region")))
	c.when = append(c.when, str(ev, "time"))
	detail := ev.Get("detail")
	if detail != nil {
		text, _ := alert.Truncate(string(detail.MarshalTo(nil)), 4000)
		c.extra = append(c.extra, "Detail: "+text)
	}
	c.details = []kv{{"detailType", dt}, {"source", src}, {"time", str(ev, "time")}}
	var resources []string
	for _, r := range array(ev.Get("resources")) {
		resources = append(resources, str(r))
	}
	if len(resources) > 0 {
		c.details = append(c.details, kv{"resources", strings.Join(limit(resources, 5), ", ")})
		c.entity = resources[0]
	}
	c.closeNote = "Closed by a rule on " + dt
	return c
}

// --- helpers ---------------------------------------------------------------

// array returns v's elements, or nil when v is missing or not a list.
func array(v *fastjson.Value) []*fastjson.Value {
	if v == nil || v.Type() != fastjson.TypeArray {
		return nil
	}
	arr, _ := v.Array()
	return arr
}

// str returns the value at path as text ("" when missing; see rules.Lookup
// for the form of non-strings).
func str(v *fastjson.Value, path ...string) string {
	if v == nil {
		return ""
	}
	s := rules.Lookup(v, path...)
	if s == rules.Missing {
		return ""
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" && s != rules.Missing {
			return s
		}
	}
	return ""
}

func first(ss []string) string {
	if len(ss) == 0 {
		return ""
	}
	return ss[0]
}

func limit(ss []string, n int) []string {
	if len(ss) > n {
		return append(ss[:n:n], fmt.Sprintf("(+%d more)", len(ss)-n))
	}
	return ss
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
