package webhooks

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"time"
)

// The inactivity timeout closes a conversation nobody has written in for a
// while, so that an abandoned chat stops holding the agent's capacity. It
// lives in Twilio like everything else (see docs/inactivity.md):
//
//   - the conversation's own inactive timer (Timers.Inactive), armed when an
//     agent accepts the conversation's task (reservation_accepted.go);
//   - an inactivity record per conversation in the Sync map
//     InactivityRecordMap: the interaction and channel to close, so that the
//     close path needs no task search;
//   - a claim item per inactivity episode in InactivityClaimMap, which makes
//     duplicate and concurrent deliveries of one state change act once;
//   - with a warning configured, the warning mark under InactivityAttributeKey
//     of the conversation's attributes (conversation_state_updated.go).

// InactivityAttributeKey is the key of the conversation attributes holding
// the warning mark; no other key is ever rewritten.
const InactivityAttributeKey = "flexhooksInactivity"

// InactivityRecordMap and InactivityClaimMap are spread over IndexShards
// Maps each ("{name}_{xx}", ShardedMap by the item's key), since every
// accepted conversation writes them: one Map would cap the contact centre
// at 20 accepts a second (docs/scaling.md). Records armed before the maps
// were spread are read from the single Map when their shard lacks them
// (fetchRecord); claims live a day, and a claim left in the single Map
// matters only to an inactivity that straddles the upgrade.
//
// InactivityRecordMap holds one InactivityRecord per conversation, keyed by
// conversation SID.
const InactivityRecordMap = "flexhooks_inactivity"

// InactivityClaimMap holds one claim item per inactivity episode, keyed by
// conversation SID and the time the conversation went inactive.
const InactivityClaimMap = "flexhooks_inactivity_claims"

// ConversationStateUpdatedPath is where the Conversations service-level
// webhook (onConversationStateUpdated) points.
const ConversationStateUpdatedPath = "/webhooks/conversation-state-updated"

const (
	// inactivityRecordTTL is how long a record lives: records are never
	// deleted (the sweeper's finishing of a failed close needs its record, and a closed
	// conversation's SID is never reused), they expire. A conversation still
	// open after that has its record written again by the next accepted
	// reservation.
	inactivityRecordTTL = 30 * 24 * time.Hour
	// inactivityClaimTTL keeps a claim long enough to absorb duplicate
	// deliveries of one event and for the sweeper to finish an episode a
	// failure left (it deletes the claims of episodes that need nothing
	// more, inactivity_sweep.go).
	inactivityClaimTTL = 24 * time.Hour
	// whatsAppWindow is WhatsApp's customer-service window: outside it,
	// free-form messages are refused and only approved templates go out.
	whatsAppWindow = 24 * time.Hour
	// minTimer is Twilio's minimum Timers.Inactive.
	minTimer = time.Minute
)

// InactivityConfig is the inactivity timeout's configuration.
type InactivityConfig struct {
	// TimeoutFor returns the timeout for a Flex channel type (sms,
	// whatsapp, web, messenger…); 0 means no timeout for that channel.
	TimeoutFor func(channelType string) time.Duration
	// Message is sent to the customer when the conversation is closed;
	// empty sends nothing.
	Message string
	// Warning, when not 0, warns the customer this long after the last
	// message; the close then comes at the timeout. A warning that leaves
	// less than a minute before the timeout (Twilio's minimum timer) is
	// not given.
	Warning time.Duration
	// WarningMessage is the warning's text.
	WarningMessage string
	// WhatsAppContentSid (HX…) is the approved template sent on WhatsApp
	// instead of the messages once the customer's 24-hour window has
	// closed; empty skips the notices there.
	WhatsAppContentSid string
	// Closing, when set, is told of each close as it begins (interaction
	// records mark the record abandoned). It runs alongside the notice and
	// the close, is waited for before the webhook answers, and cannot fail
	// the close.
	Closing func(ctx context.Context, conversationSid string)
	// WorkspaceSid is the Flex workspace: where a lost inactivity record is
	// rebuilt from the conversation's live task (recoverRecord).
	WorkspaceSid string
	// Records, when set, is asked by the sweep whether the interaction
	// record saw each close it finds done (inactivity_record_close.go).
	Records InactivityRecords
}

