package webhooks

import (
	"fmt"
	"slices"
	"strings"
)

// Transfer modes.
const (
	ModeCold = "cold" // the transferring agent leaves as soon as the invite exists
	ModeWarm = "warm" // the transferring agent stays until the target accepts (or for good)
)

// TransferRequest is POST /transfer, and
// POST /features/conversation-transfer/flex/invite-participant with
// flex-project-template's field names (form or JSON). Only the fields that
// the conversation cannot tell are required: the interaction and conversation
// SIDs default to the ones Flex puts in the task attributes.
type TransferRequest struct {
	ConversationSid               string `json:"conversationSid"`
	FlexInteractionSid            string `json:"flexInteractionSid"`
	FlexInteractionChannelSid     string `json:"flexInteractionChannelSid"`
	FlexInteractionParticipantSid string `json:"flexInteractionParticipantSid"`
	TaskSid                       string `json:"taskSid"`
	// TaskAttributes (native) or JSONAttributes (flex-project-template) are
	// the transferring task's attributes; without them the task is fetched.
	TaskAttributes jsonField `json:"taskAttributes"`
	JSONAttributes jsonField `json:"jsonAttributes"`
	// TransferTargetSid is a worker (WK…) or a queue (WQ…); a queue may be
	// named by TransferQueueName alone.
	TransferTargetSid     string `json:"transferTargetSid"`
	TransferTargetType    string `json:"transferTargetType"`
	TransferQueueName     string `json:"transferQueueName"`
	TaskChannelUniqueName string `json:"taskChannelUniqueName"`
	// Mode is cold (default) or warm.
	Mode string `json:"mode"`
	// RemoveTransferringAgent, in a warm transfer, removes the transferring
	// agent when the target accepts. A cold transfer always removes them.
	RemoveTransferringAgent boolField `json:"removeTransferringAgent"`
	// CloseWith is how the transferring agent's participant ends: closed
	// (default: their task completes) or wrapup (they wrap up).
	CloseWith string `json:"closeWith"`
	// WorkersToIgnore are kept out of a queue transfer besides the workers
	// in the conversation: a JSON array of WK SIDs, or flex-project-
	// template's object {"workerSidsInConversation": [WK…]} whose keys are
	// task attributes to set (see workersToIgnore).
	WorkersToIgnore jsonField `json:"workersToIgnore"`
	// RemoveFlexInteractionParticipantSid is flex-project-template's way of
	// asking for a cold transfer: the participant to remove.
	RemoveFlexInteractionParticipantSid string `json:"removeFlexInteractionParticipantSid"`
	// Accepted for compatibility and unused: flex-project-template sends
	// them, the service reads the same facts from Twilio.
	ConversationID     string `json:"conversationId"`
	TransferWorkerName string `json:"transferWorkerName"`
}

// TransferConversationRequest is POST /transferConversation, the
// flex-conversations-transfer plugin's JSON shape. The Token sits beside
// Payload and is read by the HTTP layer.
type TransferConversationRequest struct {
	Payload struct {
		InteractionDetails struct {
			FlexInteractionSid            string `json:"flexInteractionSid"`
			FlexInteractionChannelSid     string `json:"flexInteractionChannelSid"`
			FlexInteractionParticipantSid string `json:"flexInteractionParticipantSid"`
		} `json:"interactionDetails"`
		TransferDetails struct {
			TransferTargetSid  string `json:"transferTargetSid"`
			TransferQueueName  string `json:"transferQueueName"`
			TransferTargetType string `json:"transferTargetType"`
		} `json:"transferDetails"`
		TransferringWorkerSid      string    `json:"transferringWorkerSid"`
		TransferringTaskAttributes jsonField `json:"transferringTaskAttributes"`
		TaskRouterChannel          string    `json:"taskRouterChannel"`
	} `json:"Payload" form:"-"`
}

// AsTransfer is the plugin's request in the native shape: a cold transfer.
func (r *TransferConversationRequest) AsTransfer() TransferRequest {
	p := r.Payload
	return TransferRequest{
		FlexInteractionSid:            p.InteractionDetails.FlexInteractionSid,
		FlexInteractionChannelSid:     p.InteractionDetails.FlexInteractionChannelSid,
		FlexInteractionParticipantSid: p.InteractionDetails.FlexInteractionParticipantSid,
		TaskAttributes:                p.TransferringTaskAttributes,
		TransferTargetSid:             p.TransferDetails.TransferTargetSid,
		TransferTargetType:            p.TransferDetails.TransferTargetType,
		TransferQueueName:             p.TransferDetails.TransferQueueName,
		TaskChannelUniqueName:         p.TaskRouterChannel,
		Mode:                          ModeCold,
	}
}

