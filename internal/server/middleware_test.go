package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flexhooks/flexhooks"
)

func TestRequestID(t *testing.T) {
	t.Parallel()
	var seen string
	s := New(Options{Routes: []Route{{Method: "GET", Pattern: "/id", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = flexhooks.RequestID(r.Context())
	})}}})
	tests := []struct {
		name, header string
		keep         bool
	}{
		{"given", "lb-1234.abc:9", true},
		{"none", "", false},
		{"unsafe characters replaced", "bad id\r\nX-Evil: 1", false},
		{"too long replaced", strings.Repeat("a", 129), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/id", nil)
			if tt.header != "" {
				req.Header.Set("X-Request-Id", tt.header)
			}
			rec := do(s.Handler(), req)
			got := rec.Header().Get("X-Request-Id")
			assert.Equal(t, seen, got, "the handler sees the id the caller gets")
			if tt.keep {
				assert.Equal(t, tt.header, got)
			} else {
				assert.Regexp(t, `^[0-9a-f]{8}-[0-9a-z]+$`, got)
			}
		})
	}
	a := do(s.Handler(), httptest.NewRequest("GET", "/id", nil)).Header().Get("X-Request-Id")
	b := do(s.Handler(), httptest.NewRequest("GET", "/id", nil)).Header().Get("X-Request-Id")
	assert.NotEqual(t, a, b)
}

func TestAccessLog(t *testing.T) {
	t.Parallel()
	log, logs := testLogger()
	h := Endpoint(func(ctx context.Context, req *struct {
		ConversationSid string `json:"ConversationSid"`
	}) (map[string]string, error) {
		flexhooks.LogAttrs(ctx, slog.String("conversationSid", req.ConversationSid))
		return map[string]string{}, nil
	})
	s := New(Options{Logger: log, AuthToken: "tok", PublicBaseURL: "https://h.example", Routes: []Route{
		{Method: "POST", Pattern: "/webhooks/{kind}", Name: "webhook", Auth: AuthSignature, Handler: h},
	}})
	form := url.Values{"ConversationSid": {"CHabc"}}
	req := formRequest("POST", "/webhooks/state", form)
	sig := sign("tok", "https://h.example/webhooks/state", form)
	req.Header.Set("X-Twilio-Signature", sig)
	req.Header.Set("X-Request-Id", "req-1")
	req.Header.Set("I-Twilio-Idempotency-Token", "idem-1")
	rec := do(s.Handler(), req)
	require.Equal(t, 200, rec.Code, rec.Body.String())

	var line map[string]any
	require.NoError(t, json.Unmarshal([]byte(strings.TrimSpace(logs.String())), &line), logs.String())
	assert.Equal(t, "http request", line["msg"])
	assert.Equal(t, "INFO", line["level"])
	assert.Equal(t, "req-1", line["requestId"])
	assert.Equal(t, "POST", line["method"])
	assert.Equal(t, "/webhooks/{kind}", line["route"], "the pattern, not the path")
	assert.Equal(t, "webhook", line["handler"])
	assert.Equal(t, float64(200), line["status"])
	assert.Contains(t, line, "duration")
	assert.Equal(t, "CHabc", line["conversationSid"])
	assert.Equal(t, "idem-1", line["twilioIdempotencyToken"])
	assert.NotContains(t, logs.String(), sig, "signatures never reach the log")
}

func TestPanicRecovery(t *testing.T) {
	t.Parallel()
	log, logs := testLogger()
	s := New(Options{Logger: log, Routes: []Route{
		{Method: "GET", Pattern: "/boom", Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("kaboom") })},
		{Method: "GET", Pattern: "/late", Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte("partial"))
			panic("late kaboom")
		})},
	}})
	req := httptest.NewRequest("GET", "/boom", nil)
	req.Header.Set("X-Request-Id", "panicky")
	rec := do(s.Handler(), req)
	require.Equal(t, 500, rec.Code)
	e := decodeError(t, rec)
	assert.Equal(t, "internal", e.Error.Code)
	assert.Equal(t, "internal error", e.Error.Message)
	assert.NotContains(t, rec.Body.String(), "kaboom")
	out := logs.String()
	assert.Contains(t, out, `"msg":"panic serving request"`)
	assert.Contains(t, out, `"panic":"kaboom"`)
	assert.Contains(t, out, `"requestId":"panicky"`)
	assert.Contains(t, out, "runtime/debug.Stack", "the stack is logged")
	assert.Contains(t, out, `"status":500`, "the access log shows the 500")

	// Once the header is out, the connection is aborted rather than
	// finishing a response that looks successful.
	assert.PanicsWithValue(t, http.ErrAbortHandler, func() {
		do(s.Handler(), httptest.NewRequest("GET", "/late", nil))
	})
}

