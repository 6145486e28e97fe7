package flex

import (
	"encoding/json"
	"maps"
	"strconv"
	"strings"

	"github.com/flexhooks/flexhooks/internal/emulator/core"
	"github.com/flexhooks/flexhooks/internal/emulator/taskrouter"
)

// routingRequest is the `properties` of a Routing object (Interactions create,
// Invites create): what Flex needs to create the TaskRouter task.
type routingRequest struct {
	WorkspaceSid string
	WorkflowSid  string
	QueueSid     string
	WorkerSid    string
	// TaskChannel is task_channel_unique_name, else task_channel_sid: TaskRouter
	// accepts either.
	TaskChannel string
	Attributes  map[string]any
	Priority    *int
	Timeout     *int
}

// parseRouting reads a Routing parameter ({"properties": {...}}). Flex takes
// the task attributes as an object or as JSON text; both are accepted.
func parseRouting(param string, routing map[string]any) (routingRequest, *core.Error) {
	var rt routingRequest
	raw, ok := routing["properties"]
	if !ok {
		return rt, core.BadParam(param, "must hold a properties object")
	}
	props, ok := raw.(map[string]any)
	if !ok {
		return rt, core.BadParam(param, "properties must be an object")
	}
	sids := []struct {
		key, prefix string
		dst         *string
	}{
		{"workspace_sid", "WS", &rt.WorkspaceSid},
		{"workflow_sid", "WW", &rt.WorkflowSid},
		{"queue_sid", "WQ", &rt.QueueSid},
		{"worker_sid", "WK", &rt.WorkerSid},
	}
	for _, f := range sids {
		v, err := stringProp(param, props, f.key)
		if err != nil {
			return rt, err
		}
		if v != "" && !core.ValidSID(f.prefix, v) {
			return rt, core.BadParam(param, f.key+" must be a "+f.prefix+" SID")
		}
		*f.dst = v
	}
	if rt.WorkspaceSid == "" {
		return rt, core.BadParam(param, "properties.workspace_sid is required")
	}
	name, err := stringProp(param, props, "task_channel_unique_name")
	if err != nil {
		return rt, err
	}
	tcSid, err := stringProp(param, props, "task_channel_sid")
	if err != nil {
		return rt, err
	}
	if tcSid != "" && !core.ValidSID("TC", tcSid) {
		return rt, core.BadParam(param, "task_channel_sid must be a TC SID")
	}
	rt.TaskChannel = name
	if rt.TaskChannel == "" {
		rt.TaskChannel = tcSid
	}
	switch a := props["attributes"].(type) {
	case nil:
	case map[string]any:
		rt.Attributes = a
	case string:
		if strings.TrimSpace(a) != "" {
			var m map[string]any
			dec := json.NewDecoder(strings.NewReader(a))
			dec.UseNumber()
			if err := dec.Decode(&m); err != nil || m == nil {
				return rt, core.BadParam(param, "properties.attributes must be a JSON object")
			}
			rt.Attributes = m
		}
	default:
		return rt, core.BadParam(param, "properties.attributes must be a JSON object")
	}
	if rt.Priority, err = intProp(param, props, "priority"); err != nil {
		return rt, err
	}
	if rt.Timeout, err = intProp(param, props, "timeout"); err != nil {
		return rt, err
	}
	if rt.Timeout != nil && *rt.Timeout <= 0 {
		return rt, core.BadParam(param, "properties.timeout must be a positive number of seconds")
	}
	return rt, nil
}

func stringProp(param string, props map[string]any, key string) (string, *core.Error) {
	switch v := props[key].(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	default:
		return "", core.BadParam(param, "properties."+key+" must be a string")
	}
}

