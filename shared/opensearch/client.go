// Package opensearch is the indexer's OpenSearch client: the connection
// (SigV4 for Amazon OpenSearch Service `es` and Serverless `aoss` with the
// SDK's credentials, basic auth from a Secrets Manager secret, or none), the
// _bulk transport the bulk package sends through, the idempotent set-up of
// the index template and ISM policy, and the few read calls tests and the
// demo use (count, search, get).
package opensearch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	opensearchgo "github.com/opensearch-project/opensearch-go/v4"
	"github.com/opensearch-project/opensearch-go/v4/signer/awsv2"

	"github.com/tributary-logs/tributary/shared/bulk"
)

// Auth modes, the values of OPENSEARCH_AUTH.
const (
	AuthSigV4 = "sigv4"
	AuthBasic = "basic"
	AuthNone  = "none"
)

// Services SigV4 signs for, the values of OPENSEARCH_SERVICE.
const (
	ServiceES   = "es"   // Amazon OpenSearch Service domains
	ServiceAOSS = "aoss" // OpenSearch Serverless collections
)

// Options configure a Client.
type Options struct {
	Endpoint string // https://search-x.eu-west-1.es.amazonaws.com (a path prefix is kept)
	Auth     string // sigv4, basic or none (default none)
	Service  string // es or aoss, for sigv4 (default es)
	AWS      aws.Config
	Username string // basic
	Password string // basic
	// Transport replaces the HTTP transport (tests).
	Transport http.RoundTripper
	// MaxResponseBytes bounds a response read into memory; default 64 MiB.
	MaxResponseBytes int64
}

// Client talks to one cluster or collection. It is safe for concurrent use.
type Client struct {
	os       *opensearchgo.Client
	service  string
	maxResp  int64
	endpoint string
}

// New builds a client; nothing is sent until the first call.
func New(o Options) (*Client, error) {
	u, err := url.Parse(o.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("opensearch endpoint %q: want http(s)://host[:port]", o.Endpoint)
	}
	cfg := opensearchgo.Config{
		Addresses: []string{strings.TrimRight(o.Endpoint, "/")},
		// The bulk package retries per item with backoff within the
		// invocation's deadline; the transport must not retry on its own.
		DisableRetry:          true,
		HealthCheckMaxRetries: -1,
		DiscoverNodesOnStart:  opensearchgo.ToPointer(false),
		Transport:             o.Transport,
	}
	if cfg.Transport == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 16
		t.ResponseHeaderTimeout = 0
		cfg.Transport = t
	}
	service := o.Service
	if service == "" {
		service = ServiceES
	}
	switch o.Auth {
	case AuthSigV4:
		if service != ServiceES && service != ServiceAOSS {
			return nil, fmt.Errorf("opensearch service %q: want es or aoss", service)
		}
		if o.AWS.Credentials == nil {
			return nil, errors.New("opensearch sigv4: no AWS credentials configured")
		}
		s, err := awsv2.NewSignerWithService(o.AWS, service)
		if err != nil {
			return nil, fmt.Errorf("opensearch sigv4 signer: %w", err)
		}
		cfg.Signer = s
	case AuthBasic:
		if o.Username == "" {
			return nil, errors.New("opensearch basic auth: empty username")
		}
		cfg.Username, cfg.Password = o.Username, o.Password
	case AuthNone, "":
	default:
		return nil, fmt.Errorf("opensearch auth %q: want sigv4, basic or none", o.Auth)
	}
	c, err := opensearchgo.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("opensearch client: %w", err)
	}
	maxResp := o.MaxResponseBytes
	if maxResp <= 0 {
		maxResp = 64 << 20
	}
	return &Client{os: c, service: service, maxResp: maxResp, endpoint: o.Endpoint}, nil
}

// Endpoint returns the cluster's URL.
func (c *Client) Endpoint() string { return c.endpoint }

