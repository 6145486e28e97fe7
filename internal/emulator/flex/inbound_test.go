package flex

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	conversationsv1 "github.com/twilio/twilio-go/rest/conversations/v1"
	flexv1 "github.com/twilio/twilio-go/rest/flex/v1"

	"github.com/flexhooks/flexhooks/internal/emulator/core"
)

const (
	customerPhone = "+15550001111"
	centrePhone   = "+15559990000"
)

func TestInboundCreatesConversationInteractionAndTask(t *testing.T) {
	w := newWorld(t)
	res := w.inbound(t, InboundRequest{From: customerPhone, To: centrePhone, Channel: "sms", Body: "hello"})

	assert.True(t, core.ValidSID("CH", res.ConversationSid), res.ConversationSid)
	assert.True(t, core.ValidSID("IM", res.MessageSid), res.MessageSid)
	assert.True(t, core.ValidSID("KD", res.InteractionSid), res.InteractionSid)
	assert.True(t, core.ValidSID("WT", res.TaskSid), res.TaskSid)

	// The conversation holds the customer's SMS binding and the message.
	ps, err := w.c.ConversationsV1.ListConversationParticipant(res.ConversationSid, &conversationsv1.ListConversationParticipantParams{})
	require.NoError(t, err)
	require.Len(t, ps, 1)
	binding := asMap(t, *ps[0].MessagingBinding)
	assert.Equal(t, customerPhone, binding["address"])
	assert.Equal(t, centrePhone, binding["proxy_address"])
	assert.Equal(t, "active", w.conversationState(t, res.ConversationSid))

	// The interaction shows its channel and the task under routing.properties.
	in, err := w.c.FlexV1.FetchInteraction(res.InteractionSid)
	require.NoError(t, err)
	assert.Equal(t, res.TaskSid, routingTaskSid(t, in.Routing))
	ch := w.channelOf(t, res.InteractionSid)
	assert.Equal(t, "sms", *ch.Type)
	assert.Equal(t, "active", *ch.Status)
	assert.Equal(t, asMap(t, *in.Channel)["sid"], *ch.Sid)

	// The customer is the channel's one participant.
	parts := w.participants(t, res.InteractionSid, *ch.Sid)
	require.Len(t, parts, 1)
	assert.Equal(t, "customer", *parts[0].Type)

	// The task carries the attributes Flex sets and was routed by the default workflow.
	attrs := w.taskAttrs(t, res.TaskSid)
	assert.Equal(t, res.ConversationSid, attrs["conversationSid"])
	assert.Equal(t, res.InteractionSid, attrs["flexInteractionSid"])
	assert.Equal(t, *ch.Sid, attrs["flexInteractionChannelSid"])
	assert.True(t, core.ValidSID("KG", attrs["flexChannelInviteSid"].(string)))
	assert.Equal(t, "sms", attrs["channelType"])
	assert.Equal(t, customerPhone, attrs["from"])
	assert.Equal(t, "inbound", attrs["direction"])
	assert.Equal(t, customerPhone, attrs["customerAddress"])
	assert.Equal(t, customerPhone, attrs["customerName"])
	task := w.task(t, res.TaskSid)
	assert.Equal(t, w.workflowSid(t, "Assign to Anyone"), task.WorkflowSid)
	assert.Equal(t, "sms", task.TaskChannelUniqueName)
	assert.Equal(t, "reserved", task.AssignmentStatus, "an available worker was offered the task")
}

func TestSecondInboundJoinsTheOpenConversation(t *testing.T) {
	w := newWorld(t)
	first := w.inbound(t, InboundRequest{From: customerPhone, To: centrePhone, Channel: "sms", Body: "hello"})
	second := w.inbound(t, InboundRequest{From: customerPhone, To: centrePhone, Channel: "sms", Body: "anyone there?"})

	assert.Equal(t, first.ConversationSid, second.ConversationSid)
	assert.NotEqual(t, first.MessageSid, second.MessageSid)
	assert.Empty(t, second.InteractionSid, "no new interaction for a conversation already open")
	assert.Empty(t, second.TaskSid)

	msgs, err := w.c.ConversationsV1.ListConversationMessage(first.ConversationSid, &conversationsv1.ListConversationMessageParams{})
	require.NoError(t, err)
	require.Len(t, msgs, 2)
	assert.Equal(t, customerPhone, *msgs[1].Author)
	assert.Equal(t, "anyone there?", *msgs[1].Body)

	// Another customer gets a conversation of their own.
	other := w.inbound(t, InboundRequest{From: "+15550002222", To: centrePhone, Channel: "sms", Body: "hi"})
	assert.NotEqual(t, first.ConversationSid, other.ConversationSid)
	assert.NotEmpty(t, other.TaskSid)
}

