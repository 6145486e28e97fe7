package conversations

import (
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/flexhooks/flexhooks/internal/emulator/core"
)

// Post-event webhook types Twilio sends (and accepts in Filters).
const (
	evMessageAdded             = "onMessageAdded"
	evMessageUpdated           = "onMessageUpdated"
	evMessageRemoved           = "onMessageRemoved"
	evConversationAdded        = "onConversationAdded"
	evConversationUpdated      = "onConversationUpdated"
	evConversationRemoved      = "onConversationRemoved"
	evConversationStateUpdated = "onConversationStateUpdated"
	evParticipantAdded         = "onParticipantAdded"
	evParticipantUpdated       = "onParticipantUpdated"
	evParticipantRemoved       = "onParticipantRemoved"
	evDeliveryUpdated          = "onDeliveryUpdated"
)

// scopedEvents are the events a conversation-scoped webhook may filter on.
var scopedEvents = []string{
	evMessageAdded, evMessageUpdated, evMessageRemoved,
	evConversationUpdated, evConversationStateUpdated, evConversationRemoved,
	evParticipantAdded, evParticipantUpdated, evParticipantRemoved, evDeliveryUpdated,
}

// serviceEvents are the Filters the account/service configuration accepts:
// the post-events above plus the pre-events (which the emulator records but,
// having no pre-hook semantics to enforce, does not send) and user events.
var serviceEvents = append(slices.Clone(scopedEvents),
	evConversationAdded,
	"onMessageAdd", "onMessageUpdate", "onMessageRemove",
	"onConversationAdd", "onConversationUpdate", "onConversationRemove",
	"onParticipantAdd", "onParticipantUpdate", "onParticipantRemove",
	"onUserAdded", "onUserUpdate", "onUserUpdated",
)

// emit sends event for conversation c to every post-event target that wants
// it: the service-level PostWebhookUrl (or, when the service has none, the
// account-level one) and the conversation-scoped webhooks filtering on it.
// msg is the message of a message event, for trigger-keyword matching.
func (s *Store) emit(c *Conversation, event string, params url.Values, msg *Message) {
	base := url.Values{}
	for k, vs := range params {
		base[k] = vs
	}
	base.Set("EventType", event)
	base.Set("AccountSid", s.env.AccountSID)
	base.Set("ChatServiceSid", c.ServiceSid)
	base.Set("ConversationSid", c.Sid)
	base.Set("RetryCount", "0")
	if msg != nil && !s.env.Behaviour.MessageAddedSource {
		// Source on message events is undocumented: a behaviour switch.
		base.Del("Source")
	}
	if c.MessagingServiceSid != "" {
		base.Set("MessagingServiceSid", c.MessagingServiceSid)
	}

	if svc := s.services[c.ServiceSid]; svc != nil && svc.Webhooks.PostWebhookURL != "" {
		if slices.Contains(svc.Webhooks.Filters, event) {
			s.send(svc.Webhooks.PostWebhookURL, svc.Webhooks.Method, base)
		}
	} else if s.account.PostWebhookURL != "" && s.account.Target == "webhook" && slices.Contains(s.account.Filters, event) {
		s.send(s.account.PostWebhookURL, s.account.Method, base)
	}

	for _, wh := range c.webhooks {
		if !wh.wants(event, msg) {
			continue
		}
		p := url.Values{}
		for k, vs := range base {
			p[k] = vs
		}
		p.Set("WebhookSid", wh.Sid)
		p.Set("WebhookType", wh.Target)
		s.send(wh.URL, wh.Method, p)
	}
}

// wants reports whether the scoped webhook fires for event. Studio flows are
// not emulated, so studio targets never fire; trigger targets fire on
// onMessageAdded when the body holds one of their keywords.
func (wh *ScopedWebhook) wants(event string, msg *Message) bool {
	switch wh.Target {
	case "webhook":
		return slices.Contains(wh.Filters, event)
	case "trigger":
		if event != evMessageAdded || msg == nil {
			return false
		}
		body := strings.ToLower(msg.Body)
		for _, t := range wh.Triggers {
			if strings.Contains(body, strings.ToLower(t)) {
				return true
			}
		}
	}
	return false
}

func (s *Store) send(target, method string, p url.Values) {
	if target == "" {
		return
	}
	s.env.Send(core.Webhook{URL: target, Method: strings.ToUpper(method), Params: p, Source: "conversations", Policy: core.ConversationsDelivery})
}

// setNonEmpty sets k only when v is non-empty: Twilio leaves null fields out.
func setNonEmpty(p url.Values, k, v string) {
	if v != "" {
		p.Set(k, v)
	}
}

func conversationParams(c *Conversation, source string) url.Values {
	p := url.Values{}
	setNonEmpty(p, "FriendlyName", c.FriendlyName)
	setNonEmpty(p, "UniqueName", c.UniqueName)
	p.Set("Attributes", c.Attributes)
	p.Set("State", c.State)
	p.Set("DateCreated", core.ISO(c.DateCreated))
	p.Set("DateUpdated", core.ISO(c.DateUpdated))
	setNonEmpty(p, "Source", source)
	return p
}

func messageParams(m *Message, source string) url.Values {
	p := url.Values{}
	p.Set("MessageSid", m.Sid)
	p.Set("Index", strconv.Itoa(m.Index))
	setNonEmpty(p, "Author", m.Author)
	p.Set("Body", m.Body)
	p.Set("Attributes", m.Attributes)
	setNonEmpty(p, "ParticipantSid", m.ParticipantSid)
	p.Set("DateCreated", core.ISO(m.DateCreated))
	if !m.DateUpdated.Equal(m.DateCreated) {
		p.Set("DateUpdated", core.ISO(m.DateUpdated))
	}
	setNonEmpty(p, "Source", source)
	// ClientIdentity names the SDK user behind an SDK action.
	if source == "SDK" {
		setNonEmpty(p, "ClientIdentity", m.Author)
	}
	return p
}

func participantParams(pt *Participant, source string) url.Values {
	p := url.Values{}
	p.Set("ParticipantSid", pt.Sid)
	setNonEmpty(p, "Identity", pt.Identity)
	p.Set("Attributes", pt.Attributes)
	setNonEmpty(p, "RoleSid", pt.RoleSid)
	p.Set("DateCreated", core.ISO(pt.DateCreated))
	if !pt.DateUpdated.Equal(pt.DateCreated) {
		p.Set("DateUpdated", core.ISO(pt.DateUpdated))
	}
	if pt.Address != "" {
		p.Set("MessagingBinding.Address", pt.Address)
		p.Set("MessagingBinding.ProxyAddress", pt.ProxyAddress)
		p.Set("MessagingBinding.Type", bindingType(pt.Address))
	}
	setNonEmpty(p, "Source", source)
	return p
}

// bindingType derives the channel from a Twilio address's prefix.
func bindingType(address string) string {
	if i := strings.Index(address, ":"); i > 0 {
		switch t := strings.ToLower(address[:i]); t {
		case "whatsapp", "messenger", "gbm", "rcs", "apple":
			return t
		}
	}
	return "sms"
}
