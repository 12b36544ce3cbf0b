// Command invoke runs a function's bootstrap locally under the Lambda Runtime
// API emulator (shared/lambdaruntime) and invokes it with an event file:
//
//	go run ./cmd/invoke -fn transform -event events/transform/firehose-cloudwatch.json
//
// The process is invoked -n times (default 2: one cold, one warm). The last
// response goes to stdout, pretty-printed when it is JSON and cut at 4 KB
// unless -full; timings and the function's own logs go to stderr.
//
// The function sees Lambda's environment plus, from this process, AWS_*
// (credentials, region, AWS_ENDPOINT_URL_*) and LOG_LEVEL, and every -env:
// "-env KEY=VALUE" sets a variable, "-env KEY" copies it from here. -hostenv
// passes this whole environment instead.
//
// -expect FILE compares the response with FILE as JSON (key order and
// formatting ignored); -update (re)writes FILE from the response instead.
//
// Exit status: 0 success, 1 function error or -expect mismatch, 2 usage or
// emulator error.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/tributary-logs/tributary/shared/lambdaruntime"
	"github.com/tributary-logs/tributary/shared/localaws"
	"github.com/tributary-logs/tributary/shared/localworld"
)

// maxShown is how much of a response is printed without -full.
const maxShown = 4096

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Environ(), os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// envFlags collects repeated -env values.
type envFlags []string

func (e *envFlags) String() string     { return strings.Join(*e, " ") }
func (e *envFlags) Set(v string) error { *e = append(*e, v); return nil }

type options struct {
	fn, event, bin, expect string
	timeout                time.Duration
	memory, n              int
	env                    envFlags
	hostEnv, full, update  bool
	local                  bool
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("invoke", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.fn, "fn", "", "function name, e.g. transform (required)")
	fs.StringVar(&o.event, "event", "", `event JSON file, "-" for stdin (default: {})`)
	fs.StringVar(&o.bin, "bin", "", "bootstrap binary (default build/<fn>/bootstrap)")
	fs.DurationVar(&o.timeout, "timeout", 60*time.Second, "invocation timeout")
	fs.IntVar(&o.memory, "memory", lambdaruntime.DefaultMemoryMB, "memory size in MB, as reported to the function")
	fs.IntVar(&o.n, "n", 2, "number of invocations (the first is cold)")
	fs.Var(&o.env, "env", "KEY=VALUE to set, or KEY to copy from this environment (repeatable)")
	fs.BoolVar(&o.hostEnv, "hostenv", false, "pass this process's whole environment to the function")
	fs.BoolVar(&o.local, "local", false, "start what the function's sample events need on this machine (moto's AWS, the local OpenSearch bulk server, the Opsgenie test server) and point the function at it; -env still overrides")
	fs.BoolVar(&o.full, "full", false, fmt.Sprintf("print the whole response (default: the first %d bytes)", maxShown))
	fs.StringVar(&o.expect, "expect", "", "compare the response with this JSON file")
	fs.BoolVar(&o.update, "update", false, "write the response to the -expect file instead of comparing")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected arguments: %q", fs.Args())
	case o.fn == "":
		return o, errors.New("-fn is required")
	case o.n < 1:
		return o, errors.New("-n must be at least 1")
	case o.update && o.expect == "":
		return o, errors.New("-update needs -expect FILE")
	}
	if o.bin == "" {
		o.bin = filepath.Join("build", o.fn, "bootstrap")
	}
	return o, nil
}

