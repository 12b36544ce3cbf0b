// Command lambdafn is a test bootstrap built on aws-lambda-go (-tags
// lambda.norpc). The event's "action" picks a behaviour.
package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type event struct {
	Action  string          `json:"action"`
	Message string          `json:"message"`
	SleepMs int             `json:"sleepMs"`
	Size    int             `json:"size"`
	Data    json.RawMessage `json:"data"`
}

// BadInputError gives the error a stable type name: aws-lambda-go reports
// the Go type name as errorType.
type BadInputError struct{ Msg string }

func (e *BadInputError) Error() string { return e.Msg }

func handle(ctx context.Context, ev event) (any, error) {
	switch ev.Action {
	case "echo":
		lc, _ := lambdacontext.FromContext(ctx)
		deadline, _ := ctx.Deadline()
		env := map[string]string{}
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		return map[string]any{
			"data":        ev.Data,
			"requestId":   lc.AwsRequestID,
			"functionArn": lc.InvokedFunctionArn,
			"deadlineMs":  deadline.UnixMilli(),
			"traceId":     os.Getenv("_X_AMZN_TRACE_ID"),
			"pid":         os.Getpid(),
			"env":         env,
		}, nil
	case "data": // deterministic: the event's data, as is
		return ev.Data, nil
	case "fail":
		return nil, &BadInputError{Msg: ev.Message}
	case "sleep":
		time.Sleep(time.Duration(ev.SleepMs) * time.Millisecond) // ignores ctx on purpose
		return "slept", nil
	case "panic":
		panic(ev.Message)
	case "exit":
		os.Exit(2)
	case "big":
		return strings.Repeat("a", ev.Size), nil // JSON-encoded: Size+2 bytes
	}
	return nil, &BadInputError{Msg: "unknown action " + ev.Action}
}

func main() { lambda.Start(handle) }
