package twilio

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the Twilio call collectors. They are per Client (no package
// state); when the registerer already holds them (two clients on one
// registry, as in tests), the registered ones are shared.
type metrics struct {
	calls    *prometheus.CounterVec   // product, method, status
	duration *prometheus.HistogramVec // product
	retries  *prometheus.CounterVec   // product, reason
	// throttled counts every 429 attempt, retried or not: the figure to
	// alert on, since Sync's per-object limit (54009) and the account's
	// concurrency limit (20429) both answer 429.
	throttled *prometheus.CounterVec // product
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flexhooks_twilio_calls_total",
			Help: "Twilio REST calls by product (the host's first label), method and final HTTP status (\"error\" when no response), retries included in one call.",
		}, []string{"product", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "flexhooks_twilio_call_duration_seconds",
			Help:    "Time to a Twilio REST call's response headers, retries and backoff included.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"product"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flexhooks_twilio_retries_total",
			Help: "Twilio REST attempts retried, by product and reason (429, 503, connection).",
		}, []string{"product", "reason"}),
		throttled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flexhooks_twilio_throttled_total",
			Help: "Twilio REST attempts refused with 429 Too Many Requests (Sync 54009, API concurrency 20429), by product, retried or not.",
		}, []string{"product"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.calls, err = register(reg, m.calls); err != nil {
		return nil, err
	}
	if m.duration, err = register(reg, m.duration); err != nil {
		return nil, err
	}
	if m.retries, err = register(reg, m.retries); err != nil {
		return nil, err
	}
	if m.throttled, err = register(reg, m.throttled); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c, or returns the identical collector already there.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, err
	}
	return c, nil
}

// product is the Twilio product a host belongs to: its first label for
// *.twilio.com ("conversations", "flex-api", "taskrouter", "sync", "iam"),
// "other" for anything else, so that label values stay few.
func product(host string) string {
	if h, _, ok := strings.Cut(host, ":"); ok {
		host = h
	}
	if !strings.HasSuffix(host, ".twilio.com") {
		return "other"
	}
	first, _, _ := strings.Cut(host, ".")
	return first
}

// metricsTransport counts and times each call, and shouts when Twilio
// refuses the service's credentials: every request fails until an operator
// fixes them.
type metricsTransport struct {
	metrics *metrics
	base    http.RoundTripper
	log     *slog.Logger
}

func (t *metricsTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.base.RoundTrip(req)
	elapsed := time.Since(start)
	p := product(req.URL.Host)
	status := "error"
	if err == nil {
		status = strconv.Itoa(resp.StatusCode)
	}
	t.metrics.calls.WithLabelValues(p, req.Method, status).Inc()
	t.metrics.duration.WithLabelValues(p).Observe(elapsed.Seconds())

	ctx := req.Context()
	switch {
	// A 403 from IAM may be about the agent's token, not ours.
	case err == nil && (resp.StatusCode == http.StatusUnauthorized || (resp.StatusCode == http.StatusForbidden && p != "iam")):
		t.log.LogAttrs(ctx, slog.LevelError, "Twilio rejected the service's credentials: check TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_API_KEY/TWILIO_API_SECRET",
			slog.String("method", req.Method), slog.String("host", req.URL.Host), slog.String("path", req.URL.Path), slog.Int("status", resp.StatusCode))
	case t.log.Enabled(ctx, slog.LevelDebug):
		attrs := []slog.Attr{slog.String("method", req.Method), slog.String("host", req.URL.Host),
			slog.String("path", req.URL.Path), slog.String("status", status), slog.Duration("elapsed", elapsed)}
		if err != nil {
			attrs = append(attrs, slog.String("error", err.Error()))
		}
		t.log.LogAttrs(ctx, slog.LevelDebug, "Twilio call", attrs...)
	}
	return resp, err
}
