// Package emutest helps tests talk to emulated Twilio products with the real
// twilio-go client over HTTP.
package emutest

import (
	"github.com/flexhooks/flexhooks/internal/emulator/core"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/twilio/twilio-go"
	twclient "github.com/twilio/twilio-go/client"

	"github.com/flexhooks/flexhooks/internal/rewrite"
)

// Test credentials: any well-formed pair works; these are what Env gets in tests.
const (
	AccountSID = "AC00000000000000000000000000000000"
	AuthToken  = "0123456789abcdef0123456789abcdef"
)

// Client returns a twilio-go client whose requests reach baseURL (an httptest
// server) with the Twilio host kept in the Host header. When Twilio's OpenAPI
// specs are present (see SpecDir), every response is validated against them
// and a mismatch fails the test.
func Client(t testing.TB, baseURL string) *twilio.RestClient {
	t.Helper()
	return twilio.NewRestClientWithParams(twilio.ClientParams{Client: BaseClient(t, baseURL), AccountSid: AccountSID})
}

// BaseClient is twilio-go's low-level client behind Client, for calls
// twilio-go has no method for (IAM token validation).
func BaseClient(t testing.TB, baseURL string) *twclient.Client {
	t.Helper()
	target, err := url.Parse(baseURL)
	if err != nil {
		t.Fatalf("emutest: bad base URL %q: %v", baseURL, err)
	}
	var transport http.RoundTripper = &rewrite.Transport{Target: target}
	if SpecDir() != "" {
		transport = &CheckingTransport{T: t, Schemas: LoadSchemas(t), Base: transport}
	}
	c := &twclient.Client{
		Credentials: twclient.NewCredentials(AccountSID, AuthToken),
		HTTPClient: &http.Client{
			Transport:     transport,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	c.SetAccountSid(AccountSID)
	return c
}

// Serve starts an httptest server for h and closes it when the test ends.
func Serve(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// NewEnv returns a product Env with the test credentials, its virtual clock at
// start and an outbox signing with AuthToken: what every product test builds.
func NewEnv(start time.Time) *core.Env {
	return core.NewEnv(AccountSID, AuthToken, start, nil, core.NewOutbox(AuthToken, nil))
}

// Advance moves env's virtual clock by d as the control API does, firing due
// timers with the world lock held.
func Advance(env *core.Env, d time.Duration) {
	env.Lock()
	env.AdvanceTo(env.Now().Add(d))
	env.Unlock()
}
