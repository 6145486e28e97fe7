package emulator

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/flexhooks/flexhooks/internal/emulator/console"
	"github.com/flexhooks/flexhooks/internal/emulator/conversations"
	"github.com/flexhooks/flexhooks/internal/emulator/core"
	"github.com/flexhooks/flexhooks/internal/emulator/flex"
	"github.com/flexhooks/flexhooks/internal/emulator/iam"
	"github.com/flexhooks/flexhooks/internal/emulator/syncapi"
	"github.com/flexhooks/flexhooks/internal/emulator/taskrouter"
)

// Twilio hosts the emulator answers for, as twilio-go addresses them.
const (
	HostConversations = "conversations.twilio.com"
	HostFlex          = "flex-api.twilio.com"
	HostTaskRouter    = "taskrouter.twilio.com"
	HostSync          = "sync.twilio.com"
	HostIAM           = "iam.twilio.com"
)

// Options configure an Emulator. The zero value is usable: made-up
// credentials, the default seed and a clock that follows real time.
type Options struct {
	// AccountSID and AuthToken are enforced with HTTP basic auth and sign the
	// webhooks the emulator sends. Empty: a pair is made up (see Credentials).
	AccountSID string
	AuthToken  string
	// Seed replaces the default world; nil means DefaultSeed().
	Seed *Seed
	// ManualClock makes the virtual clock move only through the control API
	// (POST /emulator/clock): tests use it. Otherwise the clock follows real
	// time, and the control API can still jump it forward.
	ManualClock bool
	// Start is the virtual clock's first instant; zero means now.
	Start time.Time
	// WebhookRetryDelays overrides the spacing of webhook retries (nil: the outbox default).
	WebhookRetryDelays []time.Duration
	Logger             *slog.Logger
}

// Emulator is a local Twilio. It is an http.Handler.
type Emulator struct {
	env      *core.Env
	log      *slog.Logger
	conv     *conversations.Store
	tr       *taskrouter.Store
	flex     *flex.Store
	sync     *syncapi.Store
	iam      *iam.Store
	faults   faultSet
	requests requestLog
	handler  http.Handler
	console  *console.Console

	manual     bool
	clockMu    sync.Mutex    // guards offset
	offset     time.Duration // virtual minus wall time, in real-time mode
	stopTicker context.CancelFunc
}

// New builds an emulator with its world seeded.
func New(opts Options) (*Emulator, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	sid, token := opts.AccountSID, opts.AuthToken
	if sid == "" {
		sid = core.NewSID("AC")
	}
	if token == "" {
		token = randomHex(16)
	}
	if !core.ValidSID("AC", sid) {
		return nil, fmt.Errorf("emulator: account SID %q is not AC followed by 32 hex digits", sid)
	}
	start := opts.Start
	if start.IsZero() {
		start = time.Now()
	}
	outbox := core.NewOutbox(token, log)
	if opts.WebhookRetryDelays != nil {
		outbox.RetryDelays = opts.WebhookRetryDelays
	}
	env := core.NewEnv(sid, token, start, log, outbox)
	e := &Emulator{env: env, log: log, manual: opts.ManualClock}
	e.conv = conversations.New(env)
	e.tr = taskrouter.New(env)
	e.flex = flex.New(env, e.conv, e.tr)
	e.sync = syncapi.New(env)
	e.iam = iam.New(env)
	e.offset = time.Until(env.Now())

	seed := DefaultSeed()
	if opts.Seed != nil {
		seed = *opts.Seed
	}
	if err := e.tr.Load(seed.TaskRouter); err != nil {
		return nil, fmt.Errorf("emulator: seed: %w", err)
	}
	if seed.Behaviour != nil {
		env.Behaviour = *seed.Behaviour
	}
	e.console = console.New(console.Options{Twilio: e, AccountSID: sid, AuthToken: token, Settle: e.Settle})
	e.handler = e.routes()
	if !e.manual {
		ctx, cancel := context.WithCancel(context.Background())
		e.stopTicker = cancel
		go e.followRealTime(ctx)
	}
	return e, nil
}

// Close stops the clock's ticker (real-time mode) and waits for nothing else:
// webhooks in flight finish on their own.
func (e *Emulator) Close() {
	if e.stopTicker != nil {
		e.stopTicker()
	}
}

// Credentials returns the account SID and auth token the emulator enforces
// and signs with.
func (e *Emulator) Credentials() (accountSID, authToken string) {
	return e.env.AccountSID, e.env.AuthToken
}

// Seeded names the SIDs of the seeded objects a flexhooks service needs in
// its configuration.
type Seeded struct {
	WorkspaceSID        string `json:"workspaceSid"`
	ChatServiceSID      string `json:"chatServiceSid"`
	SyncServiceSID      string `json:"syncServiceSid"`
	DefaultWorkflowSID  string `json:"defaultWorkflowSid"`
	TransferWorkflowSID string `json:"transferWorkflowSid"`
}

