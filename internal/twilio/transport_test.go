package twilio

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	conversations "github.com/twilio/twilio-go/rest/conversations/v1"

	"github.com/flexhooks/flexhooks"
)

func okConversation(_ int32, w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, `{"sid":"`+testConvSID+`","state":"active"}`)
}

func createConversation(api *API) error {
	_, err := api.Conversations.CreateConversation(&conversations.CreateConversationParams{})
	return MapError(err)
}

func fetchConversation(api *API) error {
	_, err := api.Conversations.FetchConversation(testConvSID)
	return MapError(err)
}

func TestRewriteKeepsHostAndAuth(t *testing.T) {
	for _, tc := range []struct {
		name     string
		mod      func(*Options)
		wantUser string
		wantPass string
	}{
		{"auth token", nil, testAccountSID, testAuthToken},
		{"api key", func(o *Options) {
			o.APIKey, o.APISecret = "SK0123456789abcdef0123456789abcdef", "apisecret"
		}, "SK0123456789abcdef0123456789abcdef", "apisecret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var host, path, user, pass string
			srv, _ := serve(t, func(_ int32, w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				host, path = r.Host, r.URL.Path
				user, pass, _ = r.BasicAuth()
				mu.Unlock()
				okConversation(0, w, r)
			})
			c, _ := newTestClient(t, srv, tc.mod)
			conv, err := c.API(context.Background()).Conversations.FetchConversation(testConvSID)
			require.NoError(t, err)
			assert.Equal(t, testConvSID, *conv.Sid)
			mu.Lock()
			defer mu.Unlock()
			assert.Equal(t, "conversations.twilio.com", host)
			assert.Equal(t, "/v1/Conversations/"+testConvSID, path)
			assert.Equal(t, tc.wantUser, user)
			assert.Equal(t, tc.wantPass, pass)
		})
	}
}

func TestRetry429HonoursRetryAfter(t *testing.T) {
	srv, hits := serve(t, func(n int32, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			twilioError(w, http.StatusTooManyRequests, 20429)
			return
		}
		okConversation(0, w, r)
	})
	c, reg := newTestClient(t, srv, nil)
	start := time.Now()
	require.NoError(t, createConversation(c.API(context.Background())), "a 429 is retried even for a create")
	assert.GreaterOrEqual(t, time.Since(start), time.Second, "Retry-After honoured")
	assert.EqualValues(t, 2, hits.n.Load())

	m, err := newMetrics(reg) // the registered collectors, shared
	require.NoError(t, err)
	assert.Equal(t, 1.0, testutil.ToFloat64(m.retries.WithLabelValues("conversations", "429")))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.throttled.WithLabelValues("conversations")))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.calls.WithLabelValues("conversations", "POST", "200")))
	assert.Equal(t, 1, testutil.CollectAndCount(m.duration))
}

