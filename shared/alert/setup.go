package alert

import (
	"fmt"
	"log/slog"

	"github.com/tributary-logs/tributary/shared/config"
)

// Clients are the AWS clients the sinks may need; unused ones may be nil.
type Clients struct {
	SecretsManager secretGetter
	SSM            parameterGetter
	SNS            publisher
	HTTP           HTTPDoer // default: http.Client with a 10 s timeout
	Retry          Retry
	OnRetry        func()
}

// FromConfig builds the dispatcher for ALERT_SINKS. The API key is read on
// first delivery, once per container, and shared by opsgenie and jsm.
func FromConfig(cfg config.Alerting, c Clients, log *slog.Logger) (*Dispatcher, error) {
	var key KeyFunc
	var forget func()
	var sinks []Sink
	for _, name := range cfg.Sinks {
		switch name {
		case "opsgenie", "jsm":
			if key == nil {
				src, err := NewKeySource(cfg.APIKeySecretARN, c.SecretsManager, c.SSM)
				if err != nil {
					return nil, fmt.Errorf("OPSGENIE_API_KEY_SECRET_ARN: %w", err)
				}
				key, forget = src.Key, src.Forget
			}
			api, base := OpsgenieAPI, cfg.OpsgenieAPIURL
			if name == "jsm" {
				api, base = JSMAPI, cfg.JSMAPIURL
			}
			s, err := NewOpsgenieSink(OpsgenieOptions{API: api, BaseURL: base, Key: key, Client: c.HTTP, Retry: c.Retry,
				OnRetry: c.OnRetry, OnUnauthorized: forget})
			if err != nil {
				return nil, err
			}
			sinks = append(sinks, s)
		case "sns":
			s, err := NewSNSSink(cfg.TopicARN, c.SNS)
			if err != nil {
				return nil, fmt.Errorf("ALERT_TOPIC_ARN: %w", err)
			}
			sinks = append(sinks, s)
		case "log":
			sinks = append(sinks, LogSink{Log: log})
		default:
			return nil, fmt.Errorf("ALERT_SINKS: unknown sink %q", name)
		}
	}
	if len(sinks) == 0 {
		return nil, fmt.Errorf("ALERT_SINKS: no sink configured")
	}
	return NewDispatcher(log, sinks...), nil
}