// AsTemplate applies flex-project-template's semantics to an
// invite-participant call: naming a participant to remove makes it a cold
// transfer of that participant; otherwise the transferring agent stays
// (the plugin removes them later with remove-participant).
func (r *TransferRequest) AsTemplate() {
	if r.RemoveFlexInteractionParticipantSid != "" {
		r.Mode = ModeCold
		r.FlexInteractionParticipantSid = r.RemoveFlexInteractionParticipantSid
		return
	}
	if r.Mode == "" {
		r.Mode = ModeWarm
	}
}

// transferOrder is a validated transfer request: everything the transfer
// needs that does not come from Twilio.
type transferOrder struct {
	ConversationSid string
	InteractionSid  string
	ChannelSid      string
	ParticipantSid  string // "" = the caller's agent participant
	TaskSid         string
	TaskAttributes  map[string]any // nil = fetch the task
	TargetType      string         // worker, queue, or "" when only a WQ/name says
	TargetSid       string
	QueueName       string
	TaskChannel     string
	Mode            string
	Remove          bool
	CloseWith       string
	WorkersToIgnore []string
}

// validate checks every field and fills the defaults. It makes no Twilio
// call: a 400 changes nothing.
func (r *TransferRequest) validate() (transferOrder, error) {
	f := fieldErrors{}
	o := transferOrder{
		TaskSid:     r.TaskSid,
		TargetSid:   strings.TrimSpace(r.TransferTargetSid),
		QueueName:   strings.TrimSpace(r.TransferQueueName),
		TaskChannel: strings.TrimSpace(r.TaskChannelUniqueName),
		Mode:        strings.ToLower(strings.TrimSpace(r.Mode)),
		CloseWith:   strings.ToLower(strings.TrimSpace(r.CloseWith)),
	}
	attrsField, attrsName := r.TaskAttributes, "taskAttributes"
	if attrsField.IsZero() && attrsField.err == nil {
		attrsField, attrsName = r.JSONAttributes, "jsonAttributes"
	}
	switch {
	case attrsField.err != nil:
		f[attrsName] = attrsField.err.Error()
	case !attrsField.IsZero():
		var attrs map[string]any
		if err := decodeJSON(attrsField.JSON, &attrs); err != nil || attrs == nil {
			f[attrsName] = "must be a JSON object"
		} else {
			o.TaskAttributes = attrs
		}
	}
	// Flex puts the conversation and interaction SIDs in every task's
	// attributes; the request's own fields win.
	o.ConversationSid = firstNonEmpty(r.ConversationSid, attrString(o.TaskAttributes, "conversationSid"))
	o.InteractionSid = firstNonEmpty(r.FlexInteractionSid, attrString(o.TaskAttributes, "flexInteractionSid"))
	o.ChannelSid = firstNonEmpty(r.FlexInteractionChannelSid, attrString(o.TaskAttributes, "flexInteractionChannelSid"))
	o.ParticipantSid = r.FlexInteractionParticipantSid
	f.sid("conversationSid", o.ConversationSid, "CH")
	f.sid("flexInteractionSid", o.InteractionSid, "KD")
	f.sid("flexInteractionChannelSid", o.ChannelSid, "UO")
	f.optionalSID("flexInteractionParticipantSid", o.ParticipantSid, "UT")
	f.optionalSID("taskSid", o.TaskSid, "WT")
	if o.TaskAttributes == nil && o.TaskSid == "" && f["taskAttributes"] == "" && f["jsonAttributes"] == "" {
		f["taskAttributes"] = "required (the transferring task's attributes), or give taskSid"
	}

	switch typ := strings.ToLower(strings.TrimSpace(r.TransferTargetType)); {
	case strings.HasPrefix(o.TargetSid, "WK"):
		f.sid("transferTargetSid", o.TargetSid, "WK")
		o.TargetType = TargetWorker
		if typ == TargetQueue {
			f["transferTargetType"] = "queue, but transferTargetSid is a worker"
		}
	case strings.HasPrefix(o.TargetSid, "WQ"):
		f.sid("transferTargetSid", o.TargetSid, "WQ")
		o.TargetType = TargetQueue
		if typ == TargetWorker {
			f["transferTargetType"] = "worker, but transferTargetSid is a queue"
		}
	case o.TargetSid == "" && o.QueueName != "":
		o.TargetType = TargetQueue
	case o.TargetSid == "":
		f["transferTargetSid"] = "required (a worker WK… or a queue WQ…), or give transferQueueName"
	default:
		f["transferTargetSid"] = fmt.Sprintf("%q is not a SID: send the worker's SID (WK…, e.g. from TaskRouter's Workers list) "+
			"or the queue's (WQ…), or name a queue with transferQueueName", o.TargetSid)
	}
	if typ := strings.ToLower(strings.TrimSpace(r.TransferTargetType)); typ != "" && typ != TargetWorker && typ != TargetQueue {
		f["transferTargetType"] = "must be worker or queue"
	}

	switch o.Mode {
	case "":
		o.Mode = ModeCold
	case ModeCold, ModeWarm:
	default:
		f["mode"] = "must be cold or warm"
	}
	f.check("removeTransferringAgent", r.RemoveTransferringAgent.err)
	o.Remove = o.Mode == ModeCold || bool(r.RemoveTransferringAgent.Bool)
	switch o.CloseWith {
	case "":
		o.CloseWith = "closed"
	case "closed", "wrapup":
	default:
		f["closeWith"] = "must be closed or wrapup"
	}
	o.WorkersToIgnore = r.workersToIgnore(o.TaskAttributes, f)
	if o.TaskChannel == "" {
		// Flex Conversations routes every messaging channel on "chat".
		o.TaskChannel = "chat"
	}
	return o, f.err()
}

