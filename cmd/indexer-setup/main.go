// Command indexer-setup installs the indexer's index template and ISM
// policy, reading the same environment variables as the indexer function
// (OPENSEARCH_ENDPOINT, OPENSEARCH_AUTH, OPENSEARCH_SERVICE,
// OPENSEARCH_SECRET_ARN, INDEX_PATTERN, ISM_WARM_AFTER_DAYS,
// ISM_DELETE_AFTER_DAYS, AWS_REGION). It is idempotent: run it from a
// deployment pipeline, or let the function do it at cold start with
// SETUP_INDEX_TEMPLATE=true.
//
//	OPENSEARCH_ENDPOINT=https://search-logs-abc.eu-west-1.es.amazonaws.com AWS_REGION=eu-west-1 \
//	  go run ./cmd/indexer-setup [-print]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/tributary-logs/tributary/shared/bulk"
	"github.com/tributary-logs/tributary/shared/config"
	"github.com/tributary-logs/tributary/shared/opensearch"
)

func main() {
	print := flag.Bool("print", false, "print the index template and ISM policy instead of installing them")
	fallback := flag.Bool("no-flat-object", false, "map fields as an object with a field limit even where flat_object is supported")
	flag.Parse()
	if err := run(*print, *fallback); err != nil {
		fmt.Fprintln(os.Stderr, "indexer-setup:", err)
		os.Exit(1)
	}
}

func run(printOnly, fallback bool) error {
	cfg, err := config.LoadIndexer(os.LookupEnv)
	if err != nil {
		return err
	}
	pattern, err := bulk.ParsePattern(cfg.IndexPattern)
	if err != nil {
		return err
	}
	setup := opensearch.SetupFromConfig(cfg, pattern.TemplatePattern())
	setup.ForceFallback = fallback
	if printOnly {
		out := map[string]any{
			"index_template": opensearch.IndexTemplate(setup, !fallback),
			"ism_policy":     opensearch.Policy(setup),
		}
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(cfg.Region))
	if err != nil {
		return err
	}
	var sm opensearch.SecretGetter
	if cfg.Auth == opensearch.AuthBasic {
		sm = secretsmanager.NewFromConfig(awsCfg)
	}
	client, err := opensearch.FromConfig(ctx, cfg, awsCfg, sm)
	if err != nil {
		return err
	}
	res, err := client.Setup(ctx, setup)
	if err != nil {
		return err
	}
	fmt.Printf("endpoint:       %s\nversion:        %s\nindex pattern:  %s\nfields mapping: %s\ntemplate:       %s %s\nISM policy:     %s %s (warm after %d days, delete after %d days)\n",
		cfg.Endpoint, orDash(res.Version), pattern.TemplatePattern(), fieldsMapping(res.FlatObject),
		opensearch.DefaultName, res.Template, opensearch.DefaultName, res.Policy, cfg.WarmAfterDays, cfg.DeleteAfterDays)
	return nil
}

func fieldsMapping(flat bool) string {
	if flat {
		return "flat_object"
	}
	return "object with a total field limit"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
