package lake

import (
	"os"
	"path/filepath"
	"testing"
)

func TestPrepareTempDir(t *testing.T) {
	t.Parallel()
	parent := t.TempDir()
	stale := filepath.Join(parent, "tributary-lake", "lake-run-123")
	if err := os.MkdirAll(filepath.Dir(stale), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stale, []byte("left by a timed-out invocation"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir, err := PrepareTempDir(parent)
	if err != nil || dir != filepath.Join(parent, "tributary-lake") {
		t.Fatalf("PrepareTempDir = %q, %v", dir, err)
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
		t.Errorf("scratch space not emptied: %v %v", entries, err)
	}
}
