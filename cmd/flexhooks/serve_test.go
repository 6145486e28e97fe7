package main

import (
	"context"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flexhooks/flexhooks/internal/config"
)

// embeddedServe is `flexhooks serve` running in the test's process with
// no configuration, as `make run` starts it in a fresh shell: it makes up
// credentials and starts its own emulator.
type embeddedServe struct {
	out    *syncBuffer
	addr   string // the "flexhooks listening on" address, as printed
	cancel context.CancelFunc
	done   chan struct{} // closed when run returned, with err
	err    error
}

// startServe unsets every setting but the two ports (the test must not
// take 8080 or 4010), runs serve until it says where it listens, and
// stops it when the test ends.
func startServe(t *testing.T) *embeddedServe {
	t.Helper()
	for _, f := range reflect.VisibleFields(reflect.TypeFor[config.Config]()) {
		name := f.Tag.Get("envconfig")
		t.Setenv(name, "")
		require.NoError(t, os.Unsetenv(name))
	}
	t.Setenv("ADDR", "127.0.0.1:0")
	t.Setenv("EMULATOR_ADDR", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	s := &embeddedServe{out: &syncBuffer{}, cancel: cancel, done: make(chan struct{})}
	go func() {
		s.err = run(ctx, []string{"serve"}, s.out, &syncBuffer{})
		close(s.done)
	}()
	t.Cleanup(func() { cancel(); <-s.done })

	require.Eventually(t, func() bool {
		for _, line := range strings.Split(s.out.String(), "\n") {
			if rest, ok := strings.CutPrefix(line, "flexhooks listening on "); ok {
				s.addr = strings.Fields(rest)[0]
				return true
			}
		}
		return false
	}, 15*time.Second, 10*time.Millisecond, "serve never said where it listens: %s", s.out.String())
	return s
}
