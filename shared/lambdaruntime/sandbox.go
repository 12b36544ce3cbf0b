package lambdaruntime

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os/exec"
	"sync"
	"time"
)

// sandbox is one execution environment: a runtime process plus the Runtime
// API server that only it talks to. It is discarded as a whole after a
// timeout or crash, so the next invocation starts cold, as on Lambda.
type sandbox struct {
	api       *runtimeAPI
	addr      string // host:port of the Runtime API
	srv       *http.Server
	serveDone chan struct{}

	cmd     *exec.Cmd
	started time.Time
	exited  chan struct{} // closed once the process is reaped and its output copied

	stopOnce sync.Once
}

// startSandbox starts the Runtime API on a free loopback port, then the
// runtime process pointed at it.
func startSandbox(path, dir string, env []string, out io.Writer) (*sandbox, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for the runtime API: %w", err)
	}
	api := newRuntimeAPI()
	sb := &sandbox{
		api:  api,
		addr: ln.Addr().String(),
		srv: &http.Server{
			Handler:           api.handler(),
			ReadHeaderTimeout: 10 * time.Second,
			// A runtime killed mid-request makes net/http log noise; the
			// outcome is reported through Result instead.
			ErrorLog: log.New(io.Discard, "", 0),
		},
		serveDone: make(chan struct{}),
		exited:    make(chan struct{}),
	}
	go func() {
		defer close(sb.serveDone)
		_ = sb.srv.Serve(ln) // returns ErrServerClosed at shutdown
	}()

	cmd := exec.Command(path)
	cmd.Dir = dir
	cmd.Env = append(env[:len(env):len(env)], "AWS_LAMBDA_RUNTIME_API="+sb.addr)
	// One writer for both streams: exec.Cmd then copies through a single
	// pipe, so the writer never sees concurrent writes and lines interleave
	// in order, like one CloudWatch stream.
	cmd.Stdout, cmd.Stderr = out, out
	// If a stray grandchild keeps the output pipe open after the runtime
	// died, stop waiting for it after a second rather than hang.
	cmd.WaitDelay = time.Second
	setProcessGroup(cmd)

	sb.started = time.Now()
	if err := cmd.Start(); err != nil {
		sb.shutdownServer()
		return nil, fmt.Errorf("start runtime %s: %w", path, err)
	}
	sb.cmd = cmd
	go func() {
		_ = cmd.Wait() // the exit status is read from cmd.ProcessState
		close(sb.exited)
	}()
	return sb, nil
}

func (sb *sandbox) pid() int { return sb.cmd.Process.Pid }

// exitReason describes how the process ended, worded like Lambda's
// Runtime.ExitError messages. Only valid after exited is closed.
func (sb *sandbox) exitReason() string {
	ps := sb.cmd.ProcessState
	switch {
	case ps == nil:
		return "Runtime exited"
	case ps.Success():
		return "Runtime exited without providing a reason"
	default:
		return "Runtime exited with error: " + ps.String() // "exit status 2", "signal: killed"
	}
}

// stop kills the process group, waits for the process to be reaped and shuts
// the server down. Safe to call repeatedly and concurrently; every caller
// returns only once everything is gone.
func (sb *sandbox) stop() {
	sb.stopOnce.Do(func() {
		_ = killProcessGroup(sb.cmd.Process) // also when the leader already exited: its children may not have
		<-sb.exited
		sb.shutdownServer()
	})
}

func (sb *sandbox) shutdownServer() {
	sb.api.close() // release /next calls blocked waiting for an event
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := sb.srv.Shutdown(ctx); err != nil {
		_ = sb.srv.Close()
	}
	<-sb.serveDone
}
