// Package lambdalog builds the JSON slog logger every function uses: stable
// keys (timestamp, level, message, requestId) in the shape Lambda's own JSON
// log format uses, so CloudWatch Logs Insights queries work across them.
package lambdalog

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

// New returns a JSON logger writing to w at the given level name
// (debug, info, warn, error), tagged with the function's name.
func New(w io.Writer, level, function string) *slog.Logger {
	var l slog.Level
	switch strings.ToLower(level) {
	case "debug":
		l = slog.LevelDebug
	case "warn":
		l = slog.LevelWarn
	case "error":
		l = slog.LevelError
	default:
		l = slog.LevelInfo
	}
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l, ReplaceAttr: lambdacontext.ReplaceAttr})
	return slog.New(requestID{h}).With(slog.String("function", function))
}

// requestID adds the invocation's request id when the context carries one.
type requestID struct{ slog.Handler }

func (h requestID) Handle(ctx context.Context, r slog.Record) error {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		r.AddAttrs(slog.String("requestId", lc.AwsRequestID))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestID) WithAttrs(as []slog.Attr) slog.Handler { return requestID{h.Handler.WithAttrs(as)} }
func (h requestID) WithGroup(n string) slog.Handler       { return requestID{h.Handler.WithGroup(n)} }

// Fatal reports a cold-start failure as one JSON line on stderr and exits,
// which Lambda surfaces as Runtime.ExitError with that line in the logs.
func Fatal(function string, err error) {
	fmt.Fprintf(os.Stderr, "{\"level\":\"ERROR\",\"function\":%q,\"message\":\"cold start failed\",\"error\":%q}\n", function, err.Error())
	os.Exit(1)
}
