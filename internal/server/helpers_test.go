package server

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/flexhooks/flexhooks/internal/emulator/core"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flexhooks/flexhooks"
)

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testLogger logs JSON at debug level into a buffer the test can read.
func testLogger() (*slog.Logger, *syncBuffer) {
	buf := &syncBuffer{}
	return slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// fakeValidator is a TokenValidator made of a function field.
type fakeValidator struct {
	ValidateFlexTokenFn func(ctx context.Context, token string) (flexhooks.Caller, time.Time, error)
}

func (f *fakeValidator) ValidateFlexToken(ctx context.Context, token string) (flexhooks.Caller, time.Time, error) {
	return f.ValidateFlexTokenFn(ctx, token)
}

// fakeReady is a ReadyChecker made of a function field.
type fakeReady struct {
	ReadyFn func(ctx context.Context) error
}

func (f *fakeReady) Ready(ctx context.Context) error { return f.ReadyFn(ctx) }

// sign computes X-Twilio-Signature independently of the code under test:
// with the emulator's signer, itself checked against Twilio's published vectors.
func sign(authToken, fullURL string, params url.Values) string {
	return core.Signature(authToken, fullURL, params)
}

// do serves one request through h and returns the recorded response.
func do(h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func formRequest(method, target string, form url.Values) *http.Request {
	req := httptest.NewRequest(method, target, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

func jsonRequest(method, target, body string) *http.Request {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return req
}

type errorJSON struct {
	Error struct {
		Code    string            `json:"code"`
		Message string            `json:"message"`
		Fields  map[string]string `json:"fields"`
	} `json:"error"`
}

// decodeError parses a JSON error answer, failing the test if it is not one.
func decodeError(t *testing.T, rec *httptest.ResponseRecorder) errorJSON {
	t.Helper()
	require.Equal(t, "application/json; charset=utf-8", rec.Header().Get("Content-Type"), "body: %s", rec.Body)
	var e errorJSON
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &e), "body: %s", rec.Body)
	require.NotEmpty(t, e.Error.Code, "body: %s", rec.Body)
	return e
}

// echoBody is a handler answering 200 with the body it could read.
var echoBody = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	_, _ = w.Write(b)
})