// workersToIgnore reads the workersToIgnore field into the workers a queue
// transfer must not reach. flex-project-template sends
// encodeURIComponent(JSON.stringify({workerSidsInConversation: [WK…]})): an
// object whose keys its function spreads into the new task's attributes.
// Here workerSidsInConversation (the attribute the Chat Transfer workflow
// excludes) joins the exclusions, which the invite's task carries under that
// name; any other key is set in attrs (the transferring task's attributes,
// which the invite's task copies) to its list, as the template does. Keys
// Flex or flexhooks own are refused: the plugin cannot repoint the task.
func (r *TransferRequest) workersToIgnore(attrs map[string]any, f fieldErrors) []string {
	const name = "workersToIgnore"
	raw := r.WorkersToIgnore
	if raw.err != nil {
		f[name] = raw.err.Error()
		return nil
	}
	if raw.IsZero() {
		return nil
	}
	const want = `must be a JSON array of worker SIDs (WK…), or an object of task attributes such as {"workerSidsInConversation":["WK…"]}`
	var list []string
	if err := decodeJSON(raw.JSON, &list); err == nil {
		if !allSIDs("WK", list) {
			f[name] = want
		}
		return list
	}
	var obj map[string][]string
	if err := decodeJSON(raw.JSON, &obj); err != nil {
		f[name] = want
		return nil
	}
	var workers []string
	for key, values := range obj {
		switch {
		case key == "workerSidsInConversation":
			if !allSIDs("WK", values) {
				f[name] = "workerSidsInConversation must list worker SIDs (WK…)"
			}
			workers = append(workers, values...)
		case slices.Contains(protectedTaskKeys, key) || slices.Contains(perTaskKeys, key):
			f[name] = fmt.Sprintf("%q is an attribute Flex or flexhooks sets; it cannot be set here", key)
		case attrs == nil:
			f[name] = fmt.Sprintf("sets the task attribute %q: give the task's attributes (jsonAttributes or taskAttributes) too", key)
		default:
			attrs[key] = values
		}
	}
	return workers
}

// protectedTaskKeys are task attributes that tie a task to its conversation.
var protectedTaskKeys = []string{"conversationSid", "flexInteractionSid", "flexInteractionChannelSid", "channelType",
	"conversations", "customerAddress", "from", "direction"}

func allSIDs(prefix string, sids []string) bool {
	for _, s := range sids {
		if !validSID(prefix, s) {
			return false
		}
	}
	return true
}

// RemoveParticipantRequest is POST
// /features/conversation-transfer/flex/remove-participant: an agent leaves a
// conversation (the end of a warm transfer in flex-project-template).
type RemoveParticipantRequest struct {
	ConversationSid               string `json:"conversationSid"`
	FlexInteractionSid            string `json:"flexInteractionSid"`
	FlexInteractionChannelSid     string `json:"flexInteractionChannelSid"`
	FlexInteractionParticipantSid string `json:"flexInteractionParticipantSid"`
	CloseWith                     string `json:"closeWith"`
}

func (r *RemoveParticipantRequest) validate() error {
	f := fieldErrors{}
	f.optionalSID("conversationSid", r.ConversationSid, "CH")
	f.sid("flexInteractionSid", r.FlexInteractionSid, "KD")
	f.sid("flexInteractionChannelSid", r.FlexInteractionChannelSid, "UO")
	f.sid("flexInteractionParticipantSid", r.FlexInteractionParticipantSid, "UT")
	switch strings.ToLower(r.CloseWith) {
	case "":
		r.CloseWith = "closed"
	case "closed", "wrapup":
		r.CloseWith = strings.ToLower(r.CloseWith)
	default:
		f["closeWith"] = "must be closed or wrapup"
	}
	return f.err()
}

// CancelTransferRequest is POST /transfer/cancel: withdraw a pending warm
// transfer before the target accepts it.
type CancelTransferRequest struct {
	ConversationSid string `json:"conversationSid"`
}

func (r *CancelTransferRequest) validate() error {
	f := fieldErrors{}
	f.sid("conversationSid", r.ConversationSid, "CH")
	return f.err()
}

func attrString(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
