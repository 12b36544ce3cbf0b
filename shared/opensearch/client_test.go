package opensearch

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/tributary-logs/tributary/shared/bulktest"
)

func awsConfig() aws.Config {
	return aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "token")}
}

func TestSigV4SignsForTheService(t *testing.T) {
	t.Parallel()
	for _, service := range []string{ServiceES, ServiceAOSS} {
		t.Run(service, func(t *testing.T) {
			t.Parallel()
			srv := bulktest.Start()
			defer srv.Close()
			c, err := New(Options{Endpoint: srv.URL, Auth: AuthSigV4, Service: service, AWS: awsConfig()})
			if err != nil {
				t.Fatal(err)
			}
			resp, err := c.Bulk(context.Background(), []byte("{\"create\":{\"_index\":\"a\",\"_id\":\"1\"}}\n{\"x\":1}\n"))
			if err != nil || resp.Status != 200 {
				t.Fatalf("bulk: %v %+v", err, resp)
			}
			reqs := srv.Requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests: %+v", len(reqs), reqs)
			}
			auth := reqs[0].Authorization
			want := "Credential=AKIDEXAMPLE/"
			scope := "/eu-west-1/" + service + "/aws4_request"
			if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") || !strings.Contains(auth, want) || !strings.Contains(auth, scope) {
				t.Errorf("Authorization = %q, want SigV4 for %s", auth, scope)
			}
			if reqs[0].ContentType != "application/x-ndjson" || reqs[0].Path != "/_bulk" {
				t.Errorf("request = %+v", reqs[0])
			}
		})
	}
}

type secrets struct {
	value string
	err   error
}

func (s secrets) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	if s.err != nil {
		return nil, s.err
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(s.value)}, nil
}

func TestBasicAuthFromSecret(t *testing.T) {
	t.Parallel()
	srv := bulktest.Start()
	defer srv.Close()
	u, p, err := BasicAuthFromSecret(context.Background(), secrets{value: `{"username":"indexer","password":"s3cr3t!"}`}, "arn:aws:secretsmanager:eu-west-1:1:secret:os")
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Options{Endpoint: srv.URL, Auth: AuthBasic, Username: u, Password: p})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Info(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte("indexer:s3cr3t!"))
	if got := srv.Requests()[0].Authorization; got != want {
		t.Errorf("Authorization = %q, want %q", got, want)
	}
}

func TestBasicAuthSecretErrorsNeverShowThePassword(t *testing.T) {
	t.Parallel()
	for name, s := range map[string]secrets{
		"not json":    {value: `password=hunter2`},
		"no password": {value: `{"username":"u"}`},
		"api error":   {err: errors.New("AccessDeniedException")},
	} {
		_, _, err := BasicAuthFromSecret(context.Background(), s, "arn:aws:secretsmanager:eu-west-1:1:secret:os")
		if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "arn:aws:secretsmanager") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	t.Parallel()
	for name, o := range map[string]Options{
		"no scheme":       {Endpoint: "search-x.es.amazonaws.com"},
		"sigv4 no creds":  {Endpoint: "https://x", Auth: AuthSigV4},
		"unknown service": {Endpoint: "https://x", Auth: AuthSigV4, Service: "s3", AWS: awsConfig()},
		"basic no user":   {Endpoint: "https://x", Auth: AuthBasic},
		"unknown auth":    {Endpoint: "https://x", Auth: "kerberos"},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"":                              0,
		"3":                             3 * time.Second,
		"Sun, 22 Nov 2026 04:00:10 GMT": 10 * time.Second,
		"soon":                          0,
	} {
		if got := retryAfter(v, now); got != want {
			t.Errorf("retryAfter(%q) = %s, want %s", v, got, want)
		}
	}
}

