package server

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flexhooks/flexhooks"
)

// countingIAM is a fake validator that counts its calls. Tokens starting
// with "good" are valid for an hour (the caller's roles are whatever roles
// holds at the time of the call); "expired" has expired; while throttled,
// every call answers as IAM's 429 maps; anything else is invalid.
type countingIAM struct {
	calls     atomic.Int32
	clock     *fakeClock
	throttled atomic.Bool
	mu        sync.Mutex
	roles     []string
	gate      chan struct{} // when set, calls wait for it to close
}

func (f *countingIAM) ValidateFlexToken(ctx context.Context, token string) (flexhooks.Caller, time.Time, error) {
	f.calls.Add(1)
	if f.gate != nil {
		<-f.gate
	}
	switch {
	case f.throttled.Load():
		return flexhooks.Caller{}, time.Time{}, flexhooks.Errorf(flexhooks.EUNAVAILABLE, "Twilio is throttling requests, try again later (Twilio error 20429)")
	case strings.HasPrefix(token, "good"):
		f.mu.Lock()
		defer f.mu.Unlock()
		return flexhooks.Caller{WorkerSid: "WKalice", Identity: "alice", Roles: append([]string(nil), f.roles...)}, f.clock.Now().Add(time.Hour), nil
	case token == "expired":
		return flexhooks.Caller{}, time.Time{}, flexhooks.Errorf(flexhooks.EFORBIDDEN, "invalid Flex token: Access Token expired or expiration date invalid")
	}
	return flexhooks.Caller{}, time.Time{}, flexhooks.Errorf(flexhooks.EFORBIDDEN, "invalid Flex token: Invalid Access Token")
}

func (f *countingIAM) setRoles(roles ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.roles = roles
}

// cacheRig is a tokenAuth on a fake IAM, a fake clock and a fake wall clock
// (the IAM back-off's).
type cacheRig struct {
	iam   *countingIAM
	clock *fakeClock
	wall  *fakeClock
	auth  *tokenAuth
}

func newCacheRig() *cacheRig {
	clock := &fakeClock{now: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}
	wall := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	iam := &countingIAM{clock: clock, roles: []string{"agent"}}
	a := newTokenAuth(iam, tokenAuthOptions{size: 100, revalidateAfter: 5 * time.Minute, timeout: time.Second, now: clock.Now})
	a.wall = wall.Now
	return &cacheRig{iam: iam, clock: clock, wall: wall, auth: a}
}

// handler is the middleware in front of whoAmI.
func (r *cacheRig) handler() http.Handler { return r.auth.middleware(whoAmI) }

func bearer(token string) *http.Request {
	req := jsonRequest(http.MethodGet, "/me", ``)
	req.Header.Set("Authorization", "Bearer "+token)
	return req
}

func TestFlexTokenCacheCostsIAMOnce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		run       func(r *cacheRig) []int // statuses
		wantCalls int32
		wantCodes map[int]int // status → how many
	}{
		{"50 requests with one bad bearer", func(r *cacheRig) []int {
			return repeat(50, func() int { return do(r.handler(), bearer("forged")).Code })
		}, 1, map[int]int{403: 50}},
		{"50 requests with one expired token", func(r *cacheRig) []int {
			return repeat(50, func() int { return do(r.handler(), bearer("expired")).Code })
		}, 1, map[int]int{403: 50}},
		{"a bad token is asked again once its refusal is 30s old", func(r *cacheRig) []int {
			out := repeat(3, func() int { return do(r.handler(), bearer("forged")).Code })
			r.clock.Advance(rejectTTL)
			return append(out, repeat(3, func() int { return do(r.handler(), bearer("forged")).Code })...)
		}, 2, map[int]int{403: 6}},
		{"50 requests with one good token", func(r *cacheRig) []int {
			return repeat(50, func() int { return do(r.handler(), bearer("good")).Code })
		}, 1, map[int]int{200: 50}},
		{"10 requests while IAM throttles", func(r *cacheRig) []int {
			r.iam.throttled.Store(true)
			return repeat(10, func() int { return do(r.handler(), bearer("good-new")).Code })
		}, 1, map[int]int{503: 10}},
		{"IAM asked again once the back-off is over", func(r *cacheRig) []int {
			r.iam.throttled.Store(true)
			out := repeat(5, func() int { return do(r.handler(), bearer("good-new")).Code })
			r.wall.Advance(iamBackoff)
			r.iam.throttled.Store(false)
			return append(out, do(r.handler(), bearer("good-new")).Code)
		}, 2, map[int]int{503: 5, 200: 1}},
		{"a cached token keeps working while IAM throttles", func(r *cacheRig) []int {
			out := []int{do(r.handler(), bearer("good")).Code}
			r.iam.throttled.Store(true)
			r.clock.Advance(10 * time.Minute) // revalidation due
			return append(out, repeat(10, func() int { return do(r.handler(), bearer("good")).Code })...)
		}, 2, map[int]int{200: 11}},
		{"but not past its own expiry", func(r *cacheRig) []int {
			out := []int{do(r.handler(), bearer("good")).Code}
			r.iam.throttled.Store(true)
			r.clock.Advance(time.Hour)
			return append(out, repeat(3, func() int { return do(r.handler(), bearer("good")).Code })...)
		}, 1, map[int]int{200: 1, 403: 3}},
		{"revalidated after the configured age", func(r *cacheRig) []int {
			out := []int{do(r.handler(), bearer("good")).Code}
			r.clock.Advance(5*time.Minute - time.Second)
			out = append(out, do(r.handler(), bearer("good")).Code)
			r.clock.Advance(time.Second)
			out = append(out, do(r.handler(), bearer("good")).Code)
			return append(out, do(r.handler(), bearer("good")).Code)
		}, 2, map[int]int{200: 4}},
		{"an oversized bearer never reaches IAM", func(r *cacheRig) []int {
			return repeat(5, func() int { return do(r.handler(), bearer(strings.Repeat("a", maxFlexTokenBytes+1))).Code })
		}, 0, map[int]int{400: 5}},
		{"an oversized Token form field never reaches IAM", func(r *cacheRig) []int {
			return []int{do(r.handler(), formRequest(http.MethodPost, "/me", url.Values{"Token": {strings.Repeat("a", 900<<10)}})).Code}
		}, 0, map[int]int{400: 1}},
		{"an oversized Token JSON field never reaches IAM", func(r *cacheRig) []int {
			return []int{do(r.handler(), jsonRequest(http.MethodPost, "/me", `{"Token":"`+strings.Repeat("a", 900<<10)+`"}`)).Code}
		}, 0, map[int]int{400: 1}},
		{"a token of the longest accepted length is asked", func(r *cacheRig) []int {
			return []int{do(r.handler(), bearer("good"+strings.Repeat("a", maxFlexTokenBytes-4))).Code}
		}, 1, map[int]int{200: 1}},
		{"a token with characters no Flex token has never reaches IAM", func(r *cacheRig) []int {
			return []int{
				do(r.handler(), formRequest(http.MethodPost, "/me", url.Values{"Token": {"good token"}})).Code,
				do(r.handler(), formRequest(http.MethodPost, "/me", url.Values{"Token": {`good"}`}})).Code,
				do(r.handler(), formRequest(http.MethodPost, "/me", url.Values{"Token": {"gööd"}})).Code,
			}
		}, 0, map[int]int{400: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newCacheRig()
			got := map[int]int{}
			for _, s := range tt.run(r) {
				got[s]++
			}
			assert.Equal(t, tt.wantCodes, got)
			assert.Equal(t, tt.wantCalls, r.iam.calls.Load(), "IAM calls")
		})
	}
}

