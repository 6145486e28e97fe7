package flex

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twilio/twilio-go/client"
	flexv1 "github.com/twilio/twilio-go/rest/flex/v1"
)

// requireTwilioError checks a call failed the way Twilio fails it.
func requireTwilioError(t *testing.T, err error, status, code int) {
	t.Helper()
	require.Error(t, err)
	var te *client.TwilioRestError
	require.True(t, errors.As(err, &te), "want a Twilio REST error, got %v", err)
	assert.Equal(t, status, te.Status, te.Message)
	assert.Equal(t, code, te.Code, te.Message)
}

func TestBadInput(t *testing.T) {
	w := newWorld(t)
	res := w.inbound(t, InboundRequest{From: customerPhone, To: centrePhone, Channel: "sms", Body: "hello"})
	ch := w.channelOf(t, res.InteractionSid)
	unknownKD := "KD00000000000000000000000000000000"
	unknownUO := "UO00000000000000000000000000000000"
	unknownUT := "UT00000000000000000000000000000000"
	props := func(extra map[string]any) map[string]any {
		p := map[string]any{"workspace_sid": w.ws}
		for k, v := range extra {
			p[k] = v
		}
		return map[string]any{"properties": p}
	}

	cases := []struct {
		name   string
		call   func() error
		status int
		code   int
	}{
		{"unknown interaction", func() error { _, err := w.c.FlexV1.FetchInteraction(unknownKD); return err }, 404, 20404},
		{"malformed interaction SID", func() error { _, err := w.c.FlexV1.FetchInteraction("nope"); return err }, 404, 20404},
		{"unknown channel", func() error { _, err := w.c.FlexV1.FetchInteractionChannel(res.InteractionSid, unknownUO); return err }, 404, 20404},
		{"channel of another interaction", func() error { _, err := w.c.FlexV1.FetchInteractionChannel(unknownKD, *ch.Sid); return err }, 404, 20404},
		{"channels of an unknown interaction", func() error {
			_, err := w.c.FlexV1.ListInteractionChannel(unknownKD, &flexv1.ListInteractionChannelParams{})
			return err
		}, 404, 20404},
		{"unknown participant", func() error {
			_, err := w.c.FlexV1.UpdateInteractionChannelParticipant(res.InteractionSid, *ch.Sid, unknownUT,
				(&flexv1.UpdateInteractionChannelParticipantParams{}).SetStatus("closed"))
			return err
		}, 404, 20404},
		{"interaction without Channel", func() error { _, err := w.c.FlexV1.CreateInteraction(&flexv1.CreateInteractionParams{}); return err }, 400, 20001},
		{"interaction with a voice channel", func() error {
			_, err := w.c.FlexV1.CreateInteraction((&flexv1.CreateInteractionParams{}).SetChannel(map[string]any{"type": "voice", "initiated_by": "customer"}))
			return err
		}, 400, 20001},
		{"interaction on an unknown conversation", func() error {
			_, err := w.c.FlexV1.CreateInteraction((&flexv1.CreateInteractionParams{}).SetChannel(map[string]any{
				"type": "sms", "initiated_by": "customer", "properties": map[string]any{"media_channel_sid": "CH00000000000000000000000000000000"}}))
			return err
		}, 400, 20001},
		{"invite without Routing", func() error {
			_, err := w.c.FlexV1.CreateInteractionChannelInvite(res.InteractionSid, *ch.Sid, &flexv1.CreateInteractionChannelInviteParams{})
			return err
		}, 400, 20001},
		{"invite without workspace", func() error {
			_, err := w.c.FlexV1.CreateInteractionChannelInvite(res.InteractionSid, *ch.Sid,
				(&flexv1.CreateInteractionChannelInviteParams{}).SetRouting(map[string]any{"properties": map[string]any{}}))
			return err
		}, 400, 20001},
		{"invite to an unknown worker", func() error {
			_, err := w.c.FlexV1.CreateInteractionChannelInvite(res.InteractionSid, *ch.Sid,
				(&flexv1.CreateInteractionChannelInviteParams{}).SetRouting(props(map[string]any{"worker_sid": "WK00000000000000000000000000000000"})))
			return err
		}, 400, 20001},
		{"invite with attributes that are not an object", func() error {
			_, err := w.c.FlexV1.CreateInteractionChannelInvite(res.InteractionSid, *ch.Sid,
				(&flexv1.CreateInteractionChannelInviteParams{}).SetRouting(props(map[string]any{"attributes": []any{1}})))
			return err
		}, 400, 20001},
		{"invite with a bad priority", func() error {
			_, err := w.c.FlexV1.CreateInteractionChannelInvite(res.InteractionSid, *ch.Sid,
				(&flexv1.CreateInteractionChannelInviteParams{}).SetRouting(props(map[string]any{"priority": "high"})))
			return err
		}, 400, 20001},
		{"participant status not closed or wrapup", func() error {
			parts := w.participants(t, res.InteractionSid, *ch.Sid)
			_, err := w.c.FlexV1.UpdateInteractionChannelParticipant(res.InteractionSid, *ch.Sid, *parts[0].Sid,
				(&flexv1.UpdateInteractionChannelParticipantParams{}).SetStatus("active"))
			return err
		}, 400, 20001},
		{"participant without Type", func() error {
			_, err := w.c.FlexV1.CreateInteractionChannelParticipant(res.InteractionSid, *ch.Sid,
				(&flexv1.CreateInteractionChannelParticipantParams{}).SetMediaProperties(map[string]any{"identity": "x"}))
			return err
		}, 400, 20001},
		{"channel status not closed or inactive", func() error {
			_, err := w.c.FlexV1.UpdateInteractionChannel(res.InteractionSid, *ch.Sid, (&flexv1.UpdateInteractionChannelParams{}).SetStatus("active"))
			return err
		}, 400, 20001},
		{"inactive without routing", func() error {
			_, err := w.c.FlexV1.UpdateInteractionChannel(res.InteractionSid, *ch.Sid, (&flexv1.UpdateInteractionChannelParams{}).SetStatus("inactive"))
			return err
		}, 400, 20001},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { requireTwilioError(t, tc.call(), tc.status, tc.code) })
	}

	// None of that touched the contact.
	assert.Equal(t, "active", *w.channelOf(t, res.InteractionSid).Status)
	assert.Equal(t, "reserved", w.task(t, res.TaskSid).AssignmentStatus)
}

