package core

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	twclient "github.com/twilio/twilio-go/client"
)

const testToken = "0123456789abcdef0123456789abcdef"

func TestSignature(t *testing.T) {
	// Twilio's webhook-security documentation: these parameters posted to this
	// URL, signed with auth token 12345.
	docsParams := func(number string) url.Values {
		return url.Values{
			"CallSid": {"CA1234567890ABCDE"},
			"Caller":  {number},
			"Digits":  {"1234"},
			"From":    {number},
			"To":      {"+18005551212"},
		}
	}
	// twilio-go's request validator tests (client/request_validator_test.go).
	twilioGoParams := url.Values{
		"Digits":                {"1234"},
		"CallSid":               {"CA1234567890ABCDE"},
		"To":                    {"+18005551212"},
		"Caller":                {"+14158675309"},
		"From":                  {"+14158675309"},
		"ReasonConferenceEnded": {"test"},
		"Reason":                {"Participant"},
	}
	const docsURL = "https://mycompany.com/myapp.php?foo=1&bar=2"
	for _, tc := range []struct {
		name, token, url string
		params           url.Values
		want             string
	}{
		{"Twilio docs vector", "12345", docsURL, docsParams("+12349013030"), "0/KCTR6DLpKmkAf8muzZqo1nDgQ="},
		{"Twilio docs vector (older numbers)", "12345", docsURL, docsParams("+14158675309"), "RSOYDt4T1cUTdK1PDd93/VVr8B8="},
		{"twilio-go https", "12345", docsURL, twilioGoParams, "vOEb5UThFn24KEfnOFLQY2AE5FY="},
		{"twilio-go http", "12345", "http://mycompany.com/myapp.php?foo=1&bar=2", twilioGoParams, "n2xBNyzSW7rfYStDtOFiFMv7qNo="},
		{"twilio-go body hash, no params", "12345",
			docsURL + "&bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620", nil, "a9nBmqA0ju/hNViExpshrM61xv4="},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, Signature(tc.token, tc.url, tc.params))
		})
	}

	t.Run("prefix keys sort first", func(t *testing.T) {
		// Signing ReasonConferenceEnded before Reason gives twilio-go's "incorrectly sorted" signature.
		assert.NotEqual(t, "95+Bu0JVPi0r/SsESZCVf0dWAjw=", Signature("12345", docsURL, twilioGoParams))
	})
	t.Run("repeated values are signed in order", func(t *testing.T) {
		p := url.Values{"Filters": {"onMessageAdded", "onConversationRemoved"}}
		manual := Signature("12345", docsURL+"FiltersonMessageAddedFiltersonConversationRemoved", nil)
		assert.Equal(t, manual, Signature("12345", docsURL, p))
	})
	t.Run("twilio-go's validator accepts what we sign", func(t *testing.T) {
		v := twclient.NewRequestValidator(testToken)
		p := url.Values{"EventType": {"onMessageAdded"}, "Body": {"héllo & bye"}, "Index": {"0"}}
		flat := map[string]string{}
		for k := range p {
			flat[k] = p.Get(k)
		}
		assert.True(t, v.Validate("https://example.com/hook?x=1", flat, Signature(testToken, "https://example.com/hook?x=1", p)))
		assert.False(t, v.Validate("https://example.com/hook?x=1", flat, Signature("wrong", "https://example.com/hook?x=1", p)))
	})
}

// received is one request a test receiver saw.
type received struct {
	method, url, signature, contentType, userAgent string
	form                                           url.Values
}

// receiver records every request and answers with status(n), n counting from 1.
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []received
	calls  atomic.Int32
	status func(n int32) int
	before func(r *http.Request) // runs before answering
}

