package flex

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/flexhooks/flexhooks/internal/emulator/conversations"
	"github.com/flexhooks/flexhooks/internal/emulator/core"
)

// InboundRequest is a customer writing to the contact centre (the control
// API's POST /emulator/inbound). From is the customer's address (an SMS
// number, a WhatsApp number with or without "whatsapp:", a Messenger user
// with or without "messenger:") or, for chat, the customer's chat identity;
// To is the contact centre's address (unused for chat).
type InboundRequest struct {
	From, To, Channel, Body string
}

// InboundResult names what the message landed in; InteractionSid and TaskSid
// are set only when the message started a new contact.
type InboundResult struct {
	ConversationSid string `json:"conversationSid"`
	MessageSid      string `json:"messageSid"`
	InteractionSid  string `json:"interactionSid,omitempty"`
	TaskSid         string `json:"taskSid,omitempty"`
}

// inboundRoute is how one kind of channel looks in Conversations and Flex.
type inboundRoute struct {
	Address, ProxyAddress string // the customer's binding ("" for chat)
	Identity              string // chat only
	ChannelType           string // the interaction channel type and the task's channelType
	TaskChannel           string // TaskRouter task channel
	Source                string // the message's source in Conversations webhooks
}

// routeFor maps an inbound request to its binding. Chat is Flex Webchat,
// whose interaction channel type is "web"; messaging channels other than SMS
// use the "chat" task channel, as Flex's default messaging routing does.
func routeFor(req InboundRequest) (inboundRoute, *core.Error) {
	from, to := strings.TrimSpace(req.From), strings.TrimSpace(req.To)
	if from == "" {
		return inboundRoute{}, core.BadParam("from", "is required")
	}
	if req.Channel != "chat" && to == "" {
		return inboundRoute{}, core.BadParam("to", "is required for "+req.Channel)
	}
	prefixed := func(prefix, s string) string { return prefix + strings.TrimPrefix(s, prefix) }
	switch req.Channel {
	case "sms":
		return inboundRoute{Address: from, ProxyAddress: to, ChannelType: "sms", TaskChannel: "sms", Source: "SMS"}, nil
	case "whatsapp":
		return inboundRoute{Address: prefixed("whatsapp:", from), ProxyAddress: prefixed("whatsapp:", to),
			ChannelType: "whatsapp", TaskChannel: "chat", Source: "WHATSAPP"}, nil
	case "messenger":
		return inboundRoute{Address: prefixed("messenger:", from), ProxyAddress: prefixed("messenger:", to),
			ChannelType: "messenger", TaskChannel: "chat", Source: "MESSENGER"}, nil
	case "chat":
		return inboundRoute{Identity: from, ChannelType: "web", TaskChannel: "chat", Source: "SDK"}, nil
	default:
		return inboundRoute{}, core.BadParam("channel", "must be sms, whatsapp, chat or messenger")
	}
}

// Inbound delivers a customer's message. With an open conversation for the
// customer's address pair (or chat identity) it is added there, whatever
// happens to its task (a parked conversation gets the message and its
// webhooks, nothing else, as on Twilio). Otherwise Flex's inbound path runs:
// conversation, customer participant, interaction + channel + customer
// participant, a task routed by the workspace's default workflow, then the
// message, so the task exists before onMessageAdded goes out.
func (s *Store) Inbound(req InboundRequest) (InboundResult, *core.Error) {
	rt, err := routeFor(req)
	if err != nil {
		return InboundResult{}, err
	}
	if req.Body == "" {
		return InboundResult{}, core.BadParam("body", "is required")
	}
	author := rt.Address
	if rt.Identity != "" {
		author = rt.Identity
	}
	msg := conversations.MessageParams{Author: author, Body: req.Body, Source: rt.Source, WebhooksEnabled: true}

	var open *conversations.Conversation
	if rt.Identity != "" {
		open = s.conv.OpenConversationFor(rt.Identity, "")
	} else {
		open = s.conv.OpenConversationFor(rt.Address, rt.ProxyAddress)
	}
	if open != nil {
		m, err := s.conv.AddMessage(open.Sid, msg)
		if err != nil {
			return InboundResult{}, err
		}
		return InboundResult{ConversationSid: open.Sid, MessageSid: m.Sid}, nil
	}

	attrs := "{}"
	if rt.Identity != "" {
		// Flex Webchat starts its conversation with the pre-engagement data
		// the customer typed; the emulator's customer typed only a name.
		b, _ := json.Marshal(map[string]any{"pre_engagement_data": map[string]any{"friendlyName": author}, "from": author})
		attrs = string(b)
	}
	c, err := s.conv.CreateConversation(conversations.ConversationParams{ServiceSid: s.conv.DefaultServiceSID(), Attributes: attrs})
	if err != nil {
		return InboundResult{}, err
	}
	pp := conversations.ParticipantParams{Identity: rt.Identity, Address: rt.Address, ProxyAddress: rt.ProxyAddress}
	cp, err := s.conv.AddParticipant(c.Sid, pp)
	if err != nil {
		s.unexpected("closing a half-made inbound conversation", s.conv.Close(c.Sid))
		return InboundResult{}, err
	}
	media := map[string]any{"participant_sid": cp.Sid}
	if rt.Identity != "" {
		media["identity"] = rt.Identity
	} else {
		media["address"], media["proxy_address"] = rt.Address, rt.ProxyAddress
	}
	ws := s.tr.WorkspaceSID()
	if ws == "" {
		s.unexpected("closing an inbound conversation nobody can route", s.conv.Close(c.Sid))
		return InboundResult{}, core.Errf(http.StatusConflict, core.CodeConflict, "no TaskRouter workspace is loaded to route the contact")
	}
	routing := map[string]any{"properties": map[string]any{"workspace_sid": ws, "task_channel_unique_name": rt.TaskChannel}}
	in, err := s.openInteraction(newChannel{
		Type:            rt.ChannelType,
		InitiatedBy:     "customer",
		ConversationSid: c.Sid,
		Customer:        customer{Address: author, Name: author, From: author},
		CustomerMedia:   media,
	}, routing, &routingRequest{WorkspaceSid: ws, TaskChannel: rt.TaskChannel}, "", "")
	if err != nil {
		s.unexpected("closing an inbound conversation whose task was refused", s.conv.Close(c.Sid))
		return InboundResult{}, err
	}
	m, err := s.conv.AddMessage(c.Sid, msg)
	if err != nil {
		return InboundResult{}, err
	}
	return InboundResult{
		ConversationSid: c.Sid,
		MessageSid:      m.Sid,
		InteractionSid:  in.Sid,
		TaskSid:         s.invites[in.InviteSid].TaskSid,
	}, nil
}
