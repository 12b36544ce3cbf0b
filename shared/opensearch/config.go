package opensearch

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/tributary-logs/tributary/shared/config"
)

// FromConfig builds the client the indexer's configuration describes,
// reading basic-auth credentials from Secrets Manager when asked to.
func FromConfig(ctx context.Context, cfg config.Indexer, awsCfg aws.Config, sm SecretGetter) (*Client, error) {
	o := Options{Endpoint: cfg.Endpoint, Auth: cfg.Auth, Service: cfg.Service, AWS: awsCfg}
	if cfg.Auth == AuthBasic {
		if sm == nil {
			return nil, fmt.Errorf("OPENSEARCH_AUTH=basic needs a Secrets Manager client")
		}
		u, p, err := BasicAuthFromSecret(ctx, sm, cfg.SecretARN)
		if err != nil {
			return nil, err
		}
		o.Username, o.Password = u, p
	}
	return New(o)
}

// SetupFromConfig returns the set-up options the configuration asks for.
func SetupFromConfig(cfg config.Indexer, indexPattern string) SetupOptions {
	return SetupOptions{
		IndexPatterns:   []string{indexPattern},
		WarmAfterDays:   cfg.WarmAfterDays,
		DeleteAfterDays: cfg.DeleteAfterDays,
	}
}
