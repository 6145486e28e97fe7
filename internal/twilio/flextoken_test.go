package twilio

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flexhooks/flexhooks"
)

// iamStub answers Tokens/validate as Twilio IAM does, accepting "good".
func iamStub(t *testing.T, seen *http.Request, mu *sync.Mutex) handler {
	return func(_ int32, w http.ResponseWriter, r *http.Request) {
		var body struct{ Token string }
		raw, _ := io.ReadAll(r.Body)
		require.NoError(t, json.Unmarshal(raw, &body), string(raw))
		mu.Lock()
		*seen = *r.Clone(context.Background())
		mu.Unlock()
		if user, pass, _ := r.BasicAuth(); user != testAccountSID || pass != testAuthToken {
			twilioError(w, 401, 20003)
			return
		}
		switch body.Token {
		case "good":
			writeJSON(w, 200, `{"valid":true,"code":0,"message":null,"expiration":"2026-11-21T21:00:00.000Z","realm_user_id":"US1",
				"identity":"alice","roles":["agent","supervisor"],"worker_sid":"WK0123456789abcdef0123456789abcdef"}`)
		case "boom":
			twilioError(w, 500, 20500)
		default:
			writeJSON(w, 200, `{"valid":false,"code":20101,"message":"Invalid Access Token"}`)
		}
	}
}

func TestValidateFlexToken(t *testing.T) {
	var mu sync.Mutex
	var seen http.Request
	srv, hits := serve(t, iamStub(t, &seen, &mu))
	// An API key for REST calls must not change how IAM is called.
	c, _ := newTestClient(t, srv, func(o *Options) {
		o.APIKey, o.APISecret = "SK0123456789abcdef0123456789abcdef", "apisecret"
	})

	t.Run("valid", func(t *testing.T) {
		caller, expires, err := c.ValidateFlexToken(context.Background(), "good")
		require.NoError(t, err)
		assert.Equal(t, flexhooks.Caller{WorkerSid: "WK0123456789abcdef0123456789abcdef", Identity: "alice", Roles: []string{"agent", "supervisor"}}, caller)
		assert.Equal(t, time.Date(2026, 11, 21, 21, 0, 0, 0, time.UTC), expires)
		mu.Lock()
		defer mu.Unlock()
		assert.Equal(t, "iam.twilio.com", seen.Host)
		assert.Equal(t, http.MethodPost, seen.Method)
		assert.Equal(t, "/v1/Accounts/"+testAccountSID+"/Tokens/validate", seen.URL.Path)
		assert.Equal(t, "application/json", seen.Header.Get("Content-Type"))
	})
	t.Run("invalid", func(t *testing.T) {
		_, _, err := c.ValidateFlexToken(context.Background(), "forged")
		var fe *flexhooks.Error
		require.ErrorAs(t, err, &fe)
		assert.Equal(t, flexhooks.EFORBIDDEN, fe.Code)
		assert.Equal(t, "invalid Flex token: Invalid Access Token", fe.Message)
	})
	t.Run("empty", func(t *testing.T) {
		before := hits.n.Load()
		_, _, err := c.ValidateFlexToken(context.Background(), "")
		assert.Equal(t, flexhooks.EUNAUTHORIZED, flexhooks.ErrorCode(err))
		assert.Equal(t, before, hits.n.Load(), "IAM not called")
	})
	t.Run("IAM failing", func(t *testing.T) {
		_, _, err := c.ValidateFlexToken(context.Background(), "boom")
		assert.Equal(t, flexhooks.EUNAVAILABLE, flexhooks.ErrorCode(err))
	})
	t.Run("IAM unreachable", func(t *testing.T) {
		down, _ := serve(t, iamStub(t, &seen, &mu))
		down.Close()
		c, _ := newTestClient(t, down, nil)
		_, _, err := c.ValidateFlexToken(context.Background(), "good")
		assert.Equal(t, flexhooks.EUNAVAILABLE, flexhooks.ErrorCode(err))
	})
	t.Run("wrong auth token", func(t *testing.T) {
		c, _ := newTestClient(t, srv, func(o *Options) { o.AuthToken = "wrong" })
		_, _, err := c.ValidateFlexToken(context.Background(), "good")
		assert.Equal(t, flexhooks.EUPSTREAM, flexhooks.ErrorCode(err))
	})
}

// IAM's 429 is answered at once: a validation made for a caller who has
// proved nothing yet does not multiply it, while REST calls still retry.
func TestValidateFlexTokenDoesNotRetry429(t *testing.T) {
	srv, hits := serve(t, func(_ int32, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "0")
		twilioError(w, http.StatusTooManyRequests, 20429)
	})
	c, _ := newTestClient(t, srv, nil)
	for range 10 {
		_, _, err := c.ValidateFlexToken(context.Background(), "good")
		assert.Equal(t, flexhooks.EUNAVAILABLE, flexhooks.ErrorCode(err))
	}
	assert.Equal(t, int32(10), hits.n.Load(), "one IAM call per validation, no retries")

	hits.n.Store(0)
	_, err := c.API(context.Background()).Conversations.FetchConversation(testConvSID)
	assert.Equal(t, flexhooks.EUNAVAILABLE, flexhooks.ErrorCode(MapError(err)))
	assert.Equal(t, int32(3), hits.n.Load(), "REST calls keep their retries")
}