// lockedWriter serialises writes: the function's logs (copied by the
// emulator's goroutine) and this command's messages share stderr.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func run(ctx context.Context, args, environ []string, stdin io.Reader, stdout, stderr io.Writer) int {
	stderr = &lockedWriter{w: stderr}
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "invoke:", err)
		return 2
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "invoke: "+format+"\n", a...)
		return 2
	}

	event, err := readEvent(o.event, stdin)
	if err != nil {
		return fail("%v", err)
	}
	env, err := functionEnv(environ, o.env, o.hostEnv)
	if err != nil {
		return fail("%v", err)
	}
	if o.local {
		world, stop, err := startLocal(ctx, o.fn)
		if err != nil {
			return fail("local services: %v", err)
		}
		defer stop()
		// Explicit settings win over the local world's.
		env = append(world, env...)
		fmt.Fprintf(stderr, "%s: local services started (moto's AWS and what the samples need)\n", o.fn)
	}
	if _, err := os.Stat(o.bin); err != nil {
		return fail("%v (build the function first, e.g. GOOS=linux CGO_ENABLED=0 go build -tags lambda.norpc -o %s ./functions/%s)",
			err, o.bin, o.fn)
	}
	fn, err := lambdaruntime.New(lambdaruntime.Config{
		Bootstrap: o.bin,
		Name:      o.fn,
		Env:       env,
		Timeout:   o.timeout,
		MemoryMB:  o.memory,
		Region:    regionOf(env),
		Output:    stderr, // the function's logs
	})
	if err != nil {
		return fail("%v", err)
	}
	defer fn.Close()

	var timings []string
	var first, last lambdaruntime.Result
	for i := 1; i <= o.n; i++ {
		res, err := fn.Invoke(ctx, event)
		if err != nil {
			return fail("%v", err)
		}
		timing := describe(res)
		timings = append(timings, timing)
		fmt.Fprintf(stderr, "%s: #%d %s\n", o.fn, i, timing)
		if res.FunctionError {
			printBody(stdout, stderr, res.Payload, o.full)
			fmt.Fprintf(stderr, "%s: #%d function error %s: %s\n", o.fn, i, res.ErrorType, res.ErrorMessage)
			return 1
		}
		if i == 1 {
			first = res
		} else if !sameBody(first.Payload, res.Payload) {
			fmt.Fprintf(stderr, "%s: note: response #%d differs from response #1\n", o.fn, i)
		}
		last = res
	}
	if o.n > 1 {
		fmt.Fprintf(stderr, "%s: %s\n", o.fn, strings.Join(timings, ", "))
	}
	if last.MaxRSSKiB > 0 {
		fmt.Fprintf(stderr, "%s: max memory used %.1f MiB\n", o.fn, float64(last.MaxRSSKiB)/1024)
	}
	printBody(stdout, stderr, last.Payload, o.full)

	switch {
	case o.update:
		if err := writeExpected(o.expect, last.Payload); err != nil {
			return fail("%v", err)
		}
		fmt.Fprintf(stderr, "%s: wrote %s\n", o.fn, o.expect)
	case o.expect != "":
		want, err := os.ReadFile(o.expect)
		if err != nil {
			return fail("%v", err)
		}
		eq, err := lambdaruntime.EqualJSON(last.Payload, want)
		if err != nil {
			return fail("comparing with %s: %v", o.expect, err)
		}
		if !eq {
			fmt.Fprintf(stderr, "%s: response differs from %s:\n%s", o.fn, o.expect, jsonDiff(want, last.Payload))
			return 1
		}
		fmt.Fprintf(stderr, "%s: response matches %s\n", o.fn, o.expect)
	}
	return 0
}

// readEvent reads the event (Lambda only accepts a JSON payload).
func readEvent(path string, stdin io.Reader) ([]byte, error) {
	var b []byte
	var err error
	switch path {
	case "":
		return []byte("{}"), nil
	case "-":
		b, err = io.ReadAll(stdin)
	default:
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("reading event: %w", err)
	}
	if !json.Valid(b) {
		return nil, fmt.Errorf("event %s is not valid JSON", path)
	}
	return b, nil
}

// lambdaManaged reports variables the emulator sets; the host's values
// (say, from running inside Lambda or a container) must not leak in.
func lambdaManaged(k string) bool {
	switch k {
	case "AWS_EXECUTION_ENV", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "_HANDLER", "TZ", "_X_AMZN_TRACE_ID":
		return true
	}
	return strings.HasPrefix(k, "AWS_LAMBDA_")
}