func TestBodyLimit(t *testing.T) {
	t.Parallel()
	h := Endpoint(func(ctx context.Context, req *struct {
		A string `json:"a"`
	}) (map[string]string, error) {
		return map[string]string{"a": req.A}, nil
	})
	s := New(Options{MaxBodyBytes: 64, AuthToken: "tok", PublicBaseURL: "https://h.example", Routes: []Route{
		{Method: "POST", Pattern: "/x", Handler: h},
		{Method: "POST", Pattern: "/signed", Auth: AuthSignature, Handler: h},
	}})
	big := `{"a":"` + strings.Repeat("x", 100) + `"}`
	tests := []struct {
		name string
		req  func() *http.Request
		want int
	}{
		{"small", func() *http.Request { return jsonRequest("POST", "/x", `{"a":"b"}`) }, 200},
		{"declared too large", func() *http.Request { return jsonRequest("POST", "/x", big) }, 413},
		{"undeclared too large", func() *http.Request {
			r := jsonRequest("POST", "/x", "")
			r.Body = io.NopCloser(strings.NewReader(big))
			r.ContentLength = -1
			return r
		}, 413},
		{"too large before the signature check", func() *http.Request {
			r := jsonRequest("POST", "/signed", "")
			r.Body = io.NopCloser(strings.NewReader(big))
			r.ContentLength = -1
			r.Header.Set("X-Twilio-Signature", strings.Repeat("A", 27)+"=")
			return r
		}, 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(s.Handler(), tt.req())
			require.Equal(t, tt.want, rec.Code, rec.Body.String())
			if tt.want == 413 {
				e := decodeError(t, rec)
				assert.Equal(t, CodeTooLarge, e.Error.Code)
				assert.Equal(t, "request body larger than 64 bytes", e.Error.Message)
			}
		})
	}
}

func TestNotFoundAndMethodNotAllowed(t *testing.T) {
	t.Parallel()
	s := New(Options{Routes: []Route{{Method: "POST", Pattern: "/park-interaction", Handler: echoBody}}})

	rec := do(s.Handler(), httptest.NewRequest("GET", "/nope", nil))
	require.Equal(t, 404, rec.Code)
	assert.Equal(t, "not_found", decodeError(t, rec).Error.Code)

	rec = do(s.Handler(), httptest.NewRequest("DELETE", "/park-interaction", nil))
	require.Equal(t, 405, rec.Code)
	assert.Equal(t, CodeMethodNotAllowed, decodeError(t, rec).Error.Code)
	assert.Equal(t, "POST", rec.Header().Get("Allow"))
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	s := New(Options{Registerer: reg, Routes: []Route{{Method: "POST", Pattern: "/sids/{sid}", Handler: echoBody}}})
	for _, p := range []string{"/sids/CH1", "/sids/CH2"} {
		do(s.Handler(), jsonRequest("POST", p, `{}`))
	}
	do(s.Handler(), httptest.NewRequest("GET", "/random/scanner/path", nil))

	assert.Equal(t, 2.0, testutil.ToFloat64(s.metrics.requests.WithLabelValues("/sids/{sid}", "POST", "200")))
	assert.Equal(t, 1.0, testutil.ToFloat64(s.metrics.requests.WithLabelValues(routeUnmatched, "GET", "404")))
	do(s.Handler(), httptest.NewRequest("MADEUP", "/sids/CH1", nil))
	assert.Equal(t, 1.0, testutil.ToFloat64(s.metrics.requests.WithLabelValues(routeUnmatched, "other", "405")))

	rec := do(s.Handler(), httptest.NewRequest("GET", "/metrics", nil))
	require.Equal(t, 200, rec.Code)
	body := rec.Body.String()
	assert.Contains(t, body, `flexhooks_http_requests_total{method="POST",route="/sids/{sid}",status="200"} 2`)
	assert.Contains(t, body, `flexhooks_http_request_duration_seconds_count{route="/sids/{sid}"} 2`)
	assert.NotContains(t, body, "scanner", "raw paths never become labels")

	// A second server on the same registry reuses the collectors.
	s2 := New(Options{Registerer: reg})
	assert.Same(t, s.metrics.requests, s2.metrics.requests)
}

func TestRouteTimeout(t *testing.T) {
	t.Parallel()
	var hasDeadline bool
	s := New(Options{Routes: []Route{{Method: "GET", Pattern: "/x", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, hasDeadline = r.Context().Deadline()
	})}}})
	do(s.Handler(), httptest.NewRequest("GET", "/x", nil))
	assert.True(t, hasDeadline, "a request's deadline bounds its Twilio calls")
}

func TestLogAttrsFromGoroutines(t *testing.T) {
	t.Parallel()
	log, logs := testLogger()
	s := New(Options{Logger: log, Routes: []Route{{Method: "GET", Pattern: "/x", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		done := make(chan struct{})
		for i := 0; i < 4; i++ {
			go func() {
				flexhooks.LogAttrs(r.Context(), slog.Int("n", i))
				done <- struct{}{}
			}()
		}
		for i := 0; i < 4; i++ {
			<-done
		}
		flexhooks.LogAttrs(r.Context(), slog.String("taskSid", "WT1"))
	})}}})
	do(s.Handler(), httptest.NewRequest("GET", "/x", nil))
	assert.Contains(t, logs.String(), `"taskSid":"WT1"`)
	assert.Equal(t, 1, strings.Count(logs.String(), `"n":`), "a key added twice appears once")
}
