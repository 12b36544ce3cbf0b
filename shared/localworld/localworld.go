// Package localworld prepares what each function's sample events under
// events/<function>/ assume, on local servers: moto's AWS services, the
// strict OpenSearch bulk server, the Opsgenie API server, the lake's sample
// raw object. `make invoke` (cmd/invoke -local) and the events test both use
// it, so a sample runs the same way by hand and in CI.
package localworld

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/tributary-logs/tributary/shared/bulktest"
	"github.com/tributary-logs/tributary/shared/lake/laketest"
	"github.com/tributary-logs/tributary/shared/localaws"
	"github.com/tributary-logs/tributary/shared/opsgenietest"
)

// Region the samples use.
const Region = "us-east-1"

// World is the set-up for one function's samples.
type World struct {
	Env     []string // the function's environment: endpoints, credentials, settings
	closers []func()
}

// Close stops what the world started (not moto, which the caller owns).
func (w *World) Close() {
	for i := len(w.closers) - 1; i >= 0; i-- {
		w.closers[i]()
	}
}

// ErrUnknownFunction is returned for a name that is not one of ours.
var ErrUnknownFunction = errors.New("no local world for this function")

// Start prepares fn's world on moto.
func Start(ctx context.Context, moto *localaws.Moto, fn string) (*World, error) {
	w := &World{Env: moto.Env(Region)}
	cfg, err := moto.Config(ctx, Region)
	if err != nil {
		return nil, err
	}
	switch fn {
	case "transform":
	case "indexer":
		srv := bulktest.Start()
		w.closers = append(w.closers, srv.Close)
		w.Env = append(w.Env, "OPENSEARCH_ENDPOINT="+srv.URL, "OPENSEARCH_AUTH=none", "SETUP_INDEX_TEMPLATE=true")
	case "lake":
		client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
		if err := laketest.Put(ctx, client); err != nil {
			return nil, fmt.Errorf("lake sample object: %w", err)
		}
		w.Env = append(w.Env, "LAKE_BUCKET="+laketest.Bucket)
	case "alarm", "opsgenie":
		srv, err := opsgenietest.Start(opsgenietest.Options{})
		if err != nil {
			return nil, err
		}
		w.closers = append(w.closers, func() { srv.Close() })
		name := "tributary/" + fn + "/opsgenie"
		sm := secretsmanager.NewFromConfig(cfg)
		sec, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(srv.Key())})
		var exists *smtypes.ResourceExistsException
		if errors.As(err, &exists) {
			_, err = sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(name), SecretString: aws.String(srv.Key())})
			if err == nil {
				var d *secretsmanager.DescribeSecretOutput
				d, err = sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(name)})
				if err == nil {
					sec = &secretsmanager.CreateSecretOutput{ARN: d.ARN}
				}
			}
		}
		if err != nil {
			w.Close()
			return nil, fmt.Errorf("opsgenie key secret: %w", err)
		}
		topic, err := sns.NewFromConfig(cfg).CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("tributary-alerts")})
		if err != nil {
			w.Close()
			return nil, fmt.Errorf("alert topic: %w", err)
		}
		w.Env = append(w.Env,
			"ALERT_SINKS=opsgenie,sns",
			"OPSGENIE_API_URL="+srv.URL,
			"OPSGENIE_API_KEY_SECRET_ARN="+aws.ToString(sec.ARN),
			"ALERT_TOPIC_ARN="+aws.ToString(topic.TopicArn),
		)
		if fn == "alarm" {
			// moto answers CloudWatch's CBOR protocol with a 404 at once: no
			// call leaves the machine, and tags are simply not read.
			w.Env = append(w.Env, "PRIORITY_TAG=none", "AWS_ENDPOINT_URL_CLOUDWATCH="+moto.Endpoint)
		}
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnknownFunction, fn)
	}
	return w, nil
}
