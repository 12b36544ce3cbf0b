// Package localaws starts local stand-ins for AWS APIs for tests and the
// demo: moto's server (a widely used AWS emulator, pinned in
// requirements-dev.txt) on a free loopback port, selected through the SDK's
// AWS_ENDPOINT_URL_<SERVICE> variables.
package localaws

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// Services moto serves for us, as the SDK's endpoint variable suffixes.
var Services = []string{"S3", "FIREHOSE", "KINESIS", "SNS", "SQS", "SSM", "SECRETS_MANAGER", "CLOUDWATCH_LOGS", "STS", "IAM"}

// Moto is a running moto server.
type Moto struct {
	Endpoint string // http://127.0.0.1:port
	cmd      *exec.Cmd
	done     chan error
}

// ErrUnavailable means moto could not be started here (not installed).
var ErrUnavailable = errors.New("moto server unavailable")

// Python returns the interpreter that has moto: the repo's pinned venv when
// present (make tools), else python3 on PATH.
func Python() string {
	if p := os.Getenv("TRIBUTARY_PYTHON"); p != "" {
		return p
	}
	for dir, _ := os.Getwd(); ; dir = filepath.Dir(dir) {
		p := filepath.Join(dir, ".tools", "venv", "bin", "python")
		if _, err := os.Stat(p); err == nil {
			return p
		}
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil || filepath.Dir(dir) == dir {
			break
		}
	}
	return "python3"
}

// StartMoto starts moto's server on a free loopback port and waits until it
// answers. logs receives its output (nil: discarded).
func StartMoto(ctx context.Context, logs io.Writer) (*Moto, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	py := Python()
	if _, err := exec.LookPath(py); err != nil {
		return nil, fmt.Errorf("%w: %s not found", ErrUnavailable, py)
	}
	if logs == nil {
		logs = io.Discard
	}
	cmd := exec.Command(py, "-m", "moto.server", "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%w: start %s -m moto.server: %v", ErrUnavailable, py, err)
	}
	m := &Moto{Endpoint: "http://127.0.0.1:" + strconv.Itoa(port), cmd: cmd, done: make(chan error, 1)}
	go func() { m.done <- cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-m.done:
			return nil, fmt.Errorf("%w: moto.server exited: %v (is moto installed? make tools)", ErrUnavailable, err)
		case <-ctx.Done():
			m.Stop()
			return nil, ctx.Err()
		default:
		}
		resp, err := http.Get(m.Endpoint + "/moto-api/data.json")
		if err == nil {
			resp.Body.Close()
			return m, nil
		}
		if time.Now().After(deadline) {
			m.Stop()
			return nil, fmt.Errorf("moto server did not answer on %s within 30s", m.Endpoint)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Env returns the environment that points the AWS SDK (and our functions) at
// this server, with dummy credentials.
func (m *Moto) Env(region string) []string {
	env := []string{
		"AWS_REGION=" + region,
		"AWS_DEFAULT_REGION=" + region,
		"AWS_ACCESS_KEY_ID=testing",
		"AWS_SECRET_ACCESS_KEY=testing",
		"AWS_SESSION_TOKEN=testing",
		"AWS_EC2_METADATA_DISABLED=true",
	}
	for _, s := range Services {
		env = append(env, "AWS_ENDPOINT_URL_"+s+"="+m.Endpoint)
	}
	return env
}

// Reset clears every resource moto holds, between tests.
func (m *Moto) Reset() error {
	resp, err := http.Post(m.Endpoint+"/moto-api/reset", "application/json", nil)
	if err != nil {
		return fmt.Errorf("reset moto: %w", err)
	}
	resp.Body.Close()
	return nil
}

// Stop kills the server's process group and waits for it.
func (m *Moto) Stop() {
	if m == nil || m.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-m.done:
	case <-time.After(5 * time.Second):
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
