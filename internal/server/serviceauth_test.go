package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/flexhooks/flexhooks"
)

func TestAuthFlexTokenOrService(t *testing.T) {
	v := &fakeValidator{ValidateFlexTokenFn: func(_ context.Context, token string) (flexhooks.Caller, time.Time, error) {
		if token == goodToken {
			return flexhooks.Caller{WorkerSid: "WK1", Identity: "alice"}, time.Now().Add(time.Hour), nil
		}
		return flexhooks.Caller{}, time.Time{}, flexhooks.Errorf(flexhooks.EFORBIDDEN, "invalid Flex token")
	}}
	// who says who the handler sees: an agent, or nobody (the service).
	who := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, ok := flexhooks.CallerFrom(r.Context()); ok {
			_, _ = w.Write([]byte("agent " + c.WorkerSid))
			return
		}
		_, _ = w.Write([]byte("service"))
	})
	h := newServiceAuth(newTokenAuth(v, tokenAuthOptions{size: 100, revalidateAfter: time.Minute, timeout: time.Second, now: time.Now}), []ServiceCredential{
		{Username: "AC123", Password: "auth-token"},
		{Username: "SK456", Password: "api-secret"},
		{Username: "SK789", Password: ""}, // an unset secret admits nothing
	}).middleware(who)

	tests := []struct {
		name      string
		setup     func(r *http.Request)
		body      string
		want      int
		wantBody  string
		challenge bool
	}{
		{name: "account SID and auth token", setup: func(r *http.Request) { r.SetBasicAuth("AC123", "auth-token") }, want: 200, wantBody: "service"},
		{name: "API key and secret", setup: func(r *http.Request) { r.SetBasicAuth("SK456", "api-secret") }, want: 200, wantBody: "service"},
		{name: "wrong password", setup: func(r *http.Request) { r.SetBasicAuth("AC123", "auth-tokeN") }, want: 403},
		{name: "crossed pairs", setup: func(r *http.Request) { r.SetBasicAuth("AC123", "api-secret") }, want: 403},
		{name: "empty secret", setup: func(r *http.Request) { r.SetBasicAuth("SK789", "") }, want: 403},
		{name: "bearer Flex token", setup: func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+goodToken) }, want: 200, wantBody: "agent WK1"},
		{name: "Flex token in the body", body: `{"Token":"` + goodToken + `"}`, want: 200, wantBody: "agent WK1"},
		{name: "refused Flex token", setup: func(r *http.Request) { r.Header.Set("Authorization", "Bearer nope") }, want: 403},
		{name: "nothing", want: 401, challenge: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/persistent-chat", strings.NewReader(tt.body))
			r.Header.Set("Content-Type", "application/json")
			if tt.setup != nil {
				tt.setup(r)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			assert.Equal(t, tt.want, w.Code, w.Body.String())
			if tt.wantBody != "" {
				assert.Equal(t, tt.wantBody, w.Body.String())
			}
			if tt.challenge {
				assert.Contains(t, w.Header().Get("WWW-Authenticate"), "Basic")
				assert.Contains(t, w.Header().Get("WWW-Authenticate"), "Bearer")
			}
		})
	}
}
