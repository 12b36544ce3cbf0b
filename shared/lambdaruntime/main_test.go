//go:build unix

package lambdaruntime

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tributary-logs/tributary/shared/bootstraptest"
)

// Paths of the test bootstraps built by TestMain from testdata/.
var (
	lambdaFnBin string // aws-lambda-go based (testdata/lambdafn)
	rawFnBin    string // raw Runtime API client (testdata/rawfn)
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "lambdaruntime-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := buildBootstraps(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	lambdaFnBin = filepath.Join(dir, "lambdafn")
	rawFnBin = filepath.Join(dir, "rawfn")

	code := m.Run()
	if code == 0 {
		if err := checkNoLeaks(); err != nil {
			fmt.Fprintln(os.Stderr, "FAIL:", err)
			return 1
		}
	}
	return code
}

// buildBootstraps compiles the testdata programs the way a provided.al2023
// function is built: static, -tags lambda.norpc.
func buildBootstraps(dir string) error {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("building test bootstraps needs the go command: %w", err)
	}
	cmd := exec.Command(goTool, "build", "-tags", "lambda.norpc", "-o", dir+string(filepath.Separator),
		"./testdata/lambdafn", "./testdata/rawfn")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building test bootstraps: %w\n%s", err, out)
	}
	return nil
}

// checkNoLeaks fails the run if, once every test closed its Function, a
// goroutine of this package or a child process is still around.
func checkNoLeaks() error {
	var goroutines, children []string
	for deadline := time.Now().Add(3 * time.Second); ; {
		goroutines, children = leakedGoroutines(), childProcesses()
		if len(goroutines)+len(children) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("leaks after tests:\nchild processes: %v\ngoroutines:\n%s",
				children, strings.Join(goroutines, "\n\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func leakedGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var leaked []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "lambdaruntime.") && !strings.Contains(g, "lambdaruntime.TestMain") &&
			!strings.Contains(g, "lambdaruntime.runTests") {
			leaked = append(leaked, g)
		}
	}
	return leaked
}

// childProcesses lists live (non-zombie) processes whose parent is this one.
func childProcesses() []string {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var out []string
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		f := statFields(b)
		if len(f) > 2 && f[1] == strconv.Itoa(os.Getpid()) && f[0] != "Z" {
			out = append(out, p)
		}
	}
	return out
}

// statFields returns the fields of /proc/PID/stat after the command name:
// state, ppid, pgrp, ...
func statFields(b []byte) []string {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(b[i+1:]))
}

// processGone reports whether pid no longer runs. A zombie counts as gone:
// an orphaned grandchild may wait for a reaper that a container's init
// process never provides.
func processGone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return errors.Is(err, os.ErrNotExist)
	}
	f := statFields(b)
	return len(f) > 0 && f[0] == "Z"
}

// waitGone waits briefly for pid to disappear (orphans are reparented and
// reaped asynchronously).
func waitGone(t *testing.T, pid int) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); !processGone(pid); {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still running", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// newFunction starts nothing yet; it registers Close (and checks the
// process really went away) and dumps the function's output on failure.
func newFunction(t *testing.T, cfg Config) (*Function, *bootstraptest.Output) {
	t.Helper()
	out := &bootstraptest.Output{}
	cfg.Output = out
	if cfg.Name == "" {
		cfg.Name = "testfn"
	}
	fn, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		pid := fn.PID()
		if err := fn.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if pid != 0 && !processGone(pid) {
			t.Errorf("process %d still running after Close", pid)
		}
		if t.Failed() {
			t.Logf("function output:\n%s", out.String())
		}
	})
	return fn, out
}
