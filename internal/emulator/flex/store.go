// Package flex emulates Twilio's Flex Interactions API (flex-api.twilio.com:
// /v1/Interactions, their Channels, Participants and Invites) and the Flex
// behaviour that glues Conversations and TaskRouter together: an interaction
// channel is bound to one conversation, every invite is a TaskRouter task,
// accepting a reservation adds the agent to the conversation and to the
// channel, closing a participant or a channel ends its tasks.
//
// It also backs the control API's inbound call (a customer writes), which does
// what Twilio's address configuration + Flex do for a new contact.
//
// Where Twilio's documentation leaves behaviour open, the emulator chooses and
// says so: channels are "active" at once (Twilio sets them up asynchronously),
// a closed participant drops out of the participants list, and repeating a
// close is a harmless no-op. Not emulated: voice channels and the Transfers
// subresource (404).
//
// Every exported method runs with the world lock (core.Env) held; none locks.
package flex

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/flexhooks/flexhooks/internal/emulator/conversations"
	"github.com/flexhooks/flexhooks/internal/emulator/core"
	"github.com/flexhooks/flexhooks/internal/emulator/taskrouter"
)

// Store is the emulated Flex Interactions product.
type Store struct {
	env  *core.Env
	conv *conversations.Store
	tr   *taskrouter.Store

	interactions map[string]*interaction
	channels     map[string]*channel
	participants map[string]*participant
	invites      map[string]*invite
	// order keeps interactions in creation order for the snapshot.
	order []*interaction

	// taskChannel maps the SID of every task Flex created to its channel, so
	// the TaskRouter hooks find the channel even when the task's attributes
	// were rewritten.
	taskChannel map[string]*channel
	// taskAgent maps a task to the agent participant its acceptance created.
	taskAgent map[string]*participant
	// convChannel maps a conversation to its newest interaction channel, for
	// the conversation-closed hook.
	convChannel map[string]*channel
}

// New returns an empty store and installs the Flex glue on TaskRouter (and
// on Conversations when it offers the hook): from then on accepting a
// reservation for a Flex task adds the agent to its conversation.
func New(env *core.Env, conv *conversations.Store, tr *taskrouter.Store) *Store {
	s := &Store{
		env:          env,
		conv:         conv,
		tr:           tr,
		interactions: map[string]*interaction{},
		channels:     map[string]*channel{},
		participants: map[string]*participant{},
		invites:      map[string]*invite{},
		taskChannel:  map[string]*channel{},
		taskAgent:    map[string]*participant{},
		convChannel:  map[string]*channel{},
	}
	s.installHooks()
	return s
}

// interaction is one /v1/Interactions/KD… resource. In this release of Flex an
// interaction has exactly one channel.
type interaction struct {
	Sid         string
	ChannelSid  string
	ChannelType string
	InitiatedBy string
	// ChannelProperties is Channel.properties as created (media_channel_sid…).
	ChannelProperties map[string]any
	// InviteSid is the invite made from the create request's Routing; its task
	// is what the interaction's `routing` shows. "" when created without Routing.
	InviteSid             string
	InteractionContextSid string
	WebhookTtid           string
	DateCreated           time.Time
}

// channel is one interaction channel (UO…), bound to one conversation.
type channel struct {
	Sid             string
	InteractionSid  string
	Type            string // sms, whatsapp, web, chat, messenger, gbm, email
	Status          string // active, closed, inactive
	ConversationSid string
	// Customer is who the contact is with, for the task attributes Flex adds.
	Customer customer
	// Direction is inbound (customer/api initiated) or outbound (agent).
	Direction    string
	InitiatedBy  string
	participants []*participant
	invites      []*invite
	DateCreated  time.Time
	DateUpdated  time.Time
	// expiry deletes the channel after channelTTL without an update to it.
	expiry *core.Timer
}

// customer is the contact's side of a channel.
type customer struct {
	Address string // +1555…, whatsapp:+1555…, messenger:…, or the chat identity
	Name    string
	From    string
}