// SeededSIDs returns the SIDs of the seeded workspace, services and workflows.
func (e *Emulator) SeededSIDs() Seeded {
	e.env.Lock()
	defer e.env.Unlock()
	ws := e.tr.WorkspaceSID()
	return Seeded{
		WorkspaceSID:        ws,
		ChatServiceSID:      e.conv.DefaultServiceSID(),
		SyncServiceSID:      core.SeedSID("IS", "default"),
		DefaultWorkflowSID:  e.tr.WorkflowSID(ws, DefaultWorkflowName),
		TransferWorkflowSID: e.tr.WorkflowSID(ws, TransferWorkflowName),
	}
}

// Now is the virtual clock's time. A service embedding the emulator tells
// time by it, so that both agree on when a Flex token expires.
func (e *Emulator) Now() time.Time {
	e.env.Lock()
	defer e.env.Unlock()
	return e.env.Now()
}

// Console is the web console served at the emulator's root (package console).
func (e *Emulator) Console() *console.Console { return e.console }

// Behaviour returns the emulator's current behaviour switches.
func (e *Emulator) Behaviour() core.Behaviour {
	e.env.Lock()
	defer e.env.Unlock()
	return e.env.Behaviour
}

// SetBehaviour replaces the behaviour switches, as PUT /emulator/behaviour does.
func (e *Emulator) SetBehaviour(b core.Behaviour) {
	e.env.Lock()
	e.env.Behaviour = b
	e.env.Unlock()
}

// Settle waits until every webhook the emulator queued, and every webhook
// those deliveries caused, has been delivered.
func (e *Emulator) Settle(ctx context.Context) error { return e.env.Outbox.Settle(ctx) }

// ServeHTTP implements http.Handler.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) { e.handler.ServeHTTP(w, r) }

// ListenAndServe serves the emulator on addr until ctx ends.
func (e *Emulator) ListenAndServe(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func (e *Emulator) routes() http.Handler {
	products := map[string]http.Handler{
		HostConversations: e.conv.Routes(),
		HostFlex:          e.flex.Routes(),
		HostTaskRouter:    e.tr.Routes(),
		HostSync:          e.sync.Routes(),
		HostIAM:           e.iam.Routes(),
	}
	for host, h := range products {
		products[host] = e.withRequestLog(e.withFaults(e.withBasicAuth(withPageLimits(host, core.Locked(e.env, h)))))
	}
	control := e.controlRoutes()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, twilioHost := products[hostOf(r)]; !twilioHost && console.Owns(r.URL.Path) {
			e.console.ServeHTTP(w, r)
			return
		}
		if strings.HasPrefix(r.URL.Path, "/emulator/") || r.URL.Path == "/emulator" {
			control.ServeHTTP(w, r)
			return
		}
		if h, ok := products[hostOf(r)]; ok {
			h.ServeHTTP(w, r)
			return
		}
		core.WriteError(w, core.Errf(http.StatusNotFound, core.CodeNotFound,
			"The requested resource %s was not found (the emulator serves Twilio hosts %s, %s, %s, %s and %s, chosen by the Host header, and its control API under /emulator/)",
			r.URL.Path, HostConversations, HostFlex, HostTaskRouter, HostSync, HostIAM))
	})
}

// withBasicAuth enforces the account's credentials as Twilio does: 401 / 20003.
func (e *Emulator) withBasicAuth(next http.Handler) http.Handler {
	sid, token := []byte(e.env.AccountSID), []byte(e.env.AuthToken)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(user), sid) != 1 || subtle.ConstantTimeCompare([]byte(pass), token) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="Twilio API"`)
			core.WriteError(w, core.Errf(http.StatusUnauthorized, core.CodeAuthenticate, "Authenticate"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// followRealTime moves the virtual clock with the wall clock (plus whatever
// the control API jumped), firing due timers, until ctx ends.
func (e *Emulator) followRealTime(ctx context.Context) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			e.clockMu.Lock()
			target := now.Add(e.offset)
			e.clockMu.Unlock()
			e.env.Lock()
			e.env.AdvanceTo(target)
			e.env.Unlock()
		}
	}
}

// advance moves the virtual clock forward by d and returns the new time.
// It stops at each due timer, fires it, and waits for the webhooks it
// caused (and their answers' consequences) before going on, as real time
// would: a service that re-arms a timer when it hears of one firing then
// arms it from that moment, not from the end of the jump.
// With settle false (the control API's ?wait=false) it does not wait.
func (e *Emulator) advance(ctx context.Context, d time.Duration, settle bool) (time.Time, error) {
	e.clockMu.Lock()
	defer e.clockMu.Unlock()
	e.env.Lock()
	target := e.env.Now().Add(d)
	e.env.Unlock()
	for {
		e.env.Lock()
		due, ok := e.env.NextDue()
		if !ok || due.After(target) {
			e.env.AdvanceTo(target)
			now := e.env.Now()
			e.env.Unlock()
			e.offset = time.Until(now)
			return now, nil
		}
		e.env.AdvanceTo(due) // every timer due at that instant
		e.offset = time.Until(e.env.Now())
		e.env.Unlock()
		if !settle {
			continue
		}
		if err := e.Settle(ctx); err != nil {
			return due, err
		}
	}
}

func hostOf(r *http.Request) string {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.ToLower(host)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
