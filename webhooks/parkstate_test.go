package webhooks

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testRecord() ParkRecord {
	return ParkRecord{
		ConversationSid:       "CH00000000000000000000000000000001",
		InteractionSid:        "KD00000000000000000000000000000001",
		ChannelSid:            "UO00000000000000000000000000000001",
		ParticipantSid:        "UT00000000000000000000000000000001",
		ChannelType:           "whatsapp",
		TaskSid:               "WT00000000000000000000000000000001",
		WorkflowSid:           "WW00000000000000000000000000000001",
		TaskChannelUniqueName: "chat",
		QueueName:             "Support",
		QueueSid:              "WQ00000000000000000000000000000001",
		WorkerSid:             "WK00000000000000000000000000000001",
		TaskAttributes:        map[string]any{"from": "whatsapp:+15550001", "customerName": "Ada", "big": json.Number("12345678901234567890")},
		WebhookSid:            "WH00000000000000000000000000000001",
		ParkedAt:              time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC),
		Listed:                true,
	}
}

func TestWithParkKeepsOtherKeys(t *testing.T) {
	tests := []struct {
		name, attrs string
		keep        map[string]string // key → raw JSON that must survive byte for byte
	}{
		{"empty", "", nil},
		{"null", "null", nil},
		{"unset", "{}", nil},
		{"others", `{"a":1,"nested":{"x":[1,2,{"y":null}]},"big":12345678901234567890}`,
			map[string]string{"a": "1", "nested": `{"x":[1,2,{"y":null}]}`, "big": "12345678901234567890"}},
		{"replaces an old park", `{"flexhooksPark":{"interactionSid":"KDold","channelSid":"UOold"},"z":"keep"}`,
			map[string]string{"z": `"keep"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := testRecord()
			got, err := withPark(tt.attrs, rec)
			require.NoError(t, err)
			var obj map[string]json.RawMessage
			require.NoError(t, json.Unmarshal([]byte(got), &obj))
			for k, raw := range tt.keep {
				assert.JSONEq(t, raw, string(obj[k]), "key %s", k)
			}
			assert.Len(t, obj, len(tt.keep)+1)
			assert.True(t, IsParked(got))
			back, err := ParkFromAttributes(got)
			require.NoError(t, err)
			require.NotNil(t, back)
			assert.Equal(t, rec.WebhookSid, back.WebhookSid)
			assert.Equal(t, json.Number("12345678901234567890"), back.TaskAttributes["big"], "large integers survive")

			cleared, err := withoutPark(got)
			require.NoError(t, err)
			assert.False(t, IsParked(cleared))
			var after map[string]json.RawMessage
			require.NoError(t, json.Unmarshal([]byte(cleared), &after))
			assert.Len(t, after, len(tt.keep))
		})
	}
}

func TestAttributesNotAnObject(t *testing.T) {
	for _, attrs := range []string{`[1,2]`, `"text"`, `{broken`} {
		t.Run(attrs, func(t *testing.T) {
			_, err := withPark(attrs, testRecord())
			assert.ErrorIs(t, err, errNotObject)
			assert.False(t, IsParked(attrs))
		})
	}
}

func TestIsParked(t *testing.T) {
	tests := []struct {
		attrs string
		want  bool
	}{
		{"", false},
		{"{}", false},
		{`{"flexhooksPark":null}`, false},
		{`{"flexhooksPark":{"foo":1}}`, false}, // not a record of ours
		{`{"flexhooksPark":{"interactionSid":"KD1","channelSid":"UO1"}}`, true},
		{`{"flexhooksPark":"yes"}`, false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, IsParked(tt.attrs), tt.attrs)
	}
}

func TestParkedListItem(t *testing.T) {
	rec := testRecord()
	item := parkedListItem(rec)
	// The fields flex-project-template's plugin reads, by their exact names.
	for _, k := range []string{"interactionSid", "flexInteractionChannelSid", "channelType", "participantSid", "workflowSid", "taskChannelUniqueName", "taskAttributes", "webhookSid"} {
		assert.Contains(t, item, k)
	}
	assert.Equal(t, rec.ChannelSid, item["flexInteractionChannelSid"])
	s, ok := item["taskAttributes"].(string)
	require.True(t, ok, "taskAttributes is JSON text, as the plugin sent it")
	assert.JSONEq(t, `{"from":"whatsapp:+15550001","customerName":"Ada","big":12345678901234567890}`, s)

	back := parkedFromItem(SyncItem{Key: rec.ConversationSid, Data: mustJSON(t, item)})
	assert.Equal(t, rec.ConversationSid, back.ConversationSid)
	assert.Equal(t, "Ada", back.CustomerName)
	assert.Equal(t, "whatsapp:+15550001", back.CustomerAddress)
	assert.Equal(t, rec.ParkedAt, back.ParkedAt)
	assert.Nil(t, back.ExpiresAt)
}

func TestParkedFromTemplateItem(t *testing.T) {
	// An item written by flex-project-template's function: no parkedAt, the
	// item's creation date stands in; taskAttributes may be an object.
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	data := `{"interactionSid":"KD1","flexInteractionChannelSid":"UO1","channelType":"sms","taskAttributes":{"customerAddress":"+1555","from":"Bob"}}`
	got := parkedFromItem(SyncItem{Key: "CH1", Data: json.RawMessage(data), DateCreated: created})
	assert.Equal(t, created, got.ParkedAt)
	assert.Equal(t, "+1555", got.CustomerAddress)
	assert.Equal(t, "sms", got.ChannelType)
}

func TestParkedListTTL(t *testing.T) {
	assert.Equal(t, time.Duration(0), parkedListTTL("sms", 24*time.Hour))
	assert.Equal(t, time.Duration(0), parkedListTTL("SMS", 24*time.Hour))
	assert.Equal(t, 24*time.Hour, parkedListTTL("whatsapp", 24*time.Hour))
	assert.Equal(t, time.Hour, parkedListTTL("chat", time.Hour))
}

func TestAuthorIsCustomer(t *testing.T) {
	rec := testRecord() // customer whatsapp:+15550001 (from)
	hint := customerHint("whatsapp:+15550001")
	tests := []struct {
		name string
		ev   MessageAddedEvent
		rec  *ParkRecord
		want bool
	}{
		{"customer, hinted", MessageAddedEvent{Author: "whatsapp:+15550001", Source: "WHATSAPP", Customer: hint}, nil, true},
		{"agent, hinted", MessageAddedEvent{Author: "alice", Source: "SDK", Customer: hint}, nil, false},
		{"system, hinted", MessageAddedEvent{Author: "system", Source: "API", Customer: hint}, nil, false},
		{"no author", MessageAddedEvent{Author: "", Source: "API", Customer: hint}, nil, false},
		{"customer, from record", MessageAddedEvent{Author: "whatsapp:+15550001", Source: "WHATSAPP"}, &rec, true},
		{"agent, from record", MessageAddedEvent{Author: "alice", Source: "SDK"}, &rec, false},
		{"no hint, no record", MessageAddedEvent{Author: "whatsapp:+15550001"}, nil, false},
		{"record without customer, channel message", MessageAddedEvent{Author: "+1555", Source: "SMS"}, &ParkRecord{}, true},
		{"record without customer, SDK message", MessageAddedEvent{Author: "alice", Source: "SDK"}, &ParkRecord{}, false},
		{"forged hint", MessageAddedEvent{Author: "alice", Customer: customerHint("alice") + "0"}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, authorIsCustomer(tt.ev, tt.rec))
		})
	}
}

func TestCustomerIdentityPrefersAddress(t *testing.T) {
	assert.Equal(t, "+1555", customerIdentity(map[string]any{"customerAddress": "+1555", "from": "Bob"}))
	assert.Equal(t, "Bob", customerIdentity(map[string]any{"from": "Bob"}))
	assert.Equal(t, "", customerIdentity(nil))
	assert.Equal(t, "", customerHint(""))
	assert.Len(t, customerHint("x"), 16)
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}
