package webhooks_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flexhooks/flexhooks/internal/emulator/core"
)

// encodeURIComponent is JavaScript's: every byte but A–Z a–z 0–9 - _ . ! ~ * ' ( ) is %XX.
func encodeURIComponent(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("-_.!~*'()", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// TestTemplateInviteParticipantExactBody sends flex-project-template's
// conversation-transfer request byte for byte as its plugin builds it
// (helpers/APIHelper.ts: each value through encodeURIComponent, joined by
// ApiService.buildBody), workersToIgnore being
// encodeURIComponent(JSON.stringify({workerSidsInConversation: [...]})).
// The object's keys become the new task's attributes, as in the template's
// invite-participant function, and its workers are kept out of the queue.
func TestTemplateInviteParticipantExactBody(t *testing.T) {
	w := startTransferWorld(t, 1)
	c := w.acceptedChat("+15557000090")
	_, origAttrs := w.TaskStatus(c.Task)
	carol, dave := w.workerSid("carol"), w.workerSid("dave")
	sales := core.SeedSID("WQ", "Sales")

	// The plugin lists the agents in the conversation; dave is added to
	// show the list is honoured beyond them, and a second key to show
	// that keys become attributes.
	workersToIgnore, err := json.Marshal(map[string]any{
		"workerSidsInConversation": []string{c.AgentWorker, dave},
		"agentsAlreadyTried":       []string{"Dave Davis"},
	})
	require.NoError(t, err)
	params := [][2]string{
		{"Token", c.AgentToken},
		{"taskSid", c.Task},
		{"conversationId", c.Task},
		{"conversationSid", c.Conversation},
		{"jsonAttributes", origAttrs},
		{"transferTargetSid", sales},
		{"transferQueueName", "Sales"},
		{"transferWorkerName", ""},
		{"workersToIgnore", string(workersToIgnore)},
		{"flexInteractionSid", c.Interaction},
		{"flexInteractionChannelSid", c.Channel},
		{"removeFlexInteractionParticipantSid", c.AgentParticipant},
	}
	var body []string
	for _, p := range params {
		body = append(body, p[0]+"="+encodeURIComponent(p[1]))
	}
	req, err := http.NewRequest(http.MethodPost, w.Services[0]+"/features/conversation-transfer/flex/invite-participant",
		strings.NewReader(strings.Join(body, "&")))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := w.HTTP.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	require.Equal(t, http.StatusOK, resp.StatusCode, "%v", out)
	assert.Equal(t, true, out["transferred"], "removeFlexInteractionParticipantSid makes it cold")
	w.Settle()

	newTask := out["taskSid"].(string)
	assert.Equal(t, carol, w.PendingReservation(newTask), "dave is ignored, alice is in the conversation")
	_, attrs := w.state().task(newTask)
	assert.ElementsMatch(t, []any{c.AgentWorker, dave}, attrs["workerSidsInConversation"])
	assert.Equal(t, []any{"Dave Davis"}, attrs["agentsAlreadyTried"])
	assert.Equal(t, c.Conversation, attrs["conversationSid"])
}

// TestTemplateWorkersToIgnoreRefusals: what the field cannot do, each named.
func TestTemplateWorkersToIgnoreRefusals(t *testing.T) {
	w := startTransferWorld(t, 1)
	c := w.acceptedChat("+15557000091")
	_, origAttrs := w.TaskStatus(c.Task)
	for _, tc := range []struct{ value, want string }{
		{`{"workerSidsInConversation":["bob"]}`, "workerSidsInConversation must list worker SIDs"},
		{`{"conversationSid":["CH0"]}`, `"conversationSid" is an attribute Flex or flexhooks sets`},
		{`"alice"`, "must be a JSON array of worker SIDs"},
	} {
		form := c.form(w.workerSid("bob"), "jsonAttributes", origAttrs, "workersToIgnore", tc.value)
		status, body := w.Post(w.Services[0], "/features/conversation-transfer/flex/invite-participant", c.AgentToken, form)
		assert.Equal(t, http.StatusBadRequest, status, tc.value)
		assert.Contains(t, fmt.Sprint(body), tc.want, tc.value)
	}
	form := c.form("bob")
	status, body := w.Post(w.Services[0], "/transfer", c.AgentToken, form)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, fmt.Sprint(body), `"bob" is not a SID: send the worker's SID (WK…`)
}
