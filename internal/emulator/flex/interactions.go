package flex

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/flexhooks/flexhooks/internal/emulator/conversations"
	"github.com/flexhooks/flexhooks/internal/emulator/core"
)

// channelTypes are the interaction channel types the emulator binds to a
// conversation. Twilio's enum also has voice, which needs a call, not a
// conversation: the emulator refuses it rather than pretend.
var channelTypes = map[string]bool{
	"sms": true, "whatsapp": true, "web": true, "chat": true, "messenger": true, "gbm": true, "email": true,
}

// newChannel describes the channel an interaction is created with.
type newChannel struct {
	Type            string
	InitiatedBy     string
	ConversationSid string
	Customer        customer
	// CustomerMedia is the customer participant's media_properties.
	CustomerMedia map[string]any
	Properties    map[string]any
}

// openInteraction creates an interaction, its channel bound to an existing
// conversation, the customer participant, and, when routing is given, the
// first invite and its task. Nothing is kept when the task is refused.
func (s *Store) openInteraction(nc newChannel, routing map[string]any, rt *routingRequest, contextSid, webhookTtid string) (*interaction, *core.Error) {
	now := s.env.Now()
	in := &interaction{
		Sid:                   core.NewSID("KD"),
		ChannelSid:            core.NewSID("UO"),
		ChannelType:           nc.Type,
		InitiatedBy:           nc.InitiatedBy,
		ChannelProperties:     nc.Properties,
		InteractionContextSid: contextSid,
		WebhookTtid:           webhookTtid,
		DateCreated:           now,
	}
	direction := "inbound"
	if nc.InitiatedBy == "agent" {
		direction = "outbound"
	}
	ch := &channel{
		Sid:             in.ChannelSid,
		InteractionSid:  in.Sid,
		Type:            nc.Type,
		Status:          "active",
		ConversationSid: nc.ConversationSid,
		Customer:        nc.Customer,
		Direction:       direction,
		InitiatedBy:     nc.InitiatedBy,
		DateCreated:     now,
		DateUpdated:     now,
	}
	if rt != nil {
		inv, err := s.createInviteTask(ch, *rt, routing, true)
		if err != nil {
			return nil, err
		}
		in.InviteSid = inv.Sid
	}
	s.interactions[in.Sid] = in
	s.order = append(s.order, in)
	s.channels[ch.Sid] = ch
	s.convChannel[ch.ConversationSid] = ch
	s.touchChannel(ch)
	if nc.Customer.Address != "" {
		s.addParticipant(ch, &participant{Type: "customer", MediaProperties: nc.CustomerMedia})
	}
	return in, nil
}

func (s *Store) handleCreateInteraction(w http.ResponseWriter, r *http.Request) {
	p, err := core.Form(r)
	if err != nil {
		core.WriteError(w, err)
		return
	}
	chanObj, err := p.JSONObject("Channel")
	if err != nil {
		core.WriteError(w, err)
		return
	}
	if chanObj == nil {
		core.WriteError(w, core.Required("Channel"))
		return
	}
	routing, err := p.JSONObject("Routing")
	if err != nil {
		core.WriteError(w, err)
		return
	}
	var rt *routingRequest
	if len(routing) > 0 {
		parsed, err := parseRouting("Routing", routing)
		if err != nil {
			core.WriteError(w, err)
			return
		}
		rt = &parsed
	}
	contextSid := p.Get("InteractionContextSid")
	if contextSid != "" && !core.ValidSID("HQ", contextSid) {
		core.WriteError(w, core.BadParam("InteractionContextSid", "must be an HQ SID"))
		return
	}
	nc, err := s.channelFromRequest(chanObj)
	if err != nil {
		core.WriteError(w, err)
		return
	}
	created := nc.ConversationSid == ""
	if created {
		if err := s.createOutboundConversation(&nc, chanObj); err != nil {
			core.WriteError(w, err)
			return
		}
	}
	in, err := s.openInteraction(nc, routing, rt, contextSid, p.Get("WebhookTtid"))
	if err != nil {
		if created {
			// Do not leave an open conversation holding the customer's binding
			// behind a request that failed.
			s.unexpected("closing the conversation of a refused interaction", s.conv.Close(nc.ConversationSid))
		}
		core.WriteError(w, err)
		return
	}
	// The spec documents 200 (not 201) for this create, and responses are checked against it.
	core.WriteJSON(w, http.StatusOK, s.interactionJSON(r, in))
}

// channelFromRequest validates the Channel parameter. A channel either binds
// an existing conversation (properties.media_channel_sid) or, for an
// agent-initiated contact, lists the participants of a new one.
func (s *Store) channelFromRequest(obj map[string]any) (newChannel, *core.Error) {
	var nc newChannel
	typ, _ := obj["type"].(string)
	if typ == "" {
		return nc, core.BadParam("Channel", "type is required")
	}
	if typ == "voice" {
		return nc, core.BadParam("Channel", "type voice is not emulated: the emulator binds interactions to conversations only")
	}
	if !channelTypes[typ] {
		return nc, core.BadParam("Channel", "type must be one of sms, whatsapp, web, chat, messenger, gbm, email")
	}
	nc.Type = typ
	nc.InitiatedBy, _ = obj["initiated_by"].(string)
	switch nc.InitiatedBy {
	case "customer", "agent", "api":
	case "":
		return nc, core.BadParam("Channel", "initiated_by is required")
	default:
		return nc, core.BadParam("Channel", "initiated_by must be customer, agent or api")
	}
	if props, ok := obj["properties"].(map[string]any); ok {
		nc.Properties = props
		if sid, _ := props["media_channel_sid"].(string); sid != "" {
			c := s.conv.Conversation(sid)
			if c == nil {
				return nc, core.BadParam("Channel", "properties.media_channel_sid "+sid+" is not a conversation of this account")
			}
			if c.State == "closed" {
				return nc, core.BadParam("Channel", "properties.media_channel_sid "+sid+" is a closed conversation")
			}
			nc.ConversationSid = sid
			nc.Customer, nc.CustomerMedia = customerOf(c)
			return nc, nil
		}
	} else if obj["properties"] != nil {
		return nc, core.BadParam("Channel", "properties must be an object")
	}
	if _, ok := obj["participants"].([]any); !ok {
		return nc, core.BadParam("Channel", "properties.media_channel_sid (an existing conversation) or participants (a new one) is required")
	}
	return nc, nil
}