// functionEnv picks the variables passed to the function: AWS_* and
// LOG_LEVEL from environ (or all of it with hostEnv), then each -env flag.
func functionEnv(environ, flags []string, hostEnv bool) ([]string, error) {
	var env []string
	for _, kv := range environ {
		k, _, ok := strings.Cut(kv, "=")
		if !ok || lambdaManaged(k) {
			continue
		}
		if hostEnv || strings.HasPrefix(k, "AWS_") || k == "LOG_LEVEL" {
			env = append(env, kv)
		}
	}
	for _, f := range flags {
		k, _, hasValue := strings.Cut(f, "=")
		if k == "" {
			return nil, fmt.Errorf("-env %q: want KEY=VALUE or KEY", f)
		}
		if k == "AWS_LAMBDA_RUNTIME_API" {
			return nil, errors.New("-env: AWS_LAMBDA_RUNTIME_API is set by the emulator")
		}
		if !hasValue {
			v, ok := lookup(environ, k)
			if !ok {
				return nil, fmt.Errorf("-env %s: not set in this environment", k)
			}
			f = k + "=" + v
		}
		env = append(env, f) // later entries win
	}
	return env, nil
}

func lookup(env []string, key string) (string, bool) {
	val, found := "", false
	for _, kv := range env {
		if k, v, _ := strings.Cut(kv, "="); k == key {
			val, found = v, true
		}
	}
	return val, found
}

// regionOf gives the function's region from AWS_REGION or AWS_DEFAULT_REGION
// so both variables and the ARN agree; "" means the emulator's default.
func regionOf(env []string) string {
	if v, ok := lookup(env, "AWS_REGION"); ok && v != "" {
		return v
	}
	v, _ := lookup(env, "AWS_DEFAULT_REGION")
	return v
}

func describe(res lambdaruntime.Result) string {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }
	if res.Cold {
		return fmt.Sprintf("cold %s (init %s)", ms(res.Duration), ms(res.InitDuration))
	}
	return "warm " + ms(res.Duration)
}

func sameBody(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	eq, err := lambdaruntime.EqualJSON(a, b)
	return err == nil && eq
}

// printBody writes the body, indented if it is JSON, cut at maxShown bytes
// (on a UTF-8 boundary) unless full.
func printBody(stdout, stderr io.Writer, body []byte, full bool) {
	var pretty bytes.Buffer
	if json.Indent(&pretty, body, "", "  ") == nil {
		body = pretty.Bytes()
	}
	if !full && len(body) > maxShown {
		cut := maxShown
		for cut > 0 && !utf8.RuneStart(body[cut]) {
			cut--
		}
		fmt.Fprintf(stdout, "%s\n", body[:cut])
		fmt.Fprintf(stderr, "invoke: response cut at %d of %d bytes; -full prints all of it\n", cut, len(body))
		return
	}
	fmt.Fprintf(stdout, "%s\n", bytes.TrimRight(body, "\n"))
}

// writeExpected stores the response as a golden file: normalized JSON, or
// the raw bytes when the response is not JSON.
func writeExpected(path string, body []byte) error {
	out, err := lambdaruntime.NormalizeJSON(body)
	if err != nil {
		out = body
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// jsonDiff shows where the normalized documents first differ, with context.
func jsonDiff(want, got []byte) string {
	w, err1 := lambdaruntime.NormalizeJSON(want)
	g, err2 := lambdaruntime.NormalizeJSON(got)
	if err1 != nil || err2 != nil {
		return fmt.Sprintf("want:\n%s\ngot:\n%s\n", want, got)
	}
	wl := strings.Split(string(w), "\n")
	gl := strings.Split(string(g), "\n")
	i := 0
	for i < len(wl) && i < len(gl) && wl[i] == gl[i] {
		i++
	}
	const context = 3
	var b strings.Builder
	fmt.Fprintf(&b, "first difference at line %d of the normalized JSON:\n", i+1)
	for j := max(0, i-context); j < i; j++ {
		fmt.Fprintf(&b, "  %s\n", wl[j])
	}
	for j := i; j < min(len(wl), i+context); j++ {
		fmt.Fprintf(&b, "- %s\n", wl[j])
	}
	for j := i; j < min(len(gl), i+context); j++ {
		fmt.Fprintf(&b, "+ %s\n", gl[j])
	}
	return b.String()
}

// startLocal starts moto and the function's local world.
func startLocal(ctx context.Context, fn string) ([]string, func(), error) {
	moto, err := localaws.StartMoto(ctx, nil)
	if err != nil {
		return nil, nil, err
	}
	w, err := localworld.Start(ctx, moto, fn)
	if err != nil {
		moto.Stop()
		return nil, nil, err
	}
	return w.Env, func() { w.Close(); moto.Stop() }, nil
}
