package app

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flexhooks/flexhooks"
	"github.com/flexhooks/flexhooks/internal/config"
	"github.com/flexhooks/flexhooks/internal/server"
	"github.com/flexhooks/flexhooks/webhooks"
)

// SweepPath is where a supervisor, an admin or the service's own
// credentials run a sweep now (?dryRun=true lists what it would repair).
const SweepPath = "/admin/sweep"

// newSweeper assembles the sweeper over the capabilities' steps.
func newSweeper(cfg config.Config, tw webhooks.SweepTwilio, reg prometheus.Registerer, log *slog.Logger, now func() time.Time, steps []webhooks.SweepStep) (*webhooks.Sweeper, error) {
	m, err := newSweepMetrics(reg)
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	return webhooks.NewSweeper(tw, webhooks.SweepConfig{Grace: cfg.SweepGrace, Replica: host}, m, log.With("component", "sweeper"), now, steps...), nil
}

// sweepMetrics are flexhooks_repairs_total and
// flexhooks_repair_failures_total, by kind: a failure count that keeps
// growing for one kind is a repair the sweeper cannot make, which an alert
// should page on.
type sweepMetrics struct{ repaired, failed *prometheus.CounterVec }

func newSweepMetrics(reg prometheus.Registerer) (*sweepMetrics, error) {
	m := &sweepMetrics{
		repaired: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flexhooks_repairs_total",
			Help: "Stuck work the sweeper finished or undid, by kind.",
		}, []string{"kind"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flexhooks_repair_failures_total",
			Help: "Repairs the sweeper attempted and could not make (tried again next sweep), by kind.",
		}, []string{"kind"}),
	}
	var err error
	if m.repaired, err = registered(reg, m.repaired); err != nil {
		return nil, err
	}
	if m.failed, err = registered(reg, m.failed); err != nil {
		return nil, err
	}
	return m, nil
}

// registered registers c, or returns the collector already registered
// under its name (several apps on one registry in tests).
func registered(reg prometheus.Registerer, c *prometheus.CounterVec) (*prometheus.CounterVec, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if !errors.As(err, &are) {
			return nil, err
		}
		return are.ExistingCollector.(*prometheus.CounterVec), nil
	}
	return c, nil
}

func (m *sweepMetrics) Repaired(kind string)     { m.repaired.WithLabelValues(kind).Inc() }
func (m *sweepMetrics) RepairFailed(kind string) { m.failed.WithLabelValues(kind).Inc() }

// sweepRoutes is POST /admin/sweep: a sweep now, answered with its report.
// Agents may not: a sweep acts on every conversation.
func sweepRoutes(sw *webhooks.Sweeper) []server.Route {
	type req struct {
		DryRun bool `json:"dryRun" form:"dryRun" query:"dryRun"`
	}
	h := server.Endpoint(func(ctx context.Context, r *req) (*webhooks.SweepReport, error) {
		if c, ok := flexhooks.CallerFrom(ctx); ok && !c.IsSupervisor() {
			return nil, flexhooks.Errorf(flexhooks.EFORBIDDEN, "only a supervisor, an admin or the service's credentials may run a sweep")
		}
		rep := sw.Sweep(ctx, r.DryRun)
		return &rep, nil
	})
	return []server.Route{{Method: http.MethodPost, Pattern: SweepPath, Name: "sweep", Auth: server.AuthFlexTokenOrService, Handler: h}}
}

// RunSweeps sweeps every interval, ±20% jitter so that replicas started
// together spread out, until ctx ends. interval 0 does nothing.
func (a *App) RunSweeps(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		return
	}
	for {
		jitter := time.Duration((rand.Float64()*0.4 - 0.2) * float64(interval))
		t := time.NewTimer(interval + jitter)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		a.Sweeper.Sweep(ctx, false)
	}
}
