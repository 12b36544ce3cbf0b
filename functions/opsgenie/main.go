// Command opsgenie is the security-event Lambda: CloudTrail API calls and
// console sign-ins, GuardDuty and Security Hub findings and Config compliance
// changes (EventBridge), and CloudTrail records through a CloudWatch Logs
// subscription, run through the rule set and sent to Opsgenie / JSM
// Operations / SNS. Wiring only; the logic lives in shared/securityevent,
// shared/rules and shared/alert.
package main

import (
	"context"
	"os"
	"path/filepath"

	"github.com/aws/aws-lambda-go/lambda"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/tributary-logs/tributary/shared/alert"
	"github.com/tributary-logs/tributary/shared/config"
	"github.com/tributary-logs/tributary/shared/emf"
	"github.com/tributary-logs/tributary/shared/lambdalog"
	"github.com/tributary-logs/tributary/shared/rules"
	"github.com/tributary-logs/tributary/shared/securityevent"
)

const name = "opsgenie"

func main() {
	cfg, err := config.LoadOpsgenie(os.LookupEnv)
	if err != nil {
		lambdalog.Fatal(name, err)
	}
	log := lambdalog.New(os.Stdout, cfg.LogLevel, name)
	ctx := context.Background()
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(cfg.Region))
	if err != nil {
		lambdalog.Fatal(name, err)
	}
	ssmClient := ssm.NewFromConfig(awsCfg)

	// Rules are checked here, once: a bad rule stops the cold start with an
	// error naming the rule and the field.
	var files []rules.File
	var sources []string
	if cfg.RulesFile != "" {
		path := cfg.RulesFile
		if root := os.Getenv("LAMBDA_TASK_ROOT"); root != "" && !filepath.IsAbs(path) {
			path = filepath.Join(root, path) // packaged with the function
		}
		f, err := rules.LoadFile(path)
		if err != nil {
			lambdalog.Fatal(name, err)
		}
		files, sources = append(files, f), append(sources, "RULES_FILE "+cfg.RulesFile)
	}
	if cfg.RulesParameter != "" {
		f, err := rules.LoadParameter(ctx, ssmClient, cfg.RulesParameter)
		if err != nil {
			lambdalog.Fatal(name, err)
		}
		files, sources = append(files, f), append(sources, "RULES_PARAMETER "+cfg.RulesParameter)
	}
	prio, _ := alert.ParsePriority(cfg.DefaultPriority)
	set, err := rules.Compile(files, sources, rules.Options{
		DefaultPriority:    prio,
		MinFindingSeverity: cfg.MinFindingSeverity,
		Disabled:           cfg.DisabledRules,
	})
	if err != nil {
		lambdalog.Fatal(name, err)
	}
	responders, err := alert.ParseResponders(cfg.Responders)
	if err != nil {
		lambdalog.Fatal(name, err)
	}

	metrics := emf.New(name)
	dispatch, err := alert.FromConfig(cfg.Alerting, alert.Clients{
		SecretsManager: secretsmanager.NewFromConfig(awsCfg),
		SSM:            ssmClient,
		SNS:            sns.NewFromConfig(awsCfg),
		OnRetry:        func() { metrics.Count(emf.SinkRetries, 1) },
	}, log)
	if err != nil {
		lambdalog.Fatal(name, err)
	}
	log.Info("ready", "rules", len(set.Rules()), "sinks", dispatch.Sinks(), "minFindingSeverity", cfg.MinFindingSeverity)

	h := securityevent.New(set, dispatch, securityevent.Options{
		Logger:          log,
		MetricsOut:      os.Stdout,
		Metrics:         metrics,
		DefaultPriority: prio,
		Build:           securityevent.BuildOptions{Tags: cfg.Tags, Responders: responders},
	})
	lambda.Start(h.Handle)
}
