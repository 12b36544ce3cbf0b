package opsgenietest

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/tributary-logs/tributary/shared/localaws"
)

// SampleWorld returns the set-up for running the alarm or opsgenie
// function's sample events (events/<fn>/*.json) against local servers: it
// starts an Opsgenie server for the test, puts its key in moto's Secrets
// Manager, creates the alert topic in moto's SNS, and returns the
// function's environment. Responses are then deterministic: every alert is
// accepted, and the alarm function's CloudWatch tag lookup is off (moto
// cannot answer CloudWatch's protocol; CloudWatch Logs comes from moto,
// which has no metric filters here, so alerts carry no log lines).
func SampleWorld(function string) func(t *testing.T, moto *localaws.Moto) []string {
	return func(t *testing.T, moto *localaws.Moto) []string {
		t.Helper()
		const region = "us-east-1"
		ctx := context.Background()
		cfg, err := moto.Config(ctx, region)
		if err != nil {
			t.Fatal(err)
		}
		srv := StartForTest(t, Options{})
		sec, err := secretsmanager.NewFromConfig(cfg).CreateSecret(ctx, &secretsmanager.CreateSecretInput{
			Name: aws.String("tributary/" + function + "/opsgenie"), SecretString: aws.String(srv.Key())})
		if err != nil {
			t.Fatal(err)
		}
		topic, err := sns.NewFromConfig(cfg).CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("tributary-alerts")})
		if err != nil {
			t.Fatal(err)
		}
		env := append(moto.Env(region),
			"ALERT_SINKS=opsgenie,sns",
			"OPSGENIE_API_URL="+srv.URL,
			"OPSGENIE_API_KEY_SECRET_ARN="+aws.ToString(sec.ARN),
			"ALERT_TOPIC_ARN="+aws.ToString(topic.TopicArn),
		)
		if function == "alarm" {
			// moto answers CloudWatch's CBOR protocol with a 404 at once: no
			// call leaves the machine, and composite alarms just get no lines.
			env = append(env, "PRIORITY_TAG=none", "AWS_ENDPOINT_URL_CLOUDWATCH="+moto.Endpoint)
		}
		return env
	}
}
