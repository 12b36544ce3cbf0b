package alarm

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

// Tags on Tributary's own alarms (template.yaml, docs/operations.md): the
// alarm function recognises its pipeline alarms by TagPipelineAlarm and
// reads what a responder needs from the others.
const (
	TagPipelineAlarm = "tributary:pipeline-alarm" // the kind: the anchor of its runbook section
	TagStack         = "tributary:stack"          // the CloudFormation stack
	TagFunction      = "tributary:function"       // the function the alarm is about
	TagDeadLetters   = "tributary:dead-letters"   // s3://BUCKET/PREFIX/ or an SQS queue URL
	TagReplay        = "tributary:replay"         // the command that replays them
	TagStream        = "tributary:stream"         // the Firehose stream
	TagOwnLogGroups  = "tributary:own-log-groups" // prefix of Tributary's own log groups (silence: skipped)
	TagLogGroup      = "tributary:log-group"      // the subscribed log group (silence: checked first)
	TagDomainARN     = "tributary:domain-arn"     // the OpenSearch domain
)

// KindPipelineDegraded is the composite alarm over every pipeline alarm.
const KindPipelineDegraded = "pipeline-degraded"

// pipelineKind is what the function does for one kind of pipeline alarm.
type pipelineKind struct {
	since     bool // the replay command reads S3 objects and takes -since
	silence   bool // list the log groups' newest events
	composite bool // list the members in ALARM
}

// PipelineKinds is the table of the kinds template.yaml tags its alarms
// with. A kind that is not here (a newer template) is still recognised by
// its tag and gets the context its tags carry.
var PipelineKinds = map[string]pipelineKind{
	KindPipelineDegraded:        {composite: true},
	"processing-failed":         {since: true},
	"indexer-dead-letters":      {since: true},
	"firehose-freshness":        {},
	"indexer-throttled":         {},
	"indexer-failed-batches":    {},
	"lambda-errors":             {},
	"lambda-throttles":          {},
	"opensearch-red":            {},
	"opensearch-low-storage":    {},
	"opensearch-write-rejected": {},
	"lake-lag":                  {},
	"lake-dead-letters":         {},
	"failed-events":             {},
	"silence-anomaly":           {silence: true},
	"silence-floor":             {silence: true},
}

// ReplaySlack is how far before the alarm's window a replay starts: S3
// objects are selected by LastModified, which trails the events they hold.
const ReplaySlack = time.Hour

// LogGroupsAPI is what the silence context needs of CloudWatch Logs. The
// SDK's cloudwatchlogs.Client satisfies it.
type LogGroupsAPI interface {
	DescribeLogGroups(ctx context.Context, in *cloudwatchlogs.DescribeLogGroupsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogGroupsOutput, error)
	DescribeLogStreams(ctx context.Context, in *cloudwatchlogs.DescribeLogStreamsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogStreamsOutput, error)
}

var _ LogGroupsAPI = (*cloudwatchlogs.Client)(nil)

// Pipeline is the context added to an alert of one of Tributary's own
// alarms.
type Pipeline struct {
	Kind  string `json:"kind"`
	Stack string `json:"stack,omitempty"`
	// RecognizedBy is "tag", or "description" when the alarm's tags could not
	// be read and its description names a runbook section (then the
	// dead-letter location and replay command are unknown).
	RecognizedBy string    `json:"recognizedBy"`
	Runbook      string    `json:"runbook"`
	Function     string    `json:"function,omitempty"`
	Stream       string    `json:"stream,omitempty"`
	DomainARN    string    `json:"domainArn,omitempty"`
	DeadLetters  string    `json:"deadLetters,omitempty"`
	Replay       string    `json:"replay,omitempty"` // with -since for the S3 kinds
	Silence      *Silence  `json:"silence,omitempty"`
	Members      []Member  `json:"members,omitempty"`     // composite: members in ALARM, first tripped first
	RuleMembers  int       `json:"ruleMembers,omitempty"` // composite: alarms its rule names
	Errors       []string  `json:"errors,omitempty"`      // lookups that failed
	TagsError    string    `json:"tagsError,omitempty"`   // why the tags could not be read
	windowStart  time.Time // start of the alarm's evaluation window
}

