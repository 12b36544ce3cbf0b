// Package bootstraptest finds or builds a function's real Lambda bootstrap
// for integration tests, so they run exactly the binary `make build` ships.
package bootstraptest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	mu    sync.Mutex
	built = map[string]string{}
)

// Path returns build/<fn>/bootstrap from $TRIBUTARY_BUILD_DIR (set by
// `make test`), or builds the function once per test binary with the same
// flags the Makefile uses.
func Path(t testing.TB, fn string) string {
	t.Helper()
	if dir := os.Getenv("TRIBUTARY_BUILD_DIR"); dir != "" {
		p := filepath.Join(dir, fn, "bootstrap")
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("TRIBUTARY_BUILD_DIR is set but %s is missing: run make build", p)
		}
		return p
	}
	mu.Lock()
	defer mu.Unlock()
	if p, ok := built[fn]; ok {
		return p
	}
	root := RepoRoot(t)
	dir, err := os.MkdirTemp("", "tributary-"+fn+"-")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-o", p, "./functions/"+fn)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", fn, err, out)
	}
	built[fn] = p
	return p
}

// RepoRoot returns the directory holding go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// Output collects a function's output (lambdaruntime.Config.Output), which
// the runtime writes from its own goroutines while the test reads it.
type Output struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

// String returns everything written so far.
func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}
