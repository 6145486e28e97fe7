package flex

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseRouting(t *testing.T) {
	ws := "WS0123456789abcdef0123456789abcdef"
	wk := "WK0123456789abcdef0123456789abcdef"
	decode := func(s string) map[string]any {
		var m map[string]any
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		require.NoError(t, dec.Decode(&m))
		return m
	}
	cases := []struct {
		name    string
		in      string
		wantErr bool
		check   func(t *testing.T, rt routingRequest)
	}{
		{name: "full", in: `{"properties":{"workspace_sid":"` + ws + `","worker_sid":"` + wk + `","task_channel_unique_name":"chat","priority":3,"timeout":600,"attributes":{"a":1}}}`,
			check: func(t *testing.T, rt routingRequest) {
				assert.Equal(t, ws, rt.WorkspaceSid)
				assert.Equal(t, wk, rt.WorkerSid)
				assert.Equal(t, "chat", rt.TaskChannel)
				assert.Equal(t, 3, *rt.Priority)
				assert.Equal(t, 600, *rt.Timeout)
				assert.Equal(t, json.Number("1"), rt.Attributes["a"])
			}},
		{name: "attributes as JSON text, numbers as strings", in: `{"properties":{"workspace_sid":"` + ws + `","attributes":"{\"b\":\"x\"}","priority":"7"}}`,
			check: func(t *testing.T, rt routingRequest) {
				assert.Equal(t, "x", rt.Attributes["b"])
				assert.Equal(t, 7, *rt.Priority)
				assert.Nil(t, rt.Timeout)
			}},
		{name: "task channel by SID", in: `{"properties":{"workspace_sid":"` + ws + `","task_channel_sid":"TC0123456789abcdef0123456789abcdef"}}`,
			check: func(t *testing.T, rt routingRequest) {
				assert.Equal(t, "TC0123456789abcdef0123456789abcdef", rt.TaskChannel)
			}},
		{name: "no properties", in: `{}`, wantErr: true},
		{name: "properties not an object", in: `{"properties":[]}`, wantErr: true},
		{name: "no workspace", in: `{"properties":{}}`, wantErr: true},
		{name: "workspace not a WS SID", in: `{"properties":{"workspace_sid":"WW0123456789abcdef0123456789abcdef"}}`, wantErr: true},
		{name: "worker not a string", in: `{"properties":{"workspace_sid":"` + ws + `","worker_sid":5}}`, wantErr: true},
		{name: "attributes JSON text not an object", in: `{"properties":{"workspace_sid":"` + ws + `","attributes":"[1]"}}`, wantErr: true},
		{name: "fractional priority", in: `{"properties":{"workspace_sid":"` + ws + `","priority":1.5}}`, wantErr: true},
		{name: "zero timeout", in: `{"properties":{"workspace_sid":"` + ws + `","timeout":0}}`, wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rt, err := parseRouting("Routing", decode(tc.in))
			if tc.wantErr {
				require.NotNil(t, err)
				assert.Equal(t, 400, err.Status)
				return
			}
			require.Nil(t, err)
			tc.check(t, rt)
		})
	}
}

func TestRouteFor(t *testing.T) {
	cases := []struct {
		req                                InboundRequest
		address, proxy, identity, chanType string
	}{
		{InboundRequest{From: "+1555", To: "+1999", Channel: "sms"}, "+1555", "+1999", "", "sms"},
		{InboundRequest{From: "+1555", To: "+1999", Channel: "whatsapp"}, "whatsapp:+1555", "whatsapp:+1999", "", "whatsapp"},
		{InboundRequest{From: "whatsapp:+1555", To: "whatsapp:+1999", Channel: "whatsapp"}, "whatsapp:+1555", "whatsapp:+1999", "", "whatsapp"},
		{InboundRequest{From: "42", To: "page", Channel: "messenger"}, "messenger:42", "messenger:page", "", "messenger"},
		{InboundRequest{From: " dana ", Channel: "chat"}, "", "", "dana", "web"},
	}
	for _, tc := range cases {
		t.Run(tc.req.Channel+" "+tc.req.From, func(t *testing.T) {
			rt, err := routeFor(tc.req)
			require.Nil(t, err)
			assert.Equal(t, tc.address, rt.Address)
			assert.Equal(t, tc.proxy, rt.ProxyAddress)
			assert.Equal(t, tc.identity, rt.Identity)
			assert.Equal(t, tc.chanType, rt.ChannelType)
		})
	}
}

func TestTaskAttributes(t *testing.T) {
	ch := &channel{Sid: "UO1", InteractionSid: "KD1", ConversationSid: "CH1", Type: "sms", Direction: "inbound", InitiatedBy: "customer",
		Customer: customer{Address: "+1555", Name: "+1555", From: "+1555"}}
	inv := &invite{Sid: "KG1"}

	first := taskAttributes(map[string]any{"customerName": "Ann", "flexChannelInviteSid": "stale"}, ch, inv, true)
	assert.Equal(t, "Ann", first["customerName"], "the caller's value wins")
	assert.Equal(t, "+1555", first["customerAddress"], "Flex fills the gaps")
	assert.Equal(t, "KG1", first["flexChannelInviteSid"], "Flex's SIDs always win")
	assert.Equal(t, "CH1", first["conversationSid"])
	assert.Equal(t, "inbound", first["direction"])

	given := map[string]any{"x": 1}
	later := taskAttributes(given, ch, inv, false)
	assert.NotContains(t, later, "customerAddress")
	assert.Equal(t, "sms", later["channelType"])
	assert.Equal(t, map[string]any{"x": 1}, given, "the caller's map is not modified")
}
