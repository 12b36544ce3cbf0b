package localaws

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// MotoForTest starts moto for t and stops it at cleanup. Where moto cannot
// start, the test fails under CI=true (CI must prove everything) and skips
// elsewhere, saying why.
func MotoForTest(t testing.TB) *Moto {
	t.Helper()
	m, err := StartMoto(context.Background(), nil)
	if err != nil {
		if errors.Is(err, ErrUnavailable) && os.Getenv("CI") != "true" {
			t.Skipf("skipping: %v", err)
		}
		t.Fatalf("start moto: %v", err)
	}
	t.Cleanup(m.Stop)
	return m
}

// Config returns an SDK configuration that talks to m.
func (m *Moto) Config(ctx context.Context, region string) (aws.Config, error) {
	return awsconfig.LoadDefaultConfig(ctx,
		awsconfig.WithRegion(region),
		awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("testing", "testing", "testing")),
		awsconfig.WithBaseEndpoint(m.Endpoint),
	)
}
