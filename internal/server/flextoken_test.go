package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flexhooks/flexhooks"
)

// fakeClock is a settable clock for token expiry.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// whoAmI answers with the caller the token middleware put on the context.
var whoAmI = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	c, ok := flexhooks.CallerFrom(r.Context())
	if !ok {
		http.Error(w, "no caller", 500)
		return
	}
	_ = WriteJSON(w, 200, map[string]string{"workerSid": c.WorkerSid, "identity": c.Identity})
})

const (
	goodToken    = "good-token"
	expiredToken = "expired-token"
	downToken    = "iam-down-token"
	weirdToken   = "weird-token"
)

func tokenServer(t *testing.T, clock *fakeClock, calls *atomic.Int32) (*Server, *syncBuffer) {
	t.Helper()
	v := &fakeValidator{ValidateFlexTokenFn: func(ctx context.Context, token string) (flexhooks.Caller, time.Time, error) {
		calls.Add(1)
		switch token {
		case goodToken:
			return flexhooks.Caller{WorkerSid: "WKalice", Identity: "alice", Roles: []string{"agent"}}, clock.Now().Add(time.Hour), nil
		case downToken:
			return flexhooks.Caller{}, time.Time{}, &flexhooks.Error{Code: flexhooks.EUNAVAILABLE, Message: "Twilio IAM unreachable", Err: errors.New("dial tcp: i/o timeout")}
		case weirdToken:
			return flexhooks.Caller{}, time.Time{}, errors.New("something odd")
		}
		return flexhooks.Caller{}, time.Time{}, flexhooks.Errorf(flexhooks.EFORBIDDEN, "invalid or expired Flex token")
	}}
	log, buf := testLogger()
	s := New(Options{Logger: log, Tokens: v, Now: clock.Now, Routes: []Route{
		{Method: http.MethodPost, Pattern: "/me", Auth: AuthFlexToken, Handler: whoAmI},
		{Method: http.MethodGet, Pattern: "/me", Auth: AuthFlexToken, Handler: whoAmI},
	}})
	return s, buf
}

func TestFlexToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		req      func() *http.Request
		want     int
		wantCode string
	}{
		{"bearer header", func() *http.Request {
			r := jsonRequest("POST", "/me", `{}`)
			r.Header.Set("Authorization", "Bearer "+goodToken)
			return r
		}, 200, ""},
		{"bearer on GET", func() *http.Request {
			r := jsonRequest("GET", "/me", ``)
			r.Header.Set("Authorization", "bearer "+goodToken)
			return r
		}, 200, ""},
		{"form Token field", func() *http.Request {
			return formRequest("POST", "/me", url.Values{"Token": {goodToken}, "conversationSid": {"CH1"}})
		}, 200, ""},
		{"JSON Token field", func() *http.Request {
			return jsonRequest("POST", "/me", `{"Token":"`+goodToken+`","Payload":{}}`)
		}, 200, ""},
		{"missing", func() *http.Request { return formRequest("POST", "/me", url.Values{"a": {"b"}}) }, 401, "unauthorized"},
		{"empty body", func() *http.Request { return jsonRequest("POST", "/me", ``) }, 401, "unauthorized"},
		{"invalid", func() *http.Request { return formRequest("POST", "/me", url.Values{"Token": {"nope"}}) }, 403, "forbidden"},
		{"IAM unavailable", func() *http.Request { return formRequest("POST", "/me", url.Values{"Token": {downToken}}) }, 503, "unavailable"},
		{"unexpected validator error", func() *http.Request { return formRequest("POST", "/me", url.Values{"Token": {weirdToken}}) }, 503, "unavailable"},
		{"malformed JSON", func() *http.Request { return jsonRequest("POST", "/me", `{"Token":`) }, 400, "invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := &fakeClock{now: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}
			var calls atomic.Int32
			s, logs := tokenServer(t, clock, &calls)
			rec := do(s.Handler(), tt.req())
			require.Equal(t, tt.want, rec.Code, rec.Body.String())
			if tt.want == 200 {
				assert.JSONEq(t, `{"workerSid":"WKalice","identity":"alice"}`, rec.Body.String())
				assert.Contains(t, logs.String(), `"workerSid":"WKalice"`)
			} else {
				assert.Equal(t, tt.wantCode, decodeError(t, rec).Error.Code)
			}
			if tt.want == 401 {
				assert.Equal(t, `Bearer realm="flexhooks"`, rec.Header().Get("WWW-Authenticate"))
			}
			for _, secret := range []string{goodToken, downToken, weirdToken, "nope"} {
				assert.NotContains(t, logs.String(), secret, "tokens never reach the log")
			}
		})
	}
}

