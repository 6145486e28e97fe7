package webhooks

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flexhooks/flexhooks"
)

func TestValidSID(t *testing.T) {
	tests := []struct {
		prefix, s string
		want      bool
	}{
		{"CH", "CH0123456789abcdef0123456789ABCDEF", true},
		{"CH", "CH0123456789abcdef0123456789abcde", false},   // 31 digits
		{"CH", "CH0123456789abcdef0123456789abcdef0", false}, // 33
		{"CH", "KD0123456789abcdef0123456789abcdef", false},
		{"CH", "CH0123456789abcdef0123456789abcdeg", false},
		{"CH", "", false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, validSID(tt.prefix, tt.s), tt.s)
	}
}

func validParkRequest() ParkRequest {
	rec := testRecord()
	return ParkRequest{
		ConversationSid:       rec.ConversationSid,
		InteractionSid:        rec.InteractionSid,
		ChannelSid:            rec.ChannelSid,
		ParticipantSid:        rec.ParticipantSid,
		ChannelType:           "WhatsApp",
		TaskSid:               rec.TaskSid,
		WorkflowSid:           rec.WorkflowSid,
		TaskChannelUniqueName: "chat",
		QueueName:             "Support",
		QueueSid:              rec.QueueSid,
		TaskAttributes:        jsonField{JSON: flexhooks.JSON(`{"from":"+1555","channelType":"whatsapp"}`)},
		WorkerSid:             rec.WorkerSid,
	}
}

func TestParkRequestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*ParkRequest)
		fields []string // the fields the 400 must name; none: valid
	}{
		{"valid", func(*ParkRequest) {}, nil},
		{"everything missing", func(r *ParkRequest) { *r = ParkRequest{} },
			[]string{"conversationSid", "interactionSid", "channelSid", "participantSid", "workflowSid", "taskChannelUniqueName", "taskAttributes", "channelType"}},
		{"malformed SIDs", func(r *ParkRequest) {
			r.ConversationSid, r.InteractionSid, r.ChannelSid, r.ParticipantSid = "CHx", "CH00000000000000000000000000000001", "UO1", "WK00000000000000000000000000000001"
			r.TaskSid, r.QueueSid, r.WorkflowSid, r.WorkerSid = "WTnope", "WQ", "WW0", "WQ00000000000000000000000000000001"
		}, []string{"conversationSid", "interactionSid", "channelSid", "participantSid", "taskSid", "queueSid", "workflowSid", "workerSid"}},
		{"taskAttributes not an object", func(r *ParkRequest) { r.TaskAttributes = jsonField{JSON: flexhooks.JSON(`[1]`)} }, []string{"taskAttributes"}},
		{"taskAttributes without the customer", func(r *ParkRequest) {
			r.TaskAttributes = jsonField{JSON: flexhooks.JSON(`{"channelType":"sms"}`)}
		}, []string{"taskAttributes"}},
		{"channelType from the task attributes", func(r *ParkRequest) { r.ChannelType = "" }, nil},
		{"no channelType anywhere", func(r *ParkRequest) {
			r.ChannelType = ""
			r.TaskAttributes = jsonField{JSON: flexhooks.JSON(`{"from":"+1555"}`)}
		}, []string{"channelType"}},
		{"workerSid is optional: Flex's participant names the agent", func(r *ParkRequest) { r.WorkerSid = "" }, nil},
		{"unparkAt as a duration", func(r *ParkRequest) { r.UnparkAt = "PT2H" }, nil},
		{"unparkAt as a time", func(r *ParkRequest) { r.UnparkAt = "2026-12-05T09:00:00Z" }, nil},
		{"unparkAt in the past", func(r *ParkRequest) { r.UnparkAt = "2026-12-01T09:00:00Z" }, []string{"unparkAt"}},
		{"unparkAt under a minute away", func(r *ParkRequest) { r.UnparkAt = "PT30S" }, []string{"unparkAt"}},
		{"unparkAt past PARK_MAX_AGE", func(r *ParkRequest) { r.UnparkAt = "P15D" }, []string{"unparkAt"}},
		{"unparkAt not a time", func(r *ParkRequest) { r.UnparkAt = "tomorrow" }, []string{"unparkAt"}},
		{"unparkAt a bad duration", func(r *ParkRequest) { r.UnparkAt = "P2X" }, []string{"unparkAt"}},
	}
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := validParkRequest()
			tt.change(&req)
			rec, err := req.validate(now, 14*24*time.Hour)
			if len(tt.fields) == 0 {
				require.NoError(t, err)
				assert.Equal(t, "whatsapp", rec.ChannelType)
				assert.Equal(t, req.WorkerSid, rec.WorkerSid)
				return
			}
			var fe *flexhooks.Error
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, flexhooks.EINVALID, fe.Code)
			for _, f := range tt.fields {
				assert.Contains(t, fe.Fields, f)
				assert.Contains(t, fe.Message, f)
			}
			assert.Len(t, fe.Fields, len(tt.fields))
		})
	}
}