// Member is a member alarm of the composite, in ALARM.
type Member struct {
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Reason      string    `json:"reason,omitempty"`
	Since       time.Time `json:"since,omitzero"`
	Context     *Pipeline `json:"context,omitempty"` // nil when not a pipeline alarm
}

// Silence is the newest event time of the account's log groups.
type Silence struct {
	WindowStart time.Time       `json:"windowStart"`
	Groups      []GroupActivity `json:"groups"`  // newest first, at most MaxShownLogGroups
	Checked     int             `json:"checked"` // log groups whose streams were read
	Writing     int             `json:"writing"` // of those, with events since WindowStart
	More        bool            `json:"more"`    // the account has more groups than were checked
	Errors      []string        `json:"errors,omitempty"`
}

// GroupActivity is one log group's newest event, as DescribeLogStreams
// reports it (lastEventTimestamp: updated within about an hour).
type GroupActivity struct {
	LogGroup   string    `json:"logGroup"`
	LastEvent  time.Time `json:"lastEvent,omitzero"` // zero: no events
	Subscribed bool      `json:"subscribed,omitempty"`
}

// MaxShownLogGroups bounds the log groups listed in an alert.
const MaxShownLogGroups = 20

// subject is a pipeline alarm to find the context of: the notification's
// own alarm or a member of the composite.
type subject struct {
	name, description string
	time              time.Time
	period, evals     int64
	tags              map[string]string // nil: unknown
	tagsErr           error
}

var runbookAnchor = regexp.MustCompile(`docs/operations\.md#([a-z0-9-]+)`)

// recognize returns the kind, the stack and how the kind was found; kind ""
// is not a pipeline alarm. With its tags, only TagPipelineAlarm counts;
// without them (lookup failed or off), the runbook link every pipeline
// alarm's description ends with.
func recognize(s subject) (kind, stack, by string) {
	if s.tags != nil {
		kind = strings.TrimSpace(s.tags[TagPipelineAlarm])
		if kind == "" {
			return "", "", ""
		}
		return kind, s.tags[TagStack], "tag"
	}
	m := runbookAnchor.FindStringSubmatch(s.description)
	if m == nil {
		return "", "", ""
	}
	if _, ok := PipelineKinds[m[1]]; !ok {
		return "", "", ""
	}
	kind = m[1]
	// Alarms are named <stack>-<kind> (lambda-* alarms <stack>-<function>-errors).
	if st, ok := strings.CutSuffix(s.name, "-"+kind); ok {
		stack = st
	}
	return kind, stack, "description"
}

// pipelineLookup finds the context of pipeline alarms within one
// notification; the log groups are read once for all its silence alarms.
type pipelineLookup struct {
	h       *Handler
	silence map[[2]string]*Silence // by own-log-groups prefix and subscribed group
}

// context returns the context of s, or nil when s is not a pipeline alarm.
func (l *pipelineLookup) context(ctx context.Context, s subject) *Pipeline {
	kind, stack, by := recognize(s)
	if kind == "" {
		return nil
	}
	info := PipelineKinds[kind]
	p := &Pipeline{Kind: kind, Stack: stack, RecognizedBy: by, Runbook: l.h.opts.RunbookURL + "#" + kind}
	if s.tagsErr != nil {
		p.TagsError = s.tagsErr.Error()
	}
	p.windowStart = s.time.Add(-windowOf(max(s.period, 60), s.evals))
	t := s.tags
	p.Function, p.Stream, p.DomainARN = t[TagFunction], t[TagStream], t[TagDomainARN]
	p.DeadLetters, p.Replay = t[TagDeadLetters], strings.TrimSpace(t[TagReplay])
	if info.since && p.Replay != "" && !strings.Contains(p.Replay, " -since ") {
		p.Replay += " -since " + p.windowStart.Add(-ReplaySlack).UTC().Format(time.RFC3339)
	}
	if info.silence {
		own := t[TagOwnLogGroups]
		if own == "" && stack != "" {
			own = "/tributary/" + stack + "/"
		}
		key := [2]string{own, t[TagLogGroup]}
		if l.silence[key] == nil {
			l.silence[key] = l.h.silence(ctx, own, t[TagLogGroup])
		}
		p.Silence = l.silence[key].since(p.windowStart)
	}
	return p
}

