//go:build unix

package emulator_test

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time (user + system) this process has used: on a shared
// machine, calls per CPU-second measure the emulator where wall-clock
// throughput measures the neighbours too.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
