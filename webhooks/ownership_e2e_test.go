package webhooks_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	taskrouterapi "github.com/twilio/twilio-go/rest/taskrouter/v1"

	"github.com/flexhooks/flexhooks/webhooks"
)

// The attacks of issue 12, each played by an agent with a valid Flex token
// and someone else's SIDs: the refusal, Twilio's state unchanged, and the
// rightful agent and a supervisor as positive controls.

// twilioState is the emulator's world (tasks, conversations, interactions,
// Sync items) as JSON, to compare before and after a refused request. Of
// Sync it keeps the items: a refused transfer takes its claim and releases
// it within the request (transfer.go says why), which leaves the claim
// map's revision moved and nothing else.
func (w *transferWorld) twilioState() string {
	w.T.Helper()
	var st map[string]json.RawMessage
	w.State(&st)
	var sync struct {
		Services []struct {
			Maps []struct {
				UniqueName *string           `json:"uniqueName"`
				Items      []json.RawMessage `json:"items"`
			} `json:"maps"`
		} `json:"services"`
	}
	require.NoError(w.T, json.Unmarshal(st["sync"], &sync))
	items := map[string][]json.RawMessage{}
	for _, svc := range sync.Services {
		for _, m := range svc.Maps {
			if m.UniqueName != nil && len(m.Items) > 0 {
				items[*m.UniqueName] = m.Items
			}
		}
	}
	b, err := json.Marshal([]any{st["taskrouter"], st["conversations"], st["flex"], items})
	require.NoError(w.T, err)
	return string(b)
}

// refused posts and asserts the status and that nothing in Twilio changed.
func (w *transferWorld) refused(t *testing.T, want int, path, token string, form url.Values) map[string]any {
	t.Helper()
	w.Settle()
	before := w.twilioState()
	status, body := w.Post(w.Services[0], path, token, form)
	require.Equal(t, want, status, "%v", body)
	w.Settle()
	assert.JSONEq(t, before, w.twilioState(), "a refused request changes nothing in Twilio")
	return body
}

// seated gives worker a seat of their own: a chat the workflow offered
// them, else one cold-transferred to them and accepted.
func (w *transferWorld) seated(t *testing.T, customer, worker string) chat {
	t.Helper()
	c := w.acceptedChat(customer)
	if c.AgentWorker == w.workerSid(worker) {
		return c
	}
	status, body := w.Post(w.Services[0], "/transfer", c.AgentToken, c.form(w.workerSid(worker)))
	require.Equal(t, http.StatusOK, status, "%v", body)
	taskSid := body["taskSid"].(string)
	require.Equal(t, w.workerSid(worker), w.AcceptReservation(taskSid))
	w.Settle()
	ch := w.state().channel(c.Conversation)
	c.Task, c.AgentWorker = taskSid, w.workerSid(worker)
	c.AgentParticipant = ch.agent(c.AgentWorker).Sid
	c.AgentToken, _ = w.Token(worker)
	return c
}

// parkForm is the plugin's park request for c.
func (c chat) parkForm(workflowSid string) url.Values {
	return url.Values{
		"conversationSid": {c.Conversation}, "interactionSid": {c.Interaction}, "channelSid": {c.Channel},
		"participantSid": {c.AgentParticipant}, "taskSid": {c.Task}, "channelType": {"sms"},
		"workflowSid": {workflowSid}, "taskChannelUniqueName": {"sms"},
		"taskAttributes": {`{"from":"+15557000001","customerAddress":"+15557000001","channelType":"sms"}`},
	}
}