func repeat(n int, f func() int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = f()
	}
	return out
}

// Concurrent first uses of one token share one IAM call. IAM is held until
// every request has started; a request that reaches the cache after the
// answer finds it there, so the count is exact either way.
func TestFlexTokenConcurrentValidationsShareOneCall(t *testing.T) {
	t.Parallel()
	r := newCacheRig()
	r.iam.gate = make(chan struct{})
	var started, wg sync.WaitGroup
	codes := make([]int, 10)
	for i := range codes {
		started.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			started.Done()
			codes[i] = do(r.handler(), bearer("good")).Code
		}()
	}
	started.Wait()
	// Wait for the first caller to reach IAM before letting IAM answer.
	require.Eventually(t, func() bool { return r.iam.calls.Load() >= 1 }, 5*time.Second, time.Millisecond)
	close(r.iam.gate)
	wg.Wait()
	assert.Equal(t, []int{200, 200, 200, 200, 200, 200, 200, 200, 200, 200}, codes)
	assert.Equal(t, int32(1), r.iam.calls.Load())
}

// A role taken away takes effect at the next revalidation.
func TestFlexTokenRoleChangeTakesEffect(t *testing.T) {
	t.Parallel()
	r := newCacheRig()
	r.iam.setRoles("agent", "supervisor")
	c, err := r.auth.validate(context.Background(), "good")
	require.NoError(t, err)
	assert.Equal(t, []string{"agent", "supervisor"}, c.Roles)

	r.iam.setRoles("agent")
	r.clock.Advance(time.Minute)
	c, _ = r.auth.validate(context.Background(), "good")
	assert.Equal(t, []string{"agent", "supervisor"}, c.Roles, "cached")
	r.clock.Advance(5 * time.Minute)
	c, _ = r.auth.validate(context.Background(), "good")
	assert.Equal(t, []string{"agent"}, c.Roles, "revalidated")
}

// One caller giving up does not fail the others sharing its IAM call.
func TestFlexTokenSharedCallSurvivesACancelledCaller(t *testing.T) {
	t.Parallel()
	r := newCacheRig()
	r.iam.gate = make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() {
		_, err := r.auth.validate(ctx, "good")
		first <- err
	}()
	require.Eventually(t, func() bool { return r.iam.calls.Load() == 1 }, 5*time.Second, time.Millisecond)
	cancel()
	assert.Equal(t, flexhooks.EUNAVAILABLE, flexhooks.ErrorCode(<-first))
	close(r.iam.gate)
	c, err := r.auth.validate(context.Background(), "good")
	require.NoError(t, err)
	assert.Equal(t, "WKalice", c.WorkerSid)
	assert.Equal(t, int32(1), r.iam.calls.Load(), "the second caller found the shared call's answer")
}

// 429s are answered with Retry-After, and a bad token's refusal says why.
func TestFlexTokenAnswers(t *testing.T) {
	t.Parallel()
	r := newCacheRig()
	r.iam.throttled.Store(true)
	rec := do(r.handler(), bearer("good"))
	assert.Equal(t, 503, rec.Code)
	assert.Equal(t, "1", rec.Header().Get("Retry-After"))

	r.iam.throttled.Store(false)
	r.wall.Advance(iamBackoff)
	for range 2 { // asked, then cached: the same answer
		rec = do(r.handler(), bearer("expired"))
		assert.Equal(t, 403, rec.Code)
		assert.Contains(t, rec.Body.String(), "expired")
	}
	rec = do(r.handler(), bearer(strings.Repeat("x", 20000)))
	assert.Equal(t, 400, rec.Code)
	assert.Contains(t, rec.Body.String(), "at most 8192")
	assert.NotContains(t, rec.Body.String(), "xxxxxxxx", "the token is not echoed")
}