// intProp accepts a JSON number or a numeric string: Flex's own clients send both.
func intProp(param string, props map[string]any, key string) (*int, *core.Error) {
	var s string
	switch v := props[key].(type) {
	case nil:
		return nil, nil
	case json.Number:
		s = v.String()
	case float64:
		s = strconv.FormatFloat(v, 'f', -1, 64)
	case string:
		s = v
	default:
		return nil, core.BadParam(param, "properties."+key+" must be an integer")
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return nil, core.BadParam(param, "properties."+key+" must be an integer")
	}
	return &n, nil
}

// taskAttributes builds the attributes of a task Flex creates for ch: the
// caller's attributes "as is", Flex's defaults for what the caller left out,
// and the SIDs that tie the task to the interaction, which Flex always sets.
//
// The first task of an interaction gets the full set Flex derives from the
// channel (customer, direction…). An invite's task does not: Twilio documents
// that the original task's attributes are not carried over to an invite's task,
// so a caller that forgets to pass them on sees that here as it would on Twilio.
func taskAttributes(given map[string]any, ch *channel, inv *invite, first bool) map[string]any {
	attrs := maps.Clone(given)
	if attrs == nil {
		attrs = map[string]any{}
	}
	setDefault := func(k string, v any) {
		if _, ok := attrs[k]; !ok {
			attrs[k] = v
		}
	}
	setDefault("channelType", ch.Type)
	if first {
		setDefault("direction", ch.Direction)
		setDefault("initiatedBy", ch.InitiatedBy)
		if ch.Customer.Address != "" {
			setDefault("from", ch.Customer.From)
			setDefault("customerAddress", ch.Customer.Address)
			setDefault("customerName", ch.Customer.Name)
			setDefault("customers", customerBlock(ch))
		}
		setDefault("conversations", map[string]any{
			"conversation_id": ch.InteractionSid,
			"initiated_by":    ch.InitiatedBy,
			"media":           []any{map[string]any{"type": "ChatTranscript", "sid": ch.ConversationSid}},
		})
	}
	attrs["conversationSid"] = ch.ConversationSid
	attrs["flexInteractionSid"] = ch.InteractionSid
	attrs["flexInteractionChannelSid"] = ch.Sid
	attrs["flexChannelInviteSid"] = inv.Sid
	return attrs
}

// customerBlock is the Flex Insights "customers" attribute for the channel's customer.
func customerBlock(ch *channel) map[string]any {
	b := map[string]any{"name": ch.Customer.Name}
	switch ch.Type {
	case "sms", "whatsapp":
		b["phone"] = strings.TrimPrefix(ch.Customer.Address, "whatsapp:")
	case "email":
		b["email"] = ch.Customer.Address
	}
	return b
}

// createInviteTask makes an invite on ch and its task. The invite is recorded
// only once the task exists, so a refused task leaves nothing behind.
func (s *Store) createInviteTask(ch *channel, rt routingRequest, routing map[string]any, first bool) (*invite, *core.Error) {
	inv := &invite{
		Sid:            core.NewSID("KG"),
		InteractionSid: ch.InteractionSid,
		ChannelSid:     ch.Sid,
		WorkspaceSid:   rt.WorkspaceSid,
		Routing:        routing,
		DateCreated:    s.env.Now(),
	}
	if rt.WorkspaceSid != s.tr.WorkspaceSID() {
		// The emulator runs one workspace; Twilio answers an unknown one as a bad routing request.
		return nil, core.BadParam("Routing", "properties.workspace_sid "+rt.WorkspaceSid+" is not a workspace of this account")
	}
	if rt.WorkerSid != "" && s.tr.Worker(rt.WorkspaceSid, rt.WorkerSid) == nil {
		return nil, core.BadParam("Routing", "properties.worker_sid "+rt.WorkerSid+" is not a worker of workspace "+rt.WorkspaceSid)
	}
	task, err := s.tr.CreateTask(taskrouter.TaskParams{
		WorkspaceSid: rt.WorkspaceSid,
		WorkflowSid:  rt.WorkflowSid,
		TaskChannel:  rt.TaskChannel,
		Attributes:   taskAttributes(rt.Attributes, ch, inv, first),
		Priority:     rt.Priority,
		Timeout:      rt.Timeout,
		WorkerSid:    rt.WorkerSid,
		QueueSid:     rt.QueueSid,
		// "When you specify a worker SID in your Interactions invite and that
		// agent declines the invite …, the created task gets canceled but the
		// conversation remains active without an agent."
		// (https://www.twilio.com/docs/flex/developer/conversations/best-practices)
		CancelOnReject: rt.WorkerSid != "",
	})
	if err != nil {
		return nil, err
	}
	inv.TaskSid = task.Sid
	s.invites[inv.Sid] = inv
	ch.invites = append(ch.invites, inv)
	s.taskChannel[task.Sid] = ch
	s.touchChannel(ch)
	return inv, nil
}