func TestParkChecksOwnershipAgainstTwilio(t *testing.T) {
	w := startTransferWorld(t, 1)
	alice := w.acceptedChat("+15557000001")
	flow := w.Seeded.DefaultWorkflowSID
	bobToken, bobSid := w.Token("bob")

	t.Run("another agent's conversation", func(t *testing.T) {
		body := w.refused(t, http.StatusForbidden, "/park-interaction", bobToken, alice.parkForm(flow))
		assert.Contains(t, body["error"].(map[string]any)["message"], alice.AgentWorker)
	})
	t.Run("another agent's conversation, naming themselves", func(t *testing.T) {
		f := alice.parkForm(flow)
		f.Set("workerSid", bobSid)
		w.refused(t, http.StatusForbidden, "/park-interaction", bobToken, f)
	})
	t.Run("a task of another conversation", func(t *testing.T) {
		other := w.acceptedChat("+15557000002")
		f := alice.parkForm(flow)
		f.Set("taskSid", other.Task)
		w.refused(t, http.StatusForbidden, "/park-interaction", alice.AgentToken, f)
	})
	t.Run("a channel of another interaction", func(t *testing.T) {
		other := w.acceptedChat("+15557000003")
		f := alice.parkForm(flow)
		f.Set("interactionSid", other.Interaction)
		w.refused(t, http.StatusNotFound, "/park-interaction", alice.AgentToken, f)
	})
	t.Run("a workflow that does not exist", func(t *testing.T) {
		body := w.refused(t, http.StatusBadRequest, "/park-interaction", alice.AgentToken, alice.parkForm("WW"+"0123456789abcdef0123456789abcdef"))
		assert.Contains(t, body["error"].(map[string]any)["message"], "workflowSid")
	})
	t.Run("a queue that does not exist", func(t *testing.T) {
		f := alice.parkForm(flow)
		f.Set("queueSid", "WQ0123456789abcdef0123456789abcdef")
		w.refused(t, http.StatusBadRequest, "/park-interaction", alice.AgentToken, f)
	})
	t.Run("a supervisor may park it", func(t *testing.T) {
		sup, _ := w.Token("carol", "supervisor")
		status, body := w.Post(w.Services[0], "/park-interaction", sup, alice.parkForm(flow))
		require.Equal(t, http.StatusOK, status, "%v", body)
		assert.Equal(t, alice.AgentWorker, body["park"].(map[string]any)["workerSid"], "the park is the seat's worker's, not the supervisor's")
	})
	t.Run("a replay tells only the parking agent", func(t *testing.T) {
		status, body := w.Post(w.Services[0], "/park-interaction", alice.AgentToken, alice.parkForm(flow))
		require.Equal(t, http.StatusOK, status, "%v", body)
		assert.Equal(t, true, body["alreadyParked"])
		// 409 (alice's participant has left the channel) or, where Flex
		// still lists closed participants, 403 (it is alice's): refused.
		w.Settle()
		before := w.twilioState()
		status, body = w.Post(w.Services[0], "/park-interaction", bobToken, alice.parkForm(flow))
		assert.Contains(t, []int{http.StatusConflict, http.StatusForbidden}, status, "%v", body)
		assert.NotContains(t, body, "park", "bob is told nothing of alice's park")
		w.Settle()
		assert.JSONEq(t, before, w.twilioState())
	})
}

func TestRightfulAgentParks(t *testing.T) {
	w := startTransferWorld(t, 1)
	alice := w.acceptedChat("+15557000001")
	f := alice.parkForm(w.Seeded.DefaultWorkflowSID)
	status, body := w.Post(w.Services[0], "/park-interaction", alice.AgentToken, f)
	require.Equal(t, http.StatusOK, status, "%v", body)
	assert.Equal(t, alice.AgentWorker, body["park"].(map[string]any)["workerSid"], "the worker comes from Flex's participant")
}

func TestTransferChecksOwnershipAgainstTwilio(t *testing.T) {
	w := startTransferWorld(t, 1)
	carolSid := w.workerSid("carol")
	aliceChat := w.acceptedChat("+15557000001")
	bobChat := w.seated(t, "+15557000002", "bob")

	t.Run("another conversation with the caller's own channel", func(t *testing.T) {
		f := bobChat.form(carolSid, "mode", "warm")
		f.Set("conversationSid", aliceChat.Conversation)
		w.refused(t, http.StatusForbidden, "/transfer", bobChat.AgentToken, f)
	})
	t.Run("another agent's channel", func(t *testing.T) {
		w.refused(t, http.StatusForbidden, "/transfer", bobChat.AgentToken, aliceChat.form(carolSid))
	})
	t.Run("the caller's own task with another conversation's channel", func(t *testing.T) {
		f := aliceChat.form(carolSid)
		f.Set("taskSid", bobChat.Task)
		w.refused(t, http.StatusForbidden, "/transfer", aliceChat.AgentToken, f)
	})
	t.Run("the plugin's JSON shape, another agent's interaction", func(t *testing.T) {
		w.Settle()
		before := w.twilioState()
		status, body := w.Post(w.Services[0], "/transferConversation", "", map[string]any{
			"Token": bobChat.AgentToken,
			"Payload": map[string]any{
				"interactionDetails": map[string]any{"flexInteractionSid": aliceChat.Interaction, "flexInteractionChannelSid": aliceChat.Channel,
					"flexInteractionParticipantSid": aliceChat.AgentParticipant},
				"transferDetails":            map[string]any{"transferTargetSid": carolSid, "transferTargetType": "worker"},
				"transferringWorkerSid":      bobChat.AgentWorker,
				"transferringTaskAttributes": map[string]any{"conversationSid": aliceChat.Conversation},
				"taskRouterChannel":          "sms",
			},
		})
		require.Equal(t, http.StatusForbidden, status, "%v", body)
		w.Settle()
		assert.JSONEq(t, before, w.twilioState())
	})
	t.Run("the rightful agent transfers, and carol's own transfer is not blocked", func(t *testing.T) {
		status, body := w.Post(w.Services[0], "/transfer", aliceChat.AgentToken, aliceChat.form(carolSid, "mode", "warm"))
		require.Equal(t, http.StatusOK, status, "%v", body)
		status, body = w.Post(w.Services[0], "/transfer/cancel", aliceChat.AgentToken, url.Values{"conversationSid": {aliceChat.Conversation}})
		require.Equal(t, http.StatusOK, status, "%v", body)
	})
}

