// Package conversations emulates Twilio's Conversations API
// (conversations.twilio.com/v1): conversations with their state timers,
// participants, messages, conversation-scoped webhooks and the account- and
// service-level webhook configuration, and the post-event webhooks Twilio
// sends for them.
//
// Every exported method runs with the world lock (core.Env) held, as the
// emulator's HTTP layer and the other products call them; none locks.
package conversations

import (
	"time"

	"github.com/flexhooks/flexhooks/internal/emulator/core"
)

// DefaultServiceName is the friendly name of the seeded Conversation Service
// that Flex creates on every account and that /v1/Conversations addresses.
const DefaultServiceName = "Flex Chat Service"

// Store is the emulated Conversations product.
type Store struct {
	env *core.Env

	defaultService string
	services       map[string]*service
	// account is /v1/Configuration/Webhooks, the global (account-level) hooks.
	account accountWebhookConfig

	convs map[string]*Conversation
	// order keeps conversations in creation order, which is how Twilio lists them.
	order []*Conversation

	// OnConversationClosed is set by flex at wiring: Flex closes a
	// conversation's interaction channel when the conversation closes. It is
	// called with the lock held, after the state change and its webhook are
	// queued, whatever closed it (REST update, Timers.Closed, Close()).
	OnConversationClosed func(c *Conversation)
}

// service is a Conversation Service and its service-level webhook configuration.
type service struct {
	Sid          string
	FriendlyName string
	Webhooks     serviceWebhookConfig
	DateCreated  time.Time
	DateUpdated  time.Time
}

// New returns a store holding the seeded default service and no conversations.
func New(env *core.Env) *Store {
	s := &Store{
		env:            env,
		defaultService: core.SeedSID("IS", DefaultServiceName),
		services:       map[string]*service{},
		convs:          map[string]*Conversation{},
		account:        accountWebhookConfig{Method: "POST", Target: "webhook", Filters: []string{}},
	}
	s.services[s.defaultService] = &service{
		Sid:          s.defaultService,
		FriendlyName: DefaultServiceName,
		Webhooks:     serviceWebhookConfig{Method: "POST", Filters: []string{}},
		DateCreated:  env.Now(),
		DateUpdated:  env.Now(),
	}
	return s
}

// DefaultServiceSID is the seeded "Flex Chat Service", the one behind the
// shortened /v1/Conversations URLs.
func (s *Store) DefaultServiceSID() string { return s.defaultService }

// Conversation is one emulated conversation.
type Conversation struct {
	Sid                 string
	ServiceSid          string
	MessagingServiceSid string
	FriendlyName        string
	UniqueName          string
	State               string // active | inactive | closed
	Attributes          string // JSON object text, "{}" by default
	DateCreated         time.Time
	DateUpdated         time.Time

	// InactiveAfter and ClosedAfter are Timers.Inactive / Timers.Closed (0 = none).
	InactiveAfter time.Duration
	ClosedAfter   time.Duration
	// DateInactive and DateClosed are when the armed timers fire (zero = not armed).
	DateInactive time.Time
	DateClosed   time.Time

	participants  []*Participant
	messages      []*Message
	webhooks      []*ScopedWebhook
	nextIndex     int
	inactiveTimer *core.Timer
	closedTimer   *core.Timer
}

// Participants returns the conversation's participants in the order they joined.
func (c *Conversation) Participants() []*Participant {
	return append([]*Participant(nil), c.participants...)
}

// Messages returns the conversation's messages in index order.
func (c *Conversation) Messages() []*Message { return append([]*Message(nil), c.messages...) }

// Webhooks returns the conversation-scoped webhooks in creation order.
func (c *Conversation) Webhooks() []*ScopedWebhook {
	return append([]*ScopedWebhook(nil), c.webhooks...)
}

// Participant is a member of a conversation: a chat identity, or a messaging
// binding (customer address + Twilio proxy address) for SMS/WhatsApp/...
type Participant struct {
	Sid                  string
	ConversationSid      string
	Identity             string
	Address              string
	ProxyAddress         string
	Attributes           string
	RoleSid              string
	LastReadMessageIndex *int
	LastReadTimestamp    string
	DateCreated          time.Time
	DateUpdated          time.Time
}

// Message is one message of a conversation.
type Message struct {
	Sid             string
	ConversationSid string
	Author          string
	Body            string
	Attributes      string
	ParticipantSid  string
	Source          string // API, SDK, SMS, WHATSAPP…: where it came from, sent in webhooks
	Index           int
	DateCreated     time.Time
	DateUpdated     time.Time
}

// ScopedWebhook is a conversation-scoped webhook (/Conversations/CH…/Webhooks).
type ScopedWebhook struct {
	Sid             string
	ConversationSid string
	Target          string // webhook | studio | trigger
	URL             string
	Method          string // GET | POST
	Filters         []string
	Triggers        []string
	FlowSid         string
	DateCreated     time.Time
	DateUpdated     time.Time
}

// accountWebhookConfig is /v1/Configuration/Webhooks.
type accountWebhookConfig struct {
	Method         string   `json:"method"`
	Filters        []string `json:"filters"`
	PreWebhookURL  string   `json:"preWebhookUrl,omitempty"`
	PostWebhookURL string   `json:"postWebhookUrl,omitempty"`
	Target         string   `json:"target"`
}

// serviceWebhookConfig is /v1/Services/IS…/Configuration/Webhooks.
type serviceWebhookConfig struct {
	Method         string   `json:"method"`
	Filters        []string `json:"filters"`
	PreWebhookURL  string   `json:"preWebhookUrl,omitempty"`
	PostWebhookURL string   `json:"postWebhookUrl,omitempty"`
}

// conversation finds a conversation of service svc by SID or unique name,
// as Twilio accepts either in {Sid}.
func (s *Store) conversation(svc, sidOrUniqueName string) *Conversation {
	if c := s.convs[sidOrUniqueName]; c != nil {
		if c.ServiceSid == svc {
			return c
		}
		return nil
	}
	if sidOrUniqueName == "" {
		return nil
	}
	for _, c := range s.order {
		if c.ServiceSid == svc && c.UniqueName == sidOrUniqueName {
			return c
		}
	}
	return nil
}

// Conversation returns the conversation with that SID in any service, nil if none.
func (s *Store) Conversation(sid string) *Conversation { return s.convs[sid] }