func TestInboundBadInput(t *testing.T) {
	w := newWorld(t)
	for _, req := range []InboundRequest{
		{From: "", To: centrePhone, Channel: "sms", Body: "x"},
		{From: customerPhone, To: "", Channel: "sms", Body: "x"},
		{From: customerPhone, To: centrePhone, Channel: "fax", Body: "x"},
		{From: customerPhone, To: centrePhone, Channel: "sms", Body: ""},
	} {
		var err error
		w.locked(func() {
			if _, e := w.flex.Inbound(req); e != nil {
				err = e
				assert.Equal(t, 400, e.Status, "%+v", req)
			}
		})
		assert.Error(t, err, "%+v", req)
	}
}

func TestAddingAParticipant(t *testing.T) {
	w := newWorld(t)
	res := w.inbound(t, InboundRequest{From: customerPhone, To: centrePhone, Channel: "sms", Body: "hello"})
	ch := w.channelOf(t, res.InteractionSid)
	carol := w.workerSid(t, "carol")

	p, err := w.c.FlexV1.CreateInteractionChannelParticipant(res.InteractionSid, *ch.Sid,
		(&flexv1.CreateInteractionChannelParticipantParams{}).SetType("supervisor").
			SetMediaProperties(map[string]any{"identity": "carol"}).
			SetRoutingProperties(map[string]any{"worker_sid": carol}))
	require.NoError(t, err)
	assert.Equal(t, "supervisor", *p.Type)
	assert.Contains(t, w.conversationIdentities(t, res.ConversationSid), "carol")
	assert.Len(t, w.participants(t, res.InteractionSid, *ch.Sid), 2)

	// Closing a participant without a task just takes it out.
	_, err = w.c.FlexV1.UpdateInteractionChannelParticipant(res.InteractionSid, *ch.Sid, *p.Sid,
		(&flexv1.UpdateInteractionChannelParticipantParams{}).SetStatus("closed"))
	require.NoError(t, err)
	assert.NotContains(t, w.conversationIdentities(t, res.ConversationSid), "carol")
	assert.Len(t, w.participants(t, res.InteractionSid, *ch.Sid), 1)
}
