package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRunRejectsUnknownCommands(t *testing.T) {
	for _, args := range [][]string{nil, {"bogus"}} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), args, &out, &errOut)
		assert.Error(t, err, "args %q", args)
		assert.Contains(t, errOut.String(), "usage: flexhooks")
	}
}

func TestServeReportsEveryConfigProblem(t *testing.T) {
	t.Setenv("TWILIO_ACCOUNT_SID", "not-a-sid")
	t.Setenv("LOG_LEVEL", "loud")
	t.Setenv("TWILIO_TIMEOUT", "ten seconds")
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"serve"}, &out, &errOut)
	require.Error(t, err)
	for _, name := range []string{"TWILIO_ACCOUNT_SID", "LOG_LEVEL", "TWILIO_TIMEOUT"} {
		assert.Contains(t, errOut.String(), "config: "+name, "one line names %s", name)
	}
}

// syncBuffer lets the test read what a running command printed.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestServeEmbeddedAnswersAndStopsOnCancel(t *testing.T) {
	s := startServe(t)
	out, addr := s.out, s.addr
	assert.Contains(t, out.String(), "Twilio emulator on http://127.0.0.1:")
	// Wired as setup would, every capability on, one line to paste.
	for _, want := range []string{"workspace event callback: changed", "conversations webhook: changed",
		"parked list         on", "inactivity timeout  on", "interaction records on", "persistent chat     on",
		"export TWILIO_ACCOUNT_SID=" + localAccountSID + " TWILIO_AUTH_TOKEN=" + localAuthToken + " TWILIO_FLEX_WORKSPACE_SID=WS"} {
		assert.Contains(t, out.String(), want)
	}

	resp, err := http.Get(strings.Replace(addr, "[::]", "127.0.0.1", 1) + "/readyz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "ready: the embedded emulator answers as Twilio")

	s.cancel()
	select {
	case <-s.done:
		assert.NoError(t, s.err)
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop after cancellation")
	}
}

func TestServeNamesTheAddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	t.Setenv("TWILIO_ACCOUNT_SID", "")
	t.Setenv("EMULATOR_ADDR", ln.Addr().String())
	err = run(context.Background(), []string{"serve"}, &syncBuffer{}, &syncBuffer{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "EMULATOR_ADDR="+ln.Addr().String()+" is already in use")
}