// Sync refuses an object's 21st write in a second with 429 and 54009
// (https://www.twilio.com/docs/api/errors/54009), with or without
// Retry-After: an item create (a POST to a collection) is retried with
// backoff, since Twilio did not process it, and each refusal is counted as
// throttled.
func TestRetrySyncRateLimitOnCreate(t *testing.T) {
	srv, hits := serve(t, func(n int32, w http.ResponseWriter, r *http.Request) {
		if n <= 2 {
			twilioError(w, http.StatusTooManyRequests, 54009)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"key":"CH1","revision":"0","data":{}}`))
	})
	c, reg := newTestClient(t, srv, nil)
	ops := c.Operations("default")
	require.NoError(t, ops.CreateSyncMapItem(context.Background(), "flexhooks_interactions_01", "CH1", map[string]any{}, 0))
	assert.EqualValues(t, 3, hits.n.Load())
	m, err := newMetrics(reg)
	require.NoError(t, err)
	assert.Equal(t, 2.0, testutil.ToFloat64(m.throttled.WithLabelValues("sync")))
	assert.Equal(t, 2.0, testutil.ToFloat64(m.retries.WithLabelValues("sync", "429")))
}

func TestRetryAfterTooLongOrPastDeadline(t *testing.T) {
	for _, tc := range []struct {
		name       string
		retryAfter string
		timeout    time.Duration
	}{
		{"longer than MaxRetryAfter", "60", time.Minute},
		{"past the deadline", "2", 300 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, hits := serve(t, func(_ int32, w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", tc.retryAfter)
				twilioError(w, http.StatusTooManyRequests, 20429)
			})
			c, _ := newTestClient(t, srv, nil)
			ctx, cancel := context.WithTimeout(context.Background(), tc.timeout)
			defer cancel()
			start := time.Now()
			err := fetchConversation(c.API(ctx))
			assert.Equal(t, flexhooks.EUNAVAILABLE, flexhooks.ErrorCode(err))
			assert.Less(t, time.Since(start), 250*time.Millisecond, "answered at once")
			assert.EqualValues(t, 1, hits.n.Load())
		})
	}
}

func Test503NotReplayedForCreateButForGet(t *testing.T) {
	t.Run("create", func(t *testing.T) {
		srv, hits := serve(t, func(_ int32, w http.ResponseWriter, _ *http.Request) { twilioError(w, 503, 20503) })
		c, _ := newTestClient(t, srv, nil)
		err := createConversation(c.API(context.Background()))
		assert.Equal(t, flexhooks.EUNAVAILABLE, flexhooks.ErrorCode(err))
		assert.EqualValues(t, 1, hits.n.Load(), "Twilio may have created it: never sent twice")
	})
	t.Run("get", func(t *testing.T) {
		srv, hits := serve(t, func(n int32, w http.ResponseWriter, r *http.Request) {
			if n == 1 {
				w.WriteHeader(http.StatusServiceUnavailable) // a bare 503, as from a load balancer
				return
			}
			okConversation(0, w, r)
		})
		c, _ := newTestClient(t, srv, nil)
		require.NoError(t, fetchConversation(c.API(context.Background())))
		assert.EqualValues(t, 2, hits.n.Load())
	})
	t.Run("get exhausts attempts", func(t *testing.T) {
		srv, hits := serve(t, func(_ int32, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
		c, _ := newTestClient(t, srv, nil)
		err := fetchConversation(c.API(context.Background()))
		assert.Equal(t, flexhooks.EUNAVAILABLE, flexhooks.ErrorCode(err))
		assert.EqualValues(t, 3, hits.n.Load())
	})
}

// TestUpdateBodyReplayed checks that an idempotent POST (an update of an
// instance) is retried with its whole form body.
func TestUpdateBodyReplayed(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	srv, _ := serve(t, func(n int32, w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
		if n == 1 {
			twilioError(w, 503, 20503)
			return
		}
		okConversation(0, w, r)
	})
	c, _ := newTestClient(t, srv, nil)
	name := "renamed"
	_, err := c.API(context.Background()).Conversations.UpdateConversation(testConvSID, &conversations.UpdateConversationParams{FriendlyName: &name})
	require.NoError(t, err)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"FriendlyName=renamed", "FriendlyName=renamed"}, bodies)
}

// flakyDialer fails its first dial as a refused connection would.
type flakyDialer struct {
	dials atomic.Int32
	d     net.Dialer
}

func (f *flakyDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if f.dials.Add(1) == 1 {
		return nil, &net.OpError{Op: "dial", Net: network, Err: errors.New("connection refused")}
	}
	return f.d.DialContext(ctx, network, addr)
}

func TestDialErrorOnCreateIsRetried(t *testing.T) {
	srv, hits := serve(t, okConversation)
	dialer := &flakyDialer{}
	c, reg := newTestClient(t, srv, func(o *Options) {
		o.Base = &http.Transport{DialContext: dialer.DialContext}
	})
	require.NoError(t, createConversation(c.API(context.Background())))
	assert.EqualValues(t, 2, dialer.dials.Load())
	assert.EqualValues(t, 1, hits.n.Load())
	m, _ := newMetrics(reg)
	assert.Equal(t, 1.0, testutil.ToFloat64(m.retries.WithLabelValues("conversations", "connection")))
}

// dropFirst closes the connection of the first request after reading it,
// without answering: Twilio may have acted on it.
func dropFirst(t *testing.T) handler {
	return func(n int32, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			_, _ = io.ReadAll(r.Body)
			conn, _, err := w.(http.Hijacker).Hijack()
			require.NoError(t, err)
			conn.Close()
			return
		}
		okConversation(0, w, r)
	}
}

func TestConnectionLostAfterSending(t *testing.T) {
	t.Run("create not retried", func(t *testing.T) {
		srv, hits := serve(t, dropFirst(t))
		c, _ := newTestClient(t, srv, nil)
		err := createConversation(c.API(context.Background()))
		assert.Equal(t, flexhooks.EUNAVAILABLE, flexhooks.ErrorCode(err))
		assert.EqualValues(t, 1, hits.n.Load())
	})
	t.Run("get retried", func(t *testing.T) {
		srv, hits := serve(t, dropFirst(t))
		c, _ := newTestClient(t, srv, nil)
		require.NoError(t, fetchConversation(c.API(context.Background())))
		assert.EqualValues(t, 2, hits.n.Load())
	})
}

// slowFirst makes the first request hang until the client gives up.
func slowFirst(n int32, w http.ResponseWriter, r *http.Request) {
	if n == 1 {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
		return
	}
	okConversation(0, w, r)
}

func TestPerCallTimeout(t *testing.T) {
	fast := func(o *Options) { o.Timeout = 100 * time.Millisecond }
	t.Run("get retried after its attempt times out", func(t *testing.T) {
		srv, hits := serve(t, slowFirst)
		c, _ := newTestClient(t, srv, fast)
		require.NoError(t, fetchConversation(c.API(context.Background())))
		assert.EqualValues(t, 2, hits.n.Load())
	})
	t.Run("create not retried after a timeout", func(t *testing.T) {
		srv, hits := serve(t, slowFirst)
		c, _ := newTestClient(t, srv, fast)
		err := createConversation(c.API(context.Background()))
		assert.Equal(t, flexhooks.EUNAVAILABLE, flexhooks.ErrorCode(err))
		assert.EqualValues(t, 1, hits.n.Load())
	})
}

// TestDeadlinePropagation checks that the caller's deadline, not the
// per-call timeout, ends a slow call promptly and stops the retries.
func TestDeadlinePropagation(t *testing.T) {
	srv, hits := serve(t, func(_ int32, w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	c, _ := newTestClient(t, srv, nil) // per-call timeout 5s
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := fetchConversation(c.API(ctx))
	elapsed := time.Since(start)
	assert.Equal(t, flexhooks.EUNAVAILABLE, flexhooks.ErrorCode(err))
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, elapsed, time.Second, "returned promptly")
	assert.EqualValues(t, 1, hits.n.Load(), "no retry past the deadline")
}

func TestCanceledContextSendsNothing(t *testing.T) {
	srv, hits := serve(t, okConversation)
	c, _ := newTestClient(t, srv, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := fetchConversation(c.API(ctx))
	assert.Equal(t, flexhooks.EUNAVAILABLE, flexhooks.ErrorCode(err))
	assert.EqualValues(t, 0, hits.n.Load())
}

func TestNonJSONErrorKeepsStatus(t *testing.T) {
	srv, _ := serve(t, func(_ int32, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("<html>bad gateway</html>"))
	})
	c, _ := newTestClient(t, srv, nil)
	err := fetchConversation(c.API(context.Background()))
	var fe *flexhooks.Error
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, flexhooks.EUPSTREAM, fe.Code)
	assert.Contains(t, fe.Message, "HTTP 502")
}

func TestIsCreate(t *testing.T) {
	for _, tc := range []struct {
		method, path string
		want         bool
	}{
		{"POST", "/v1/Conversations", true},
		{"POST", "/v1/Conversations/CH1", false},
		{"POST", "/v1/Conversations/CH1/Messages", true},
		{"POST", "/v1/Conversations/CH1/Participants", true},
		{"POST", "/v1/Conversations/CH1/Webhooks", true},
		{"POST", "/v1/Services/IS1/Conversations/CH1/Participants/MB1", false},
		{"POST", "/v1/Interactions", true},
		{"POST", "/v1/Interactions/KD1/Channels/UO1", false},
		{"POST", "/v1/Interactions/KD1/Channels/UO1/Invites", true},
		{"POST", "/v1/Interactions/KD1/Channels/UO1/Participants/UT1", false},
		{"POST", "/v1/Workspaces/WS1/Tasks", true},
		{"POST", "/v1/Workspaces/WS1/Tasks/WT1", false},
		{"POST", "/v1/Workspaces/WS1/Workflows", true},
		{"POST", "/v1/Services/default/Maps", true},
		{"POST", "/v1/Services/default/Maps/ParkedInteractions_WK1/Items", true},
		{"POST", "/v1/Services/default/Maps/ParkedInteractions_WK1/Items/CH1", false},
		{"POST", "/v1/Accounts/AC1/Tokens/validate", false},
		{"GET", "/v1/Conversations", false},
		{"DELETE", "/v1/Conversations/CH1/Webhooks/WH1", false},
	} {
		req, _ := http.NewRequest(tc.method, "https://x.twilio.com"+tc.path, strings.NewReader(""))
		assert.Equal(t, tc.want, isCreate(req), "%s %s", tc.method, tc.path)
	}
}

func TestRetryAfterParse(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	d, ok := retryAfter("3", now)
	assert.True(t, ok)
	assert.Equal(t, 3*time.Second, d)
	d, ok = retryAfter(now.Add(5*time.Second).Format(http.TimeFormat), now)
	assert.True(t, ok)
	assert.Equal(t, 5*time.Second, d)
	_, ok = retryAfter("soon", now)
	assert.False(t, ok)
	_, ok = retryAfter("", now)
	assert.False(t, ok)
}