// pipeline returns the context of n's alarm, with the members of a
// composite, or nil when n is not a pipeline alarm.
func (h *Handler) pipeline(ctx context.Context, n *Notification, tags map[string]string, tagsErr error) *Pipeline {
	l := &pipelineLookup{h: h, silence: map[[2]string]*Silence{}}
	period := n.Period
	for _, m := range n.Metrics {
		period = max(period, m.Period)
	}
	p := l.context(ctx, subject{name: n.AlarmName, description: n.Description, time: n.Time, period: period,
		evals: n.EvaluationPeriods, tags: tags, tagsErr: tagsErr})
	if p == nil {
		return nil
	}
	if PipelineKinds[p.Kind].composite || n.Kind == KindComposite {
		l.members(ctx, n, p)
	}
	return p
}

// RuleMembers returns the alarms an alarm rule names in ALARM(...), in
// order, once each; FALSE, TRUE, OK(...) and INSUFFICIENT_DATA(...) are not
// members that can trip it.
func RuleMembers(rule string) []string {
	var out []string
	for _, m := range ruleAlarm.FindAllStringSubmatch(rule, -1) {
		name := strings.TrimSpace(m[1] + m[2] + m[3])
		name = alarmName(name) // an ARN names its alarm too
		if name != "" && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

var ruleAlarm = regexp.MustCompile(`(?i)\bALARM\s*\(\s*(?:"([^"]*)"|'([^']*)'|([^\s"')]+))\s*\)`)

// members describes the rule's members and keeps those in ALARM.
func (l *pipelineLookup) members(ctx context.Context, n *Notification, p *Pipeline) {
	h := l.h
	names := RuleMembers(n.AlarmRule)
	p.RuleMembers = len(names)
	if len(names) == 0 {
		return
	}
	if h.opts.Alarms == nil {
		p.Errors = append(p.Errors, "member alarms not looked up (no CloudWatch client)")
		return
	}
	type found struct {
		m     Member
		arn   string
		order int
		s     subject
	}
	var alarms []found
	for start := 0; start < len(names); start += 100 { // DescribeAlarms takes 100 names
		batch := names[start:min(start+100, len(names))]
		out, err := h.opts.Alarms.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: batch, StateValue: cwtypes.StateValueAlarm,
			AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm, cwtypes.AlarmTypeCompositeAlarm}})
		if err != nil {
			p.Errors = append(p.Errors, fmt.Sprintf("DescribeAlarms: %v", err))
			return
		}
		for _, a := range out.MetricAlarms {
			if a.StateValue != cwtypes.StateValueAlarm {
				continue
			}
			period := int64(aws.ToInt32(a.Period))
			for _, q := range a.Metrics {
				if q.MetricStat != nil {
					period = max(period, int64(aws.ToInt32(q.MetricStat.Period)))
				}
			}
			name := aws.ToString(a.AlarmName)
			alarms = append(alarms, found{arn: aws.ToString(a.AlarmArn), order: slices.Index(names, name),
				m: Member{Name: name, Description: aws.ToString(a.AlarmDescription), Reason: aws.ToString(a.StateReason), Since: aws.ToTime(a.StateUpdatedTimestamp).UTC()},
				s: subject{name: name, description: aws.ToString(a.AlarmDescription), time: aws.ToTime(a.StateUpdatedTimestamp), period: period, evals: int64(aws.ToInt32(a.EvaluationPeriods))}})
		}
		for _, a := range out.CompositeAlarms {
			if a.StateValue != cwtypes.StateValueAlarm {
				continue
			}
			name := aws.ToString(a.AlarmName)
			alarms = append(alarms, found{arn: aws.ToString(a.AlarmArn), order: slices.Index(names, name),
				m: Member{Name: name, Description: aws.ToString(a.AlarmDescription), Reason: aws.ToString(a.StateReason), Since: aws.ToTime(a.StateUpdatedTimestamp).UTC()},
				s: subject{name: name, description: aws.ToString(a.AlarmDescription), time: aws.ToTime(a.StateUpdatedTimestamp)}})
		}
	}
	// First tripped first: the likely cause leads.
	sort.SliceStable(alarms, func(i, j int) bool {
		if !alarms[i].m.Since.Equal(alarms[j].m.Since) {
			return alarms[i].m.Since.Before(alarms[j].m.Since)
		}
		return alarms[i].order < alarms[j].order
	})
	for _, a := range alarms {
		c, err := h.tags(ctx, a.arn)
		a.s.tags, a.s.tagsErr = c.tags, err
		a.m.Context = l.context(ctx, a.s)
		p.Members = append(p.Members, a.m)
	}
}

