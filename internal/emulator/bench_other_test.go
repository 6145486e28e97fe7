//go:build !unix

package emulator_test

import "time"

// cpuTime is unavailable here; the calls/cpu-s metric is then left out.
func cpuTime() time.Duration { return 0 }
