package server

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCORS(t *testing.T) {
	t.Parallel()
	routes := []Route{{Method: "POST", Pattern: "/park-interaction", Auth: AuthNone, Handler: echoBody}}
	tests := []struct {
		name        string
		allowed     []string
		method      string
		origin      string
		preflight   bool
		wantStatus  int
		wantOrigin  string
		wantMethods string
		wantHeaders string
	}{
		{name: "preflight allowed", allowed: []string{"https://flex.twilio.com"}, method: "OPTIONS", origin: "https://flex.twilio.com", preflight: true,
			wantStatus: 204, wantOrigin: "https://flex.twilio.com", wantMethods: "GET, POST, PATCH, OPTIONS", wantHeaders: "Authorization, Content-Type, X-Request-Id"},
		{name: "preflight, origin case and trailing slash in config", allowed: []string{"HTTPS://Flex.Twilio.com/"}, method: "OPTIONS", origin: "https://flex.twilio.com", preflight: true,
			wantStatus: 204, wantOrigin: "https://flex.twilio.com", wantMethods: "GET, POST, PATCH, OPTIONS", wantHeaders: "Authorization, Content-Type, X-Request-Id"},
		{name: "preflight refused origin", allowed: []string{"https://flex.twilio.com"}, method: "OPTIONS", origin: "https://evil.example", preflight: true,
			wantStatus: 204},
		{name: "preflight any origin", allowed: []string{"*"}, method: "OPTIONS", origin: "https://anything.example", preflight: true,
			wantStatus: 204, wantOrigin: "*", wantMethods: "GET, POST, PATCH, OPTIONS", wantHeaders: "Authorization, Content-Type, X-Request-Id"},
		{name: "actual request allowed", allowed: []string{"https://flex.twilio.com"}, method: "POST", origin: "https://flex.twilio.com",
			wantStatus: 200, wantOrigin: "https://flex.twilio.com"},
		{name: "actual request refused origin", allowed: []string{"https://flex.twilio.com"}, method: "POST", origin: "https://evil.example",
			wantStatus: 200},
		{name: "no CORS configured: OPTIONS is just a 405", allowed: nil, method: "OPTIONS", origin: "https://flex.twilio.com", preflight: true,
			wantStatus: 405},
		{name: "no Origin: not CORS", allowed: []string{"https://flex.twilio.com"}, method: "POST", wantStatus: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := New(Options{CORSAllowedOrigins: tt.allowed, Routes: routes})
			req := httptest.NewRequest(tt.method, "/park-interaction", nil)
			if tt.origin != "" {
				req.Header.Set("Origin", tt.origin)
			}
			if tt.preflight {
				req.Header.Set("Access-Control-Request-Method", "POST")
				req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
			}
			rec := do(s.Handler(), req)
			require.Equal(t, tt.wantStatus, rec.Code)
			h := rec.Header()
			assert.Equal(t, tt.wantOrigin, h.Get("Access-Control-Allow-Origin"))
			assert.Equal(t, tt.wantMethods, h.Get("Access-Control-Allow-Methods"))
			assert.Equal(t, tt.wantHeaders, h.Get("Access-Control-Allow-Headers"))
			assert.Empty(t, h.Get("Access-Control-Allow-Credentials"), "no cookies, no credentials")
			if tt.allowed != nil && tt.origin != "" {
				assert.Contains(t, h.Values("Vary"), "Origin", "caches must key on Origin")
			}
			if tt.preflight && tt.wantOrigin != "" {
				assert.Equal(t, "600", h.Get("Access-Control-Max-Age"))
			}
			if !tt.preflight && tt.wantOrigin != "" {
				assert.Equal(t, "X-Request-Id", h.Get("Access-Control-Expose-Headers"))
			}
		})
	}
}

// A preflight for a Flex-token route is answered without a token: browsers
// never send credentials on preflights.
func TestCORSPreflightSkipsAuth(t *testing.T) {
	t.Parallel()
	s := New(Options{CORSAllowedOrigins: []string{"https://flex.twilio.com"}, Routes: []Route{
		{Method: http.MethodPost, Pattern: "/transfer", Auth: AuthFlexToken, Handler: echoBody},
	}})
	req := httptest.NewRequest("OPTIONS", "/transfer", nil)
	req.Header.Set("Origin", "https://flex.twilio.com")
	req.Header.Set("Access-Control-Request-Method", "POST")
	rec := do(s.Handler(), req)
	assert.Equal(t, 204, rec.Code)
	assert.Equal(t, "https://flex.twilio.com", rec.Header().Get("Access-Control-Allow-Origin"))

	// And an error answer to the real call still carries the CORS header,
	// so the plugin can read the message.
	req = jsonRequest("POST", "/transfer", `{}`)
	req.Header.Set("Origin", "https://flex.twilio.com")
	rec = do(s.Handler(), req)
	assert.Equal(t, 401, rec.Code)
	assert.Equal(t, "https://flex.twilio.com", rec.Header().Get("Access-Control-Allow-Origin"))
}