// silence reads the newest event time of the account's log groups (the
// subscribed one first, Tributary's own skipped), at most MaxLogGroups of
// them, within ctx. Groups holds them all, newest first; since sets the
// window.
func (h *Handler) silence(ctx context.Context, ownPrefix, subscribed string) *Silence {
	s := &Silence{Groups: []GroupActivity{}}
	if h.opts.LogGroups == nil {
		s.Errors = append(s.Errors, "log groups not looked up (no CloudWatch Logs client)")
		return s
	}
	limit := h.opts.MaxLogGroups
	var groups []string
	if subscribed != "" {
		groups = append(groups, subscribed)
	}
	in := &cloudwatchlogs.DescribeLogGroupsInput{Limit: aws.Int32(50)}
pages:
	for page := 0; page < 20; page++ {
		out, err := h.opts.LogGroups.DescribeLogGroups(ctx, in)
		if err != nil {
			s.Errors = append(s.Errors, fmt.Sprintf("DescribeLogGroups: %v", err))
			break
		}
		for _, g := range out.LogGroups {
			name := aws.ToString(g.LogGroupName)
			if name == subscribed || ownPrefix != "" && strings.HasPrefix(name, ownPrefix) {
				continue
			}
			if len(groups) == limit {
				s.More = true
				break pages
			}
			groups = append(groups, name)
		}
		if out.NextToken == nil || aws.ToString(out.NextToken) == aws.ToString(in.NextToken) {
			break
		}
		in.NextToken = out.NextToken
	}

	acts := make([]GroupActivity, len(groups))
	errs := make([]error, len(groups))
	sem := make(chan struct{}, 4) // DescribeLogStreams allows 25 requests per second per account
	var wg sync.WaitGroup
	for i, g := range groups {
		acts[i] = GroupActivity{LogGroup: g, Subscribed: g == subscribed}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if ctx.Err() != nil {
				errs[i] = ctx.Err()
				return
			}
			out, err := h.opts.LogGroups.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String(g),
				OrderBy: logstypes.OrderByLastEventTime, Descending: aws.Bool(true), Limit: aws.Int32(1)})
			if err != nil {
				errs[i] = err
				return
			}
			if len(out.LogStreams) > 0 && out.LogStreams[0].LastEventTimestamp != nil {
				acts[i].LastEvent = time.UnixMilli(*out.LogStreams[0].LastEventTimestamp).UTC()
			}
		}()
	}
	wg.Wait()
	failed := 0
	for i, err := range errs {
		if err == nil {
			s.Groups = append(s.Groups, acts[i])
			continue
		}
		if failed++; failed <= 3 {
			s.Errors = append(s.Errors, fmt.Sprintf("DescribeLogStreams %s: %v", groups[i], err))
		}
	}
	if failed > 3 {
		s.Errors = append(s.Errors, fmt.Sprintf("… %d log groups could not be read in all", failed))
	}
	s.Checked = len(s.Groups)
	sort.SliceStable(s.Groups, func(i, j int) bool {
		a, b := s.Groups[i], s.Groups[j]
		if !a.LastEvent.Equal(b.LastEvent) {
			return a.LastEvent.After(b.LastEvent)
		}
		return a.LogGroup < b.LogGroup
	})
	return s
}

