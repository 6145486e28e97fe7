package conversations

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twilio/twilio-go"
	twclient "github.com/twilio/twilio-go/client"

	"github.com/flexhooks/flexhooks/internal/emulator/core"
	"github.com/flexhooks/flexhooks/internal/emulator/emutest"
)

// start is the virtual clock's origin in every test.
var start = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

type fixture struct {
	env   *core.Env
	store *Store
	c     *twilio.RestClient
	url   string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	env := emutest.NewEnv(start)
	s := New(env)
	srv := emutest.Serve(t, core.Locked(env, s.Routes()))
	return &fixture{env: env, store: s, c: emutest.Client(t, srv.URL), url: srv.URL}
}

// advance moves the virtual clock as the control API does.
func (f *fixture) advance(d time.Duration) {
	emutest.Advance(f.env, d)
}

// locked runs fn with the world lock, as every cross-product call runs.
func (f *fixture) locked(fn func()) {
	f.env.Lock()
	defer f.env.Unlock()
	fn()
}

// restErr asserts err is a Twilio REST error with that status and code.
func restErr(t *testing.T, err error, status, code int) {
	t.Helper()
	require.Error(t, err)
	var te *twclient.TwilioRestError
	require.True(t, errors.As(err, &te), "not a Twilio error: %v", err)
	require.Equal(t, status, te.Status, te.Message)
	require.Equal(t, code, te.Code, te.Message)
}

// receiver records webhooks and checks their signature.
type receiver struct {
	t   *testing.T
	srv *httptest.Server
	mu  sync.Mutex
	got []url.Values
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{t: t}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, err := url.ParseQuery(string(body))
		if r.Method == http.MethodGet {
			form = r.URL.Query()
		}
		sigURL := "http://" + r.Host + r.URL.RequestURI()
		var sigParams url.Values
		if r.Method != http.MethodGet {
			sigParams = form
		}
		ok := err == nil && r.Header.Get("X-Twilio-Signature") == core.Signature(emutest.AuthToken, sigURL, sigParams)
		rc.mu.Lock()
		if ok {
			form.Set("_path", r.URL.Path)
			rc.got = append(rc.got, form)
		} else {
			rc.got = append(rc.got, url.Values{"_bad_signature": {r.URL.Path}})
		}
		rc.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) events() []url.Values {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]url.Values(nil), rc.got...)
}

// byType returns the received webhooks of one EventType.
func (rc *receiver) byType(event string) []url.Values {
	var out []url.Values
	for _, e := range rc.events() {
		require.Empty(rc.t, e.Get("_bad_signature"), "bad signature")
		if e.Get("EventType") == event {
			out = append(out, e)
		}
	}
	return out
}