// Serverless reports whether the client targets OpenSearch Serverless.
func (c *Client) Serverless() bool { return c.service == ServiceAOSS }

// SecretGetter is the Secrets Manager call basic auth needs.
type SecretGetter interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// BasicAuthFromSecret reads {"username":"…","password":"…"} from a Secrets
// Manager secret. The password is never logged or put in an error.
func BasicAuthFromSecret(ctx context.Context, sm SecretGetter, arn string) (user, password string, err error) {
	out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
	if err != nil {
		return "", "", fmt.Errorf("read OpenSearch credentials from %s: %w", arn, err)
	}
	var v struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &v); err != nil {
		return "", "", fmt.Errorf("secret %s is not JSON with username and password", arn)
	}
	if v.Username == "" || v.Password == "" {
		return "", "", fmt.Errorf("secret %s lacks username or password", arn)
	}
	return v.Username, v.Password, nil
}

// Bulk implements bulk.Transport: POST /_bulk with an NDJSON body.
func (c *Client) Bulk(ctx context.Context, body []byte) (*bulk.Response, error) {
	status, hdr, resp, err := c.Do(ctx, http.MethodPost, "/_bulk", "application/x-ndjson", body)
	if err != nil {
		return nil, err
	}
	return &bulk.Response{Status: status, RetryAfter: retryAfter(hdr.Get("Retry-After"), time.Now()), Body: resp}, nil
}

var _ bulk.Transport = (*Client)(nil)

// retryAfter parses Retry-After: delay seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// Do sends one request and reads the whole response. A non-nil error means
// no HTTP response arrived.
func (c *Client) Do(ctx context.Context, method, path, contentType string, body []byte) (int, http.Header, []byte, error) {
	var rd io.Reader = http.NoBody
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, path, rd)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if body != nil {
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		req.ContentLength = int64(len(body))
		if contentType == "" {
			contentType = "application/json"
		}
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	res, err := c.os.Stream(req)
	if res == nil {
		if err == nil {
			err = errors.New("no response")
		}
		return 0, nil, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	var buf bytes.Buffer
	if n := res.ContentLength; n > 0 && n <= c.maxResp {
		buf.Grow(int(n) + 1) // one allocation for the typical _bulk response
	}
	if _, err := buf.ReadFrom(io.LimitReader(res.Body, c.maxResp)); err != nil {
		return 0, nil, nil, fmt.Errorf("%s %s: read response: %w", method, path, err)
	}
	return res.StatusCode, res.Header, buf.Bytes(), nil
}

// StatusError is a response with an unexpected status.
type StatusError struct {
	Method, Path string
	Status       int
	Type, Reason string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s %s: HTTP %d %s: %s", e.Method, e.Path, e.Status, e.Type, e.Reason)
}

func statusError(method, path string, status int, body []byte) *StatusError {
	e := &StatusError{Method: method, Path: path, Status: status}
	var doc struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &doc) == nil && len(doc.Error) > 0 {
		var obj struct{ Type, Reason string }
		if json.Unmarshal(doc.Error, &obj) == nil && obj.Type != "" {
			e.Type, e.Reason = obj.Type, obj.Reason
			return e
		}
		var s string
		if json.Unmarshal(doc.Error, &s) == nil {
			e.Reason = s
			return e
		}
	}
	e.Reason = string(body)
	if len(e.Reason) > 300 {
		e.Reason = e.Reason[:300]
	}
	return e
}

// jsonCall sends v (nil: no body) and decodes a 2xx response into out.
func (c *Client) jsonCall(ctx context.Context, method, path string, v any, out any) error {
	var body []byte
	if v != nil {
		switch b := v.(type) {
		case []byte:
			body = b
		default:
			var err error
			if body, err = json.Marshal(v); err != nil {
				return fmt.Errorf("%s %s: encode: %w", method, path, err)
			}
		}
	}
	status, _, resp, err := c.Do(ctx, method, path, "application/json", body)
	if err != nil {
		return err
	}
	if status < 200 || status > 299 {
		return statusError(method, path, status, resp)
	}
	if out != nil {
		if err := json.Unmarshal(resp, out); err != nil {
			return fmt.Errorf("%s %s: decode response: %w", method, path, err)
		}
	}
	return nil
}

