package config

import (
	"slices"
	"strings"
	"testing"
)

func env(kv map[string]string) LookupFunc {
	return func(k string) (string, bool) { v, ok := kv[k]; return v, ok }
}

func TestMissingAndMalformedVariablesAreNamed(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		load func(LookupFunc) error
		env  map[string]string
		want []string
	}{
		{"transform without region", func(l LookupFunc) error { _, err := LoadTransform(l); return err },
			map[string]string{}, []string{"config: AWS_REGION is required but not set"}},
		{"indexer without endpoint", func(l LookupFunc) error { _, err := LoadIndexer(l); return err },
			map[string]string{"AWS_REGION": "eu-west-1"}, []string{"config: OPENSEARCH_ENDPOINT is required but not set"}},
		{"indexer basic auth needs a secret", func(l LookupFunc) error { _, err := LoadIndexer(l); return err },
			map[string]string{"AWS_REGION": "eu-west-1", "OPENSEARCH_ENDPOINT": "https://x", "OPENSEARCH_AUTH": "basic"},
			[]string{"config: OPENSEARCH_SECRET_ARN is required but not set"}},
		{"bad values, all reported", func(l LookupFunc) error { _, err := LoadIndexer(l); return err },
			map[string]string{"AWS_REGION": "eu-west-1", "OPENSEARCH_ENDPOINT": "search.example.com", "BULK_MAX_DOCS": "many",
				"OPENSEARCH_SERVICE": "solr", "REDACT": "email,iban", "EXCLUDE_MESSAGES": `["("]`},
			[]string{`config: OPENSEARCH_ENDPOINT is "search.example.com"; want a URL`, `config: BULK_MAX_DOCS is "many"; want an integer`,
				`config: OPENSEARCH_SERVICE is "solr"; want one of es, aoss`, `config: REDACT names unknown rule "iban"`,
				`config: EXCLUDE_MESSAGES has an invalid regular expression "("`}},
		{"lake without bucket", func(l LookupFunc) error { _, err := LoadLake(l); return err },
			map[string]string{"AWS_REGION": "eu-west-1"}, []string{"config: LAKE_BUCKET is required but not set"}},
		{"alarm without sinks", func(l LookupFunc) error { _, err := LoadAlarm(l); return err },
			map[string]string{"AWS_REGION": "eu-west-1"}, []string{"config: ALERT_SINKS is required but not set"}},
		{"opsgenie sink needs its key", func(l LookupFunc) error { _, err := LoadOpsgenie(l); return err },
			map[string]string{"AWS_REGION": "eu-west-1", "ALERT_SINKS": "opsgenie"}, []string{"config: OPSGENIE_API_KEY_SECRET_ARN is required but not set"}},
		{"range", func(l LookupFunc) error { _, err := LoadTransform(l); return err },
			map[string]string{"AWS_REGION": "eu-west-1", "MAX_FIELDS": "0"}, []string{"config: MAX_FIELDS is 0; want 1..10000"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			err := c.load(env(c.env))
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestTransformDefaults(t *testing.T) {
	t.Parallel()
	c, err := LoadTransform(env(map[string]string{"AWS_REGION": "ap-northeast-2"}))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Redact, RedactRules) || c.MaxFields != 100 || c.MaxFieldDepth != 4 || c.MaxInflatedBytes != 64<<20 || c.LogLevel != "info" {
		t.Errorf("defaults %+v", c)
	}
	c, err = LoadTransform(env(map[string]string{"AWS_REGION": "x", "REDACT": "none", "EXCLUDE_LOG_GROUPS": `["^/a,b$", "^/c"]`}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Redact != nil || len(c.ExcludeLogGroups) != 2 || !c.ExcludeLogGroups[0].MatchString("/a,b") {
		t.Errorf("REDACT=none / JSON list: %+v", c)
	}
}

func TestVariablesListsWhatLoadersRead(t *testing.T) {
	t.Parallel()
	for _, fn := range Functions {
		vars := Variables(fn)
		if !slices.Contains(vars, "AWS_REGION") || !slices.Contains(vars, "LOG_LEVEL") {
			t.Errorf("%s: %v lacks the common variables", fn, vars)
		}
	}
	if v := Variables("transform"); !slices.Contains(v, "REDACT") || !slices.Contains(v, "METRIC_LOG_GROUPS") || slices.Contains(v, "OPENSEARCH_ENDPOINT") {
		t.Errorf("transform: %v", v)
	}
	if v := Variables("indexer"); !slices.Contains(v, "OPENSEARCH_ENDPOINT") || !slices.Contains(v, "REDACT") {
		t.Errorf("indexer: %v", v)
	}
	if Variables("nope") != nil {
		t.Error("unknown function must list nothing")
	}
}