// since returns the activity against an alarm window that began at start:
// how many groups wrote since, and the newest MaxShownLogGroups.
func (s *Silence) since(start time.Time) *Silence {
	out := *s
	out.WindowStart = start.UTC()
	out.Writing = 0
	for _, g := range s.Groups {
		if !g.LastEvent.IsZero() && !g.LastEvent.Before(out.WindowStart) {
			out.Writing++
		}
	}
	if len(out.Groups) > MaxShownLogGroups {
		out.Groups = out.Groups[:MaxShownLogGroups]
	}
	return &out
}

// Verdict says what the newest event times suggest.
func (s *Silence) Verdict() string {
	switch {
	case s.Checked == 0:
		return "No log groups could be checked."
	case s.Writing > 0:
		return fmt.Sprintf("Sources still write: %d of %d log groups have events after the alarm window began (%s), so their subscription to the stream is likely broken (filter, account policy, role).",
			s.Writing, s.Checked, s.WindowStart.Format(time.RFC3339))
	}
	return fmt.Sprintf("No log group has events after the alarm window began (%s): the sources stopped writing (or CloudWatch Logs has not updated their newest event time yet: it lags up to about an hour).",
		s.WindowStart.Format(time.RFC3339))
}

// alertTags lists the alert tags of a pipeline alarm: "pipeline", its kind and
// the kinds of the members in ALARM.
func (p *Pipeline) alertTags() []string {
	tags := []string{"pipeline", p.Kind}
	for _, m := range p.Members {
		if m.Context != nil && !slices.Contains(tags, m.Context.Kind) {
			tags = append(tags, m.Context.Kind)
		}
	}
	return tags
}

// write adds the pipeline context to an alert's description and details.
func (p *Pipeline) write(b *strings.Builder, d map[string]string) {
	fmt.Fprintf(b, "\nTributary pipeline alarm: %s", p.Kind)
	if p.Stack != "" {
		fmt.Fprintf(b, " (stack %s)", p.Stack)
	}
	b.WriteString("\n")
	d["pipelineAlarm"], d["stack"], d["runbook"] = p.Kind, p.Stack, p.Runbook
	if p.RecognizedBy == "description" {
		fmt.Fprintf(b, "Recognised by its description: its tags could not be read (%s), so where its dead letters are and how to replay them is in the runbook only.\n",
			orNone(p.TagsError, "tag lookup off"))
	}
	p.writeContext(b, "", d)
	if p.RuleMembers > 0 {
		names := make([]string, 0, len(p.Members))
		for _, m := range p.Members {
			names = append(names, m.Name)
		}
		d["membersInAlarm"] = strings.Join(names, ", ")
		fmt.Fprintf(b, "\nMembers in ALARM (%d of %d), first tripped first:\n", len(p.Members), p.RuleMembers)
		if len(p.Members) == 0 && len(p.Errors) == 0 {
			b.WriteString("  none now: they recovered since the notification\n")
		}
		for _, m := range p.Members {
			fmt.Fprintf(b, "\n- %s", m.Name)
			if m.Context != nil {
				fmt.Fprintf(b, " (%s)", m.Context.Kind)
			}
			if !m.Since.IsZero() {
				fmt.Fprintf(b, " since %s", m.Since.Format(time.RFC3339))
			}
			b.WriteString("\n")
			if m.Description != "" {
				fmt.Fprintf(b, "    %s\n", m.Description)
			}
			if m.Reason != "" {
				fmt.Fprintf(b, "    Reason: %s\n", m.Reason)
			}
			if m.Context != nil {
				m.Context.writeContext(b, "    ", nil)
				fmt.Fprintf(b, "    Runbook: %s\n", m.Context.Runbook)
			}
		}
	}
	if len(p.Errors) > 0 {
		fmt.Fprintf(b, "Lookup errors: %s\n", strings.Join(p.Errors, "; "))
	}
}

