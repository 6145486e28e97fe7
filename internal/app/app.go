// Package app is the service's composition root: from a validated
// configuration it builds the Twilio client, the feature services of package
// webhooks and the HTTP server with every route. `flexhooks serve` and the
// end-to-end tests build the service through it, so tests run exactly the
// wiring production runs.
package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flexhooks/flexhooks/internal/config"
	"github.com/flexhooks/flexhooks/internal/server"
	"github.com/flexhooks/flexhooks/internal/twilio"
	"github.com/flexhooks/flexhooks/webhooks"
)

// App is the assembled service.
type App struct {
	Server *server.Server
	Twilio *twilio.Client
	// Routes are the capability routes mounted (the server adds /healthz,
	// /readyz and /metrics): the fuzz test walks them all and the OpenAPI
	// route-coverage test reads them.
	Routes []server.Route
	// Sweeper finds and repairs what failed operations left behind:
	// serve runs it every SWEEP_INTERVAL, `flexhooks sweep` once.
	Sweeper *webhooks.Sweeper
}

// Option changes how New assembles the service.
type Option func(*options)

type options struct {
	now func() time.Time
}

// WithClock makes the service tell time by now instead of the wall clock:
// in embedded mode, the emulator's virtual clock, so that a Flex token the
// emulator's IAM calls expired is expired in the service's token cache too,
// and a cached token is revalidated when the virtual clock jumps.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// New assembles the service. reg may be nil (a private registry is made).
func New(cfg config.Config, log *slog.Logger, reg *prometheus.Registry, opts ...Option) (*App, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	tw, err := NewTwilio(cfg, log, reg)
	if err != nil {
		return nil, err
	}
	ops := tw.Operations(cfg.SyncServiceSID)
	parks := webhooks.NewParks(ops, webhooks.ParkConfig{
		PublicBaseURL: cfg.PublicBaseURL,
		WorkspaceSid:  cfg.WorkspaceSID,
		ParkedList:    cfg.ParkedList,
		ParkedTTL:     cfg.ParkedTTL,
		// The route an unpark falls back to when a park's workflow is gone.
		DefaultWorkflowSid: cfg.DefaultWorkflowSID,
		MaxAge:             cfg.ParkMaxAge.D(),
		RouteExpired:       cfg.ParkExpiry == "route",
		ExpiredMessage:     cfg.ParkExpiredMessage,
		Now:                o.now,
	}, log)
	// TaskRouter's workspace callback delivers every event to one route;
	// capabilities register the event types they use on events.
	events := webhooks.NewTaskEvents()
	parks.RegisterEvents(events, ops)

	// Each capability contributes its routes (routes_<capability>.go).
	var routes []server.Route
	routes = append(routes, parkRoutes(parks)...)
	gap, err := newGapCounter(reg)
	if err != nil {
		return nil, err
	}
	records := newInteractions(cfg, ops, events, gap, log)
	routes = append(routes, interactionRoutes(records)...)
	routes = append(routes, persistentChatRoutes(cfg, ops, records, gap, log)...)
	inactivity, inactivityStep := inactivityRoutes(cfg, tw, events, records, log)
	routes = append(routes, inactivity...)
	routes = append(routes, taskRouterEventRoutes(events)...)
	transfers := newTransfers(cfg, ops, events, log)
	routes = append(routes, transferRoutes(transfers)...)
	// Each capability contributes what its sweep repairs.
	var closing func(context.Context, string)
	if records != nil {
		closing = records.Abandoned // an expired park closes Closed Abandoned
	}
	steps := []webhooks.SweepStep{webhooks.ClaimMigration(ops), parks.SweepStep(ops, closing), transfers.SweepStep()}
	if inactivityStep != nil {
		steps = append(steps, inactivityStep)
	}
	if records != nil {
		steps = append(steps, records.SweepStep()) // last: it reads what the repairs before it wrote
	}
	sweeper, err := newSweeper(cfg, ops, reg, log, o.now, steps)
	if err != nil {
		return nil, err
	}
	routes = append(routes, sweepRoutes(sweeper)...)
	doc, err := openAPIRoutes()
	if err != nil {
		return nil, err
	}
	routes = append(routes, doc...)
	srv := server.New(server.Options{
		Logger:             log,
		Registerer:         reg,
		Gatherer:           reg,
		AuthToken:          cfg.AuthToken,
		PublicBaseURL:      cfg.PublicBaseURL,
		Tokens:             tw,
		ServiceCredentials: serviceCredentials(cfg),
		Ready:              tw,
		CORSAllowedOrigins: cfg.CORSAllowedOrigins,
		MaxBodyBytes:       cfg.MaxRequestBodyBytes,
		// Unset (0) only where a test builds a Config by hand: the
		// server's default, 5m, then applies.
		TokenRevalidateAfter: cfg.FlexTokenRevalidateAfter,
		Routes:               routes,
		Now:                  o.now,
	})
	return &App{Server: srv, Twilio: tw, Routes: routes, Sweeper: sweeper}, nil
}

// serviceCredentials are the HTTP Basic pairs a backend may present where
// the service's own credentials are accepted: the ones it calls Twilio with.
func serviceCredentials(cfg config.Config) []server.ServiceCredential {
	creds := []server.ServiceCredential{{Username: cfg.AccountSID, Password: cfg.AuthToken}}
	if cfg.APIKey != "" {
		creds = append(creds, server.ServiceCredential{Username: cfg.APIKey, Password: cfg.APISecret})
	}
	return creds
}

// NewTwilio builds the Twilio client the configuration describes: the one
// way serve and setup talk to Twilio (or to the emulator at EMULATOR_URL).
// reg may be nil.
func NewTwilio(cfg config.Config, log *slog.Logger, reg prometheus.Registerer) (*twilio.Client, error) {
	return twilio.New(twilio.Options{
		AccountSID:   cfg.AccountSID,
		AuthToken:    cfg.AuthToken,
		APIKey:       cfg.APIKey,
		APISecret:    cfg.APISecret,
		WorkspaceSID: cfg.WorkspaceSID,
		EmulatorURL:  cfg.EmulatorURL,
		Timeout:      cfg.TwilioTimeout,
		Retry:        twilio.RetryPolicy{MaxAttempts: cfg.TwilioMaxAttempts},
		Logger:       log,
		Registerer:   reg,
	})
}
