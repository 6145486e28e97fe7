package iam

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	twclient "github.com/twilio/twilio-go/client"

	"github.com/flexhooks/flexhooks/internal/emulator/core"
	"github.com/flexhooks/flexhooks/internal/emulator/emutest"
)

var start = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func newEnv() *core.Env {
	return emutest.NewEnv(start)
}

// validate calls Tokens/validate the way twilio-flex-token-validator does:
// JSON body, basic auth, through twilio-go's base client.
func validate(t *testing.T, c *twclient.Client, account, token string) (map[string]any, error) {
	t.Helper()
	body, err := json.Marshal(map[string]string{"token": token})
	require.NoError(t, err)
	resp, err := c.SendRequest(http.MethodPost, "https://iam.twilio.com/v1/Accounts/"+account+"/Tokens/validate", nil,
		map[string]any{"Content-Type": "application/json"}, body...)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var out map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return out, nil
}

func setup(t *testing.T) (*core.Env, *Store, *twclient.Client) {
	env := newEnv()
	s := New(env)
	srv := emutest.Serve(t, core.Locked(env, s.Routes()))
	return env, s, emutest.BaseClient(t, srv.URL)
}

func issue(env *core.Env, s *Store, id Identity, ttl time.Duration) (string, time.Time) {
	env.Lock()
	defer env.Unlock()
	return s.Issue(id, ttl)
}

func TestValidate(t *testing.T) {
	env, s, c := setup(t)
	alice := Identity{WorkerSid: core.SeedSID("WK", "alice"), Identity: "alice", Roles: []string{"agent"}}
	token, exp := issue(env, s, alice, time.Hour)
	assert.Equal(t, start.Add(time.Hour), exp)
	assert.Len(t, strings.Split(token, "."), 5, "shaped like a compact JWE")
	assert.NotContains(t, token, "alice")

	other, _ := issue(env, s, alice, time.Hour)
	assert.NotEqual(t, token, other, "tokens are random")

	got, err := validate(t, c, emutest.AccountSID, token)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{
		"valid":             true,
		"code":              float64(0),
		"message":           nil,
		"expiration":        "2026-01-02T04:04:05Z",
		"realm_user_id":     core.SeedSID("US", "alice"),
		"identity":          "alice",
		"roles":             []any{"agent"},
		"worker_sid":        alice.WorkerSid,
		"flex_instance_sid": core.SeedSID("GO", emutest.AccountSID),
		"flex_user_sid":     core.SeedSID("FU", "alice"),
	}, got)
}

func TestValidateNotValid(t *testing.T) {
	env, s, c := setup(t)
	token, exp := issue(env, s, Identity{WorkerSid: "WK1", Identity: "bob", Roles: []string{"agent", "supervisor"}}, 30*time.Minute)

	tests := []struct {
		name    string
		advance time.Duration
		token   string
		code    float64
		message string
	}{
		{name: "unknown token", token: "eyJhbGciOiJkaXIifQ..x.y.z", code: 20101, message: "Invalid Access Token"},
		{name: "just before expiry is valid", advance: 30*time.Minute - time.Second, token: token},
		{name: "expired at its expiration", advance: 30 * time.Minute, token: token, code: 20104, message: "Access Token expired or expiration date invalid"},
		{name: "still known as expired a while later", advance: 30*time.Minute + forgetAfter - time.Second, token: token, code: 20104, message: "Access Token expired or expiration date invalid"},
		{name: "still expired, not invalid, days later", advance: 30*time.Minute + 72*time.Hour, token: token, code: 20104, message: "Access Token expired or expiration date invalid"},
		{name: "tampered", token: tamper(token), code: 20101, message: "Invalid Access Token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env.Lock()
			env.AdvanceTo(start.Add(tt.advance))
			env.Unlock()
			got, err := validate(t, c, emutest.AccountSID, tt.token)
			require.NoError(t, err)
			if tt.code == 0 {
				assert.Equal(t, true, got["valid"])
				assert.Equal(t, core.ISO(exp), got["expiration"])
				assert.Equal(t, []any{"agent", "supervisor"}, got["roles"])
				return
			}
			assert.Equal(t, false, got["valid"])
			assert.Equal(t, tt.code, got["code"])
			assert.Equal(t, tt.message, got["message"])
			for _, k := range []string{"expiration", "identity", "worker_sid", "roles", "realm_user_id"} {
				assert.Nil(t, got[k], k)
				assert.Contains(t, got, k)
			}
		})
	}
	env.Lock()
	assert.Equal(t, map[string]int{"tokens": 0, "activeTokens": 0}, s.Snapshot(), "expired tokens are no longer counted")
	env.Unlock()
}

