package webhooks

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// ParkAttributeKey is the one key of a conversation's attributes that holds
// its park record. Everything else in the attributes belongs to others (Flex,
// the channel, other features) and is never rewritten.
const ParkAttributeKey = "flexhooksPark"

// ParkClaimMap is the Sync map holding one claim item per parked
// conversation, keyed by conversation SID.
const ParkClaimMap = "flexhooks_parks"

// ParkedListMapPrefix + workerSid is the Sync map of one agent's parked
// conversations, as flex-project-template's plugin reads it.
const ParkedListMapPrefix = "ParkedInteractions_"

// ParkedListMap returns the parked-list map of a worker.
func ParkedListMap(workerSid string) string { return ParkedListMapPrefix + workerSid }

// ParkRecord is everything needed to route a parked conversation again. It
// is stored under ParkAttributeKey in the conversation's attributes and as
// the data of the conversation's claim item.
type ParkRecord struct {
	ConversationSid       string         `json:"conversationSid"`
	InteractionSid        string         `json:"interactionSid"`
	ChannelSid            string         `json:"channelSid"`
	ParticipantSid        string         `json:"participantSid"`
	ChannelType           string         `json:"channelType"`
	TaskSid               string         `json:"taskSid,omitempty"`
	WorkflowSid           string         `json:"workflowSid"`
	TaskChannelUniqueName string         `json:"taskChannelUniqueName"`
	QueueName             string         `json:"queueName,omitempty"`
	QueueSid              string         `json:"queueSid,omitempty"`
	WorkerSid             string         `json:"workerSid"`
	TaskAttributes        map[string]any `json:"taskAttributes"`
	// WebhookSid is the unpark webhook created for this park. It can go stale
	// (a failed unpark re-creates the webhook), so unpark finds the webhook by
	// its URL rather than trusting it.
	WebhookSid string    `json:"webhookSid,omitempty"`
	ParkedAt   time.Time `json:"parkedAt"`
	// UnparkAt is when the sweeper routes the conversation back if the
	// customer has not written by then (a snooze); zero: never.
	UnparkAt time.Time `json:"unparkAt,omitzero"`
	// Listed says a parked-list item was written, so unpark deletes it.
	Listed bool `json:"listed,omitempty"`
	// InviteUnknown says an unpark's invite failed, whether Twilio made it
	// could not be checked, and the park was put back: the next unpark
	// looks for that invite before making another.
	InviteUnknown bool `json:"inviteUnknown,omitempty"`
}

// parkID names one park for the task its unpark makes (unparkIDAttribute):
// the SID of the agent participant who parked, or, for a park put back
// after its unpark's task was canceled (no agent), the time it was put
// back. Both stay the same for every attempt to end that park.
func (r ParkRecord) parkID() string {
	if r.ParticipantSid != "" {
		return r.ParticipantSid
	}
	return "parked:" + r.ParkedAt.UTC().Format(time.RFC3339Nano)
}

// IsParked reports whether conversation attributes (JSON text) hold a park
// record. Features that act on idle conversations (the inactivity timeout)
// must leave a parked conversation alone.
func IsParked(attributes string) bool {
	rec, err := parkFromAttributes(attributes)
	return err == nil && rec != nil
}

// ParkFromAttributes returns the park record in conversation attributes, or
// nil when the conversation is not parked.
func ParkFromAttributes(attributes string) (*ParkRecord, error) {
	return parkFromAttributes(attributes)
}

// ConfirmedPark judges whether a conversation is parked from state only
// flexhooks writes: its park claim (the Sync item, claimErr its fetch's
// error). The park key in the conversation attributes, which other
// integrations can write too, counts only when the claim names the same
// participant; a claim alone is a park whose attribute write failed.
// known is false when the claim could not be read: the caller then has
// only the attributes to go on.
func ConfirmedPark(attributes string, claim SyncItem, claimErr error) (parked, known bool) {
	switch {
	case isNotFound(claimErr):
		return false, true
	case claimErr != nil:
		return IsParked(attributes), false
	}
	var held ParkRecord
	if decodeJSON(claim.Data, &held) != nil || held.ConversationSid == "" {
		return false, true
	}
	rec, err := parkFromAttributes(attributes)
	return err == nil && (rec == nil || rec.ParticipantSid == held.ParticipantSid), true
}

