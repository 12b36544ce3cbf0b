package lambdaruntime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultTimeout     = 3 * time.Second  // Lambda's default function timeout
	DefaultInitTimeout = 10 * time.Second // Lambda's init phase limit
	DefaultMemoryMB    = 128
	DefaultRegion      = "us-east-1"
	DefaultAccountID   = "000000000000"
)

// ErrClosed is returned by Invoke once Close has been called.
var ErrClosed = errors.New("lambdaruntime: function closed")

// Config describes a function to run locally.
type Config struct {
	// Bootstrap is the executable, e.g. build/transform/bootstrap (required).
	Bootstrap string
	// Name is the function name; default: the name of Bootstrap's directory.
	Name string
	// Dir is the working directory and LAMBDA_TASK_ROOT; default: Bootstrap's directory.
	Dir string
	// Env is extra "KEY=VALUE" environment (credentials, endpoints, the
	// function's own settings). It overrides the Lambda defaults, except
	// AWS_LAMBDA_RUNTIME_API, which always points at this emulator. Nothing
	// else is inherited from the calling process except PATH.
	Env []string
	// Timeout is each invocation's limit; default DefaultTimeout.
	Timeout time.Duration
	// InitTimeout limits process start to first /next; default DefaultInitTimeout.
	InitTimeout time.Duration
	// MemoryMB is reported in AWS_LAMBDA_FUNCTION_MEMORY_SIZE (not enforced).
	MemoryMB int
	// Region is AWS_REGION/AWS_DEFAULT_REGION unless Env sets them; default DefaultRegion.
	Region string
	// AccountID goes into the invoked function ARN; default DefaultAccountID.
	AccountID string
	// Output receives the function's stdout and stderr; nil discards them.
	// Writes come from one goroutine at a time; a writer the caller also
	// writes to meanwhile must be safe for concurrent use (an *os.File is).
	Output io.Writer
}

// Function runs a custom-runtime bootstrap like one Lambda execution
// environment: the process is started on the first Invoke (cold), reused by
// the following ones (warm), and replaced after a timeout or crash.
// Invocations are serialised. A Function must be closed.
type Function struct {
	cfg Config
	env []string // full environment except the per-process variables
	arn string

	invokeMu sync.Mutex // one invocation at a time, like one environment

	mu        sync.Mutex // guards sb
	sb        *sandbox
	closed    chan struct{}
	closeOnce sync.Once
}

