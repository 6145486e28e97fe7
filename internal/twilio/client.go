// Package twilio is the one place that builds twilio-go clients. It owns the
// HTTP transport stack every Twilio call goes through (metrics, retries,
// per-call timeout, rewriting to the emulator), binds each request's context
// to its Twilio calls, and maps Twilio's errors to *flexhooks.Error.
package twilio

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	twclient "github.com/twilio/twilio-go/client"
	conversations "github.com/twilio/twilio-go/rest/conversations/v1"
	flex "github.com/twilio/twilio-go/rest/flex/v1"
	syncv1 "github.com/twilio/twilio-go/rest/sync/v1"
	taskrouter "github.com/twilio/twilio-go/rest/taskrouter/v1"

	"github.com/flexhooks/flexhooks/internal/rewrite"
)

// Options configure New.
type Options struct {
	// AccountSID and AuthToken identify the account. The auth token is
	// always needed: Flex token validation authenticates with it.
	AccountSID string
	AuthToken  string
	// APIKey and APISecret, when set, authenticate the REST calls instead
	// of the auth token.
	APIKey    string
	APISecret string
	// WorkspaceSID, when set, is what Ready fetches, proving that the
	// configured workspace exists as well as the credentials.
	WorkspaceSID string
	// EmulatorURL, when set (http://127.0.0.1:4010), sends every Twilio
	// call there, keeping the Twilio host in the Host header.
	EmulatorURL string
	// Timeout bounds one attempt of one call; 0 means 10s.
	Timeout time.Duration
	// Logger receives retries and credential failures; nil discards.
	Logger *slog.Logger
	// Registerer receives the Twilio call metrics; nil registers nothing.
	Registerer prometheus.Registerer
	// Retry bounds retries; zero fields take defaults.
	Retry RetryPolicy
	// Base is the innermost transport; nil means a pooled http.Transport.
	// Tests replace it.
	Base http.RoundTripper
}

// Client builds per-request twilio-go services over one shared transport.
// It is safe for concurrent use.
type Client struct {
	accountSID string
	rest       *twclient.Credentials // REST calls: API key or auth token
	account    *twclient.Credentials // IAM token validation: always the auth token
	workspace  string
	transport  http.RoundTripper // every REST call
	iam        http.RoundTripper // Flex token validation: the same stack, no retry on 429
	log        *slog.Logger
}

// New builds the client and its transport stack.
func New(opts Options) (*Client, error) {
	if opts.AccountSID == "" || opts.AuthToken == "" {
		return nil, errors.New("twilio: account SID and auth token are required")
	}
	if (opts.APIKey == "") != (opts.APISecret == "") {
		return nil, errors.New("twilio: API key and API secret go together")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}

	// Innermost first; the stack is documented outermost first in
	// transport.go.
	rt := opts.Base
	if rt == nil {
		rt = newHTTPTransport()
	}
	if opts.EmulatorURL != "" {
		u, err := url.Parse(opts.EmulatorURL)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("twilio: bad emulator URL %q", opts.EmulatorURL)
		}
		rt = &rewrite.Transport{Target: u, Base: rt}
	}
	rt = &timeoutTransport{timeout: opts.Timeout, base: rt}
	stack := func(policy RetryPolicy) http.RoundTripper {
		var t http.RoundTripper = &retryTransport{policy: policy, base: rt, metrics: m, log: log}
		t = &metricsTransport{metrics: m, base: t, log: log}
		t = &errorBodyTransport{base: t}
		return &pathGateTransport{base: t}
	}
	// Token validation is made on behalf of a caller not yet authenticated:
	// a 429 there is not retried (see ValidateFlexToken).
	iamPolicy := opts.Retry.withDefaults()
	iamPolicy.no429 = true

	c := &Client{
		accountSID: opts.AccountSID,
		rest:       twclient.NewCredentials(opts.AccountSID, opts.AuthToken),
		account:    twclient.NewCredentials(opts.AccountSID, opts.AuthToken),
		workspace:  opts.WorkspaceSID,
		transport:  stack(opts.Retry.withDefaults()),
		iam:        stack(iamPolicy),
		log:        log,
	}
	if opts.APIKey != "" {
		c.rest = twclient.NewCredentials(opts.APIKey, opts.APISecret)
	}
	return c, nil
}

// API is the twilio-go services for one request: every call they make
// carries the request's context, so its deadline and cancellation bound
// them all. Build one per request with (*Client).API; do not keep it.
type API struct {
	Conversations *conversations.ApiService
	Flex          *flex.ApiService
	TaskRouter    *taskrouter.ApiService
	Sync          *syncv1.ApiService
}

// apiAlloc holds what one API needs, so that building it costs few
// allocations: the twilio-go client, its http.Client and the transport that
// attaches ctx.
type apiAlloc struct {
	api API
	cc  twclient.Client
	hc  http.Client
	rt  ctxTransport
	rh  twclient.RequestHandler
}

// API returns twilio-go services bound to ctx. twilio-go takes no context,
// so the services get their own twilio-go client whose transport attaches
// ctx to each request before the shared stack.
func (c *Client) API(ctx context.Context) *API {
	a := &apiAlloc{}
	a.rh.Client = c.baseClient(ctx, c.rest, c.transport, &a.cc, &a.hc, &a.rt)
	a.api = API{
		Conversations: conversations.NewApiService(&a.rh),
		Flex:          flex.NewApiService(&a.rh),
		TaskRouter:    taskrouter.NewApiService(&a.rh),
		Sync:          syncv1.NewApiService(&a.rh),
	}
	return &a.api
}

// baseClient fills cc as a twilio-go client with creds whose every request
// carries ctx and goes through transport. The request handler is built by hand rather than with
// client.NewRequestHandler, which reads TWILIO_EDGE/TWILIO_REGION from the
// process environment: configuration comes only from Options here.
func (c *Client) baseClient(ctx context.Context, creds *twclient.Credentials, transport http.RoundTripper, cc *twclient.Client, hc *http.Client, rt *ctxTransport) *twclient.Client {
	*rt = ctxTransport{ctx: ctx, base: transport}
	*hc = http.Client{Transport: rt, CheckRedirect: noRedirect}
	cc.Credentials = creds
	cc.HTTPClient = hc
	cc.SetAccountSid(c.accountSID)
	return cc
}

// noRedirect keeps twilio-go's behaviour: Twilio answers, it never redirects
// somewhere a client should follow with credentials.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// AccountSID returns the account the client acts for.
func (c *Client) AccountSID() string { return c.accountSID }
