package twilio

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// Every Twilio call goes through this stack, outermost first:
//
//	ctxTransport        (per request, from API(ctx)) attaches the caller's ctx
//	pathGateTransport   refuses a URL whose identifiers are malformed (pathgate.go)
//	errorBodyTransport  makes every error response decodable by twilio-go
//	metricsTransport    counts calls by product and status, times them
//	retryTransport      retries 429/503/connection failures when safe (IAM: no 429)
//	timeoutTransport    bounds one attempt
//	rewrite.Transport   (optional) sends it to the emulator, Host kept
//	http.Transport      pooled connections
//
// Metrics sit above retries so that they count what the service asked for
// (with a separate retries counter); the timeout sits below them so that
// each attempt gets its own budget while the caller's deadline bounds all.

// newHTTPTransport is http.DefaultTransport with more idle connections per
// host: all calls go to a handful of Twilio hosts (or to one emulator), and
// the default of 2 would make concurrent requests open and close
// connections constantly.
func newHTTPTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 64
	t.IdleConnTimeout = 90 * time.Second
	t.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	return t
}

// ctxTransport attaches ctx to every request: twilio-go builds its requests
// with context.Background().
type ctxTransport struct {
	ctx  context.Context
	base http.RoundTripper
}

func (t *ctxTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return t.base.RoundTrip(req.WithContext(t.ctx))
}

// timeoutTransport gives one attempt at most timeout. The timer runs until
// the response body is closed, since twilio-go reads the body after
// RoundTrip returns.
type timeoutTransport struct {
	timeout time.Duration
	base    http.RoundTripper
}

func (t *timeoutTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(req.Context(), t.timeout)
	resp, err := t.base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// errorBodyTransport makes every error response a Twilio error document
// with its HTTP status. twilio-go decodes error bodies as JSON and, when a
// proxy or load balancer answers with HTML or nothing (a bare 502/503), it
// returns an opaque decode error that loses the status; and an error
// document without "status" would map as status 0. Both are rewritten here
// so that MapError always sees a *client.TwilioRestError with the status.
// Reading and closing the real body here also returns the connection to the
// pool and stops the attempt's timer: twilio-go never closes an error
// response's body.
type errorBodyTransport struct {
	base http.RoundTripper
}

// maxErrorBody bounds how much of an error body is read; Twilio's are small.
const maxErrorBody = 64 << 10

func (t *errorBodyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil || resp.StatusCode < 400 {
		return resp, err
	}
	raw, readErr := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
	var doc map[string]any
	if readErr != nil || json.Unmarshal(raw, &doc) != nil || doc == nil {
		doc = map[string]any{"message": http.StatusText(resp.StatusCode)}
	}
	if s, ok := doc["status"].(float64); !ok || s == 0 {
		doc["status"] = resp.StatusCode
	}
	out, _ := json.Marshal(doc)
	resp.Body = io.NopCloser(bytes.NewReader(out))
	resp.ContentLength = int64(len(out))
	resp.Header.Set("Content-Length", strconv.Itoa(len(out)))
	resp.Header.Set("Content-Type", "application/json")
	return resp, nil
}
