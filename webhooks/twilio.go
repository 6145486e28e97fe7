package webhooks

import (
	"context"
	"encoding/json"
	"time"
)

// Conversation is what park and unpark need to know of a Twilio conversation.
type Conversation struct {
	Sid string
	// State is active, inactive or closed.
	State string
	// Attributes is the conversation's attributes JSON text as Twilio holds it.
	Attributes string
}

// Webhook is a conversation-scoped webhook as Twilio lists it.
type Webhook struct {
	Sid     string
	Target  string // "webhook", "studio", "trigger"
	URL     string
	Method  string
	Filters []string
}

// Invite is a Flex interaction channel invite and its task's attributes.
type Invite struct {
	Sid            string
	TaskAttributes map[string]any
}

// SyncItem is one item of a Sync map.
type SyncItem struct {
	Key         string
	Data        json.RawMessage
	DateCreated time.Time
	// Revision is the item's Sync revision, for a conditional update.
	Revision string
	// DateExpires is when Twilio deletes the item; zero when it never expires.
	DateExpires time.Time
}

// ParkTwilio is every Twilio operation park and unpark use. Errors are
// *flexhooks.Error: ENOTFOUND for Twilio's 404s, ECONFLICT for 409s (such as
// 54208, a Sync key that exists), EUPSTREAM or EUNAVAILABLE otherwise, with
// Twilio's code in TwilioCode.
type ParkTwilio interface {
	// The ownership checks' reads (ownership.go), and the route an unpark
	// will take, looked up before a park changes anything.
	OwnershipTwilio
	FetchWorkflow(ctx context.Context, workspaceSid, workflowSid string) (Workflow, error)
	// FindWorkflow returns the workflow with that friendly name; ENOTFOUND
	// when there is none.
	FindWorkflow(ctx context.Context, workspaceSid, friendlyName string) (Workflow, error)
	FetchQueue(ctx context.Context, workspaceSid, queueSid string) (Queue, error)

	FetchConversation(ctx context.Context, conversationSid string) (Conversation, error)
	// UpdateConversationAttributes replaces the attributes; callers merge.
	// It does not fire the conversation's webhooks for the change.
	UpdateConversationAttributes(ctx context.Context, conversationSid, attributes string) error
	CreateConversationWebhook(ctx context.Context, conversationSid string, w Webhook) (webhookSid string, err error)
	DeleteConversationWebhook(ctx context.Context, conversationSid, webhookSid string) error
	ListConversationWebhooks(ctx context.Context, conversationSid string) ([]Webhook, error)

	// CloseInteractionParticipant sets a Flex interaction channel
	// participant's status to closed: the agent leaves the conversation and
	// the agent's task completes (wrapup skipped).
	CloseInteractionParticipant(ctx context.Context, interactionSid, channelSid, participantSid string) error
	// InteractionParticipantActive reports whether the participant is still
	// among the channel's participants (Twilio lists no closed ones): how a
	// close whose answer was lost is told from one that did not happen.
	InteractionParticipantActive(ctx context.Context, interactionSid, channelSid, participantSid string) (bool, error)
	// CreateInteractionInvite invites the channel to be routed again; routing
	// is the Routing parameter ({"properties": {...}}).
	CreateInteractionInvite(ctx context.Context, interactionSid, channelSid string, routing map[string]any) (inviteSid string, err error)
	// ListInteractionInvites lists the channel's invites with the attributes
	// of the task each made: how an invite whose answer was lost is found.
	ListInteractionInvites(ctx context.Context, interactionSid, channelSid string) ([]Invite, error)

	// CreateSyncMapItem creates an item in the Sync map named mapName of the
	// configured service, creating the map first when it does not exist. An
	// existing key is ECONFLICT (54208). ttl 0 means the item never expires.
	CreateSyncMapItem(ctx context.Context, mapName, key string, data any, ttl time.Duration) error
	// PutSyncMapItem creates the item or replaces its data and ttl.
	PutSyncMapItem(ctx context.Context, mapName, key string, data any, ttl time.Duration) error
	FetchSyncMapItem(ctx context.Context, mapName, key string) (SyncItem, error)
	// DeleteSyncMapItem is ENOTFOUND when the item or the map does not exist.
	DeleteSyncMapItem(ctx context.Context, mapName, key string) error
	// ListSyncMapItems returns up to limit items of the map, none (no error)
	// when the map does not exist.
	ListSyncMapItems(ctx context.Context, mapName string, limit int) ([]SyncItem, error)
}
