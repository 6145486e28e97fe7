package flex

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	twclient "github.com/twilio/twilio-go/client"
	flexv1 "github.com/twilio/twilio-go/rest/flex/v1"
	taskrouterv1 "github.com/twilio/twilio-go/rest/taskrouter/v1"

	"github.com/flexhooks/flexhooks/internal/emulator/emutest"
)

// "When you specify a worker SID in your Interactions invite and that agent
// declines the invite …, the created task gets canceled but the
// conversation remains active without an agent." (Flex Conversations best
// practices.) The task does not go back to waiting for another agent.
func TestDeclinedWorkerInviteCancelsItsTask(t *testing.T) {
	w := newWorld(t)
	res := w.inbound(t, InboundRequest{From: customerPhone, To: centrePhone, Channel: "sms", Body: "hello"})
	ch := w.channelOf(t, res.InteractionSid)
	bob := w.workerSid(t, "bob")
	_, err := w.c.TaskrouterV1.UpdateTask(w.ws, res.TaskSid, (&taskrouterv1.UpdateTaskParams{}).SetAssignmentStatus("canceled"))
	require.NoError(t, err)

	inv, err := w.c.FlexV1.CreateInteractionChannelInvite(res.InteractionSid, *ch.Sid,
		(&flexv1.CreateInteractionChannelInviteParams{}).SetRouting(map[string]any{"properties": map[string]any{
			"workspace_sid": w.ws, "worker_sid": bob, "queue_sid": w.queueSid(t, "Everyone"), "task_channel_unique_name": "sms",
		}}))
	require.NoError(t, err)
	taskSid := routingTaskSid(t, inv.Routing)
	rsv, err := w.c.TaskrouterV1.ListTaskReservation(w.ws, taskSid, nil)
	require.NoError(t, err)
	require.Len(t, rsv, 1)
	_, err = w.c.TaskrouterV1.UpdateTaskReservation(w.ws, taskSid, *rsv[0].Sid, (&taskrouterv1.UpdateTaskReservationParams{}).SetReservationStatus("rejected"))
	require.NoError(t, err)

	task := w.task(t, taskSid)
	assert.Equal(t, "canceled", task.AssignmentStatus)
	assert.Equal(t, "active", w.conversationState(t, res.ConversationSid), "the conversation stays, without an agent")
	assert.NotContains(t, w.conversationIdentities(t, res.ConversationSid), "bob")
}

// An interaction channel is deleted after 180 days without an update to it;
// activity in the conversation alone does not keep it (park-an-interaction).
func TestInteractionChannelExpiresAfter180Days(t *testing.T) {
	w := newWorld(t)
	res := w.inbound(t, InboundRequest{From: customerPhone, To: centrePhone, Channel: "sms", Body: "hello"})
	ch := w.channelOf(t, res.InteractionSid)
	advance := func(d time.Duration) { emutest.Advance(w.env, d) }

	advance(179 * 24 * time.Hour)
	_, err := w.c.FlexV1.FetchInteractionChannel(res.InteractionSid, *ch.Sid)
	require.NoError(t, err, "179 days: still there")
	// An invite is an update to the channel: the 180 days start again.
	_, err = w.c.FlexV1.CreateInteractionChannelInvite(res.InteractionSid, *ch.Sid,
		(&flexv1.CreateInteractionChannelInviteParams{}).SetRouting(map[string]any{"properties": map[string]any{
			"workspace_sid": w.ws, "workflow_sid": w.workflowSid(t, "Assign to Anyone"), "task_channel_unique_name": "sms",
		}}))
	require.NoError(t, err)
	advance(179 * 24 * time.Hour)
	_, err = w.c.FlexV1.FetchInteractionChannel(res.InteractionSid, *ch.Sid)
	require.NoError(t, err)

	advance(24*time.Hour + time.Second)
	_, err = w.c.FlexV1.FetchInteractionChannel(res.InteractionSid, *ch.Sid)
	var te *twclient.TwilioRestError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, http.StatusNotFound, te.Status)
	_, err = w.c.FlexV1.ListInteractionChannelParticipant(res.InteractionSid, *ch.Sid, nil)
	require.ErrorAs(t, err, &te)
	assert.Equal(t, http.StatusNotFound, te.Status)
	_, err = w.c.ConversationsV1.FetchConversation(res.ConversationSid)
	require.NoError(t, err, "the conversation is Conversations', and stays")
}

// Whether a closed interaction participant is still listed is undocumented
// (no status field in the list's schema): with the switch on it is.
func TestVariantClosedParticipantsListed(t *testing.T) {
	w := newWorld(t)
	res := w.inbound(t, InboundRequest{From: customerPhone, To: centrePhone, Channel: "sms", Body: "hello"})
	ch := w.channelOf(t, res.InteractionSid)
	w.acceptPending(t, res.TaskSid)
	bob, ok := w.agentParticipant(t, res.InteractionSid, *ch.Sid, w.workerSid(t, "bob"))
	if !ok {
		bob, ok = w.agentParticipant(t, res.InteractionSid, *ch.Sid, w.workerSid(t, "alice"))
	}
	require.True(t, ok, "the accepting agent is a participant")
	_, err := w.c.FlexV1.UpdateInteractionChannelParticipant(res.InteractionSid, *ch.Sid, *bob.Sid,
		(&flexv1.UpdateInteractionChannelParticipantParams{}).SetStatus("closed"))
	require.NoError(t, err)
	assert.Len(t, w.participants(t, res.InteractionSid, *ch.Sid), 1, "default: only the customer")
	w.locked(func() { w.env.Behaviour.ClosedParticipantsListed = true })
	assert.Len(t, w.participants(t, res.InteractionSid, *ch.Sid), 2, "the closed agent too")
}
