//go:build !unix

package normalize

import "time"

func cpuTime() (time.Duration, bool) { return 0, false }