// routingJSON is the `routing` Flex returns for an invite: the task it created
// as TaskRouter sees it now, under `properties`.
func (s *Store) routingJSON(inv *invite) map[string]any {
	return map[string]any{"reservation": nil, "properties": s.taskProperties(inv)}
}

// taskProperties renders the invite's task the way Flex shows it (snake_case,
// dates as Unix seconds, attributes as JSON text).
func (s *Store) taskProperties(inv *invite) map[string]any {
	p := map[string]any{
		"account_sid":   s.env.AccountSID,
		"workspace_sid": inv.WorkspaceSid,
		"sid":           inv.TaskSid,
	}
	t := s.tr.Task(inv.WorkspaceSid, inv.TaskSid)
	if t == nil {
		return p
	}
	attrs, err := json.Marshal(t.Attributes)
	if err != nil {
		attrs = []byte("{}")
	}
	now := s.env.Now()
	age := int(now.Sub(t.DateCreated).Seconds())
	p["attributes"] = string(attrs)
	p["assignment_status"] = t.AssignmentStatus
	p["workflow_sid"] = optional(t.WorkflowSid) // "" for a task routed straight to a worker or queue
	p["queue_sid"] = optional(t.QueueSid)
	p["priority"] = t.Priority
	p["timeout"] = t.Timeout
	p["reason"] = t.Reason
	p["task_channel_unique_name"] = t.TaskChannelUniqueName
	p["task_channel_sid"] = t.TaskChannelSid
	p["date_created"] = t.DateCreated.Unix()
	p["date_updated"] = t.DateUpdated.Unix()
	p["age"] = age
	if !t.QueueEnteredAt.IsZero() {
		p["task_queue_entered_date"] = t.QueueEnteredAt.Unix()
		p["age_in_queue"] = int(now.Sub(t.QueueEnteredAt).Seconds())
	}
	p["addons"] = "{}"
	if t.WorkerSid != "" {
		p["routing_target"] = t.WorkerSid
	}
	return p
}

// endTask takes a Flex task to where an action wants it (completed or
// wrapping). A task nobody holds yet (pending, reserved) has nothing to wrap
// up, so it is canceled; a task already past the wanted state is left alone.
func (s *Store) endTask(workspaceSid, taskSid, want, reason string) *core.Error {
	t := s.tr.Task(workspaceSid, taskSid)
	if t == nil {
		return nil
	}
	switch t.AssignmentStatus {
	case "pending", "reserved":
		return s.tr.UpdateTaskStatus(workspaceSid, taskSid, "canceled", reason)
	case "assigned":
		return s.tr.UpdateTaskStatus(workspaceSid, taskSid, want, reason)
	case "wrapping":
		if want == "completed" {
			return s.tr.UpdateTaskStatus(workspaceSid, taskSid, "completed", reason)
		}
	}
	return nil
}

// unexpected turns an error from another product that Flex cannot explain to
// its caller into a logged warning: the emulator never answers 5xx for it.
func (s *Store) unexpected(what string, err *core.Error) {
	if err != nil {
		s.env.Log.Warn("flex emulator: "+what, "status", err.Status, "code", err.Code, "error", err.Message)
	}
}