func TestUnparkRequestValidate(t *testing.T) {
	assert.NoError(t, (&UnparkRequest{ConversationSid: "CH00000000000000000000000000000001"}).validate())
	err := (&UnparkRequest{WebhookSid: "WHbad"}).validate()
	var fe *flexhooks.Error
	require.ErrorAs(t, err, &fe)
	assert.Contains(t, fe.Fields, "ConversationSid")
	assert.Contains(t, fe.Fields, "WebhookSid")
}

func TestInviteRouting(t *testing.T) {
	p := NewParks(nil, ParkConfig{WorkspaceSid: "WS00000000000000000000000000000001"}, nil)
	rec := testRecord()
	r := p.inviteRouting(rec, UnparkScheduled, false)
	props := r["properties"].(map[string]any)
	assert.Equal(t, rec.WorkflowSid, props["workflow_sid"])
	assert.Equal(t, "chat", props["task_channel_unique_name"])
	assert.NotContains(t, props, "worker_sid")
	attrs := props["attributes"].(map[string]any)
	assert.Equal(t, map[string]any{"queueName": "Support", "queueSid": rec.QueueSid, "workerSid": rec.WorkerSid, "reason": "scheduled"}, attrs["originalRouting"])
	assert.Equal(t, "Ada", attrs["customerName"])
	assert.Equal(t, rec.ParticipantSid, attrs["flexhooksUnparkId"], "the park it ends")

	reparked := testRecord()
	reparked.ParticipantSid = "" // put back after its unpark's task was canceled
	reparked.ParkedAt = time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	id := p.inviteRouting(reparked, UnparkByCustomer, false)["properties"].(map[string]any)["attributes"].(map[string]any)["flexhooksUnparkId"]
	assert.Equal(t, "parked:2026-12-04T10:00:00Z", id, "a park with no agent is named by when it was put back: never empty, or its task would not be known for an unpark's")
	assert.NotContains(t, rec.TaskAttributes, "originalRouting", "the record's attributes are not modified")

	same := p.inviteRouting(rec, UnparkByAgent, true)["properties"].(map[string]any)
	assert.Equal(t, rec.WorkerSid, same["worker_sid"])
	assert.Equal(t, rec.QueueSid, same["queue_sid"])
}

func TestPickUnparkWebhook(t *testing.T) {
	p := NewParks(nil, ParkConfig{PublicBaseURL: "https://fh.example.com/"}, nil)
	hooks := []Webhook{
		{Sid: "WH1", URL: "https://other.example.com/studio"},
		{Sid: "WH2", URL: "https://fh.example.com/webhooks/unpark-interaction?customer=abc"},
		{Sid: "WH3", URL: "https://old.twil.io/features/park-interaction/common/unpark-interaction"},
	}
	assert.Equal(t, "WH2", p.pickUnparkWebhook(hooks, "").Sid)
	assert.Equal(t, "WH3", p.pickUnparkWebhook(hooks, "WH3").Sid)
	assert.Equal(t, "WH2", p.pickUnparkWebhook(hooks, "WH1").Sid, "a non-unpark webhook is never taken")
	assert.Nil(t, p.pickUnparkWebhook(hooks[:1], ""))
	assert.Equal(t, "https://fh.example.com/webhooks/unpark-interaction?customer=abc", p.unparkURL("abc"))
}
