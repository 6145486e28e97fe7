// Package server is the HTTP layer of flexhooks: routing, the middleware every
// endpoint stands on (request id, access log, metrics, panic recovery, CORS,
// body limit, Twilio signature and Flex token authentication), the generic
// decode → validate → act → respond adapter, the JSON error mapping, health
// and readiness, and graceful shutdown.
//
// It knows Twilio only through the two interfaces it declares (TokenValidator
// and ReadyChecker); internal/twilio implements them and cmd wires them in:
//
//	srv := server.New(server.Options{
//		Logger: log, Registerer: reg, Gatherer: reg,
//		AuthToken: cfg.AuthToken, PublicBaseURL: cfg.PublicBaseURL,
//		Tokens: tw, Ready: tw, CORSAllowedOrigins: cfg.CORSOrigins,
//		Routes: []server.Route{
//			{Method: "POST", Pattern: "/park-interaction", Name: "park", Auth: server.AuthFlexToken,
//				Handler: server.Endpoint(parks.Park)},
//			{Method: "POST", Pattern: "/webhooks/unpark-interaction", Name: "unpark-webhook", Auth: server.AuthSignature,
//				Handler: server.Endpoint(parks.OnMessageAdded)},
//		},
//	})
//	return srv.ListenAndServe(ctx, cfg.Addr) // returns after a graceful shutdown once ctx is done
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flexhooks/flexhooks"
)

// TokenValidator validates a Flex token against Twilio IAM.
//
// Errors: an invalid or expired token is a *flexhooks.Error with code
// EFORBIDDEN; IAM unreachable, 5xx or too slow is EUNAVAILABLE.
type TokenValidator interface {
	ValidateFlexToken(ctx context.Context, token string) (flexhooks.Caller, time.Time, error)
}

// ReadyChecker reports whether Twilio is reachable with valid credentials.
type ReadyChecker interface {
	Ready(ctx context.Context) error
}

// Options configure a Server. Zero values get the defaults documented on
// each field.
type Options struct {
	// Logger receives the access log and every error's details. Default: discard.
	Logger *slog.Logger
	// Registerer takes the HTTP metrics; Gatherer serves /metrics. When both
	// are nil the server uses a registry of its own (never the global one).
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer

	// AuthToken is the Twilio auth token webhook signatures are made with.
	// Without it every AuthSignature route answers 403 (fail closed).
	AuthToken string
	// PublicBaseURL is the https URL Twilio calls, e.g.
	// https://flexhooks.example.com. Signatures are computed over it plus the
	// request's path and query, never over the request's own scheme and host,
	// which a TLS-terminating proxy rewrites. A path in it is the prefix the
	// proxy strips before forwarding.
	PublicBaseURL string

	// Tokens validates Flex tokens on AuthFlexToken routes. Without it those
	// routes answer 503.
	Tokens TokenValidator
	// ServiceCredentials are the HTTP Basic username/password pairs
	// AuthFlexTokenOrService routes accept besides a Flex token: the
	// service's own Twilio credentials (account SID and auth token, API key
	// and secret). Whoever holds them can already do anything to the
	// account through Twilio's API, so accepting them grants nothing new.
	ServiceCredentials []ServiceCredential
	// TokenCacheSize bounds the number of validated tokens kept. Default 10000.
	TokenCacheSize int
	// TokenRevalidateAfter is how long a token IAM called valid is trusted
	// before IAM is asked again (never past the token's own expiry), so
	// that revocation and role changes take effect. Default 5m.
	TokenRevalidateAfter time.Duration

	// Ready backs /readyz. Nil: always ready.
	Ready ReadyChecker
	// ReadyCacheTTL is how long a readiness result is reused, so that probes
	// from several load balancers do not turn into a stream of Twilio calls.
	// Default 5s.
	ReadyCacheTTL time.Duration
	// ReadyTimeout bounds one readiness check. Default 3s.
	ReadyTimeout time.Duration

	// CORSAllowedOrigins lists the browser origins (e.g.
	// https://flex.twilio.com) allowed to call the plugin endpoints; "*"
	// allows any. Empty: no CORS headers at all.
	CORSAllowedOrigins []string

	// MaxBodyBytes bounds request bodies; larger ones get 413. Default 1 MiB.
	MaxBodyBytes int64

	// Routes are the endpoints mounted besides /healthz, /readyz and /metrics.
	Routes []Route

	// RequestTimeout is the deadline put on each request's context, which
	// bounds all the Twilio calls it makes. Default 10s (Twilio gives up
	// on a webhook after 15s).
	RequestTimeout time.Duration
	// ReadHeaderTimeout, ReadTimeout, WriteTimeout and IdleTimeout are the
	// http.Server's. Defaults 5s, 10s, 15s, 120s.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	// DrainDelay is how long Serve keeps accepting requests after its context
	// is done, with /readyz answering 503, so that load balancers stop sending
	// traffic before the listener closes. Default 0.
	DrainDelay time.Duration
	// ShutdownTimeout is the grace period in-flight requests get to finish
	// once shutdown starts; after it their contexts are cancelled and
	// connections closed. Default 20s.
	ShutdownTimeout time.Duration

	// Now is the clock token expiry, the token cache and readiness caching
	// use: in embedded mode, the emulator's virtual clock, so that a token
	// the emulator calls expired is expired here too. Default time.Now.
	Now func() time.Time
}