// participant is one interaction channel participant (UT…).
type participant struct {
	Sid            string
	InteractionSid string
	ChannelSid     string
	Type           string // agent, customer, supervisor, external, unknown
	// Status is active, wrapup or closed; Twilio does not return it but it
	// decides what an update does and whether the list shows the participant.
	Status          string
	MediaProperties map[string]any
	// RoutingProperties is the create request's object, when one was given.
	RoutingProperties map[string]any
	// TaskSid, WorkerSid, ReservationSid: the agent's task, for Flex-added
	// agents and for created participants whose routing properties name them.
	TaskSid        string
	WorkerSid      string
	ReservationSid string
	WorkspaceSid   string
	// Identity is the Conversations identity Flex added for this participant
	// (agents), so closing it removes the right conversation participant.
	Identity    string
	DateCreated time.Time
	DateUpdated time.Time
}

// invite is one interaction channel invite (KG…): a request to route the
// channel to someone, which Flex turns into a TaskRouter task.
type invite struct {
	Sid            string
	InteractionSid string
	ChannelSid     string
	WorkspaceSid   string
	TaskSid        string
	// Routing is the request's routing object, kept for the snapshot.
	Routing     map[string]any
	DateCreated time.Time
}

// Routes serves the Interactions API (paths start at /v1/).
func (s *Store) Routes() http.Handler {
	r := chi.NewRouter()
	r.NotFound(func(w http.ResponseWriter, r *http.Request) { core.WriteError(w, core.NotFound(r)) })
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		core.WriteError(w, core.Errf(http.StatusMethodNotAllowed, core.CodeMethodNotAllowed, "Method %s not allowed on %s", r.Method, r.URL.Path))
	})
	r.Post("/v1/Interactions", s.handleCreateInteraction)
	r.Get("/v1/Interactions/{sid}", s.handleFetchInteraction)
	r.Post("/v1/Interactions/{sid}", s.handleUpdateInteraction)
	r.Get("/v1/Interactions/{isid}/Channels", s.handleListChannels)
	r.Get("/v1/Interactions/{isid}/Channels/{sid}", s.handleFetchChannel)
	r.Post("/v1/Interactions/{isid}/Channels/{sid}", s.handleUpdateChannel)
	r.Get("/v1/Interactions/{isid}/Channels/{csid}/Invites", s.handleListInvites)
	r.Post("/v1/Interactions/{isid}/Channels/{csid}/Invites", s.handleCreateInvite)
	r.Get("/v1/Interactions/{isid}/Channels/{csid}/Participants", s.handleListParticipants)
	r.Post("/v1/Interactions/{isid}/Channels/{csid}/Participants", s.handleCreateParticipant)
	r.Post("/v1/Interactions/{isid}/Channels/{csid}/Participants/{sid}", s.handleUpdateParticipant)
	return r
}

// lookupChannel finds the channel of the path's interaction, or the 404 Twilio
// answers for either SID being unknown (or belonging to someone else).
// channelForm resolves the channel a create or update addresses (by the
// {isid}/{csid} path parameters) and reads its form: the preamble every
// such handler shares.
func (s *Store) channelForm(r *http.Request) (*channel, core.Params, *core.Error) {
	ch, err := s.lookupChannel(r, chi.URLParam(r, "isid"), chi.URLParam(r, "csid"))
	if err != nil {
		return nil, core.Params{}, err
	}
	p, err := core.Form(r)
	if err != nil {
		return nil, core.Params{}, err
	}
	return ch, p, nil
}

func (s *Store) lookupChannel(r *http.Request, interactionSid, channelSid string) (*channel, *core.Error) {
	ch := s.channels[channelSid]
	if ch == nil || ch.InteractionSid != interactionSid || s.interactions[interactionSid] == nil {
		return nil, core.NotFound(r)
	}
	return ch, nil
}
