package alert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// Secret is an API key. Every way of printing or logging it shows
// "[redacted]"; only Reveal gives the value, for the Authorization header.
type Secret struct{ v string }

// NewSecret wraps a key (tests, the demo).
func NewSecret(v string) Secret { return Secret{v} }

// Reveal returns the key itself.
func (s Secret) Reveal() string { return s.v }

// Empty reports whether there is no key.
func (s Secret) Empty() bool { return s.v == "" }

func (Secret) String() string               { return "[redacted]" }
func (Secret) GoString() string             { return "[redacted]" }
func (Secret) LogValue() slog.Value         { return slog.StringValue("[redacted]") }
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"[redacted]"`), nil }
func (Secret) MarshalText() ([]byte, error) { return []byte("[redacted]"), nil }
func (Secret) Format(f fmt.State, _ rune)   { _, _ = f.Write([]byte("[redacted]")) }

// KeyFunc returns the API key; sinks call it on each delivery.
type KeyFunc func(ctx context.Context) (Secret, error)

// StaticKey is a KeyFunc for a key already at hand (tests, the demo).
func StaticKey(s Secret) KeyFunc {
	return func(context.Context) (Secret, error) { return s, nil }
}

type secretGetter interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

type parameterGetter interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, optFns ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

// KeySource reads the API key from a Secrets Manager secret or an SSM
// SecureString parameter, given by ARN, on first use, and keeps it for the
// life of the container. A failed read is not cached: the next delivery
// tries again. It is safe for concurrent use.
type KeySource struct {
	arn     string
	secrets secretGetter
	params  parameterGetter

	mu  sync.Mutex
	key Secret
}

// ErrKey marks failures to obtain the API key.
var ErrKey = errors.New("opsgenie api key")

// NewKeySource checks that arn names a Secrets Manager secret or an SSM
// parameter and returns a source for it. The client of the other service may
// be nil.
func NewKeySource(arn string, secrets secretGetter, params parameterGetter) (*KeySource, error) {
	switch service(arn) {
	case "secretsmanager":
		if secrets == nil {
			return nil, fmt.Errorf("%w: no Secrets Manager client for %s", ErrKey, arn)
		}
	case "ssm":
		if params == nil {
			return nil, fmt.Errorf("%w: no SSM client for %s", ErrKey, arn)
		}
		if _, ok := parameterName(arn); !ok {
			return nil, fmt.Errorf("%w: %s is not an SSM parameter ARN (arn:aws:ssm:region:account:parameter/name)", ErrKey, arn)
		}
	default:
		return nil, fmt.Errorf("%w: %q is neither a Secrets Manager secret ARN nor an SSM parameter ARN", ErrKey, arn)
	}
	return &KeySource{arn: arn, secrets: secrets, params: params}, nil
}

// Key returns the cached key, reading it first when needed.
func (k *KeySource) Key(ctx context.Context) (Secret, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.key.Empty() {
		return k.key, nil
	}
	raw, err := k.read(ctx)
	if err != nil {
		return Secret{}, err
	}
	key, err := parseKey(raw)
	if err != nil {
		return Secret{}, fmt.Errorf("%w: %s: %v", ErrKey, k.arn, err)
	}
	k.key = key
	return key, nil
}

// Forget drops the cached key, so the next delivery reads it again: called
// when the API answers 401 (the key was rotated or revoked).
func (k *KeySource) Forget() {
	k.mu.Lock()
	k.key = Secret{}
	k.mu.Unlock()
}

func (k *KeySource) read(ctx context.Context) (string, error) {
	if service(k.arn) == "secretsmanager" {
		out, err := k.secrets.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(k.arn)})
		if err != nil {
			return "", fmt.Errorf("%w: read secret %s: %w", ErrKey, k.arn, err)
		}
		if out.SecretString == nil {
			return "", fmt.Errorf("%w: secret %s has no SecretString (binary secrets are not supported)", ErrKey, k.arn)
		}
		return *out.SecretString, nil
	}
	// GetParameter takes the ARN itself; local emulators may know the
	// parameter only by name, so fall back to the name on "not found".
	out, err := k.params.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(k.arn), WithDecryption: aws.Bool(true)})
	if err != nil {
		var nf *ssmtypes.ParameterNotFound
		var ve interface{ ErrorCode() string }
		if errors.As(err, &nf) || errors.As(err, &ve) && ve.ErrorCode() == "ValidationException" {
			name, _ := parameterName(k.arn)
			out, err = k.params.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
		}
	}
	if err != nil {
		return "", fmt.Errorf("%w: read parameter %s: %w", ErrKey, k.arn, err)
	}
	if out.Parameter == nil || out.Parameter.Value == nil {
		return "", fmt.Errorf("%w: parameter %s has no value", ErrKey, k.arn)
	}
	return *out.Parameter.Value, nil
}

// parseKey accepts the key itself, or a JSON object holding it under
// apiKey, api_key, apikey or key.
func parseKey(raw string) (Secret, error) {
	raw = strings.TrimSpace(raw)
	if strings.HasPrefix(raw, "{") {
		var m map[string]any
		if err := json.Unmarshal([]byte(raw), &m); err != nil {
			return Secret{}, errors.New("value starts with { but is not a JSON object")
		}
		for _, name := range []string{"apiKey", "api_key", "apikey", "key"} {
			if v, ok := m[name].(string); ok && strings.TrimSpace(v) != "" {
				return Secret{strings.TrimSpace(v)}, nil
			}
		}
		return Secret{}, errors.New("JSON value has no non-empty apiKey field")
	}
	if raw == "" {
		return Secret{}, errors.New("value is empty")
	}
	if strings.ContainsAny(raw, " \t\r\n") {
		return Secret{}, errors.New("value contains white space; want the bare key or {\"apiKey\":\"...\"}")
	}
	return Secret{raw}, nil
}

// service returns the service part of an ARN ("secretsmanager", "ssm").
func service(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" {
		return ""
	}
	return parts[2]
}

// parameterName turns arn:aws:ssm:region:account:parameter/a/b into /a/b
// (and parameter/name into name, for parameters without a leading slash).
func parameterName(arn string) (string, bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return "", false
	}
	rest, ok := strings.CutPrefix(parts[5], "parameter/")
	if !ok || rest == "" {
		return "", false
	}
	if strings.Contains(rest, "/") {
		return "/" + rest, true
	}
	return rest, true
}
