package localpipeline

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tributary-logs/tributary/shared/opsgenietest"
	"github.com/tributary-logs/tributary/shared/opsgenietest/snsqueue"
)

// AlertsReport counts the alerting stage.
type AlertsReport struct {
	SecurityEvents     int            `json:"security_events"`
	CloudTrailPayloads int            `json:"cloudtrail_payloads_via_logs"`
	AlarmNotifications int            `json:"alarm_notifications"`
	Invocations        int            `json:"invocations"`
	FailedInvocations  int            `json:"failed_invocations_retried"`
	Pages              int            `json:"pages"`
	Deduplicated       int            `json:"deduplicated_creates"`
	Open               map[string]int `json:"open_by_priority"`
	Closed             map[string]int `json:"closed_by_priority"`
	SNSMessages        int            `json:"sns_messages"`
}

// StartAlerting brings up the Opsgenie API server, the key in Secrets
// Manager and the alert topic with a queue subscribed to it, as a
// subscriber (e-mail, chat) would see it.
func (r *Run) StartAlerting(ctx context.Context) error {
	srv, err := opsgenietest.Start(opsgenietest.Options{})
	if err != nil {
		return err
	}
	r.opsgenie = srv
	cfg, err := r.moto.Config(ctx, Region)
	if err != nil {
		return err
	}
	sec, err := secretsmanager.NewFromConfig(cfg).CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String("tributary/opsgenie-api-key"), SecretString: aws.String(srv.Key())})
	if err != nil {
		return fmt.Errorf("create secret: %w", err)
	}
	sub, err := snsqueue.New(ctx, sns.NewFromConfig(cfg), sqs.NewFromConfig(cfg), "tributary-alerts")
	if err != nil {
		return err
	}
	r.subscriber = sub
	r.alertEnv = []string{
		"ALERT_SINKS=opsgenie,sns",
		"OPSGENIE_API_URL=" + srv.URL,
		"OPSGENIE_API_KEY_SECRET_ARN=" + aws.ToString(sec.ARN),
		"ALERT_TOPIC_ARN=" + sub.TopicARN,
		// moto cannot answer CloudWatch's protocol: no alarm tag lookups.
		"PRIORITY_TAG=none",
	}
	return nil
}

// InjectOpsgenieOutage makes the Opsgenie API fail until n invocations
// have failed because of it.
func (r *Run) InjectOpsgenieOutage(n int) {
	r.opsgenie.SetOutage(true)
	r.outageUntil = n
}

// Alert sends the security events (each delivered twice, as EventBridge
// may), the workload's CloudTrail records through the logs subscription, and
// an alarm cycle (ALARM, then OK) through the alerting functions. A failed
// invocation is retried as Lambda retries asynchronous events.
func (r *Run) Alert(ctx context.Context, eventsDir string, w *Workload) error {
	rep := &r.Report.Alerts
	for _, fn := range []string{"opsgenie", "alarm"} {
		if _, err := r.function(fn, r.alertEnv...); err != nil {
			return err
		}
	}
	security, _ := filepath.Glob(filepath.Join(eventsDir, "opsgenie", "*.json"))
	for _, f := range security {
		if strings.HasSuffix(f, ".expected.json") {
			continue
		}
		ev, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		rep.SecurityEvents++
		for range 2 {
			if err := r.invokeRetrying(ctx, "opsgenie", ev); err != nil {
				return fmt.Errorf("%s: %w", filepath.Base(f), err)
			}
		}
	}
	// Two of the CloudTrail group's payloads: a trail that also goes to
	// CloudWatch Logs gets the same rules as EventBridge.
	for _, p := range w.CloudTrail[:min(2, len(w.CloudTrail))] {
		rep.CloudTrailPayloads++
		ev := []byte(`{"awslogs":{"data":"` + base64.StdEncoding.EncodeToString(p) + `"}}`)
		if err := r.invokeRetrying(ctx, "opsgenie", ev); err != nil {
			return fmt.Errorf("cloudtrail payload: %w", err)
		}
	}
	ok, err := os.ReadFile(filepath.Join(eventsDir, "alarm", "sns-alarm-ok.json"))
	if err != nil {
		return err
	}
	// The same alarm going ALARM, then OK: one page, then closed.
	alarm := bytes.Replace(bytes.Replace(ok, []byte(`NewStateValue\":\"OK\"`), []byte(`NewStateValue\":\"TMP\"`), 1),
		[]byte(`OldStateValue\":\"ALARM\"`), []byte(`OldStateValue\":\"OK\"`), 1)
	alarm = bytes.Replace(alarm, []byte(`NewStateValue\":\"TMP\"`), []byte(`NewStateValue\":\"ALARM\"`), 1)
	alarm = bytes.Replace(alarm, []byte(`"Subject": "OK: `), []byte(`"Subject": "ALARM: `), 1)
	for _, ev := range [][]byte{alarm, ok} {
		rep.AlarmNotifications++
		if err := r.invokeRetrying(ctx, "alarm", ev); err != nil {
			return fmt.Errorf("alarm notification: %w", err)
		}
	}
	r.step("alerting: %d security events (each delivered twice), %d CloudTrail payloads via logs, an alarm cycle", rep.SecurityEvents, rep.CloudTrailPayloads)
	return r.countAlerts(ctx)
}

func (r *Run) invokeRetrying(ctx context.Context, fn string, ev []byte) error {
	rep := &r.Report.Alerts
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		rep.Invocations++
		if _, err = r.invoke(ctx, fn, ev); err == nil {
			return nil
		}
		rep.FailedInvocations++
		if r.outageUntil > 0 {
			// The outage ends after the invocations it was set to last.
			r.outageUntil--
			if r.outageUntil == 0 {
				r.opsgenie.SetOutage(false)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return err
}

func (r *Run) countAlerts(ctx context.Context) error {
	rep := &r.Report.Alerts
	rep.Open, rep.Closed = map[string]int{}, map[string]int{}
	alerts := r.opsgenie.Alerts()
	sort.Slice(alerts, func(i, j int) bool { return alerts[i].Alias < alerts[j].Alias })
	for _, a := range alerts {
		if a.Status == "closed" {
			rep.Closed[a.Priority]++
		} else {
			rep.Open[a.Priority]++
		}
		rep.Deduplicated += a.Count - 1
	}
	rep.Pages = r.opsgenie.Pages()
	msgs, err := r.subscriber.Receive(ctx, 2*time.Second)
	if err != nil {
		return err
	}
	rep.SNSMessages = len(msgs)
	r.ledger.pagesByAlias = map[string]int{}
	for _, req := range r.opsgenie.Requests() {
		if req.Op == "create" && req.Status == 202 {
			r.ledger.creates++
		}
	}
	for _, a := range alerts {
		r.ledger.pagesByAlias[a.Alias]++
	}
	return r.writeJSON("alerts.json", alerts)
}