func parkFromAttributes(attributes string) (*ParkRecord, error) {
	obj, err := attributeObject(attributes)
	if err != nil {
		return nil, err
	}
	raw, ok := obj[ParkAttributeKey]
	if !ok || isJSONNull(raw) {
		return nil, nil
	}
	var rec ParkRecord
	if err := decodeJSON(raw, &rec); err != nil {
		return nil, fmt.Errorf("attribute %s: %w", ParkAttributeKey, err)
	}
	if rec.InteractionSid == "" || rec.ChannelSid == "" {
		// Not a record we wrote (someone else's key of the same name, or a
		// corrupted one): routing it again is impossible, so it is not a park.
		return nil, fmt.Errorf("attribute %s lacks interactionSid or channelSid", ParkAttributeKey)
	}
	return &rec, nil
}

// withPark returns attributes with rec under ParkAttributeKey, every other
// key byte for byte as it was.
func withPark(attributes string, rec ParkRecord) (string, error) {
	return setAttribute(attributes, ParkAttributeKey, rec)
}

// withoutPark returns attributes without ParkAttributeKey, every other key
// byte for byte as it was.
func withoutPark(attributes string) (string, error) {
	return setAttribute(attributes, ParkAttributeKey, nil)
}

func isJSONNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// decodeJSON decodes numbers as json.Number so that task attributes (which
// may hold large integers) survive the round trip through the record.
func decodeJSON(raw []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	return d.Decode(v)
}

// parkedListItem is the data of a ParkedInteractions_{workerSid} item: the
// fields flex-project-template's plugin reads, with taskAttributes as JSON
// text as the plugin sent it, plus what the native list shows.
func parkedListItem(rec ParkRecord) map[string]any {
	attrs, _ := json.Marshal(rec.TaskAttributes)
	return map[string]any{
		"interactionSid":            rec.InteractionSid,
		"flexInteractionChannelSid": rec.ChannelSid,
		"channelType":               rec.ChannelType,
		"participantSid":            rec.ParticipantSid,
		"workflowSid":               rec.WorkflowSid,
		"taskChannelUniqueName":     rec.TaskChannelUniqueName,
		"taskAttributes":            string(attrs),
		"webhookSid":                rec.WebhookSid,
		"conversationSid":           rec.ConversationSid,
		"queueName":                 rec.QueueName,
		"queueSid":                  rec.QueueSid,
		"workerSid":                 rec.WorkerSid,
		"parkedAt":                  rec.ParkedAt.UTC().Format(time.RFC3339Nano),
		"unparkAt":                  formatOptionalTime(rec.UnparkAt),
	}
}

// parkedListTTL is the parked-list item's TTL: none for SMS (an SMS
// conversation has no reply window, so the park may last indefinitely, as in
// flex-project-template), else the configured one (24 h by default: the
// WhatsApp and Messenger reply window, after which the agent can no longer
// write free text anyway).
func parkedListTTL(channelType string, ttl time.Duration) time.Duration {
	if strings.EqualFold(channelType, "sms") {
		return 0
	}
	return ttl
}

// customerIdentity is who the customer is in the conversation, as Flex puts
// it on the task: the address (phone number, WhatsApp address, chat identity)
// messages from the customer carry as their Author.
func customerIdentity(taskAttributes map[string]any) string {
	for _, k := range []string{"customerAddress", "from"} {
		if s, ok := taskAttributes[k].(string); ok && s != "" {
			return s
		}
	}
	return ""
}

// customerHint is what the unpark webhook's URL carries to recognise the
// customer's messages without a Twilio call: a digest of the customer's
// identity rather than the identity itself, so that phone numbers do not end
// up in URLs and access logs. Twilio signs the URL, so the hint cannot be
// forged by whoever can reach the endpoint.
func customerHint(identity string) string {
	if identity == "" {
		return ""
	}
	sum := sha256.Sum256([]byte("flexhooks-customer:" + identity))
	return hex.EncodeToString(sum[:8])
}
