package flex

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
	conversationsv1 "github.com/twilio/twilio-go/rest/conversations/v1"
	flexv1 "github.com/twilio/twilio-go/rest/flex/v1"
	taskrouterv1 "github.com/twilio/twilio-go/rest/taskrouter/v1"
)

// acceptPending accepts the task's pending reservation through the real
// TaskRouter API, as Flex UI does, and returns the reservation.
func (w *world) acceptPending(t *testing.T, taskSid string) taskrouterv1.TaskrouterV1TaskReservation {
	t.Helper()
	list, err := w.c.TaskrouterV1.ListTaskReservation(w.ws, taskSid, (&taskrouterv1.ListTaskReservationParams{}).SetReservationStatus("pending"))
	require.NoError(t, err)
	require.Len(t, list, 1, "one pending reservation for %s", taskSid)
	res, err := w.c.TaskrouterV1.UpdateTaskReservation(w.ws, taskSid, *list[0].Sid,
		(&taskrouterv1.UpdateTaskReservationParams{}).SetReservationStatus("accepted"))
	require.NoError(t, err)
	require.Equal(t, "accepted", *res.ReservationStatus)
	return *res
}

// conversationIdentities lists the conversation's chat identities (agents, chat customers).
func (w *world) conversationIdentities(t *testing.T, convSid string) []string {
	t.Helper()
	ps, err := w.c.ConversationsV1.ListConversationParticipant(convSid, &conversationsv1.ListConversationParticipantParams{})
	require.NoError(t, err)
	var ids []string
	for _, p := range ps {
		if p.Identity != nil {
			ids = append(ids, *p.Identity)
		}
	}
	return ids
}

func (w *world) conversationState(t *testing.T, convSid string) string {
	t.Helper()
	c, err := w.c.ConversationsV1.FetchConversation(convSid)
	require.NoError(t, err)
	return *c.State
}

// channelOf returns the interaction's only channel.
func (w *world) channelOf(t *testing.T, interactionSid string) flexv1.FlexV1InteractionChannel {
	t.Helper()
	chs, err := w.c.FlexV1.ListInteractionChannel(interactionSid, &flexv1.ListInteractionChannelParams{})
	require.NoError(t, err)
	require.Len(t, chs, 1)
	return chs[0]
}

func (w *world) participants(t *testing.T, interactionSid, channelSid string) []flexv1.FlexV1InteractionChannelParticipant {
	t.Helper()
	ps, err := w.c.FlexV1.ListInteractionChannelParticipant(interactionSid, channelSid, &flexv1.ListInteractionChannelParticipantParams{})
	require.NoError(t, err)
	return ps
}

// agentParticipant finds the channel's agent participant for a worker.
func (w *world) agentParticipant(t *testing.T, interactionSid, channelSid, workerSid string) (flexv1.FlexV1InteractionChannelParticipant, bool) {
	t.Helper()
	for _, p := range w.participants(t, interactionSid, channelSid) {
		if p.Type != nil && *p.Type == "agent" && p.RoutingProperties != nil {
			rp := asMap(t, *p.RoutingProperties)
			if rp["worker_sid"] == workerSid {
				return p, true
			}
		}
	}
	return flexv1.FlexV1InteractionChannelParticipant{}, false
}

// asMap turns a JSON value twilio-go decoded into interface{} into a map.
func asMap(t *testing.T, v any) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	require.True(t, ok, "want a JSON object, got %T", v)
	return m
}

// routingTaskSid digs routing.properties.sid out of a Flex routing object.
func routingTaskSid(t *testing.T, routing *interface{}) string {
	t.Helper()
	require.NotNil(t, routing)
	props := asMap(t, asMap(t, *routing)["properties"])
	sid, _ := props["sid"].(string)
	require.NotEmpty(t, sid)
	return sid
}

// taskAttrs fetches a task through the TaskRouter API and decodes its attributes.
func (w *world) taskAttrs(t *testing.T, taskSid string) map[string]any {
	t.Helper()
	tk, err := w.c.TaskrouterV1.FetchTask(w.ws, taskSid)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(*tk.Attributes), &m))
	return m
}
