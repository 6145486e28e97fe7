package webhooks

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestInviteAttributes(t *testing.T) {
	original := map[string]any{
		"conversationSid":      "CH1",
		"conversations":        map[string]any{"conversation_id": "KD1"},
		"flexChannelInviteSid": "KG1",
		"transferTargetSid":    "WKold",
		"customerAddress":      "+1555",
		TransferTaskKey:        map[string]any{"id": "TRold"},
	}
	rec := TransferRecord{ID: "TRnew", TargetType: TargetQueue, TargetSid: "WQ1", QueueName: "Sales"}
	got := inviteAttributes(original, rec, []string{"WKb", "WKa", "WKb"})

	assert.Equal(t, map[string]any{"conversation_id": "KD1"}, got["conversations"], "kept for reporting")
	assert.Equal(t, "+1555", got["customerAddress"])
	assert.NotContains(t, got, "flexChannelInviteSid", "per-task keys are dropped")
	assert.Equal(t, "queue", got["transferTargetType"])
	assert.Equal(t, "WQ1", got["transferTargetSid"])
	assert.Equal(t, "Sales", got["transferQueueName"])
	assert.Equal(t, []string{"WKa", "WKb"}, got["workerSidsInConversation"])
	assert.Equal(t, rec, got[TransferTaskKey])
	assert.Equal(t, "KG1", original["flexChannelInviteSid"], "the original is not modified")
}

func TestTransferRecordInAttributes(t *testing.T) {
	rec := TransferRecord{ID: "TR1", Mode: ModeWarm, TargetType: TargetWorker, TargetSid: "WK1"}
	with, err := withTransfer(`{"b":1,"a":{"x":[1,2]}}`, rec)
	require.NoError(t, err)
	got, err := pendingTransfer(with)
	require.NoError(t, err)
	assert.Equal(t, &rec, got)

	_, changed, err := withoutTransfer(with, "TRother")
	require.NoError(t, err)
	assert.False(t, changed, "another transfer's record is left alone")
	without, changed, err := withoutTransfer(with, "TR1")
	require.NoError(t, err)
	assert.True(t, changed)
	assert.JSONEq(t, `{"b":1,"a":{"x":[1,2]}}`, without, "other keys untouched")

	_, err = pendingTransfer(`[1]`)
	assert.Error(t, err)
	none, err := pendingTransfer(`{"flexhooksTransfer":"someone else's"}`)
	assert.NoError(t, err)
	assert.Nil(t, none)
}

func TestTransferRequestValidation(t *testing.T) {
	const (
		ch = "CH0123456789abcdef0123456789abcdef"
		kd = "KD0123456789abcdef0123456789abcdef"
		uo = "UO0123456789abcdef0123456789abcdef"
		wk = "WK0123456789abcdef0123456789abcdef"
		wq = "WQ0123456789abcdef0123456789abcdef"
	)
	attrs := `{"conversationSid":"` + ch + `","flexInteractionSid":"` + kd + `","flexInteractionChannelSid":"` + uo + `"}`
	tests := []struct {
		name       string
		req        TransferRequest
		wantFields []string
		check      func(t *testing.T, o transferOrder)
	}{
		{"SIDs from the task attributes", TransferRequest{TransferTargetSid: wk, TaskAttributes: jsonOf(attrs)}, nil,
			func(t *testing.T, o transferOrder) {
				assert.Equal(t, ch, o.ConversationSid)
				assert.Equal(t, TargetWorker, o.TargetType)
				assert.Equal(t, ModeCold, o.Mode)
				assert.True(t, o.Remove)
				assert.Equal(t, "closed", o.CloseWith)
				assert.Equal(t, "chat", o.TaskChannel)
			}},
		{"queue by name, warm", TransferRequest{TransferQueueName: "Sales", Mode: "warm", JSONAttributes: jsonOf(attrs)}, nil,
			func(t *testing.T, o transferOrder) {
				assert.Equal(t, TargetQueue, o.TargetType)
				assert.False(t, o.Remove, "a warm transfer keeps the agent unless asked")
			}},
		{"queue SID", TransferRequest{TransferTargetSid: wq, TaskAttributes: jsonOf(attrs)}, nil,
			func(t *testing.T, o transferOrder) { assert.Equal(t, TargetQueue, o.TargetType) }},
		{"nothing", TransferRequest{}, []string{"conversationSid", "flexInteractionSid", "flexInteractionChannelSid", "taskAttributes", "transferTargetSid"}, nil},
		{"contradictions", TransferRequest{TransferTargetSid: wk, TransferTargetType: "queue", Mode: "hot", CloseWith: "x", TaskAttributes: jsonOf(attrs),
			WorkersToIgnore: jsonOf(`["nope"]`)}, []string{"transferTargetType", "mode", "closeWith", "workersToIgnore"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := tc.req.validate()
			if len(tc.wantFields) > 0 {
				require.Error(t, err)
				for _, f := range tc.wantFields {
					assert.Contains(t, err.Error(), f+":")
				}
				return
			}
			require.NoError(t, err)
			tc.check(t, o)
		})
	}
}

func TestTemplateSemantics(t *testing.T) {
	r := TransferRequest{RemoveFlexInteractionParticipantSid: "UT1"}
	r.AsTemplate()
	assert.Equal(t, ModeCold, r.Mode)
	assert.Equal(t, "UT1", r.FlexInteractionParticipantSid)
	r = TransferRequest{}
	r.AsTemplate()
	assert.Equal(t, ModeWarm, r.Mode)
}

func jsonOf(s string) jsonField {
	var j jsonField
	_ = j.UnmarshalText([]byte(s))
	return j
}