func TestFlexTokenCache(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}
	var calls atomic.Int32
	s, _ := tokenServer(t, clock, &calls)
	call := func() int {
		r := jsonRequest("POST", "/me", `{"Token":"`+goodToken+`"}`)
		return do(s.Handler(), r).Code
	}

	require.Equal(t, 200, call())
	require.Equal(t, 200, call())
	assert.Equal(t, int32(1), calls.Load(), "second call served from the cache")

	clock.Advance(4 * time.Minute)
	require.Equal(t, 200, call())
	assert.Equal(t, int32(1), calls.Load(), "still before revalidation")

	clock.Advance(2 * time.Minute) // past the revalidation age (5m default)
	require.Equal(t, 200, call())
	assert.Equal(t, int32(2), calls.Load(), "revalidated")

	// Failures are not cached by token (IAM may be back soon), but IAM is
	// left alone for a second after one.
	bad := func() int { return do(s.Handler(), formRequest("POST", "/me", url.Values{"Token": {downToken}})).Code }
	require.Equal(t, 503, bad())
	require.Equal(t, 503, bad())
	assert.Equal(t, int32(3), calls.Load())
}

func TestFlexTokenCacheMaxAgeAndKey(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}
	var calls atomic.Int32
	v := &fakeValidator{ValidateFlexTokenFn: func(ctx context.Context, token string) (flexhooks.Caller, time.Time, error) {
		calls.Add(1)
		return flexhooks.Caller{WorkerSid: "WK" + token}, clock.Now().Add(time.Hour), nil
	}}
	a := newTokenAuth(v, tokenAuthOptions{size: 10, revalidateAfter: 5 * time.Minute, timeout: time.Second, now: clock.Now})
	c, err := a.validate(context.Background(), "t1")
	require.NoError(t, err)
	assert.Equal(t, "WKt1", c.WorkerSid)
	for _, k := range a.valid.Keys() {
		assert.NotContains(t, string(k[:]), "t1", "the cache key is a hash, not the token")
	}
	clock.Advance(4 * time.Minute)
	_, _ = a.validate(context.Background(), "t1")
	assert.Equal(t, int32(1), calls.Load())
	clock.Advance(2 * time.Minute) // past the max age, not the expiry
	_, _ = a.validate(context.Background(), "t1")
	assert.Equal(t, int32(2), calls.Load())
}

func TestFlexTokenValidatorSaysExpired(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}
	v := &fakeValidator{ValidateFlexTokenFn: func(ctx context.Context, token string) (flexhooks.Caller, time.Time, error) {
		return flexhooks.Caller{WorkerSid: "WK1"}, clock.Now().Add(-time.Second), nil
	}}
	a := newTokenAuth(v, tokenAuthOptions{size: 10, revalidateAfter: 5 * time.Minute, timeout: time.Second, now: clock.Now})
	_, err := a.validate(context.Background(), expiredToken)
	assert.Equal(t, flexhooks.EFORBIDDEN, flexhooks.ErrorCode(err))
	assert.Contains(t, flexhooks.ErrorMessage(err), "expired")
}

func TestFlexTokenNotConfigured(t *testing.T) {
	t.Parallel()
	s := New(Options{Routes: []Route{{Method: "POST", Pattern: "/me", Auth: AuthFlexToken, Handler: whoAmI}}})
	rec := do(s.Handler(), formRequest("POST", "/me", url.Values{"Token": {"x"}}))
	assert.Equal(t, 503, rec.Code)
}

// The body the token middleware read is still there for the endpoint.
func TestFlexTokenThenEndpoint(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Now()}
	var calls atomic.Int32
	s, _ := tokenServer(t, clock, &calls)
	type req struct {
		ConversationSid string `json:"conversationSid"`
	}
	h := Endpoint(func(ctx context.Context, r *req) (map[string]string, error) {
		c, _ := flexhooks.CallerFrom(ctx)
		return map[string]string{"conversationSid": r.ConversationSid, "worker": c.WorkerSid}, nil
	})
	s2 := New(Options{Tokens: s.opts.Tokens, Now: clock.Now, Routes: []Route{{Method: "POST", Pattern: "/x", Auth: AuthFlexToken, Handler: h}}})
	for _, r := range []*http.Request{
		formRequest("POST", "/x", url.Values{"Token": {goodToken}, "conversationSid": {"CH1"}}),
		jsonRequest("POST", "/x", `{"Token":"`+goodToken+`","conversationSid":"CH1"}`),
	} {
		rec := do(s2.Handler(), r)
		require.Equal(t, 200, rec.Code, rec.Body.String())
		var got map[string]string
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
		assert.Equal(t, map[string]string{"conversationSid": "CH1", "worker": "WKalice"}, got)
	}
}
