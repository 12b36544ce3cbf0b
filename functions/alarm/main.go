// Command alarm is the CloudWatch alarm Lambda: alarm notifications (SNS or
// EventBridge) become alerts opened on ALARM and closed on OK under the
// alarm's ARN, with the log lines behind metric-filter alarms, and, for
// Tributary's own pipeline alarms (tagged tributary:pipeline-alarm), what a
// responder needs: dead letters and their replay command, each log group's
// newest event, the composite's members in ALARM. Wiring only; the logic
// lives in shared/alarm and shared/alert.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/tributary-logs/tributary/shared/alarm"
	"github.com/tributary-logs/tributary/shared/alert"
	"github.com/tributary-logs/tributary/shared/config"
	"github.com/tributary-logs/tributary/shared/emf"
	"github.com/tributary-logs/tributary/shared/lambdalog"
)

const name = "alarm"

func main() {
	cfg, err := config.LoadAlarm(os.LookupEnv)
	if err != nil {
		lambdalog.Fatal(name, err)
	}
	log := lambdalog.New(os.Stdout, cfg.LogLevel, name)
	awsCfg, err := awsconfig.LoadDefaultConfig(context.Background(), awsconfig.WithRegion(cfg.Region))
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
		SSM:            ssm.NewFromConfig(awsCfg),
		SNS:            sns.NewFromConfig(awsCfg),
		OnRetry:        func() { metrics.Count(emf.SinkRetries, 1) },
	}, log)
	if err != nil {
		lambdalog.Fatal(name, err)
	}
	prio, _ := alert.ParsePriority(cfg.DefaultPriority)
	logs := cloudwatchlogs.NewFromConfig(awsCfg)
	h := alarm.New(dispatch, alarm.Options{
		Logger:           log,
		MetricsOut:       os.Stdout,
		Metrics:          metrics,
		DefaultPriority:  prio,
		PriorityTag:      cfg.PriorityTag,
		TagCacheTTL:      cfg.TagCacheTTL,
		InsufficientData: cfg.InsufficientData,
		MaxLogLines:      cfg.MaxLogLines,
		LookupTimeout:    cfg.LogLookupTimeout,
		Alarms:           cloudwatch.NewFromConfig(awsCfg),
		Logs:             logs,
		LogGroups:        logs,
		Tags:             cfg.Tags,
		Responders:       responders,
	})
	log.Info("ready", "sinks", dispatch.Sinks(), "insufficientData", cfg.InsufficientData, "maxLogLines", cfg.MaxLogLines)
	lambda.Start(h.Handle)
}
