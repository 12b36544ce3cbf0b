package alert

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
)

type publisher interface {
	Publish(ctx context.Context, in *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// SNSSink publishes a readable summary of each alert to a topic, for e-mail,
// chat and other subscribers. Message attributes priority, rule, account,
// action and source let subscription filter policies route them.
type SNSSink struct {
	topic  string
	client publisher
}

// NewSNSSink returns a sink publishing to topicARN.
func NewSNSSink(topicARN string, client publisher) (*SNSSink, error) {
	if !strings.HasPrefix(topicARN, "arn:") || service(topicARN) != "sns" {
		return nil, fmt.Errorf("sns: %q is not an SNS topic ARN", topicARN)
	}
	if client == nil {
		return nil, fmt.Errorf("sns: no client")
	}
	return &SNSSink{topic: topicARN, client: client}, nil
}

// Name is "sns".
func (*SNSSink) Name() string { return "sns" }

// MaxSubject is SNS's limit: subjects must be shorter than 100 characters.
const MaxSubject = 99

// Subject is the e-mail subject line: priority, state and message, on one
// line, without control characters, under 100 characters.
func Subject(a *Alert) string {
	prefix := "[" + string(a.Priority) + "] "
	if a.Action == Close {
		prefix = "[RESOLVED] "
	}
	s := prefix + singleLine(a.Message)
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.ToValidUTF8(s, "?")
	// SNS counts bytes for some encodings; stay under the limit in bytes too.
	for len(s) > MaxSubject {
		s, _ = Truncate(s, utf8.RuneCountInString(s)-1)
	}
	return strings.TrimSpace(s)
}

// Body is the plain-text message: what an on-call person reads in an
// e-mail or a chat window.
func Body(a *Alert) string {
	var b strings.Builder
	if a.Action == Close {
		fmt.Fprintf(&b, "RESOLVED: %s\n", a.Message)
		if a.Note != "" {
			fmt.Fprintf(&b, "\n%s\n", a.Note)
		}
	} else {
		fmt.Fprintf(&b, "%s %s\n", a.Priority, a.Message)
		if a.Count > 1 {
			fmt.Fprintf(&b, "(%d occurrences)\n", a.Count)
		}
		if a.Description != "" {
			fmt.Fprintf(&b, "\n%s\n", a.Description)
		}
	}
	if len(a.Details) > 0 && a.Action != Close {
		keys := make([]string, 0, len(a.Details))
		for k := range a.Details {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString("\nDetails:\n")
		for _, k := range keys {
			fmt.Fprintf(&b, "  %s: %s\n", k, a.Details[k])
		}
	}
	b.WriteString("\n")
	if a.Rule != "" {
		fmt.Fprintf(&b, "Rule: %s\n", a.Rule)
	}
	fmt.Fprintf(&b, "Alias: %s\n", a.Alias)
	if len(a.Tags) > 0 {
		fmt.Fprintf(&b, "Tags: %s\n", strings.Join(a.Tags, ", "))
	}
	return b.String()
}

// Attributes are the message attributes, for subscription filter policies.
// Empty values are left out (SNS rejects them).
func Attributes(a *Alert) map[string]snstypes.MessageAttributeValue {
	out := map[string]snstypes.MessageAttributeValue{}
	add := func(k, v string) {
		if v = strings.TrimSpace(v); v != "" {
			v, _ = Truncate(v, 256)
			out[k] = snstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
		}
	}
	add("priority", string(a.Priority))
	add("rule", a.Rule)
	add("account", a.Account)
	add("action", string(a.Action))
	add("source", a.Source)
	return out
}

// Deliver publishes the alert. FIFO topics get the alias as message group
// (per-alias order) and a deduplication id from the alert's event, alias,
// action and count, so SNS drops a retried event's alert within its
// five-minute window on any execution environment, but not another
// event's alert of the same alias.
func (s *SNSSink) Deliver(ctx context.Context, a *Alert) error {
	in := &sns.PublishInput{
		TopicArn:          aws.String(s.topic),
		Subject:           aws.String(Subject(a)),
		Message:           aws.String(Body(a)),
		MessageAttributes: Attributes(a),
	}
	if strings.HasSuffix(s.topic, ".fifo") {
		g := sha256.Sum256([]byte(a.Alias))
		event := a.Event
		if event == "" {
			event = a.Time // the best there is: one alert per alias and second
		}
		d := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%s\x00%d\x00%s", a.Alias, a.Action, a.Count, event)))
		in.MessageGroupId = aws.String(hex.EncodeToString(g[:16]))
		in.MessageDeduplicationId = aws.String(hex.EncodeToString(d[:32]))
	}
	if _, err := s.client.Publish(ctx, in); err != nil {
		return fmt.Errorf("sns publish to %s: %w", s.topic, err)
	}
	return nil
}
