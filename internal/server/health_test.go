package server

import (
	"context"
	"errors"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHealthz(t *testing.T) {
	t.Parallel()
	s := New(Options{Ready: &fakeReady{ReadyFn: func(context.Context) error { return errors.New("Twilio down") }}})
	rec := do(s.Handler(), httptest.NewRequest("GET", "/healthz", nil))
	require.Equal(t, 200, rec.Code, "up even when Twilio is not")
	assert.JSONEq(t, `{"status":"ok"}`, rec.Body.String())
	rec = do(s.Handler(), httptest.NewRequest("HEAD", "/healthz", nil))
	assert.Equal(t, 200, rec.Code)
}

func TestReadyz(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}
	var calls atomic.Int32
	var failing atomic.Bool
	ready := &fakeReady{ReadyFn: func(ctx context.Context) error {
		calls.Add(1)
		if _, ok := ctx.Deadline(); !ok {
			return errors.New("no deadline on the check")
		}
		if failing.Load() {
			return errors.New("401 from Twilio: secret detail")
		}
		return nil
	}}
	log, logs := testLogger()
	s := New(Options{Logger: log, Ready: ready, Now: clock.Now})
	get := func() (int, string) {
		rec := do(s.Handler(), httptest.NewRequest("GET", "/readyz", nil))
		return rec.Code, rec.Body.String()
	}

	code, body := get()
	require.Equal(t, 200, code, body)
	assert.JSONEq(t, `{"status":"ready"}`, body)
	code, _ = get()
	assert.Equal(t, 200, code)
	assert.Equal(t, int32(1), calls.Load(), "cached for 5 s")

	failing.Store(true)
	clock.Advance(4 * time.Second)
	code, _ = get()
	assert.Equal(t, 200, code, "still the cached answer")
	clock.Advance(2 * time.Second)
	code, body = get()
	assert.Equal(t, 503, code)
	assert.JSONEq(t, `{"error":{"code":"unavailable","message":"not ready"}}`, body)
	assert.Equal(t, int32(2), calls.Load())
	assert.Contains(t, logs.String(), "secret detail", "the cause is logged")

	s.draining.Store(true)
	failing.Store(false)
	clock.Advance(time.Minute)
	code, body = get()
	assert.Equal(t, 503, code, "not ready while shutting down")
	assert.Contains(t, body, "shutting down")
}

func TestReadyzWithoutChecker(t *testing.T) {
	t.Parallel()
	s := New(Options{})
	rec := do(s.Handler(), httptest.NewRequest("GET", "/readyz", nil))
	assert.Equal(t, 200, rec.Code)
}
