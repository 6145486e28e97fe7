package webhooks_test

import (
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/flexhooks/flexhooks/internal/e2etest"
)

// call is one Twilio REST call as the emulator's request log records it.
type call struct {
	Method   string    `json:"method"`
	Host     string    `json:"host"`
	Path     string    `json:"path"`
	Status   int       `json:"status"`
	Start    time.Time `json:"start"`
	Duration float64   `json:"durationMs"`
}

func (c call) end() time.Time {
	return c.Start.Add(time.Duration(c.Duration * float64(time.Millisecond)))
}

// sequentialRoundTrips is the length of the longest chain of calls each of
// which started after the previous one ended: the number of Twilio round
// trips on the critical path, whatever ran in parallel beside them.
func sequentialRoundTrips(calls []call) int {
	cs := append([]call(nil), calls...)
	sort.Slice(cs, func(i, j int) bool { return cs[i].Start.Before(cs[j].Start) })
	depth := make([]int, len(cs))
	best := 0
	for i := range cs {
		depth[i] = 1
		for j := 0; j < i; j++ {
			if !cs[j].end().After(cs[i].Start) && depth[j]+1 > depth[i] {
				depth[i] = depth[j] + 1
			}
		}
		best = max(best, depth[i])
	}
	return best
}

func TestSequentialRoundTrips(t *testing.T) {
	t0 := time.Unix(0, 0)
	at := func(startMs, durMs int) call {
		return call{Start: t0.Add(time.Duration(startMs) * time.Millisecond), Duration: float64(durMs)}
	}
	tests := []struct {
		name  string
		calls []call
		want  int
	}{
		{"none", nil, 0},
		{"one", []call{at(0, 100)}, 1},
		{"three parallel", []call{at(0, 100), at(1, 100), at(2, 100)}, 1},
		{"two rounds of parallel", []call{at(0, 100), at(1, 100), at(101, 100), at(102, 100)}, 2},
		{"a chain inside a round", []call{at(0, 300), at(1, 100), at(102, 100), at(203, 100)}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, sequentialRoundTrips(tt.calls))
		})
	}
}

// twilioCalls is the emulator's request log as round-trip analysis reads
// it, without token validation (cached after an agent's first call, and no
// part of what is measured).
func twilioCalls(w *e2etest.World) []call {
	var out []call
	for _, r := range w.Requests() {
		if r.Host != "iam.twilio.com" {
			out = append(out, call{Method: r.Method, Host: r.Host, Path: r.Path, Status: r.Status, Start: r.Start, Duration: r.Duration})
		}
	}
	return out
}
