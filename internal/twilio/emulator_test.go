package twilio_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	conversations "github.com/twilio/twilio-go/rest/conversations/v1"

	"github.com/flexhooks/flexhooks"
	"github.com/flexhooks/flexhooks/internal/emulator"
	"github.com/flexhooks/flexhooks/internal/twilio"
)

// These tests run the client against the emulator over HTTP, with faults the
// emulator injects: the retry and error rules as they meet a Twilio-shaped peer.

type emu struct {
	*emulator.Emulator
	url string
}

func startEmulator(t *testing.T) emu {
	t.Helper()
	e, err := emulator.New(emulator.Options{ManualClock: true})
	require.NoError(t, err)
	srv := httptest.NewServer(e)
	t.Cleanup(func() { srv.Close(); e.Close() })
	return emu{e, srv.URL}
}

func (e emu) client(t *testing.T, mod func(*twilio.Options)) *twilio.Client {
	t.Helper()
	sid, token := e.Credentials()
	opts := twilio.Options{AccountSID: sid, AuthToken: token, EmulatorURL: e.url, WorkspaceSID: e.SeededSIDs().WorkspaceSID,
		Retry: twilio.RetryPolicy{MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}}
	if mod != nil {
		mod(&opts)
	}
	c, err := twilio.New(opts)
	require.NoError(t, err)
	return c
}

func (e emu) control(t *testing.T, method, path, body string) string {
	t.Helper()
	req, err := http.NewRequest(method, e.url+path, strings.NewReader(body))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Less(t, resp.StatusCode, 300, "%s %s: %s", method, path, b)
	return string(b)
}

func TestFlexTokenAgainstEmulator(t *testing.T) {
	e := startEmulator(t)
	c := e.client(t, nil)
	var tok struct{ Token string }
	require.NoError(t, json.Unmarshal([]byte(e.control(t, http.MethodPost, "/emulator/workers/alice/token", `{"roles":["agent"],"ttl":"PT10M"}`)), &tok))

	caller, exp, err := c.ValidateFlexToken(context.Background(), tok.Token)
	require.NoError(t, err)
	assert.Equal(t, "alice", caller.Identity)
	assert.Equal(t, []string{"agent"}, caller.Roles)
	assert.True(t, strings.HasPrefix(caller.WorkerSid, "WK"))
	assert.False(t, exp.IsZero())

	t.Run("unknown token is forbidden", func(t *testing.T) {
		_, _, err := c.ValidateFlexToken(context.Background(), "not-a-token")
		assert.Equal(t, flexhooks.EFORBIDDEN, flexhooks.ErrorCode(err))
	})
	t.Run("wrong account credentials are an upstream error, not a bad token", func(t *testing.T) {
		other := e.client(t, func(o *twilio.Options) { o.AuthToken = "00000000000000000000000000000000" })
		_, _, err := other.ValidateFlexToken(context.Background(), tok.Token)
		assert.NotEqual(t, "", flexhooks.ErrorCode(err))
		assert.NotEqual(t, flexhooks.EINTERNAL, flexhooks.ErrorCode(err))
	})
	t.Run("IAM down is unavailable", func(t *testing.T) {
		e.control(t, http.MethodPut, "/emulator/faults", `[{"host":"iam.twilio.com","status":503}]`)
		defer e.control(t, http.MethodDelete, "/emulator/faults", "")
		_, _, err := c.ValidateFlexToken(context.Background(), tok.Token)
		assert.Equal(t, flexhooks.EUNAVAILABLE, flexhooks.ErrorCode(err))
	})
	t.Run("expired on the virtual clock", func(t *testing.T) {
		e.control(t, http.MethodPost, "/emulator/clock", `{"advance":"PT11M"}`)
		_, _, err := c.ValidateFlexToken(context.Background(), tok.Token)
		assert.Equal(t, flexhooks.EFORBIDDEN, flexhooks.ErrorCode(err))
	})
}

