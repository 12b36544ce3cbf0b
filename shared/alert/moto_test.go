package alert

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/tributary-logs/tributary/shared/localaws"
)

// SubscriberMessage is what an SQS queue subscribed to an SNS topic
// receives (raw message delivery off): the SNS notification envelope.
type subscriberMessage struct {
	Type              string
	TopicArn          string
	Subject           string
	Message           string
	MessageAttributes map[string]struct{ Type, Value string }
}

// TestAgainstMoto checks the AWS wire protocols with moto's server: the SNS
// sink as a subscribed queue reads it back, and the key read from Secrets
// Manager and from an SSM SecureString parameter by ARN.
func TestAgainstMoto(t *testing.T) {
	m := localaws.MotoForTest(t)
	ctx := context.Background()
	cfg, err := m.Config(ctx, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("sns to a subscribed queue", func(t *testing.T) {
		snsc, sqsc := sns.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
		topic, err := snsc.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("alerts")})
		if err != nil {
			t.Fatal(err)
		}
		q, err := sqsc.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("alerts-sub")})
		if err != nil {
			t.Fatal(err)
		}
		qa, err := sqsc.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := snsc.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"),
			Endpoint: aws.String(qa.Attributes[string(sqstypes.QueueAttributeNameQueueArn)])}); err != nil {
			t.Fatal(err)
		}
		sink, err := NewSNSSink(aws.ToString(topic.TopicArn), snsc)
		if err != nil {
			t.Fatal(err)
		}
		a := Alert{Action: Create, Priority: P1, Message: "Root account used: ConsoleLogin", Alias: "cis-root-account-usage:123456789012",
			Description: "Who: arn:aws:iam::123456789012:root", Rule: "cis-root-account-usage", Account: "123456789012", Source: "AWS CloudTrail"}
		if err := sink.Deliver(ctx, &a); err != nil {
			t.Fatal(err)
		}
		out, err := sqsc.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, WaitTimeSeconds: 2, MaxNumberOfMessages: 10})
		if err != nil || len(out.Messages) != 1 {
			t.Fatalf("receive: %v, %d messages", err, len(out.Messages))
		}
		var got subscriberMessage
		if err := json.Unmarshal([]byte(aws.ToString(out.Messages[0].Body)), &got); err != nil {
			t.Fatalf("body %s: %v", aws.ToString(out.Messages[0].Body), err)
		}
		if got.Type != "Notification" || got.TopicArn != aws.ToString(topic.TopicArn) || got.Subject != "[P1] Root account used: ConsoleLogin" ||
			got.Message != Body(&a) {
			t.Errorf("subscriber got %+v", got)
		}
		for k, want := range map[string]string{"priority": "P1", "rule": "cis-root-account-usage", "account": "123456789012", "action": "create"} {
			if v := got.MessageAttributes[k]; v.Type != "String" || v.Value != want {
				t.Errorf("attribute %s = %+v, want String %s", k, v, want)
			}
		}
	})

	t.Run("key from secrets manager", func(t *testing.T) {
		sm := secretsmanager.NewFromConfig(cfg)
		for name, value := range map[string]string{"og-plain": "plain-key-1", "og-json": `{"apiKey":"json-key-2"}`} {
			sec, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value)})
			if err != nil {
				t.Fatal(err)
			}
			src, err := NewKeySource(aws.ToString(sec.ARN), sm, nil)
			if err != nil {
				t.Fatal(err)
			}
			k, err := src.Key(ctx)
			if err != nil || !strings.HasSuffix(k.Reveal(), "-key-"+map[string]string{"og-plain": "1", "og-json": "2"}[name]) {
				t.Errorf("%s: key %q, %v", name, k.Reveal(), err)
			}
		}
		src, _ := NewKeySource("arn:aws:secretsmanager:us-east-1:123456789012:secret:missing-AbCdEf", sm, nil)
		if _, err := src.Key(ctx); err == nil || !strings.Contains(err.Error(), "ResourceNotFoundException") {
			t.Errorf("missing secret: %v", err)
		}
	})

	t.Run("key from an ssm SecureString", func(t *testing.T) {
		sc := ssm.NewFromConfig(cfg)
		if _, err := sc.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/tributary/opsgenie/api-key"),
			Type: ssmtypes.ParameterTypeSecureString, Value: aws.String("ssm-key-3")}); err != nil {
			t.Fatal(err)
		}
		src, err := NewKeySource("arn:aws:ssm:us-east-1:123456789012:parameter/tributary/opsgenie/api-key", nil, sc)
		if err != nil {
			t.Fatal(err)
		}
		k, err := src.Key(ctx)
		if err != nil || k.Reveal() != "ssm-key-3" {
			t.Errorf("key %q, %v", k.Reveal(), err)
		}
	})
}