// Info is what GET / says about the cluster.
type Info struct {
	Distribution string // opensearch (empty for Elasticsearch)
	Version      string
}

// Info asks the cluster for its version (not supported by Serverless).
func (c *Client) Info(ctx context.Context) (Info, error) {
	var v struct {
		Version struct {
			Distribution string `json:"distribution"`
			Number       string `json:"number"`
		} `json:"version"`
	}
	if err := c.jsonCall(ctx, http.MethodGet, "/", nil, &v); err != nil {
		return Info{}, err
	}
	return Info{Distribution: v.Version.Distribution, Version: v.Version.Number}, nil
}

// Refresh makes recent writes to the indices searchable (tests, demo).
func (c *Client) Refresh(ctx context.Context, indices string) error {
	return c.jsonCall(ctx, http.MethodPost, "/"+indices+"/_refresh", nil, nil)
}

// Count returns the number of documents matching query (nil: all).
func (c *Client) Count(ctx context.Context, indices string, query json.RawMessage) (int, error) {
	var body any
	if query != nil {
		body = map[string]json.RawMessage{"query": query}
	}
	var v struct {
		Count int `json:"count"`
	}
	if err := c.jsonCall(ctx, http.MethodPost, "/"+indices+"/_count", body, &v); err != nil {
		return 0, err
	}
	return v.Count, nil
}

// Hit is one search result.
type Hit struct {
	Index  string          `json:"_index"`
	ID     string          `json:"_id"`
	Source json.RawMessage `json:"_source"`
}

// Search returns up to size documents matching query (nil: all), and the
// total number of matches.
func (c *Client) Search(ctx context.Context, indices string, query json.RawMessage, size int) ([]Hit, int, error) {
	req := map[string]any{"size": size, "track_total_hits": true}
	if query != nil {
		req["query"] = query
	}
	var v struct {
		Hits struct {
			Total struct {
				Value int `json:"value"`
			} `json:"total"`
			Hits []Hit `json:"hits"`
		} `json:"hits"`
	}
	if err := c.jsonCall(ctx, http.MethodPost, "/"+indices+"/_search", req, &v); err != nil {
		return nil, 0, err
	}
	return v.Hits.Hits, v.Hits.Total.Value, nil
}

// Get returns a document's source, or found=false.
func (c *Client) Get(ctx context.Context, index, id string) (json.RawMessage, bool, error) {
	p := "/" + index + "/_doc/" + url.PathEscape(id)
	status, _, resp, err := c.Do(ctx, http.MethodGet, p, "", nil)
	if err != nil {
		return nil, false, err
	}
	if status == 404 {
		return nil, false, nil
	}
	if status != 200 {
		return nil, false, statusError(http.MethodGet, p, status, resp)
	}
	var v struct {
		Source json.RawMessage `json:"_source"`
	}
	if err := json.Unmarshal(resp, &v); err != nil {
		return nil, false, fmt.Errorf("GET %s: %w", p, err)
	}
	return v.Source, true, nil
}

// DeleteIndex deletes indices (tests); a missing index is not an error.
func (c *Client) DeleteIndex(ctx context.Context, indices string) error {
	status, _, resp, err := c.Do(ctx, http.MethodDelete, "/"+indices, "", nil)
	if err != nil {
		return err
	}
	if status != 200 && status != 404 {
		return statusError(http.MethodDelete, "/"+indices, status, resp)
	}
	return nil
}

// CreateIndex creates an index with a body (settings, mappings).
func (c *Client) CreateIndex(ctx context.Context, index string, body json.RawMessage) error {
	return c.jsonCall(ctx, http.MethodPut, "/"+index, []byte(body), nil)
}
