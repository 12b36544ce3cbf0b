// Package snsqueue reads what an SNS subscriber receives: it creates a topic
// and an SQS queue subscribed to it (raw message delivery off, as e-mail and
// chat subscribers see the notification envelope), and decodes the
// notifications from the queue. For integration tests and the demo, against
// moto or a real account.
package snsqueue

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Notification is the SNS envelope a queue subscriber receives.
type Notification struct {
	Type              string                      `json:"Type"`
	MessageID         string                      `json:"MessageId"`
	TopicArn          string                      `json:"TopicArn"`
	Subject           string                      `json:"Subject"`
	Message           string                      `json:"Message"`
	Timestamp         string                      `json:"Timestamp"`
	MessageAttributes map[string]MessageAttribute `json:"MessageAttributes"`
}

// MessageAttribute is one attribute as SNS delivers it.
type MessageAttribute struct {
	Type  string `json:"Type"`
	Value string `json:"Value"`
}

// Attr returns the value of an attribute ("" when absent).
func (n Notification) Attr(name string) string { return n.MessageAttributes[name].Value }

// Subscriber is a topic with a subscribed queue.
type Subscriber struct {
	TopicARN string
	QueueURL string
	sqs      *sqs.Client
}

// New creates topic and queue (named name and name+"-subscriber") and
// subscribes the queue.
func New(ctx context.Context, snsc *sns.Client, sqsc *sqs.Client, name string) (*Subscriber, error) {
	topic, err := snsc.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(name)})
	if err != nil {
		return nil, fmt.Errorf("create topic %s: %w", name, err)
	}
	q, err := sqsc.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name + "-subscriber")})
	if err != nil {
		return nil, fmt.Errorf("create queue: %w", err)
	}
	attrs, err := sqsc.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		return nil, fmt.Errorf("queue attributes: %w", err)
	}
	if _, err := snsc.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"),
		Endpoint: aws.String(attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)])}); err != nil {
		return nil, fmt.Errorf("subscribe: %w", err)
	}
	return &Subscriber{TopicARN: aws.ToString(topic.TopicArn), QueueURL: aws.ToString(q.QueueUrl), sqs: sqsc}, nil
}

// Receive returns (and deletes) what arrived, waiting up to wait for the
// first message.
func (s *Subscriber) Receive(ctx context.Context, wait time.Duration) ([]Notification, error) {
	var out []Notification
	waitSec := int32(wait / time.Second)
	for {
		resp, err := s.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(s.QueueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: waitSec})
		if err != nil {
			return out, fmt.Errorf("receive: %w", err)
		}
		if len(resp.Messages) == 0 {
			return out, nil
		}
		for _, m := range resp.Messages {
			var n Notification
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &n); err != nil {
				return out, fmt.Errorf("message %s is not an SNS notification: %w", aws.ToString(m.MessageId), err)
			}
			out = append(out, n)
			if _, err := s.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(s.QueueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				return out, fmt.Errorf("delete: %w", err)
			}
		}
		waitSec = 0
	}
}