// customerOf guesses a bound conversation's customer: its first messaging
// binding, else its first chat identity (the customer joins before any agent).
func customerOf(c *conversations.Conversation) (customer, map[string]any) {
	ps := c.Participants()
	for _, p := range ps {
		if p.Address != "" {
			return customer{Address: p.Address, Name: p.Address, From: p.Address},
				map[string]any{"address": p.Address, "proxy_address": p.ProxyAddress, "participant_sid": p.Sid}
		}
	}
	for _, p := range ps {
		if p.Identity != "" {
			return customer{Address: p.Identity, Name: p.Identity, From: p.Identity},
				map[string]any{"identity": p.Identity, "participant_sid": p.Sid}
		}
	}
	return customer{}, nil
}

// createOutboundConversation makes the conversation of an agent-initiated
// interaction from Channel.participants ({address, proxy_address} bindings or
// {identity}) in the default (Flex) service.
func (s *Store) createOutboundConversation(nc *newChannel, obj map[string]any) *core.Error {
	list, _ := obj["participants"].([]any)
	if len(list) == 0 {
		return core.BadParam("Channel", "participants must list at least one participant")
	}
	params := make([]conversations.ParticipantParams, 0, len(list))
	for _, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			return core.BadParam("Channel", "participants must be objects")
		}
		var pp conversations.ParticipantParams
		pp.Identity, _ = m["identity"].(string)
		pp.Address, _ = m["address"].(string)
		pp.ProxyAddress, _ = m["proxy_address"].(string)
		if pp.Identity == "" && pp.Address == "" {
			return core.BadParam("Channel", "each participant needs an address (with proxy_address) or an identity")
		}
		if pp.Address != "" && pp.ProxyAddress == "" {
			return core.BadParam("Channel", "participant "+pp.Address+" needs a proxy_address")
		}
		params = append(params, pp)
	}
	c, err := s.conv.CreateConversation(conversations.ConversationParams{ServiceSid: s.conv.DefaultServiceSID()})
	if err != nil {
		return err
	}
	for _, pp := range params {
		if _, err := s.conv.AddParticipant(c.Sid, pp); err != nil {
			s.unexpected("closing a half-made outbound conversation", s.conv.Close(c.Sid))
			return err
		}
	}
	nc.ConversationSid = c.Sid
	nc.Customer, nc.CustomerMedia = customerOf(c)
	return nil
}

func (s *Store) handleFetchInteraction(w http.ResponseWriter, r *http.Request) {
	in := s.interactions[chi.URLParam(r, "sid")]
	if in == nil {
		core.WriteError(w, core.NotFound(r))
		return
	}
	core.WriteJSON(w, http.StatusOK, s.interactionJSON(r, in))
}

func (s *Store) handleUpdateInteraction(w http.ResponseWriter, r *http.Request) {
	in := s.interactions[chi.URLParam(r, "sid")]
	if in == nil {
		core.WriteError(w, core.NotFound(r))
		return
	}
	p, err := core.Form(r)
	if err != nil {
		core.WriteError(w, err)
		return
	}
	if p.Has("WebhookTtid") {
		in.WebhookTtid = strings.TrimSpace(p.Get("WebhookTtid"))
	}
	core.WriteJSON(w, http.StatusOK, s.interactionJSON(r, in))
}

// interactionJSON is flex.v1.interaction.
type interactionJSON struct {
	Sid                   string            `json:"sid"`
	Channel               map[string]any    `json:"channel"`
	Routing               map[string]any    `json:"routing"`
	InteractionContextSid *string           `json:"interaction_context_sid"`
	WebhookTtid           *string           `json:"webhook_ttid"`
	URL                   string            `json:"url"`
	Links                 map[string]string `json:"links"`
}

func (s *Store) interactionJSON(r *http.Request, in *interaction) interactionJSON {
	u := core.ResourceURL(r, "/v1/Interactions/"+in.Sid)
	j := interactionJSON{
		Sid:                   in.Sid,
		Channel:               map[string]any{"type": in.ChannelType, "sid": in.ChannelSid},
		InteractionContextSid: optional(in.InteractionContextSid),
		WebhookTtid:           optional(in.WebhookTtid),
		URL:                   u,
		Links:                 map[string]string{"channels": u + "/Channels"},
	}
	if inv := s.invites[in.InviteSid]; inv != nil {
		j.Routing = s.routingJSON(inv)
	}
	return j
}

// optional renders "" as JSON null, as Twilio does for unset fields.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