func newReceiver(t *testing.T, status func(n int32) int) *receiver {
	t.Helper()
	rc := &receiver{status: status}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := rc.calls.Add(1)
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		rc.mu.Lock()
		rc.got = append(rc.got, received{
			method: r.Method, url: "http://" + r.Host + r.URL.RequestURI(),
			signature: r.Header.Get("X-Twilio-Signature"), contentType: r.Header.Get("Content-Type"),
			userAgent: r.Header.Get("User-Agent"), form: form,
		})
		rc.mu.Unlock()
		if rc.before != nil {
			rc.before(r)
		}
		w.WriteHeader(rc.status(n))
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

func always(status int) func(int32) int { return func(int32) int { return status } }

// testEnv returns an Env whose outbox retries after 1 ms.
func testEnv() *Env {
	o := NewOutbox(testToken, nil)
	o.RetryDelays = []time.Duration{time.Millisecond, time.Millisecond}
	return NewEnv("AC00000000000000000000000000000000", testToken, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), nil, o)
}

// send queues hooks under the lock; Unlock starts their delivery.
func send(env *Env, hooks ...Webhook) {
	env.Lock()
	for _, h := range hooks {
		env.Send(h)
	}
	env.Unlock()
}

func settle(t *testing.T, env *Env) {
	t.Helper()
	// Generous: a thousand concurrent deliveries on a loaded 2-core machine
	// (the full suite runs beside) take several seconds; this bounds a hang.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, env.Outbox.Settle(ctx))
}

func TestOutboxSignedDelivery(t *testing.T) {
	env := testEnv()
	rc := newReceiver(t, always(200))
	params := url.Values{"EventType": {"onMessageAdded"}, "Body": {"hello world"}, "ConversationSid": {"CH1"}}
	send(env, Webhook{URL: rc.srv.URL + "/hooks/conv?tenant=a", Params: params, Source: "conversations"})
	settle(t, env)

	got := rc.requests()
	require.Len(t, got, 1)
	r := got[0]
	assert.Equal(t, http.MethodPost, r.method)
	assert.Equal(t, "application/x-www-form-urlencoded", r.contentType)
	assert.Contains(t, r.userAgent, "TwilioProxy")
	assert.Equal(t, params, r.form)
	assert.Equal(t, Signature(testToken, rc.srv.URL+"/hooks/conv?tenant=a", params), r.signature)
	flat := map[string]string{}
	for k := range r.form {
		flat[k] = r.form.Get(k)
	}
	validator := twclient.NewRequestValidator(testToken)
	assert.True(t, validator.Validate(r.url, flat, r.signature), "twilio-go's validator accepts it")

	ds := env.Outbox.Deliveries()
	require.Len(t, ds, 1)
	assert.Equal(t, "conversations", ds[0].Source)
	assert.Equal(t, "onMessageAdded", ds[0].EventType)
	assert.Equal(t, 1, ds[0].Attempts)
	assert.Equal(t, 200, ds[0].Status)
	assert.Empty(t, ds[0].Error)
}

func TestOutboxGETPutsParamsInQuery(t *testing.T) {
	env := testEnv()
	rc := newReceiver(t, always(204))
	send(env, Webhook{URL: rc.srv.URL + "/get?keep=1", Method: http.MethodGet,
		Params: url.Values{"event_type": {"reservation.accepted"}}, Source: "taskrouter"})
	settle(t, env)
	got := rc.requests()
	require.Len(t, got, 1)
	assert.Equal(t, http.MethodGet, got[0].method)
	u, err := url.Parse(got[0].url)
	require.NoError(t, err)
	assert.Equal(t, "1", u.Query().Get("keep"))
	assert.Equal(t, "reservation.accepted", u.Query().Get("event_type"))
	assert.Equal(t, Signature(testToken, got[0].url, nil), got[0].signature, "a GET is signed over its full URL alone")
	assert.Equal(t, "reservation.accepted", env.Outbox.Deliveries()[0].EventType, "event_type names TaskRouter events")
}