// A signed reservation.accepted whose task carries a transfer record that
// no transfer claim vouches for (a holder can rewrite their own task's
// attributes) must not remove anyone (issue 12, finding 6).
func TestCraftedTransferRecordRemovesNobody(t *testing.T) {
	w := startTransferWorld(t, 1)
	alice := w.acceptedChat("+15557000001")
	bob := w.seated(t, "+15557000002", "bob")
	crafted := map[string]any{
		"conversationSid": bob.Conversation,
		webhooks.TransferTaskKey: map[string]any{
			"id": "TR0123456789abcdef01234567", "mode": "warm", "targetType": "worker", "targetSid": bob.AgentWorker,
			"workerSid": alice.AgentWorker, "participantSid": alice.AgentParticipant,
			"interactionSid": alice.Interaction, "channelSid": alice.Channel,
			"removeTransferringAgent": true, "closeWith": "closed",
		},
	}
	attrs, err := json.Marshal(crafted)
	require.NoError(t, err)
	w.Settle()
	before := w.twilioState()
	status, body := w.SignedPost(w.Services[0]+"/webhooks/reservation-accepted", url.Values{
		"EventType": {"reservation.accepted"}, "WorkspaceSid": {w.Seeded.WorkspaceSID}, "TaskSid": {bob.Task},
		"WorkerSid": {bob.AgentWorker}, "TaskAttributes": {string(attrs)},
	})
	require.Less(t, status, 300, "%v", body)
	w.Settle()
	assert.Equal(t, "active", w.state().channel(alice.Conversation).agent(alice.AgentWorker).Status, "alice stays with her customer")
	assert.JSONEq(t, before, w.twilioState(), "nothing changed")
}

// A park checks its workflow exists; when the workflow is deleted after the
// park, the customer's message still reaches an agent, through the
// workspace's default workflow (issue 12, finding 4).
func TestUnparkFallsBackWhenTheParksWorkflowIsGone(t *testing.T) {
	w := newWorld(t, 1)
	csid, worker := w.assigned("+15551239001", "sms")
	token, _ := w.flexToken(worker)
	def, err := w.Twilio.TaskrouterV1.FetchWorkflow(w.Seeded.WorkspaceSID, w.Seeded.DefaultWorkflowSID)
	require.NoError(t, err)
	flow, err := w.Twilio.TaskrouterV1.CreateWorkflow(w.Seeded.WorkspaceSID,
		(&taskrouterapi.CreateWorkflowParams{}).SetFriendlyName("Park Resume").SetConfiguration(*def.Configuration))
	require.NoError(t, err)
	form := w.parkForm(csid, worker)
	form.Set("workflowSid", *flow.Sid)
	status, body := w.post(w.services[0], "/park-interaction", token, form)
	require.Equal(t, http.StatusOK, status, body)
	require.NoError(t, w.Twilio.TaskrouterV1.DeleteWorkflow(w.Seeded.WorkspaceSID, *flow.Sid))

	w.inbound("+15551239001", "sms", "I'm back")
	w.settle()
	v := w.view(csid, worker)
	require.Len(t, v.Tasks, 2, "the customer's message made a task: %+v", v.Tasks)
	assert.Equal(t, w.Seeded.DefaultWorkflowSID, w.taskWorkflow(v.Tasks[1].Sid), "routed through the default workflow")
	assert.NotContains(t, v.Attributes, "flexhooksPark")
}