// InactivityTwilio is every Twilio operation the inactivity timeout uses.
// Errors are *flexhooks.Error as ParkTwilio documents.
type InactivityTwilio interface {
	FetchConversation(ctx context.Context, conversationSid string) (Conversation, error)
	// UpdateConversation applies u; it fires no webhooks.
	UpdateConversation(ctx context.Context, conversationSid string, u ConversationUpdate) error
	// SendMessage posts a message to the conversation as the system; it
	// fires no webhooks.
	SendMessage(ctx context.Context, conversationSid string, m OutboundMessage) error
	// RecentMessages returns up to n of the conversation's messages, newest
	// first.
	RecentMessages(ctx context.Context, conversationSid string, n int) ([]Message, error)
	// CloseInteractionChannel closes the channel with routing closed: every
	// live task of the channel completes, whichever agent has it, and the
	// conversation closes. Closing a closed channel is not an error.
	CloseInteractionChannel(ctx context.Context, interactionSid, channelSid string) error

	// ListTasks lists the workspace's tasks, and FetchTaskSummary reads one
	// whose listed attributes were left out (recoverRecord).
	ListTasks(ctx context.Context, workspaceSid string, o TaskListOptions) ([]TaskSummary, error)
	FetchTaskSummary(ctx context.Context, workspaceSid, taskSid string) (TaskSummary, error)

	CreateSyncMapItem(ctx context.Context, mapName, key string, data any, ttl time.Duration) error
	PutSyncMapItem(ctx context.Context, mapName, key string, data any, ttl time.Duration) error
	FetchSyncMapItem(ctx context.Context, mapName, key string) (SyncItem, error)
	DeleteSyncMapItem(ctx context.Context, mapName, key string) error
	ListSyncMapItems(ctx context.Context, mapName string, limit int) ([]SyncItem, error)
}

// ConversationUpdate is a conversation update; zero fields are left as they
// are.
type ConversationUpdate struct {
	// State: active, inactive or closed.
	State string
	// InactiveTimer sets Timers.Inactive (≥ 1 minute), restarting it.
	InactiveTimer time.Duration
	// Attributes replaces the attributes (callers merge) when not nil.
	Attributes *string
}

// OutboundMessage is a message the service sends: Body, or the approved
// template ContentSid (WhatsApp outside the 24-hour window).
type OutboundMessage struct {
	Body       string
	ContentSid string
	// Attributes marks the message as the service's (JSON text).
	Attributes string
}

// Message is a conversation message as the inactivity timeout reads it.
type Message struct {
	Sid         string
	Author      string
	Attributes  string
	DateCreated time.Time
}

// InactivityRecord is what closing a conversation needs, written when an
// agent accepts its task.
type InactivityRecord struct {
	ConversationSid string `json:"conversationSid"`
	InteractionSid  string `json:"interactionSid"`
	ChannelSid      string `json:"channelSid"`
	ChannelType     string `json:"channelType"`
	// CustomerAddress is the customer's author identity (a phone number,
	// whatsapp:…, a chat identity): how the customer's last message is found
	// for WhatsApp's 24-hour rule.
	CustomerAddress string `json:"customerAddress,omitempty"`
	// TaskSid is the task whose acceptance wrote the record. Closing does not
	// need it: closing the channel completes every live task of the channel,
	// the transferred and unparked ones included.
	TaskSid string `json:"taskSid,omitempty"`
}

// inactivityMark is the warning mark kept under InactivityAttributeKey.
type inactivityMark struct {
	// WarnedAt is when the conversation went inactive the first time
	// (Twilio's clock): a message after it cancels the close.
	WarnedAt time.Time `json:"warnedAt"`
}