func TestOutboxRetries(t *testing.T) {
	failThenOK := func(n int32) int {
		if n == 1 {
			return 500
		}
		return 200
	}
	for _, tc := range []struct {
		name         string
		policy       DeliveryPolicy
		fragment     string
		status       func(n int32) int
		wantAttempts int
		wantStatus   int
		wantCalls    int32
	}{
		{"2xx is final", ConversationsDelivery, "", always(200), 1, 200, 1},
		{"3xx is final", ConversationsDelivery, "", always(302), 1, 302, 1},
		{"4xx is not retried", ConversationsDelivery, "", always(404), 1, 404, 1},
		{"429 is not retried", ConversationsDelivery, "", always(429), 1, 429, 1},
		{"conversations: a 5xx is not retried", ConversationsDelivery, "", always(503), 1, 503, 1},
		{"conversations: a 5xx then nothing", ConversationsDelivery, "", failThenOK, 1, 500, 1},
		{"conversations: overrides are not read", ConversationsDelivery, "#rc=3&rp=5xx", always(503), 1, 503, 1},
		{"taskrouter: a 5xx is not retried", TaskRouterDelivery, "", always(503), 1, 503, 1},
		{"taskrouter: rp=5xx and rc=2 retry it", TaskRouterDelivery, "#rc=2&rp=5xx", always(503), 3, 503, 3},
		{"taskrouter: rp=all retries until success", TaskRouterDelivery, "#rc=5&rp=all", failThenOK, 2, 200, 2},
		{"taskrouter: rc past 5 is clamped", TaskRouterDelivery, "#rc=9&rp=5xx", always(500), 6, 500, 6},
		{"taskrouter: rp=4xx does not retry a 5xx", TaskRouterDelivery, "#rc=2&rp=4xx", always(500), 1, 500, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := testEnv()
			env.Outbox.RetryDelays = []time.Duration{time.Millisecond}
			rc := newReceiver(t, tc.status)
			send(env, Webhook{URL: rc.srv.URL + "/cb" + tc.fragment, Params: url.Values{"EventType": {"onConversationAdded"}}, Policy: tc.policy})
			settle(t, env)
			assert.Equal(t, tc.wantCalls, rc.calls.Load())
			ds := env.Outbox.Deliveries()
			require.Len(t, ds, 1)
			assert.Equal(t, tc.wantAttempts, ds[0].Attempts)
			assert.Equal(t, tc.wantStatus, ds[0].Status)
			assert.Empty(t, ds[0].Error)
			for _, r := range rc.requests() {
				// Every attempt carries the same body and signature, over the URL without its fragment.
				assert.Equal(t, rc.srv.URL+"/cb", r.url)
				assert.Equal(t, Signature(testToken, rc.srv.URL+"/cb", r.form), r.signature)
			}
		})
	}

	refused := func(t *testing.T, policy DeliveryPolicy, fragment string, wantAttempts int) {
		env := testEnv()
		env.Outbox.RetryDelays = []time.Duration{time.Millisecond}
		dead := httptest.NewServer(http.NotFoundHandler())
		deadURL := dead.URL
		dead.Close()
		send(env, Webhook{URL: deadURL + fragment, Params: url.Values{"EventType": {"onMessageAdded"}}, Policy: policy})
		settle(t, env)
		ds := env.Outbox.Deliveries()
		require.Len(t, ds, 1)
		assert.Equal(t, wantAttempts, ds[0].Attempts)
		assert.Equal(t, 0, ds[0].Status)
		assert.NotEmpty(t, ds[0].Error)
	}
	t.Run("conversations: a refused connection is tried once more", func(t *testing.T) { refused(t, ConversationsDelivery, "", 2) })
	t.Run("taskrouter: a refused connection is not retried", func(t *testing.T) { refused(t, TaskRouterDelivery, "", 1) })
	t.Run("taskrouter: rc=3 retries a refused connection", func(t *testing.T) { refused(t, TaskRouterDelivery, "#rc=3", 4) })

	t.Run("taskrouter: an invalid rp is 11243 and nothing is sent", func(t *testing.T) {
		env := testEnv()
		rc := newReceiver(t, always(204))
		send(env, Webhook{URL: rc.srv.URL + "#rc=1&rp=5xx,sometimes", Params: url.Values{}, Policy: TaskRouterDelivery})
		settle(t, env)
		assert.Equal(t, int32(0), rc.calls.Load())
		ds := env.Outbox.Deliveries()
		require.Len(t, ds, 1)
		assert.Equal(t, 0, ds[0].Attempts)
		assert.Contains(t, ds[0].Error, "11243")
	})

	t.Run("taskrouter: rt bounds the wait for an answer", func(t *testing.T) {
		env := testEnv()
		rc := newReceiver(t, always(204))
		rc.before = func(r *http.Request) {
			select {
			case <-time.After(2 * time.Second):
			case <-r.Context().Done():
			}
		}
		send(env, Webhook{URL: rc.srv.URL + "#rt=100&rc=0", Params: url.Values{}, Policy: TaskRouterDelivery})
		settle(t, env)
		ds := env.Outbox.Deliveries()
		require.Len(t, ds, 1)
		assert.Equal(t, 1, ds[0].Attempts)
		assert.Equal(t, 0, ds[0].Status)
		assert.NotEmpty(t, ds[0].Error, "timed out")
	})

	t.Run("bad URL is logged", func(t *testing.T) {
		env := testEnv()
		send(env, Webhook{URL: "http://[::1", Params: url.Values{}})
		settle(t, env)
		ds := env.Outbox.Deliveries()
		require.Len(t, ds, 1)
		assert.NotEmpty(t, ds[0].Error)
	})
}

