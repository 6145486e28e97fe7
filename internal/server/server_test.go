package server

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	release := make(chan struct{})
	handlerCtxErr := make(chan error, 1)
	s := New(Options{ShutdownTimeout: 10 * time.Second, Routes: []Route{
		{Method: "GET", Pattern: "/slow", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			close(started)
			<-release
			handlerCtxErr <- r.Context().Err()
			_, _ = w.Write([]byte("finished"))
		})},
	}})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, l) }()

	type result struct {
		body string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + l.Addr().String() + "/slow")
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- result{string(b), err}
	}()
	<-started

	cancel() // SIGTERM
	// The listener closes: new connections are refused while the in-flight
	// request is still running.
	require.Eventually(t, func() bool {
		c, err := net.DialTimeout("tcp", l.Addr().String(), 100*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err != nil
	}, 5*time.Second, 10*time.Millisecond)
	select {
	case err := <-served:
		t.Fatalf("Serve returned before the in-flight request finished: %v", err)
	default:
	}

	close(release)
	r := <-got
	require.NoError(t, r.err)
	assert.Equal(t, "finished", r.body, "the in-flight request completes")
	assert.NoError(t, <-handlerCtxErr, "its context was not cancelled by the shutdown")
	require.NoError(t, <-served, "clean shutdown")
}

func TestShutdownGracePeriodExpires(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	ctxDone := make(chan struct{})
	s := New(Options{ShutdownTimeout: 100 * time.Millisecond, Routes: []Route{
		{Method: "GET", Pattern: "/stuck", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			close(started)
			<-r.Context().Done() // only the end of the grace period releases it
			close(ctxDone)
		})},
	}})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, l) }()
	go func() {
		resp, err := http.Get("http://" + l.Addr().String() + "/stuck")
		if err == nil {
			resp.Body.Close()
		}
	}()
	<-started
	cancel()
	err = <-served
	assert.ErrorContains(t, err, "did not finish")
	select {
	case <-ctxDone:
	case <-time.After(5 * time.Second):
		t.Fatal("the stuck request's context was never cancelled")
	}
}

func TestListenAndServeBadAddr(t *testing.T) {
	t.Parallel()
	err := New(Options{}).ListenAndServe(context.Background(), "not-an-address")
	assert.Error(t, err)
}

func TestNewPanicsOnBadRoute(t *testing.T) {
	t.Parallel()
	assert.Panics(t, func() { New(Options{Routes: []Route{{Method: "GET", Pattern: "/x"}}}) })
	assert.Panics(t, func() {
		New(Options{Routes: []Route{{Method: "GET", Pattern: "/x", Auth: Auth(9), Handler: echoBody}}})
	})
}

func TestDrainDelay(t *testing.T) {
	t.Parallel()
	s := New(Options{DrainDelay: 300 * time.Millisecond})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, l) }()
	readyz := func() int {
		resp, err := http.Get("http://" + l.Addr().String() + "/readyz")
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, 200, readyz())
	cancel()
	// Still serving during the drain delay, but no longer ready.
	assert.Eventually(t, func() bool { return readyz() == 503 }, time.Second, 10*time.Millisecond)
	require.NoError(t, <-served)
}