func TestRetriesAgainstEmulatorFaults(t *testing.T) {
	e := startEmulator(t)
	c := e.client(t, nil)
	ctx := context.Background()

	t.Run("429 then success", func(t *testing.T) {
		e.control(t, http.MethodDelete, "/emulator/requests", "")
		e.control(t, http.MethodPut, "/emulator/faults", `[{"host":"conversations.twilio.com","method":"GET","status":429,"times":1}]`)
		defer e.control(t, http.MethodDelete, "/emulator/faults", "")
		_, err := c.API(ctx).Conversations.ListConversation(nil)
		require.NoError(t, err)
		log := e.control(t, http.MethodGet, "/emulator/requests", "")
		assert.Equal(t, 1, strings.Count(log, `"status":429`))
		assert.Equal(t, 1, strings.Count(log, `"status":200`))
	})

	t.Run("a 503 after Twilio did the create is not replayed", func(t *testing.T) {
		e.control(t, http.MethodPut, "/emulator/faults", `[{"host":"conversations.twilio.com","method":"POST","path":"/v1/Conversations$","status":503,"after":true}]`)
		defer e.control(t, http.MethodDelete, "/emulator/faults", "")
		before, err := c.API(ctx).Conversations.ListConversation(nil)
		require.NoError(t, err)
		_, err = c.API(ctx).Conversations.CreateConversation(&conversations.CreateConversationParams{})
		require.Error(t, err)
		assert.Equal(t, flexhooks.EUNAVAILABLE, flexhooks.ErrorCode(twilio.MapError(err)))
		after, err := c.API(ctx).Conversations.ListConversation(nil)
		require.NoError(t, err)
		assert.Len(t, after, len(before)+1, "exactly one conversation: the create was sent once")
	})

	t.Run("a 503 on a fetch is retried", func(t *testing.T) {
		e.control(t, http.MethodPut, "/emulator/faults", `[{"host":"conversations.twilio.com","method":"GET","status":503,"times":2}]`)
		defer e.control(t, http.MethodDelete, "/emulator/faults", "")
		_, err := c.API(ctx).Conversations.ListConversation(nil)
		require.NoError(t, err)
	})

	t.Run("the request's deadline bounds the call", func(t *testing.T) {
		e.control(t, http.MethodPut, "/emulator/faults", `[{"host":"conversations.twilio.com","latencyMs":2000}]`)
		defer e.control(t, http.MethodDelete, "/emulator/faults", "")
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := c.API(ctx).Conversations.ListConversation(nil)
		require.Error(t, err)
		assert.Equal(t, flexhooks.EUNAVAILABLE, flexhooks.ErrorCode(twilio.MapError(err)))
		assert.Less(t, time.Since(start), time.Second, "the deadline, not the emulator's latency, ends the call")
	})
}

// Crafted identifiers, as task or conversation attributes or a Sync item
// could carry them, go through the adapter's operations to the emulator:
// the path gate refuses each with EINVALID, and none reaches the emulator.
func TestPathTraversalNeverReachesTheEmulator(t *testing.T) {
	e := startEmulator(t)
	ops := e.client(t, nil).Operations("default")
	ctx := context.Background()
	ws := e.SeededSIDs().WorkspaceSID
	const kd, uo = "KD0123456789abcdef0123456789abcdef", "UO0123456789abcdef0123456789abcdef"
	e.control(t, http.MethodDelete, "/emulator/requests", "")

	crafted := map[string]func() error{
		"interaction traversal": func() error {
			return ops.CloseInteractionParticipant(ctx, "../../../v1/Interactions/"+kd, uo, "UT0123456789abcdef0123456789abcdef")
		},
		"participant smuggled into a channel": func() error {
			_, err := ops.ListInteractionParticipants(ctx, kd, uo+"/Participants/..")
			return err
		},
		"conversation traversal": func() error { _, err := ops.FetchConversation(ctx, ".."); return err },
		"escaped slash":          func() error { _, err := ops.FetchConversation(ctx, "CH0%2F..%2F.."); return err },
		"task SID of the wrong kind": func() error {
			return ops.CancelTask(ctx, ws, "CH0123456789abcdef0123456789abcdef", "x")
		},
		"worker traversal in a map name": func() error {
			_, err := ops.ListSyncMapItems(ctx, "ParkedInteractions_../../../Maps/flexhooks_parks", 10)
			return err
		},
		"item key traversal": func() error {
			return ops.DeleteSyncMapItem(ctx, "flexhooks_parks", "../../flexhooks_transfers/Items/x")
		},
	}
	for name, call := range crafted {
		err := call()
		assert.Equal(t, flexhooks.EINVALID, flexhooks.ErrorCode(err), "%s: %v", name, err)
	}
	var log struct{ Requests []struct{ Path string } }
	require.NoError(t, json.Unmarshal([]byte(e.control(t, http.MethodGet, "/emulator/requests", "")), &log))
	assert.Empty(t, log.Requests, "no crafted call reached the emulator")

	// The positive control: a well-formed call does reach it.
	_, err := ops.ListSyncMapItems(ctx, "ParkedInteractions_WK0123456789abcdef0123456789abcdef", 10)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal([]byte(e.control(t, http.MethodGet, "/emulator/requests", "")), &log))
	require.Len(t, log.Requests, 1)
	assert.Equal(t, "/v1/Services/default/Maps/ParkedInteractions_WK0123456789abcdef0123456789abcdef/Items", log.Requests[0].Path)
}
