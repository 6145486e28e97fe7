package server

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the HTTP layer's Prometheus collectors. Labels are bounded:
// route is a registered pattern or "unmatched", never a raw path.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inflight prometheus.Gauge
	// statusLabels avoids formatting the status code on every request.
	statusLabels [600]string
	// routeDuration holds each route's histogram child, resolved when the
	// route is mounted (read-only afterwards), to skip a label lookup per
	// request.
	routeDuration map[string]prometheus.Observer
}

func newMetrics(reg prometheus.Registerer, log *slog.Logger) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flexhooks_http_requests_total",
			Help: "HTTP requests served, by route pattern, method and status code.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "flexhooks_http_request_duration_seconds",
			Help: "Time to serve an HTTP request, by route pattern (Twilio calls included).",
			// From a 204 acknowledgement (sub-millisecond) to a webhook that
			// waits on several Twilio round trips (seconds).
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "flexhooks_http_requests_in_flight",
			Help: "HTTP requests being served.",
		}),
	}
	m.requests = register(reg, m.requests, log)
	m.duration = register(reg, m.duration, log)
	m.inflight = register(reg, m.inflight, log)
	m.routeDuration = map[string]prometheus.Observer{routeUnmatched: m.duration.WithLabelValues(routeUnmatched)}
	for i := range m.statusLabels {
		m.statusLabels[i] = strconv.Itoa(i)
	}
	return m
}

// register registers c, or reuses the collector already registered under the
// same name (two Servers on one registry, as in tests).
func register[C prometheus.Collector](reg prometheus.Registerer, c C, log *slog.Logger) C {
	err := reg.Register(c)
	if err == nil {
		return c
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing
		}
	}
	log.Error("cannot register HTTP metrics", "error", err)
	return c
}

func (m *metrics) observe(route, method string, status int, d time.Duration) {
	code := strconv.Itoa(status)
	if status >= 0 && status < len(m.statusLabels) {
		code = m.statusLabels[status]
	}
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
	default:
		method = "other" // clients choose methods freely; labels must stay bounded
	}
	m.requests.WithLabelValues(route, method, code).Inc()
	obs, ok := m.routeDuration[route]
	if !ok {
		obs = m.duration.WithLabelValues(route)
	}
	obs.Observe(d.Seconds())
}

// addRoute resolves a route's histogram child; called only while New
// builds the router.
func (m *metrics) addRoute(pattern string) {
	m.routeDuration[pattern] = m.duration.WithLabelValues(pattern)
}

func (m *metrics) handler(g prometheus.Gatherer, log *slog.Logger) http.Handler {
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelError),
		// A broken collector should not hide all the others.
		ErrorHandling: promhttp.ContinueOnError,
	})
}
