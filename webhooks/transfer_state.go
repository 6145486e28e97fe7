package webhooks

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"
)

// A transfer lives in Twilio as:
//
//   - a claim item keyed by the conversation SID in the Sync map
//     TransferClaimMap, which makes two concurrent transfers of one
//     conversation one transfer (the second create fails with 54208);
//   - while it is pending (warm transfers, and a cold transfer whose agent
//     could not be removed), a record under TransferAttributeKey in the
//     conversation's attributes: what the guard of the next transfer reads;
//   - the invite's task, whose attributes carry the transfer under
//     TransferTaskKey: what the TaskRouter event handlers act on, so that
//     they need no lookup to know what to do when the target accepts.

// TransferAttributeKey is the one key of a conversation's attributes that
// holds a pending transfer.
const TransferAttributeKey = "flexhooksTransfer"

// TransferTaskKey is the key of the invite task's attributes that describes
// the transfer that made it.
const TransferTaskKey = "flexhooksTransfer"

// TransferClaimMap is the Sync map of transfer claims, keyed by conversation
// SID. Claims carry a TTL so that a crash can never block a conversation's
// transfers for long.
const TransferClaimMap = "flexhooks_transfers"

// Transfer target types, as the Chat Transfer workflow's filters read them
// in transferTargetType.
const (
	TargetWorker = "worker"
	TargetQueue  = "queue"
)

// TransferRecord is a pending transfer: in the conversation's attributes and
// (as TransferTaskKey) in the invite task's attributes.
type TransferRecord struct {
	ID         string `json:"id"`
	Mode       string `json:"mode"` // cold or warm
	TargetType string `json:"targetType"`
	TargetSid  string `json:"targetSid"`
	QueueName  string `json:"queueName,omitempty"`
	// The transferring agent and where their participant is.
	WorkerSid      string `json:"workerSid"`
	ParticipantSid string `json:"participantSid"`
	InteractionSid string `json:"interactionSid"`
	ChannelSid     string `json:"channelSid"`
	// RemoveTransferringAgent: remove the transferring agent when the
	// target accepts, with CloseWith (closed or wrapup).
	RemoveTransferringAgent bool      `json:"removeTransferringAgent"`
	CloseWith               string    `json:"closeWith"`
	CreatedAt               time.Time `json:"createdAt"`
}

// pendingTransfer returns the pending transfer in conversation attributes,
// or nil.
func pendingTransfer(attributes string) (*TransferRecord, error) {
	obj, err := attributeObject(attributes)
	if err != nil {
		return nil, err
	}
	raw, ok := obj[TransferAttributeKey]
	if !ok || isJSONNull(raw) {
		return nil, nil
	}
	var rec TransferRecord
	if err := decodeJSON(raw, &rec); err != nil || rec.ID == "" {
		// Not ours, or damaged: it cannot be acted on, so it blocks nothing.
		return nil, nil
	}
	return &rec, nil
}

// withTransfer returns attributes with rec under TransferAttributeKey, every
// other key byte for byte as it was.
func withTransfer(attributes string, rec TransferRecord) (string, error) {
	return setAttribute(attributes, TransferAttributeKey, rec)
}

// withoutTransfer removes the pending transfer id from attributes. changed
// is false when there is nothing to remove (another transfer's record, or
// none), so callers skip the write.
func withoutTransfer(attributes, id string) (out string, changed bool, err error) {
	rec, err := pendingTransfer(attributes)
	if err != nil || rec == nil || (id != "" && rec.ID != id) {
		return attributes, false, err
	}
	out, err = setAttribute(attributes, TransferAttributeKey, nil)
	return out, err == nil, err
}

// perTaskKeys are task attributes that describe one task, not the
// conversation: copying them to the invite's task would point it at the
// original task's invite or at an earlier transfer. Flex sets the first
// ones again on the new task; the transfer keys are set afresh below.
var perTaskKeys = []string{
	"flexChannelInviteSid",
	"transferTargetType", "transferTargetSid", "transferQueueName", "transferQueueSid",
	"workerSidsInConversation", "transferStarted", "ignoreAgent",
	TransferTaskKey,
	// An unparked task's mark: the transfer's task is not the unpark's
	// (interaction records tell why a task began by these marks).
	unparkIDAttribute,
}

// inviteAttributes is the invite task's attributes: the original task's
// (conversations.conversation_id included, so that Flex Insights reports the
// new task as a segment of the same conversation), minus per-task keys,
// plus what the Chat Transfer workflow routes on and the transfer itself.
func inviteAttributes(original map[string]any, rec TransferRecord, inConversation []string) map[string]any {
	attrs := maps.Clone(original)
	if attrs == nil {
		attrs = map[string]any{}
	}
	for _, k := range perTaskKeys {
		delete(attrs, k)
	}
	attrs["transferTargetType"] = rec.TargetType
	attrs["transferTargetSid"] = rec.TargetSid
	if rec.QueueName != "" {
		attrs["transferQueueName"] = rec.QueueName
	}
	// Never null, always a list: the Chat Transfer workflow's
	// "worker.sid NOT IN task.workerSidsInConversation" is false for an
	// absent one, and TaskRouter has no null to test absence with.
	ws := append([]string{}, inConversation...)
	slices.Sort(ws)
	attrs["workerSidsInConversation"] = slices.Compact(ws)
	attrs[TransferTaskKey] = rec
	return attrs
}

// transferFromTask reads the transfer an invite task carries, or nil.
func transferFromTask(attrs map[string]any) *TransferRecord {
	raw, ok := attrs[TransferTaskKey]
	if !ok || raw == nil {
		return nil
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return nil
	}
	var rec TransferRecord
	if err := decodeJSON(b, &rec); err != nil || rec.ID == "" {
		return nil
	}
	return &rec
}

// describe names a transfer target for messages.
func (r TransferRecord) describe() string {
	if r.TargetType == TargetQueue {
		return fmt.Sprintf("queue %s (%s)", r.QueueName, r.TargetSid)
	}
	return "worker " + r.TargetSid
}
