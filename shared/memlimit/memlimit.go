// Package memlimit tunes the Go garbage collector to the Lambda sandbox: a
// soft memory limit below the function's memory size, so the collector works
// harder before the sandbox runs out instead of the function being killed,
// and optionally a lower GOGC for functions whose batches are large and
// short-lived. GOMEMLIMIT and GOGC set in the environment always win.
package memlimit

import (
	"os"
	"runtime/debug"
	"strconv"
)

// Apply sets the soft limit to fraction (0 to 1) of
// AWS_LAMBDA_FUNCTION_MEMORY_SIZE, and GOGC to gcPercent when it is above 0.
// It returns the limit set, in bytes (0 when none).
func Apply(fraction float64, gcPercent int) int64 {
	if _, ok := os.LookupEnv("GOGC"); !ok && gcPercent > 0 {
		debug.SetGCPercent(gcPercent)
	}
	if _, ok := os.LookupEnv("GOMEMLIMIT"); ok {
		return 0
	}
	mb, err := strconv.Atoi(os.Getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"))
	if err != nil || mb <= 0 || fraction <= 0 || fraction > 1 {
		return 0
	}
	limit := int64(float64(int64(mb)<<20) * fraction)
	debug.SetMemoryLimit(limit)
	return limit
}
