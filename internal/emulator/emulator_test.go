package emulator_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	twclient "github.com/twilio/twilio-go/client"
	conversations "github.com/twilio/twilio-go/rest/conversations/v1"
	taskrouter "github.com/twilio/twilio-go/rest/taskrouter/v1"

	"github.com/flexhooks/flexhooks/internal/emulator"
	"github.com/flexhooks/flexhooks/internal/emulator/emutest"
)

// start runs an emulator with the test credentials and a manual clock.
func start(t *testing.T) (*emulator.Emulator, *httptest.Server) {
	t.Helper()
	emu, err := emulator.New(emulator.Options{
		AccountSID:         emutest.AccountSID,
		AuthToken:          emutest.AuthToken,
		ManualClock:        true,
		WebhookRetryDelays: []time.Duration{10 * time.Millisecond, 10 * time.Millisecond},
	})
	require.NoError(t, err)
	t.Cleanup(emu.Close)
	return emu, emutest.Serve(t, emu)
}

func control(t *testing.T, srv *httptest.Server, method, path, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	if out != nil {
		require.NoError(t, json.NewDecoder(resp.Body).Decode(out))
	}
	return resp.StatusCode
}

func TestBasicAuth(t *testing.T) {
	_, srv := start(t)
	c := emutest.Client(t, srv.URL)
	_, err := c.TaskrouterV1.ListWorkspace(nil)
	require.NoError(t, err)

	bad := emutest.BaseClient(t, srv.URL)
	bad.Credentials = twclient.NewCredentials(emutest.AccountSID, "ffffffffffffffffffffffffffffffff")
	_, err = taskrouter.NewApiServiceWithClient(bad).ListWorkspace(nil)
	var terr *twclient.TwilioRestError
	require.ErrorAs(t, err, &terr)
	assert.Equal(t, 401, terr.Status)
	assert.Equal(t, 20003, terr.Code)
}

func TestUnknownHostAndPath(t *testing.T) {
	_, srv := start(t)
	for _, tc := range []struct{ name, host, path string }{
		{"unknown host", "api.twilio.com", "/2010-04-01/Accounts"},
		{"unknown path", "conversations.twilio.com", "/v9/Nothing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+tc.path, nil)
			req.Host = tc.host
			req.SetBasicAuth(emutest.AccountSID, emutest.AuthToken)
			resp, err := srv.Client().Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			var body struct{ Code, Status int }
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
			assert.Equal(t, 404, resp.StatusCode)
			assert.Equal(t, 20404, body.Code)
		})
	}
}

func TestFaultsThenSuccessAndRequestLog(t *testing.T) {
	_, srv := start(t)
	c := emutest.Client(t, srv.URL)
	require.Equal(t, 200, control(t, srv, http.MethodPut, "/emulator/faults",
		`[{"host":"conversations.twilio.com","method":"POST","path":"/Conversations$","status":429,"times":1,"retryAfter":1}]`, nil))
	require.Equal(t, 204, control(t, srv, http.MethodDelete, "/emulator/requests", "", nil))

	_, err := c.ConversationsV1.CreateConversation(&conversations.CreateConversationParams{})
	var terr *twclient.TwilioRestError
	require.ErrorAs(t, err, &terr)
	assert.Equal(t, 429, terr.Status)
	assert.Equal(t, 20429, terr.Code)

	conv, err := c.ConversationsV1.CreateConversation(&conversations.CreateConversationParams{})
	require.NoError(t, err, "the fault hits once only")
	require.NotNil(t, conv.Sid)

	var log struct{ Requests []emulator.LoggedRequest }
	control(t, srv, http.MethodGet, "/emulator/requests", "", &log)
	require.Len(t, log.Requests, 2)
	assert.Equal(t, []int{429, 201}, []int{log.Requests[0].Status, log.Requests[1].Status})
	assert.Equal(t, "conversations.twilio.com", log.Requests[0].Host)
}

func TestFaultAfterDoesTheWork(t *testing.T) {
	_, srv := start(t)
	c := emutest.Client(t, srv.URL)
	control(t, srv, http.MethodPut, "/emulator/faults", `[{"path":"/Conversations$","method":"POST","status":503,"after":true}]`, nil)
	_, err := c.ConversationsV1.CreateConversation(&conversations.CreateConversationParams{})
	require.Error(t, err)
	control(t, srv, http.MethodDelete, "/emulator/faults", "", nil)
	list, err := c.ConversationsV1.ListConversation(nil)
	require.NoError(t, err)
	assert.Len(t, list, 1, "an after-fault runs the real operation before answering the error")
}

func TestControlAPIRejectsBadInput(t *testing.T) {
	_, srv := start(t)
	for _, tc := range []struct{ name, method, path, body string }{
		{"inbound without body", http.MethodPost, "/emulator/inbound", `{}`},
		{"inbound bad channel", http.MethodPost, "/emulator/inbound", `{"from":"+1","to":"+2","channel":"fax","body":"x"}`},
		{"inbound unknown field", http.MethodPost, "/emulator/inbound", `{"frm":"+1"}`},
		{"clock bad duration", http.MethodPost, "/emulator/clock", `{"advance":"5 minutes"}`},
		{"faults bad regexp", http.MethodPut, "/emulator/faults", `[{"path":"("}]`},
		{"faults bad status", http.MethodPut, "/emulator/faults", `[{"status":200}]`},
		{"token bad ttl", http.MethodPost, "/emulator/workers/alice/token", `{"ttl":"soon"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body struct{ Error string }
			status := control(t, srv, tc.method, tc.path, tc.body, &body)
			assert.Equal(t, 400, status)
			assert.NotEmpty(t, body.Error)
		})
	}
	assert.Equal(t, 404, control(t, srv, http.MethodPost, "/emulator/workers/nobody/token", "", nil))
	assert.Equal(t, 404, control(t, srv, http.MethodGet, "/emulator/nothing", "", nil))
}

func TestClockAdvances(t *testing.T) {
	_, srv := start(t)
	var before, after struct{ Now time.Time }
	control(t, srv, http.MethodGet, "/emulator/clock", "", &before)
	require.Equal(t, 200, control(t, srv, http.MethodPost, "/emulator/clock", `{"advance":"PT5M"}`, &after))
	assert.Equal(t, 5*time.Minute, after.Now.Sub(before.Now))
}

func TestSeededSIDsAreStable(t *testing.T) {
	a, _ := start(t)
	b, _ := start(t)
	assert.Equal(t, a.SeededSIDs(), b.SeededSIDs())
	s := a.SeededSIDs()
	for name, sid := range map[string]string{"workspace": s.WorkspaceSID, "chat service": s.ChatServiceSID, "transfer workflow": s.TransferWorkflowSID} {
		assert.Len(t, sid, 34, name)
	}
}

func TestSettleWaitsForNothingWhenIdle(t *testing.T) {
	emu, _ := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	require.NoError(t, emu.Settle(ctx))
}
