package taskrouter

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/flexhooks/flexhooks/internal/emulator/core"
)

// eventRefs names what an event is about; each present resource adds its
// fields to the callback as TaskRouter's event reference lists them.
type eventRefs struct {
	task        *Task
	worker      *Worker
	reservation *Reservation
	extra       map[string]string
}

// emit sends a workspace event callback (POST, form-encoded, signed by the
// outbox) when the workspace has an EventCallbackUrl and its EventsFilter
// (comma-separated event types; empty means all) lets the type through.
func (s *Store) emit(ws *Workspace, eventType, description string, refs eventRefs) {
	if ws.EventCallbackURL == "" || !wantsEvent(ws.EventsFilter, eventType) {
		return
	}
	now := s.env.Now()
	p := url.Values{}
	p.Set("Sid", core.NewSID("EV"))
	p.Set("EventType", eventType)
	p.Set("EventDescription", description)
	p.Set("AccountSid", s.env.AccountSID)
	p.Set("WorkspaceSid", ws.Sid)
	p.Set("WorkspaceName", ws.FriendlyName)
	p.Set("Timestamp", strconv.FormatInt(now.Unix(), 10))
	// TimestampMs and TaskDateCreated are not in the event reference
	// (docs/taskrouter/api/event/reference): present or not is a switch.
	extras := s.env.Behaviour.TaskRouterEventTimestamps
	if extras {
		p.Set("TimestampMs", strconv.FormatInt(now.UnixMilli(), 10))
	}

	resourceType, resourceSid := "Workspace", ws.Sid
	if t := refs.task; t != nil {
		resourceType, resourceSid = "Task", t.Sid
		p.Set("TaskSid", t.Sid)
		p.Set("TaskAttributes", encodeObject(t.Attributes))
		p.Set("TaskAge", strconv.Itoa(int(now.Sub(t.DateCreated).Seconds())))
		p.Set("TaskPriority", strconv.Itoa(t.Priority))
		p.Set("TaskAssignmentStatus", t.AssignmentStatus)
		p.Set("TaskVersion", strconv.Itoa(t.Version))
		if extras {
			p.Set("TaskDateCreated", strconv.FormatInt(t.DateCreated.Unix(), 10))
		}
		p.Set("TaskTimeout", strconv.Itoa(t.Timeout))
		p.Set("TaskChannelSid", t.TaskChannelSid)
		p.Set("TaskChannelUniqueName", t.TaskChannelUniqueName)
		if q := ws.queue(t.QueueSid); q != nil {
			p.Set("TaskQueueSid", q.Sid)
			p.Set("TaskQueueName", q.FriendlyName)
			p.Set("TaskQueueTargetExpression", q.TargetWorkers)
			p.Set("TaskQueueEnteredDate", strconv.FormatInt(t.QueueEnteredAt.Unix(), 10))
		}
		if wf := ws.workflow(t.WorkflowSid); wf != nil {
			p.Set("WorkflowSid", wf.Sid)
			p.Set("WorkflowName", wf.FriendlyName)
			if t.route.filterName != "" {
				p.Set("WorkflowFilterName", t.route.filterName)
			}
		}
	}
	if w := refs.worker; w != nil {
		if refs.task == nil {
			resourceType, resourceSid = "Worker", w.Sid
		}
		p.Set("WorkerSid", w.Sid)
		p.Set("WorkerName", w.FriendlyName)
		p.Set("WorkerAttributes", encodeObject(w.Attributes))
		p.Set("WorkerActivitySid", w.ActivitySid)
		p.Set("WorkerActivityName", w.ActivityName)
		p.Set("WorkerAvailable", strconv.FormatBool(w.Available))
		p.Set("WorkerVersion", strconv.Itoa(w.Version))
		p.Set("WorkerTimeInPreviousActivity", "0")
		p.Set("WorkerTimeInPreviousActivityMs", "0")
		if refs.task != nil {
			if ch := w.channel(refs.task.TaskChannelSid); ch != nil {
				p.Set("WorkerChannelAvailable", strconv.FormatBool(ch.Available))
				p.Set("WorkerChannelCapacity", strconv.Itoa(ch.Capacity))
				p.Set("WorkerChannelAssignedTasks", strconv.Itoa(ws.assignedTasks(w.Sid, ch.TaskChannelSid)))
			}
		}
	}
	if r := refs.reservation; r != nil {
		resourceType, resourceSid = "Reservation", r.Sid
		p.Set("ReservationSid", r.Sid)
		p.Set("ReservationVersion", strconv.Itoa(r.Version))
	}
	for k, v := range refs.extra {
		p.Set(k, v)
	}
	p.Set("ResourceType", resourceType)
	p.Set("ResourceSid", resourceSid)
	s.env.Send(core.Webhook{URL: ws.EventCallbackURL, Method: "POST", Params: p, Source: "taskrouter", Policy: core.TaskRouterDelivery})
}

func wantsEvent(filter, eventType string) bool {
	if strings.TrimSpace(filter) == "" {
		return true
	}
	for _, f := range strings.Split(filter, ",") {
		if strings.TrimSpace(f) == eventType {
			return true
		}
	}
	return false
}