func (o *Options) setDefaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Registerer == nil && o.Gatherer == nil {
		reg := prometheus.NewRegistry()
		o.Registerer, o.Gatherer = reg, reg
	}
	if o.Gatherer == nil {
		if g, ok := o.Registerer.(prometheus.Gatherer); ok {
			o.Gatherer = g
		} else {
			o.Gatherer = prometheus.NewRegistry()
		}
	}
	if o.Registerer == nil {
		// A Gatherer alone: metrics go to a registry nobody serves rather
		// than to the global one.
		o.Registerer = prometheus.NewRegistry()
	}
	setDefault(&o.TokenCacheSize, 10000)
	setDefault(&o.TokenRevalidateAfter, 5*time.Minute)
	setDefault(&o.ReadyCacheTTL, 5*time.Second)
	setDefault(&o.ReadyTimeout, 3*time.Second)
	setDefault(&o.MaxBodyBytes, 1<<20)
	setDefault(&o.RequestTimeout, 10*time.Second)
	setDefault(&o.ReadHeaderTimeout, 5*time.Second)
	setDefault(&o.ReadTimeout, 10*time.Second)
	setDefault(&o.WriteTimeout, 15*time.Second)
	setDefault(&o.IdleTimeout, 120*time.Second)
	setDefault(&o.ShutdownTimeout, 20*time.Second)
	if o.Now == nil {
		o.Now = time.Now
	}
}

func setDefault[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}

// Server is the HTTP service. It holds no request state: every replica
// behind a load balancer is interchangeable.
type Server struct {
	opts     Options
	log      *slog.Logger
	handler  http.Handler
	metrics  *metrics
	sig      *signatureVerifier
	tokens   *tokenAuth
	service  *serviceAuth
	ready    *readiness
	cors     *cors
	draining atomic.Bool

	// Request ids are a random per-process prefix and a counter: unique
	// across replicas without a random read per request.
	idPrefix string
	idSeq    atomic.Uint64
}

// New builds a Server. Misconfiguration (no auth token, a bad public URL)
// is logged and fails closed on the routes that need it, rather than
// failing the start-up of routes that do not.
func New(opts Options) *Server {
	opts.setDefaults()
	s := &Server{opts: opts, log: opts.Logger}
	var p [4]byte
	_, _ = rand.Read(p[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	s.idPrefix = hex.EncodeToString(p[:])
	s.metrics = newMetrics(opts.Registerer, s.log)
	s.sig = newSignatureVerifier(opts.AuthToken, opts.PublicBaseURL)
	if err := s.sig.configErr; err != nil && hasAuth(opts.Routes, AuthSignature) {
		s.log.Error("Twilio signature routes will reject every request", "error", err)
	}
	s.tokens = newTokenAuth(opts.Tokens, tokenAuthOptions{size: opts.TokenCacheSize, revalidateAfter: opts.TokenRevalidateAfter,
		timeout: opts.RequestTimeout, now: opts.Now, log: s.log})
	s.service = newServiceAuth(s.tokens, opts.ServiceCredentials)
	if opts.Tokens == nil && (hasAuth(opts.Routes, AuthFlexToken) || hasAuth(opts.Routes, AuthFlexTokenOrService)) {
		s.log.Error("no Flex token validator: Flex token routes will answer 503")
	}
	s.ready = &readiness{checker: opts.Ready, ttl: opts.ReadyCacheTTL, timeout: opts.ReadyTimeout, now: opts.Now}
	s.cors = newCORS(opts.CORSAllowedOrigins)
	s.handler = s.routes()
	return s
}

// Handler returns the whole service as one http.Handler: middleware, routes,
// health, readiness and metrics.
func (s *Server) Handler() http.Handler { return s.handler }

// ListenAndServe listens on addr and serves until ctx is done; see Serve.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	return s.Serve(ctx, l)
}

// Serve serves HTTP on l until ctx is done, then shuts down gracefully: it
// marks itself not ready, waits DrainDelay, stops accepting connections and
// lets in-flight requests finish within ShutdownTimeout. After that it
// cancels their contexts and closes their connections. It returns nil after
// a clean shutdown.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	// Requests must not inherit ctx's cancellation: shutting down should let
	// them finish, not abort their Twilio calls. They are cancelled through
	// cancelBase only once the grace period is over.
	base, cancelBase := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelBase()
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: s.opts.ReadHeaderTimeout,
		ReadTimeout:       s.opts.ReadTimeout,
		WriteTimeout:      s.opts.WriteTimeout,
		IdleTimeout:       s.opts.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return base },
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(l) }()
	s.log.Info("listening", "addr", l.Addr().String())

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}

	s.draining.Store(true)
	if d := s.opts.DrainDelay; d > 0 {
		s.log.Info("draining before shutdown", "delay", d)
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case err := <-errc:
			t.Stop()
			return fmt.Errorf("serve: %w", err)
		}
	}
	s.log.Info("shutting down", "grace", s.opts.ShutdownTimeout)
	shCtx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
	defer cancel()
	err := hs.Shutdown(shCtx)
	if err != nil {
		// Grace period over: abort what is left.
		cancelBase()
		_ = hs.Close()
		err = fmt.Errorf("shutdown: in-flight requests did not finish within %s: %w", s.opts.ShutdownTimeout, err)
	}
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = fmt.Errorf("serve: %w", serr)
	}
	if err == nil {
		s.log.Info("shut down cleanly")
	}
	return err
}

// newRequestID returns a fresh request id.
func (s *Server) newRequestID() string {
	b := make([]byte, 0, len(s.idPrefix)+14)
	b = append(b, s.idPrefix...)
	b = append(b, '-')
	b = strconv.AppendUint(b, s.idSeq.Add(1), 36)
	return string(b)
}
