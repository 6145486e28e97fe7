package flex

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	conversationsv1 "github.com/twilio/twilio-go/rest/conversations/v1"
	flexv1 "github.com/twilio/twilio-go/rest/flex/v1"
	taskrouterv1 "github.com/twilio/twilio-go/rest/taskrouter/v1"

	"github.com/flexhooks/flexhooks/internal/emulator/conversations"
)

func conversationParams(w *world) conversations.ConversationParams {
	return conversations.ConversationParams{ServiceSid: w.conv.DefaultServiceSID()}
}

func participantParams(address, proxy string) conversations.ParticipantParams {
	return conversations.ParticipantParams{Address: address, ProxyAddress: proxy}
}

func TestClosingTheChannelClosesTheConversation(t *testing.T) {
	for _, tc := range []struct {
		name     string
		routing  any
		wantTask string
	}{
		{"routing closed completes the task", map[string]any{"status": "closed"}, "completed"},
		{"default wraps the task up", nil, "wrapping"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			res := w.inbound(t, InboundRequest{From: customerPhone, To: centrePhone, Channel: "sms", Body: "hello"})
			w.acceptPending(t, res.TaskSid)
			ch := w.channelOf(t, res.InteractionSid)

			params := (&flexv1.UpdateInteractionChannelParams{}).SetStatus("closed")
			if tc.routing != nil {
				params.SetRouting(tc.routing)
			}
			got, err := w.c.FlexV1.UpdateInteractionChannel(res.InteractionSid, *ch.Sid, params)
			require.NoError(t, err)
			assert.Equal(t, "closed", *got.Status)
			assert.Equal(t, "closed", w.conversationState(t, res.ConversationSid))
			assert.Equal(t, tc.wantTask, w.task(t, res.TaskSid).AssignmentStatus)

			// Closing again is harmless.
			_, err = w.c.FlexV1.UpdateInteractionChannel(res.InteractionSid, *ch.Sid, (&flexv1.UpdateInteractionChannelParams{}).SetStatus("closed"))
			require.NoError(t, err)
		})
	}
}

func TestClosingTheChannelCancelsAWaitingTask(t *testing.T) {
	w := newWorld(t)
	res := w.inbound(t, InboundRequest{From: customerPhone, To: centrePhone, Channel: "sms", Body: "hello"})
	ch := w.channelOf(t, res.InteractionSid)
	_, err := w.c.FlexV1.UpdateInteractionChannel(res.InteractionSid, *ch.Sid, (&flexv1.UpdateInteractionChannelParams{}).SetStatus("closed"))
	require.NoError(t, err)
	assert.Equal(t, "canceled", w.task(t, res.TaskSid).AssignmentStatus, "nobody held it, so there is nothing to wrap up")
}

func TestInactiveChannelCompletesTasksAndKeepsTheConversation(t *testing.T) {
	w := newWorld(t)
	res := w.inbound(t, InboundRequest{From: customerPhone, To: centrePhone, Channel: "sms", Body: "hello"})
	w.acceptPending(t, res.TaskSid)
	ch := w.channelOf(t, res.InteractionSid)

	got, err := w.c.FlexV1.UpdateInteractionChannel(res.InteractionSid, *ch.Sid,
		(&flexv1.UpdateInteractionChannelParams{}).SetStatus("inactive").SetRouting(map[string]any{"status": "closed"}))
	require.NoError(t, err)
	assert.Equal(t, "inactive", *got.Status)
	assert.Equal(t, "completed", w.task(t, res.TaskSid).AssignmentStatus)
	assert.Equal(t, "active", w.conversationState(t, res.ConversationSid))
	assert.Empty(t, w.conversationIdentities(t, res.ConversationSid))
}

func TestCompletingTheTaskElsewhereClosesTheAgentParticipant(t *testing.T) {
	w := newWorld(t)
	res := w.inbound(t, InboundRequest{From: customerPhone, To: centrePhone, Channel: "sms", Body: "hello"})
	rsv := w.acceptPending(t, res.TaskSid)
	ch := w.channelOf(t, res.InteractionSid)

	_, err := w.c.TaskrouterV1.UpdateTask(w.ws, res.TaskSid, (&taskrouterv1.UpdateTaskParams{}).SetAssignmentStatus("completed").SetReason("done"))
	require.NoError(t, err)
	_, listed := w.agentParticipant(t, res.InteractionSid, *ch.Sid, *rsv.WorkerSid)
	assert.False(t, listed)
	// Flex removes agents only through the Interactions API: the agent is still in the conversation.
	assert.Len(t, w.conversationIdentities(t, res.ConversationSid), 1)
}

func TestSnapshotShowsInteractionsChannelsParticipantsInvites(t *testing.T) {
	w := newWorld(t)
	res := w.inbound(t, InboundRequest{From: customerPhone, To: centrePhone, Channel: "sms", Body: "hello"})
	w.acceptPending(t, res.TaskSid)

	var raw []byte
	w.locked(func() {
		var err error
		raw, err = json.Marshal(w.flex.Snapshot())
		require.NoError(t, err)
	})
	var snap struct {
		Interactions []struct {
			Sid     string `json:"sid"`
			Channel struct {
				Sid             string `json:"sid"`
				Status          string `json:"status"`
				ConversationSid string `json:"conversationSid"`
				Participants    []struct {
					Type    string `json:"type"`
					Status  string `json:"status"`
					TaskSid string `json:"taskSid"`
				} `json:"participants"`
				Invites []struct {
					Sid     string `json:"sid"`
					TaskSid string `json:"taskSid"`
				} `json:"invites"`
			} `json:"channel"`
		} `json:"interactions"`
	}
	require.NoError(t, json.Unmarshal(raw, &snap))
	require.Len(t, snap.Interactions, 1)
	in := snap.Interactions[0]
	assert.Equal(t, res.InteractionSid, in.Sid)
	assert.Equal(t, res.ConversationSid, in.Channel.ConversationSid)
	assert.Equal(t, "active", in.Channel.Status)
	require.Len(t, in.Channel.Participants, 2)
	assert.Equal(t, "customer", in.Channel.Participants[0].Type)
	assert.Equal(t, "agent", in.Channel.Participants[1].Type)
	assert.Equal(t, res.TaskSid, in.Channel.Participants[1].TaskSid)
	require.Len(t, in.Channel.Invites, 1)
	assert.Equal(t, res.TaskSid, in.Channel.Invites[0].TaskSid)
}

func TestClosingTheConversationClosesTheChannel(t *testing.T) {
	w := newWorld(t)
	res := w.inbound(t, InboundRequest{From: customerPhone, To: centrePhone, Channel: "sms", Body: "hello"})
	w.acceptPending(t, res.TaskSid)

	// The conversation closes on its own side (its inactivity timer, or a REST update as here).
	_, err := w.c.ConversationsV1.UpdateConversation(res.ConversationSid, (&conversationsv1.UpdateConversationParams{}).SetState("closed"))
	require.NoError(t, err)

	assert.Equal(t, "closed", *w.channelOf(t, res.InteractionSid).Status)
	assert.Equal(t, "wrapping", w.task(t, res.TaskSid).AssignmentStatus, "the agent wraps up, as in Flex")
}