func TestOutboxReplay(t *testing.T) {
	env := testEnv()
	rc := newReceiver(t, func(n int32) int {
		if n == 1 {
			return 500
		}
		return 200
	})
	params := url.Values{"EventType": {"onMessageAdded"}, "Body": {"again"}}
	send(env, Webhook{URL: rc.srv.URL, Params: params, Source: "conversations", Policy: ConversationsDelivery})
	settle(t, env)
	first := env.Outbox.Deliveries()[0]
	require.Equal(t, 500, first.Status)

	d, ok := env.Outbox.Replay(first.ID)
	require.True(t, ok)
	assert.Equal(t, 200, d.Status)
	assert.Equal(t, first.ID, d.ReplayOf)
	assert.NotEqual(t, first.ID, d.ID)
	got := rc.requests()
	require.Len(t, got, 2)
	assert.Equal(t, got[0].form, got[1].form, "the same webhook")
	assert.Equal(t, got[0].signature, got[1].signature)
	assert.Len(t, env.Outbox.Deliveries(), 2)

	_, ok = env.Outbox.Replay(9999)
	assert.False(t, ok)
}

func TestApplyOverrides(t *testing.T) {
	for _, tc := range []struct {
		url, wantURL string
		want         DeliveryPolicy
		wantErr      bool
	}{
		{"https://x/cb", "https://x/cb", TaskRouterDelivery, false},
		{"https://x/cb#ct=1000&rt=2000&tt=3000&rc=2&rp=ct,rt", "https://x/cb", DeliveryPolicy{
			ConnectTimeout: time.Second, ReadTimeout: 2 * time.Second, TotalTimeout: 3 * time.Second,
			Retries: 2, RetryOn: RetryConnect | RetryRead, Overridable: true}, false},
		{"https://x/cb#ct=1&rt=999999", "https://x/cb", DeliveryPolicy{
			ConnectTimeout: 100 * time.Millisecond, ReadTimeout: 15 * time.Second, TotalTimeout: 15 * time.Second,
			RetryOn: RetryConnect, Overridable: true}, false},
		{"https://x/cb#rp=all", "https://x/cb", DeliveryPolicy{
			ConnectTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second, TotalTimeout: 15 * time.Second,
			RetryOn: RetryConnect | RetryRead | Retry4xx | Retry5xx, Overridable: true}, false},
		{"https://x/cb#rp=never", "https://x/cb", TaskRouterDelivery, true},
		{"https://x/cb#rp=", "https://x/cb", TaskRouterDelivery, true},
	} {
		t.Run(tc.url, func(t *testing.T) {
			gotURL, got, err := applyOverrides(tc.url, TaskRouterDelivery)
			assert.Equal(t, tc.wantURL, gotURL)
			if tc.wantErr {
				require.Error(t, err)
				assert.Contains(t, err.Error(), "11243")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
	gotURL, got, err := applyOverrides("https://x/cb#rc=5&rp=all", ConversationsDelivery)
	require.NoError(t, err)
	assert.Equal(t, "https://x/cb", gotURL)
	assert.Equal(t, ConversationsDelivery, got, "Conversations documents no overrides")
}

func TestOutboxSettleWaitsForCascades(t *testing.T) {
	env := testEnv()
	second := newReceiver(t, always(200))
	first := newReceiver(t, always(200))
	// The first receiver calls back into the emulated world, which queues
	// another webhook, before it answers: Settle must wait for that one too.
	first.before = func(*http.Request) {
		send(env, Webhook{URL: second.srv.URL, Params: url.Values{"EventType": {"second"}}})
	}
	// And the second is slow, so an early Settle would miss it.
	second.before = func(r *http.Request) {
		select {
		case <-time.After(50 * time.Millisecond):
		case <-r.Context().Done():
		}
	}
	send(env, Webhook{URL: first.srv.URL, Params: url.Values{"EventType": {"first"}}})
	settle(t, env)
	assert.Equal(t, int32(1), first.calls.Load())
	assert.Equal(t, int32(1), second.calls.Load())
	var events []string
	for _, d := range env.Outbox.Deliveries() {
		events = append(events, d.EventType)
	}
	assert.ElementsMatch(t, []string{"first", "second"}, events)
}

func TestOutboxSettle(t *testing.T) {
	t.Run("idle returns at once", func(t *testing.T) {
		settle(t, testEnv())
	})
	t.Run("queued but not flushed keeps it waiting until ctx ends", func(t *testing.T) {
		env := testEnv()
		env.Send(Webhook{URL: "http://127.0.0.1:1/"}) // lock not released: never flushed
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		assert.ErrorIs(t, env.Outbox.Settle(ctx), context.DeadlineExceeded)
	})
	t.Run("a hanging receiver keeps it waiting until ctx ends", func(t *testing.T) {
		env := testEnv()
		release := make(chan struct{})
		rc := newReceiver(t, always(200))
		rc.before = func(*http.Request) { <-release }
		send(env, Webhook{URL: rc.srv.URL})
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		assert.ErrorIs(t, env.Outbox.Settle(ctx), context.DeadlineExceeded)
		close(release)
		settle(t, env)
	})
}

func TestOutboxDeliveryLogIsBounded(t *testing.T) {
	env := testEnv()
	rc := newReceiver(t, always(200))
	hooks := make([]Webhook, maxDeliveryLog+50)
	for i := range hooks {
		hooks[i] = Webhook{URL: rc.srv.URL, Params: url.Values{"EventType": {"e"}}}
	}
	send(env, hooks...)
	settle(t, env)
	assert.Len(t, env.Outbox.Deliveries(), maxDeliveryLog)
	env.Outbox.ClearDeliveries()
	assert.Empty(t, env.Outbox.Deliveries())
}

func TestOutboxDeliveryLogKeepsTheLatestInOrder(t *testing.T) {
	for _, n := range []int{0, 1, maxDeliveryLog - 1, maxDeliveryLog, maxDeliveryLog + 1, 2*maxDeliveryLog + 7} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			o := NewOutbox(testToken, nil)
			for i := range n {
				o.mu.Lock()
				o.record(Delivery{Attempts: i})
				o.mu.Unlock()
			}
			got := o.Deliveries()
			require.Len(t, got, min(n, maxDeliveryLog))
			for i, d := range got {
				assert.Equal(t, n-len(got)+i, d.Attempts, "oldest first")
			}
			o.ClearDeliveries()
			o.mu.Lock()
			o.record(Delivery{Attempts: -1})
			o.mu.Unlock()
			assert.Equal(t, []Delivery{{Attempts: -1}}, o.Deliveries())
		})
	}
}