func TestInboundChannels(t *testing.T) {
	w := newWorld(t)
	cases := []struct {
		req         InboundRequest
		wantAuthor  string
		channelType string
		taskChannel string
	}{
		{InboundRequest{From: "+15550003333", To: "+15559990001", Channel: "whatsapp", Body: "hi"}, "whatsapp:+15550003333", "whatsapp", "chat"},
		{InboundRequest{From: "messenger:1234", To: "messenger:5678", Channel: "messenger", Body: "hi"}, "messenger:1234", "messenger", "chat"},
		{InboundRequest{From: "dana", Channel: "chat", Body: "hi"}, "dana", "web", "chat"},
	}
	for _, tc := range cases {
		t.Run(tc.req.Channel, func(t *testing.T) {
			res := w.inbound(t, tc.req)
			require.NotEmpty(t, res.TaskSid)
			attrs := w.taskAttrs(t, res.TaskSid)
			assert.Equal(t, tc.wantAuthor, attrs["customerAddress"])
			assert.Equal(t, tc.channelType, attrs["channelType"])
			assert.Equal(t, tc.taskChannel, w.task(t, res.TaskSid).TaskChannelUniqueName)
			msgs, err := w.c.ConversationsV1.ListConversationMessage(res.ConversationSid, &conversationsv1.ListConversationMessageParams{})
			require.NoError(t, err)
			require.Len(t, msgs, 1)
			assert.Equal(t, tc.wantAuthor, *msgs[0].Author)

			// The same customer writing again (with or without the prefix) joins it.
			again := tc.req
			again.Body = "again"
			assert.Equal(t, res.ConversationSid, w.inbound(t, again).ConversationSid)
		})
	}
}

func TestAcceptingTheReservationAddsTheAgent(t *testing.T) {
	w := newWorld(t)
	res := w.inbound(t, InboundRequest{From: customerPhone, To: centrePhone, Channel: "sms", Body: "hello"})
	rsv := w.acceptPending(t, res.TaskSid)
	worker, err := w.c.TaskrouterV1.FetchWorker(w.ws, *rsv.WorkerSid)
	require.NoError(t, err)

	// The worker joined the conversation under its identity (contact_uri without client:) …
	assert.Contains(t, w.conversationIdentities(t, res.ConversationSid), *worker.FriendlyName)
	// … and the channel as an agent participant pointing at its task and reservation.
	ch := w.channelOf(t, res.InteractionSid)
	agent, ok := w.agentParticipant(t, res.InteractionSid, *ch.Sid, *rsv.WorkerSid)
	require.True(t, ok, "agent participant for %s", *rsv.WorkerSid)
	rp := asMap(t, *agent.RoutingProperties)
	assert.Equal(t, res.TaskSid, rp["task_sid"])
	assert.Equal(t, *rsv.Sid, rp["reservation_sid"])
	assert.Equal(t, "assigned", w.task(t, res.TaskSid).AssignmentStatus)
}

func TestClosingTheAgentParticipantParksTheConversation(t *testing.T) {
	w := newWorld(t)
	res := w.inbound(t, InboundRequest{From: customerPhone, To: centrePhone, Channel: "sms", Body: "hello"})
	rsv := w.acceptPending(t, res.TaskSid)
	ch := w.channelOf(t, res.InteractionSid)
	agent, ok := w.agentParticipant(t, res.InteractionSid, *ch.Sid, *rsv.WorkerSid)
	require.True(t, ok)
	identities := w.conversationIdentities(t, res.ConversationSid)
	require.Len(t, identities, 1)

	_, err := w.c.FlexV1.UpdateInteractionChannelParticipant(res.InteractionSid, *ch.Sid, *agent.Sid,
		(&flexv1.UpdateInteractionChannelParticipantParams{}).SetStatus("closed"))
	require.NoError(t, err)

	assert.Equal(t, "completed", w.task(t, res.TaskSid).AssignmentStatus)
	assert.Empty(t, w.conversationIdentities(t, res.ConversationSid), "the agent left the conversation")
	assert.Equal(t, "active", w.conversationState(t, res.ConversationSid), "the customer's conversation stays open")
	assert.Equal(t, "active", *w.channelOf(t, res.InteractionSid).Status)
	_, still := w.agentParticipant(t, res.InteractionSid, *ch.Sid, *rsv.WorkerSid)
	assert.False(t, still, "a closed participant is no longer listed")

	// A retried park changes nothing and still answers 200.
	_, err = w.c.FlexV1.UpdateInteractionChannelParticipant(res.InteractionSid, *ch.Sid, *agent.Sid,
		(&flexv1.UpdateInteractionChannelParticipantParams{}).SetStatus("closed"))
	require.NoError(t, err)

	// The customer writing again lands in the same (parked) conversation, with no new task.
	again := w.inbound(t, InboundRequest{From: customerPhone, To: centrePhone, Channel: "sms", Body: "back"})
	assert.Equal(t, res.ConversationSid, again.ConversationSid)
	assert.Empty(t, again.TaskSid)
}

func TestWrapupParticipantWrapsUpTheTask(t *testing.T) {
	w := newWorld(t)
	res := w.inbound(t, InboundRequest{From: "dana", Channel: "chat", Body: "hello"})
	rsv := w.acceptPending(t, res.TaskSid)
	ch := w.channelOf(t, res.InteractionSid)
	agent, ok := w.agentParticipant(t, res.InteractionSid, *ch.Sid, *rsv.WorkerSid)
	require.True(t, ok)

	_, err := w.c.FlexV1.UpdateInteractionChannelParticipant(res.InteractionSid, *ch.Sid, *agent.Sid,
		(&flexv1.UpdateInteractionChannelParticipantParams{}).SetStatus("wrapup"))
	require.NoError(t, err)
	assert.Equal(t, "wrapping", w.task(t, res.TaskSid).AssignmentStatus)
	assert.Equal(t, []string{"dana"}, w.conversationIdentities(t, res.ConversationSid), "only the customer remains")
	_, listed := w.agentParticipant(t, res.InteractionSid, *ch.Sid, *rsv.WorkerSid)
	assert.True(t, listed, "an agent in wrap-up is still a participant")
}
