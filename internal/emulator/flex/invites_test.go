package flex

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	flexv1 "github.com/twilio/twilio-go/rest/flex/v1"
	taskrouterv1 "github.com/twilio/twilio-go/rest/taskrouter/v1"
)

func TestInviteCreatesATaskWithItsAttributes(t *testing.T) {
	w := newWorld(t)
	res := w.inbound(t, InboundRequest{From: customerPhone, To: centrePhone, Channel: "sms", Body: "hello"})
	ch := w.channelOf(t, res.InteractionSid)

	inv, err := w.c.FlexV1.CreateInteractionChannelInvite(res.InteractionSid, *ch.Sid,
		(&flexv1.CreateInteractionChannelInviteParams{}).SetRouting(map[string]any{"properties": map[string]any{
			"workspace_sid":            w.ws,
			"workflow_sid":             w.workflowSid(t, "Chat Transfer"),
			"task_channel_unique_name": "sms",
			"priority":                 5,
			"attributes":               map[string]any{"customerName": "Zed", "transferTargetType": "queue", "transferQueueName": "Sales"},
		}}))
	require.NoError(t, err)
	taskSid := routingTaskSid(t, inv.Routing)
	assert.NotEqual(t, res.TaskSid, taskSid, "an invite makes a new task")

	attrs := w.taskAttrs(t, taskSid)
	assert.Equal(t, "Zed", attrs["customerName"], "the invite's attributes are on the task as is")
	assert.Equal(t, "Sales", attrs["transferQueueName"])
	assert.Equal(t, *inv.Sid, attrs["flexChannelInviteSid"])
	assert.Equal(t, res.ConversationSid, attrs["conversationSid"])
	assert.Equal(t, res.InteractionSid, attrs["flexInteractionSid"])
	assert.Equal(t, *ch.Sid, attrs["flexInteractionChannelSid"])
	assert.NotContains(t, attrs, "customerAddress", "Flex does not carry the first task's attributes over to an invite's task")

	task := w.task(t, taskSid)
	assert.Equal(t, 5, task.Priority)
	assert.Equal(t, w.queueSid(t, "Sales"), task.QueueSid, "routed by the workflow it named")

	invites, err := w.c.FlexV1.ListInteractionChannelInvite(res.InteractionSid, *ch.Sid, &flexv1.ListInteractionChannelInviteParams{})
	require.NoError(t, err)
	require.Len(t, invites, 2, "the inbound contact's own invite, then this one")
	assert.Equal(t, *inv.Sid, *invites[1].Sid)
}

func TestInviteWithWorkerSidGoesToThatWorker(t *testing.T) {
	w := newWorld(t)
	res := w.inbound(t, InboundRequest{From: customerPhone, To: centrePhone, Channel: "sms", Body: "hello"})
	ch := w.channelOf(t, res.InteractionSid)
	carol := w.workerSid(t, "carol")

	inv, err := w.c.FlexV1.CreateInteractionChannelInvite(res.InteractionSid, *ch.Sid,
		(&flexv1.CreateInteractionChannelInviteParams{}).SetRouting(map[string]any{"properties": map[string]any{
			"workspace_sid":            w.ws,
			"worker_sid":               carol,
			"queue_sid":                w.queueSid(t, "Everyone"),
			"task_channel_unique_name": "sms",
			"attributes":               `{"note":"unpark to carol"}`,
		}}))
	require.NoError(t, err)
	taskSid := routingTaskSid(t, inv.Routing)

	list, err := w.c.TaskrouterV1.ListTaskReservation(w.ws, taskSid, &taskrouterv1.ListTaskReservationParams{})
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, carol, *list[0].WorkerSid, "bob was idle longer, but the invite named carol")
	assert.Equal(t, "unpark to carol", w.taskAttrs(t, taskSid)["note"], "attributes given as JSON text work too")

	rsv := w.acceptPending(t, taskSid)
	assert.Equal(t, carol, *rsv.WorkerSid)
	assert.Contains(t, w.conversationIdentities(t, res.ConversationSid), "carol")
}

func TestInteractionOnAnExistingConversation(t *testing.T) {
	w := newWorld(t)
	// A conversation made elsewhere (e.g. by a Studio flow) is handed to Flex.
	var convSid string
	w.locked(func() {
		c, err := w.conv.CreateConversation(conversationParams(w))
		require.Nil(t, err)
		_, err = w.conv.AddParticipant(c.Sid, participantParams("+15550004444", centrePhone))
		require.Nil(t, err)
		convSid = c.Sid
	})
	in, err := w.c.FlexV1.CreateInteraction((&flexv1.CreateInteractionParams{}).
		SetChannel(map[string]any{"type": "sms", "initiated_by": "customer", "properties": map[string]any{"media_channel_sid": convSid}}).
		SetRouting(map[string]any{"properties": map[string]any{
			"workspace_sid":            w.ws,
			"workflow_sid":             w.workflowSid(t, "Assign to Anyone"),
			"task_channel_unique_name": "sms",
			"attributes":               map[string]any{"from": "+15550004444", "customerName": "Erin"},
		}}))
	require.NoError(t, err)
	taskSid := routingTaskSid(t, in.Routing)
	attrs := w.taskAttrs(t, taskSid)
	assert.Equal(t, convSid, attrs["conversationSid"])
	assert.Equal(t, "Erin", attrs["customerName"], "the caller's attributes win over Flex's defaults")
	assert.Equal(t, "+15550004444", attrs["customerAddress"], "Flex fills in what the caller left out")
	assert.Equal(t, *in.Sid, attrs["flexInteractionSid"])

	rsv := w.acceptPending(t, taskSid)
	worker, err := w.c.TaskrouterV1.FetchWorker(w.ws, *rsv.WorkerSid)
	require.NoError(t, err)
	assert.Contains(t, w.conversationIdentities(t, convSid), *worker.FriendlyName)
}

func TestAgentInitiatedOutboundInteraction(t *testing.T) {
	w := newWorld(t)
	bob := w.workerSid(t, "bob")
	in, err := w.c.FlexV1.CreateInteraction((&flexv1.CreateInteractionParams{}).
		SetChannel(map[string]any{"type": "sms", "initiated_by": "agent",
			"participants": []any{map[string]any{"address": "+15550005555", "proxy_address": centrePhone}}}).
		SetRouting(map[string]any{"properties": map[string]any{
			"workspace_sid":            w.ws,
			"worker_sid":               bob,
			"queue_sid":                w.queueSid(t, "Everyone"),
			"task_channel_unique_name": "sms",
			"attributes":               map[string]any{"customerName": "Finn"},
		}}))
	require.NoError(t, err)
	taskSid := routingTaskSid(t, in.Routing)
	attrs := w.taskAttrs(t, taskSid)
	assert.Equal(t, "outbound", attrs["direction"])
	assert.Equal(t, "+15550005555", attrs["customerAddress"])
	convSid := attrs["conversationSid"].(string)

	rsv := w.acceptPending(t, taskSid)
	assert.Equal(t, bob, *rsv.WorkerSid)
	assert.Contains(t, w.conversationIdentities(t, convSid), "bob")

	// The customer's reply joins the conversation the agent started.
	res := w.inbound(t, InboundRequest{From: "+15550005555", To: centrePhone, Channel: "sms", Body: "hi bob"})
	assert.Equal(t, convSid, res.ConversationSid)
	assert.Empty(t, res.TaskSid)
}
