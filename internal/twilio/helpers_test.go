package twilio

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

const (
	testAccountSID = "AC0123456789abcdef0123456789abcdef"
	testAuthToken  = "fedcba9876543210fedcba9876543210"
	testConvSID    = "CH0123456789abcdef0123456789abcdef"
	testWSSID      = "WS0123456789abcdef0123456789abcdef"
)

// handler answers the nth request (from 1) that reached the server.
type handler func(n int32, w http.ResponseWriter, r *http.Request)

// counting wraps a handler and counts the requests that reached it.
type counting struct {
	n atomic.Int32
	h handler
}

func (c *counting) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.h(c.n.Add(1), w, r)
}

// serve starts an httptest server answering with h, counting requests.
func serve(t testing.TB, h handler) (*httptest.Server, *counting) {
	t.Helper()
	c := &counting{h: h}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	return srv, c
}

// newTestClient builds a Client whose Twilio calls all reach srv through the
// real stack (with the emulator rewrite), with fast backoff.
func newTestClient(t testing.TB, srv *httptest.Server, mod func(*Options)) (*Client, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	opts := Options{
		AccountSID:  testAccountSID,
		AuthToken:   testAuthToken,
		EmulatorURL: srv.URL,
		Timeout:     5 * time.Second,
		Registerer:  reg,
		Retry:       RetryPolicy{MaxAttempts: 3, MinBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond},
	}
	if mod != nil {
		mod(&opts)
	}
	c, err := New(opts)
	require.NoError(t, err)
	return c, reg
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

func twilioError(w http.ResponseWriter, status, code int) {
	writeJSON(w, status, `{"code":`+strconv.Itoa(code)+`,"message":"boom","more_info":"","status":`+strconv.Itoa(status)+`}`)
}