// writeContext writes the kind's own context; d gets the details of the
// alert's own alarm (nil for members).
func (p *Pipeline) writeContext(b *strings.Builder, indent string, d map[string]string) {
	set := func(k, v string) {
		if d != nil {
			d[k] = v
		}
	}
	if p.Function != "" {
		fmt.Fprintf(b, "%sFunction: %s\n", indent, p.Function)
		set("function", p.Function)
	}
	if p.Stream != "" {
		fmt.Fprintf(b, "%sFirehose stream: %s\n", indent, p.Stream)
		set("stream", p.Stream)
	}
	if p.DomainARN != "" {
		fmt.Fprintf(b, "%sOpenSearch domain: %s\n", indent, p.DomainARN)
		set("domainArn", p.DomainARN)
	}
	if p.DeadLetters != "" {
		fmt.Fprintf(b, "%sDead letters: %s\n", indent, p.DeadLetters)
		set("deadLetters", p.DeadLetters)
	}
	if p.Replay != "" {
		fmt.Fprintf(b, "%sReplay, once the cause is fixed (from a checkout of Tributary):\n%s  %s\n", indent, indent, p.Replay)
		set("replay", p.Replay)
	}
	if s := p.Silence; s != nil {
		more := ""
		if s.More {
			more = "; the account has more"
		}
		fmt.Fprintf(b, "%sNewest event per log group, newest first (%d checked%s; CloudWatch Logs updates this time within about an hour):\n", indent, s.Checked, more)
		for _, g := range s.Groups {
			when := fmt.Sprintf("%-20s", "no events")
			if !g.LastEvent.IsZero() {
				when = g.LastEvent.Format(time.RFC3339)
			}
			sub := ""
			if g.Subscribed {
				sub = " (subscribed)"
			}
			fmt.Fprintf(b, "%s  %s  %s%s\n", indent, when, g.LogGroup, sub)
		}
		if s.Checked > len(s.Groups) {
			fmt.Fprintf(b, "%s  … %d more\n", indent, s.Checked-len(s.Groups))
		}
		fmt.Fprintf(b, "%s%s\n", indent, s.Verdict())
		if len(s.Errors) > 0 {
			fmt.Fprintf(b, "%sLookup errors: %s\n", indent, strings.Join(s.Errors, "; "))
		}
		if len(s.Groups) > 0 && !s.Groups[0].LastEvent.IsZero() {
			set("newestLogEvent", s.Groups[0].LastEvent.Format(time.RFC3339)+" "+s.Groups[0].LogGroup)
		}
		set("logGroupsWriting", fmt.Sprintf("%d of %d since %s", s.Writing, s.Checked, s.WindowStart.Format(time.RFC3339)))
	}
}

func orNone(s, none string) string {
	if s == "" {
		return none
	}
	return s
}

// memberKinds are the kinds (or names) of the members in ALARM, for the
// alert's message.
func (p *Pipeline) memberKinds() []string {
	var out []string
	for _, m := range p.Members {
		k := m.Name
		if m.Context != nil {
			k = m.Context.Kind
		}
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

// allErrors lists every lookup that failed, members' included.
func (p *Pipeline) allErrors() []string {
	out := slices.Clone(p.Errors)
	if p.Silence != nil {
		out = append(out, p.Silence.Errors...)
	}
	for _, m := range p.Members {
		if m.Context != nil {
			out = append(out, m.Context.allErrors()...)
		}
	}
	return out
}

func (p *Pipeline) errorCount() int { return len(p.allErrors()) }