// New validates cfg and applies defaults. It does not start the process;
// the first Invoke does, so that invocation is the cold one.
func New(cfg Config) (*Function, error) {
	if cfg.Bootstrap == "" {
		return nil, errors.New("lambdaruntime: Config.Bootstrap is required")
	}
	abs, err := filepath.Abs(cfg.Bootstrap)
	if err != nil {
		return nil, fmt.Errorf("lambdaruntime: bootstrap path: %w", err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("lambdaruntime: bootstrap: %w", err)
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("lambdaruntime: bootstrap %s is a directory", abs)
	}
	// Absolute, because a relative path would be resolved against Dir.
	cfg.Bootstrap = abs
	if cfg.Dir == "" {
		cfg.Dir = filepath.Dir(abs)
	}
	if cfg.Name == "" {
		cfg.Name = filepath.Base(filepath.Dir(abs))
	}
	if cfg.Timeout < 0 || cfg.InitTimeout < 0 || cfg.MemoryMB < 0 {
		return nil, errors.New("lambdaruntime: Timeout, InitTimeout and MemoryMB must not be negative")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.InitTimeout == 0 {
		cfg.InitTimeout = DefaultInitTimeout
	}
	if cfg.MemoryMB == 0 {
		cfg.MemoryMB = DefaultMemoryMB
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	if cfg.AccountID == "" {
		cfg.AccountID = DefaultAccountID
	}
	env, err := buildEnv(cfg)
	if err != nil {
		return nil, err
	}
	region := lookupEnv(env, "AWS_REGION")
	return &Function{
		cfg:    cfg,
		env:    env,
		arn:    fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", region, cfg.AccountID, cfg.Name),
		closed: make(chan struct{}),
	}, nil
}

// buildEnv returns the environment Lambda gives a provided.al2023 function,
// overlaid with cfg.Env, in a stable order.
func buildEnv(cfg Config) ([]string, error) {
	var keys []string
	vals := map[string]string{}
	set := func(k, v string) {
		if _, ok := vals[k]; !ok {
			keys = append(keys, k)
		}
		vals[k] = v
	}
	set("AWS_LAMBDA_FUNCTION_NAME", cfg.Name)
	set("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
	set("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", strconv.Itoa(cfg.MemoryMB))
	set("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/"+cfg.Name)
	set("AWS_LAMBDA_LOG_FORMAT", "JSON")
	set("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
	set("AWS_REGION", cfg.Region)
	set("AWS_DEFAULT_REGION", cfg.Region)
	set("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023")
	set("LAMBDA_TASK_ROOT", cfg.Dir)
	set("LAMBDA_RUNTIME_DIR", cfg.Dir)
	set("_HANDLER", "bootstrap")
	set("TZ", ":UTC")
	set("LANG", "en_US.UTF-8")
	// PATH is the one host variable passed on: a bootstrap that execs a tool
	// should find it, and Lambda's own PATH means nothing on this machine.
	set("PATH", os.Getenv("PATH"))
	for _, kv := range cfg.Env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("lambdaruntime: Config.Env entry %q is not KEY=VALUE", kv)
		}
		if k == "AWS_LAMBDA_RUNTIME_API" {
			return nil, errors.New("lambdaruntime: Config.Env must not set AWS_LAMBDA_RUNTIME_API; the emulator sets it")
		}
		set(k, v)
	}
	env := make([]string, 0, len(keys))
	for _, k := range keys {
		env = append(env, k+"="+vals[k])
	}
	return env, nil
}

// lookupEnv returns the last value of key in a KEY=VALUE list.
func lookupEnv(env []string, key string) string {
	v := ""
	for _, kv := range env {
		if k, val, _ := strings.Cut(kv, "="); k == key {
			v = val
		}
	}
	return v
}

// Name returns the function name.
func (f *Function) Name() string { return f.cfg.Name }

// Timeout returns the per-invocation timeout in force.
func (f *Function) Timeout() time.Duration { return f.cfg.Timeout }

// ARN returns the invoked function ARN sent to the runtime.
func (f *Function) ARN() string { return f.arn }

// PID returns the running process's id, or 0 when none is running.
func (f *Function) PID() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sb == nil {
		return 0
	}
	return f.sb.pid()
}

// RuntimeAPI returns the host:port the running process was given as
// AWS_LAMBDA_RUNTIME_API, or "" when none is running.
func (f *Function) RuntimeAPI() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sb == nil {
		return ""
	}
	return f.sb.addr
}

// Invoke runs one invocation with payload as the event; see InvokeWith.
func (f *Function) Invoke(ctx context.Context, payload []byte) (Result, error) {
	return f.InvokeWith(ctx, payload, InvokeOptions{})
}

// InvokeWith runs one invocation and waits for its outcome. Failures of the
// function (errors it reports, init errors, timeouts, crashes, oversized
// responses) are a Result with FunctionError set and a nil error; the error
// is for failures of the emulator itself, ctx ending (the process is then
// killed) or ErrClosed.
func (f *Function) InvokeWith(ctx context.Context, payload []byte, opts InvokeOptions) (Result, error) {
	f.invokeMu.Lock()
	defer f.invokeMu.Unlock()
	res, retry, err := f.invokeOnce(ctx, payload, opts)
	if retry {
		// The warm process died after answering its previous event (for
		// example aws-lambda-go exits after reporting a panic). Lambda would
		// send the event to a fresh environment; so do we, once.
		res, _, err = f.invokeOnce(ctx, payload, opts)
	}
	return res, err
}

// invokeOnce delivers one event to the current (or a new) process. retry is
// true when a warm process turned out to be dead before taking the event.
func (f *Function) invokeOnce(ctx context.Context, payload []byte, opts InvokeOptions) (res Result, retry bool, err error) {
	if err := ctx.Err(); err != nil {
		return Result{}, false, fmt.Errorf("lambdaruntime: invoke %s: %w", f.cfg.Name, err)
	}
	sb, cold, err := f.sandbox()
	if err != nil {
		return Result{}, false, err
	}
	begin := time.Now()
	if cold {
		begin = sb.started // a cold invocation's duration includes init
	}
	inv := newInvocation(newRequestID(), payload)
	inv.arn = f.arn
	inv.opts = opts
	inv.traceID = opts.TraceID
	if inv.traceID == "" {
		inv.traceID = newTraceID(time.Now())
	}
	res = Result{RequestID: inv.id, Cold: cold, PID: sb.pid()}

	// finish ends the invocation with an outcome the emulator decided and
	// throws the sandbox away: it is dead, stuck or failed its init.
	finish := func(o outcome, initErr bool) (Result, bool, error) {
		f.discard(sb)
		if f.isClosed() {
			return Result{}, false, ErrClosed // the exit was Close's doing
		}
		res.apply(o)
		res.InitError = initErr
		res.Duration = time.Since(begin)
		return res, false, nil
	}
	abort := func(err error) (Result, bool, error) {
		f.discard(sb)
		if errors.Is(err, ErrClosed) {
			return Result{}, false, err
		}
		return Result{}, false, fmt.Errorf("lambdaruntime: invoke %s: %w", f.cfg.Name, err)
	}
	exitOutcome := func() outcome {
		return platformError(ErrorTypeExit, "RequestId: "+inv.id+" Error: "+sb.exitReason())
	}

	// Init: wait for the first /next, bounded by InitTimeout.
	if cold {
		initTimer := time.NewTimer(f.cfg.InitTimeout - time.Since(sb.started))
		defer initTimer.Stop()
		select {
		case <-sb.api.ready:
			res.InitDuration = sb.api.readyAt.Sub(sb.started)
		case <-sb.api.initFailed:
			return finish(sb.api.initErr, true)
		case <-sb.exited:
			select {
			case <-sb.api.initFailed: // reported its error, then exited as it should
				return finish(sb.api.initErr, true)
			default:
				return finish(exitOutcome(), true)
			}
		case <-initTimer.C:
			return finish(platformError(ErrorTypeTimeout,
				fmt.Sprintf("RequestId: %s Error: Init timed out after %.2f seconds", inv.id, f.cfg.InitTimeout.Seconds())), true)
		case <-ctx.Done():
			return abort(ctx.Err())
		case <-f.closed:
			return abort(ErrClosed)
		}
	}

	// Invoke: the deadline runs from handing the event over.
	inv.deadline = time.Now().Add(f.cfg.Timeout)
	timer := time.NewTimer(f.cfg.Timeout)
	defer timer.Stop()
	timedOut := platformError(ErrorTypeTimeout,
		fmt.Sprintf("RequestId: %s Error: Task timed out after %.2f seconds", inv.id, f.cfg.Timeout.Seconds()))

	select {
	case sb.api.next <- inv:
	case <-sb.exited:
		if !cold {
			f.discard(sb)
			return Result{}, true, nil
		}
		return finish(exitOutcome(), false)
	case <-timer.C: // never asked for the event
		return finish(timedOut, false)
	case <-ctx.Done():
		return abort(ctx.Err())
	case <-f.closed:
		return abort(ErrClosed)
	}

	select {
	case <-inv.done:
	case <-sb.exited:
		// A response posted just before exiting (aws-lambda-go after a
		// panic) wins over the exit: resolve keeps the first outcome.
		inv.resolve(exitOutcome())
		f.discard(sb)
		if f.isClosed() {
			return Result{}, false, ErrClosed
		}
	case <-timer.C:
		if inv.resolve(timedOut) {
			f.discard(sb)
		}
	case <-ctx.Done():
		return abort(ctx.Err())
	case <-f.closed:
		return abort(ErrClosed)
	}
	res.apply(inv.out) // inv.done is closed in every branch that gets here
	res.Duration = time.Since(begin)
	res.MaxRSSKiB = peakRSS(res.PID)
	return res, false, nil
}

func (r *Result) apply(o outcome) {
	r.Payload = o.payload
	r.FunctionError = o.errType != ""
	r.ErrorType = o.errType
	r.ErrorMessage = o.errMsg
}

// sandbox returns the live sandbox, or starts one (cold = true).
func (f *Function) sandbox() (sb *sandbox, cold bool, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.isClosed() {
		return nil, false, ErrClosed
	}
	if f.sb != nil {
		select {
		case <-f.sb.exited: // died while idle: clean up, start afresh
			f.sb.stop()
			f.sb = nil
		default:
			return f.sb, false, nil
		}
	}
	env := f.env
	if lookupEnv(env, "AWS_LAMBDA_LOG_STREAM_NAME") == "" {
		// Each execution environment writes its own log stream.
		env = append(env[:len(env):len(env)],
			"AWS_LAMBDA_LOG_STREAM_NAME="+time.Now().UTC().Format("2006/01/02")+"/[$LATEST]"+randomHex(16))
	}
	sb, err = startSandbox(f.cfg.Bootstrap, f.cfg.Dir, env, f.cfg.Output)
	if err != nil {
		return nil, false, fmt.Errorf("lambdaruntime: %s: %w", f.cfg.Name, err)
	}
	f.sb = sb
	return sb, true, nil
}

// discard forgets sb (if still current) and stops it.
func (f *Function) discard(sb *sandbox) {
	f.mu.Lock()
	if f.sb == sb {
		f.sb = nil
	}
	f.mu.Unlock()
	sb.stop()
}

func (f *Function) isClosed() bool {
	select {
	case <-f.closed:
		return true
	default:
		return false
	}
}

// Close kills the process group, stops the Runtime API server and makes
// further Invokes fail with ErrClosed. An Invoke in progress returns
// ErrClosed. Close is idempotent and returns once the process is reaped.
func (f *Function) Close() error {
	f.closeOnce.Do(func() { close(f.closed) })
	f.mu.Lock()
	sb := f.sb
	f.sb = nil
	f.mu.Unlock()
	if sb != nil {
		sb.stop()
	}
	return nil
}

// peakRSS reads the process's high-water resident set size (VmHWM) from
// /proc, in KiB: what Lambda reports as "Max Memory Used". Zero where /proc
// is unavailable.
func peakRSS(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return n
		}
	}
	return 0
}