// tamper flips one bit of the ciphertext.
func tamper(token string) string {
	parts := strings.Split(token, ".")
	b := []byte(parts[3])
	if b[0] == 'A' {
		b[0] = 'B'
	} else {
		b[0] = 'A'
	}
	parts[3] = string(b)
	return strings.Join(parts, ".")
}

// A token, like Twilio's, carries what validation needs: an emulator
// restarted with the same auth token accepts it, another does not.
func TestValidateAcrossStores(t *testing.T) {
	env := newEnv()
	a := New(env)
	env.Lock()
	token, _ := a.Issue(Identity{WorkerSid: "WK1", Identity: "alice", Roles: []string{"agent"}}, time.Hour)
	same := New(core.NewEnv(env.AccountSID, env.AuthToken, start, nil, core.NewOutbox(env.AuthToken, nil)))
	other := New(core.NewEnv(env.AccountSID, "another-auth-token", start, nil, core.NewOutbox("another-auth-token", nil)))
	env.Unlock()
	assert.True(t, same.Validate(token).Valid)
	assert.Equal(t, "alice", *same.Validate(token).Identity)
	assert.False(t, other.Validate(token).Valid)
	assert.Equal(t, codeInvalidToken, other.Validate(token).Code)
}

func TestValidateErrors(t *testing.T) {
	env, s, c := setup(t)
	token, _ := issue(env, s, Identity{Identity: "alice"}, time.Hour)

	_, err := validate(t, c, "AC11111111111111111111111111111111", token)
	var te *twclient.TwilioRestError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, http.StatusForbidden, te.Status)
	assert.Equal(t, 20403, te.Code)

	_, err = validate(t, c, emutest.AccountSID, "")
	require.ErrorAs(t, err, &te)
	assert.Equal(t, http.StatusBadRequest, te.Status)
	assert.Equal(t, 20001, te.Code)

	// Anything else on the host is Twilio's 404.
	_, err = c.SendRequest(http.MethodGet, "https://iam.twilio.com/v1/Nope", nil, nil)
	require.ErrorAs(t, err, &te)
	assert.Equal(t, 20404, te.Code)
}

func TestValidateForm(t *testing.T) {
	env, s, c := setup(t)
	token, _ := issue(env, s, Identity{Identity: "alice", WorkerSid: "WKx"}, time.Hour)
	resp, err := c.SendRequest(http.MethodPost, "https://iam.twilio.com/v1/Accounts/"+emutest.AccountSID+"/Tokens/validate",
		url.Values{"Token": {token}}, nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"valid":true`)
}

func TestSnapshotHidesTokens(t *testing.T) {
	env, s, _ := setup(t)
	token, _ := issue(env, s, Identity{Identity: "alice"}, time.Hour)
	issue(env, s, Identity{Identity: "bob"}, time.Minute)
	env.Lock()
	env.AdvanceTo(start.Add(2 * time.Minute))
	snap := s.Snapshot()
	env.Unlock()
	assert.Equal(t, map[string]int{"tokens": 2, "activeTokens": 1}, snap)
	b, err := json.Marshal(snap)
	require.NoError(t, err)
	assert.NotContains(t, string(b), token)
}
