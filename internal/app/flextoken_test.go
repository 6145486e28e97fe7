package app_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests count the IAM calls the emulator received, through the
// service exactly as serve wires it.

func mintToken(t *testing.T, emuURL, worker string) string {
	t.Helper()
	_, body := do(t, http.MethodPost, emuURL+"/emulator/workers/"+worker+"/token", "", nil)
	var tok struct{ Token string }
	require.NoError(t, json.Unmarshal([]byte(body), &tok))
	require.NotEmpty(t, tok.Token, body)
	return tok.Token
}

// iamCalls counts the Tokens/validate calls in the emulator's request log.
func iamCalls(t *testing.T, emuURL string) int {
	t.Helper()
	_, log := do(t, http.MethodGet, emuURL+"/emulator/requests", "", nil)
	return strings.Count(log, "/Tokens/validate")
}

func parkedList(t *testing.T, svcURL, token string) (int, string) {
	t.Helper()
	return do(t, http.MethodGet, svcURL+"/parked-interactions", "", http.Header{"Authorization": {"Bearer " + token}})
}

func TestFlexTokenIAMCalls(t *testing.T) {
	t.Run("50 requests with one bad bearer cost one IAM call", func(t *testing.T) {
		emuURL, svc := start(t)
		do(t, http.MethodDelete, emuURL+"/emulator/requests", "", nil)
		for range 50 {
			status, body := parkedList(t, svc.URL, "eyJhbGciOiJkaXIifQ..forged.forged.forged")
			require.Equal(t, http.StatusForbidden, status, body)
		}
		assert.Equal(t, 1, iamCalls(t, emuURL))
	})

	t.Run("10 requests while IAM answers 429 cost one IAM call", func(t *testing.T) {
		emuURL, svc := start(t)
		token := mintToken(t, emuURL, "alice")
		do(t, http.MethodPut, emuURL+"/emulator/faults", `[{"host":"iam.twilio.com","status":429,"code":20429}]`, nil)
		do(t, http.MethodDelete, emuURL+"/emulator/requests", "", nil)
		for range 10 {
			status, body := parkedList(t, svc.URL, token)
			require.Equal(t, http.StatusServiceUnavailable, status, body)
		}
		assert.Equal(t, 1, iamCalls(t, emuURL))
	})

	t.Run("10 concurrent first uses of a token cost one IAM call", func(t *testing.T) {
		emuURL, svc := start(t)
		token := mintToken(t, emuURL, "alice")
		do(t, http.MethodDelete, emuURL+"/emulator/requests", "", nil)
		var wg sync.WaitGroup
		statuses := make([]int, 10)
		for i := range statuses {
			wg.Go(func() { statuses[i], _ = parkedList(t, svc.URL, token) })
		}
		wg.Wait()
		assert.Equal(t, []int{200, 200, 200, 200, 200, 200, 200, 200, 200, 200}, statuses)
		assert.Equal(t, 1, iamCalls(t, emuURL))
	})

	t.Run("a 900 KiB token never reaches IAM", func(t *testing.T) {
		emuURL, svc := start(t)
		do(t, http.MethodDelete, emuURL+"/emulator/requests", "", nil)
		huge := strings.Repeat("a", 900<<10)
		status, body := do(t, http.MethodPost, svc.URL+"/park-interaction", `{"Token":"`+huge+`"}`,
			http.Header{"Content-Type": {"application/json"}})
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Less(t, len(body), 1000, "the token is not echoed")
		assert.Equal(t, 0, iamCalls(t, emuURL))
	})
}

// In embedded mode the service tells time by the emulator's clock: a token
// minted before the clock jumps past its expiry is refused as expired after
// the jump, whether or not the service had cached it; and a cached token is
// validated again once FLEX_TOKEN_REVALIDATE_AFTER has passed on that clock.
func TestFlexTokenOnTheEmulatorsClock(t *testing.T) {
	emuURL, svc := startWith(t, true)
	cached, fresh := mintToken(t, emuURL, "alice"), mintToken(t, emuURL, "bob")
	status, body := parkedList(t, svc.URL, cached)
	require.Equal(t, http.StatusOK, status, body)

	do(t, http.MethodDelete, emuURL+"/emulator/requests", "", nil)
	do(t, http.MethodPost, emuURL+"/emulator/clock", `{"advance":"PT6M"}`, nil)
	status, body = parkedList(t, svc.URL, cached)
	require.Equal(t, http.StatusOK, status, body)
	assert.Equal(t, 1, iamCalls(t, emuURL), "revalidated after 5 minutes of virtual time")

	do(t, http.MethodPost, emuURL+"/emulator/clock", `{"advance":"PT2H"}`, nil)
	for name, token := range map[string]string{"cached before the jump": cached, "never used": fresh} {
		status, body := parkedList(t, svc.URL, token)
		assert.Equal(t, http.StatusForbidden, status, name)
		assert.Contains(t, body, "expired", name)
		assert.NotContains(t, body, "Invalid Access Token", name)
	}
}
