package memlimit

import (
	"math"
	"runtime/debug"
	"testing"
)

func TestApply(t *testing.T) {
	defer debug.SetMemoryLimit(math.MaxInt64)
	defer debug.SetGCPercent(100)
	t.Setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
	if got := Apply(0.8, 50); got != 107374182 {
		t.Errorf("limit = %d, want 80%% of 128 MiB", got)
	}
	if got := debug.SetMemoryLimit(-1); got != 107374182 {
		t.Errorf("runtime limit = %d", got)
	}
	if got := debug.SetGCPercent(100); got != 50 {
		t.Errorf("GOGC = %d, want 50", got)
	}
	t.Setenv("GOMEMLIMIT", "64MiB")
	t.Setenv("GOGC", "200")
	debug.SetGCPercent(200)
	if got := Apply(0.8, 50); got != 0 {
		t.Errorf("GOMEMLIMIT set: Apply = %d, want 0 (the environment wins)", got)
	}
	if got := debug.SetGCPercent(200); got != 200 {
		t.Errorf("GOGC from the environment was overridden: %d", got)
	}
	t.Setenv("GOMEMLIMIT", "")
	t.Setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "not a number")
}