// messageMarker is the attribute that marks the service's own notices, so
// that they never count as someone writing.
const messageMarker = "flexhooksInactivityNotice"

// Inactivity is the inactivity timeout.
type Inactivity struct {
	tw  InactivityTwilio
	cfg InactivityConfig
	log *slog.Logger
	// parkClaims finds park claims in their shards or a legacy map.
	parkClaims legacyClaims
	// written spares the inactivity record's create on a conversation's
	// later accepts (reservation_accepted.go).
	written writtenRecords
}

// NewInactivity returns the inactivity timeout over tw.
func NewInactivity(tw InactivityTwilio, cfg InactivityConfig, log *slog.Logger) *Inactivity {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.TimeoutFor == nil {
		cfg.TimeoutFor = func(string) time.Duration { return 0 }
	}
	return &Inactivity{tw: tw, cfg: cfg, log: log}
}

// firstTimer is the inactive timer armed at accept: the warning point when a
// warning fits before the timeout, else the timeout. 0: no timeout.
func (in *Inactivity) firstTimer(channelType string) time.Duration {
	timeout := in.cfg.TimeoutFor(channelType)
	if timeout <= 0 {
		return 0
	}
	if w := in.warningFor(timeout); w > 0 {
		return w
	}
	return max(timeout, minTimer)
}

// warningFor is the warning point for a timeout, 0 when no warning fits:
// both phases must be at least Twilio's minimum timer.
func (in *Inactivity) warningFor(timeout time.Duration) time.Duration {
	w := in.cfg.Warning
	if w < minTimer || timeout-w < minTimer {
		return 0
	}
	return w
}

// dueAfter is how long after the last message the timer's next step is
// due: the warning when there is one, else the close.
func (in *Inactivity) dueAfter(timeout time.Duration) time.Duration {
	if w := in.warningFor(timeout); w > 0 {
		return w
	}
	return timeout
}

// markFromAttributes returns the warning mark, nil when there is none (or
// it is not ours to read).
func markFromAttributes(attributes string) *inactivityMark {
	obj, err := attributeObject(attributes)
	if err != nil {
		return nil
	}
	raw, ok := obj[InactivityAttributeKey]
	if !ok || isJSONNull(raw) {
		return nil
	}
	var m inactivityMark
	if err := json.Unmarshal(raw, &m); err != nil || m.WarnedAt.IsZero() {
		return nil
	}
	return &m
}

// withMark returns attributes with the mark set (m != nil) or removed,
// every other key byte for byte as it was.
func withMark(attributes string, m *inactivityMark) (string, error) {
	if m == nil {
		return setAttribute(attributes, InactivityAttributeKey, nil)
	}
	return setAttribute(attributes, InactivityAttributeKey, m)
}

// isNotice reports whether a message is one of the service's notices.
func isNotice(m Message) bool { return noticeKind(m) != "" }

// noticeKind is "warning" or "closing" for the service's notices, else "".
func noticeKind(m Message) string {
	if !strings.Contains(m.Attributes, messageMarker) {
		return ""
	}
	var a map[string]any
	if json.Unmarshal([]byte(m.Attributes), &a) != nil {
		return ""
	}
	s, _ := a[messageMarker].(string)
	return s
}

func stringAttr(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

// fetchRecord reads a conversation's inactivity record from its shard, or
// from the single Map of earlier versions when the shard has none. The
// fallback costs a read only when a timer fires on a conversation this
// version did not arm.
func (in *Inactivity) fetchRecord(ctx context.Context, csid string) (SyncItem, error) {
	it, err := in.tw.FetchSyncMapItem(ctx, ShardedMap(InactivityRecordMap, csid), csid)
	if !isNotFound(err) {
		return it, err
	}
	if old, lerr := in.tw.FetchSyncMapItem(ctx, InactivityRecordMap, csid); lerr == nil || !isNotFound(lerr) {
		return old, lerr
	}
	return it, err
}