func TestServerlessSetupSkipsVersionAndISM(t *testing.T) {
	t.Parallel()
	srv := bulktest.Start()
	defer srv.Close()
	c, err := New(Options{Endpoint: srv.URL, Auth: AuthSigV4, Service: ServiceAOSS, AWS: awsConfig()})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Setup(context.Background(), SetupOptions{IndexPatterns: []string{"cwl-*"}, WarmAfterDays: 7, DeleteAfterDays: 30})
	if err != nil {
		t.Fatal(err)
	}
	if res.Policy != "skipped" || res.FlatObject || res.Version != "" {
		t.Errorf("result = %+v", res)
	}
	for _, r := range srv.Requests() {
		if r.Path == "/" || strings.HasPrefix(r.Path, "/_plugins") {
			t.Errorf("serverless set-up sent %s %s", r.Method, r.Path)
		}
	}
}

func TestOldClusterGetsFieldLimitFallback(t *testing.T) {
	t.Parallel()
	srv := bulktest.Start()
	defer srv.Close()
	srv.Version = "2.5.0"
	c, _ := New(Options{Endpoint: srv.URL})
	res, err := c.Setup(context.Background(), SetupOptions{IndexPatterns: []string{"cwl-*"}, DeleteAfterDays: 30})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := srv.Template(DefaultName)
	var tpl struct {
		Template struct {
			Settings map[string]any `json:"settings"`
			Mappings struct {
				Properties map[string]struct {
					Type string `json:"type"`
				} `json:"properties"`
			} `json:"mappings"`
		} `json:"template"`
	}
	if err := json.Unmarshal(raw, &tpl); err != nil {
		t.Fatal(err)
	}
	if res.FlatObject || tpl.Template.Mappings.Properties["fields"].Type != "object" ||
		tpl.Template.Settings["index.mapping.total_fields.limit"] != float64(2000) {
		t.Errorf("result %+v, template %s", res, raw)
	}
}

func TestPolicyStates(t *testing.T) {
	t.Parallel()
	states := func(o SetupOptions) string {
		p := Policy(o)["policy"].(map[string]any)
		var names []string
		for _, s := range p["states"].([]any) {
			st := s.(map[string]any)
			name := st["name"].(string)
			for _, tr := range st["transitions"].([]any) {
				m := tr.(map[string]any)
				name += ">" + m["state_name"].(string) + "@" + m["conditions"].(map[string]any)["min_index_age"].(string)
			}
			names = append(names, name)
		}
		return strings.Join(names, " ")
	}
	for _, tc := range []struct {
		warm, del int
		want      string
	}{
		{7, 30, "hot>warm@7d warm>delete@30d delete"},
		{0, 30, "hot>delete@30d delete"},
		{30, 30, "hot>delete@30d delete"},
		{7, 0, "hot>warm@7d warm"},
	} {
		if got := states(SetupOptions{IndexPatterns: []string{"cwl-*"}, WarmAfterDays: tc.warm, DeleteAfterDays: tc.del}); got != tc.want {
			t.Errorf("warm %d delete %d: %s, want %s", tc.warm, tc.del, got, tc.want)
		}
	}
}

func TestPolicyUpdatedWhenSettingsChange(t *testing.T) {
	t.Parallel()
	srv := bulktest.Start()
	defer srv.Close()
	c, _ := New(Options{Endpoint: srv.URL})
	ctx := context.Background()
	o := SetupOptions{IndexPatterns: []string{"cwl-*"}, WarmAfterDays: 7, DeleteAfterDays: 30}
	for i, want := range []string{"created", "unchanged"} {
		res, err := c.Setup(ctx, o)
		if err != nil || res.Policy != want {
			t.Fatalf("setup %d: %+v %v", i, res, err)
		}
	}
	o.DeleteAfterDays = 90
	res, err := c.Setup(ctx, o)
	if err != nil || res.Policy != "updated" {
		t.Fatalf("after change: %+v %v", res, err)
	}
	p, _ := srv.Policy(DefaultName)
	if !strings.Contains(string(p), `"min_index_age":"90d"`) {
		t.Errorf("policy = %s", p)
	}
}
