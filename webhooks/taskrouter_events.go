package webhooks

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/flexhooks/flexhooks"
)

// TaskRouterEventPath is where the workspace's EventCallbackUrl points. Every
// TaskRouter event type arrives there; the ones no capability uses get 204 at
// once.
const TaskRouterEventPath = "/webhooks/reservation-accepted"

// TaskRouterEvent is a TaskRouter workspace event callback, with Twilio's
// field names (form-encoded).
type TaskRouterEvent struct {
	EventType             string `json:"EventType"`
	EventDescription      string `json:"EventDescription"`
	ResourceSid           string `json:"ResourceSid"`
	WorkspaceSid          string `json:"WorkspaceSid"`
	TaskSid               string `json:"TaskSid"`
	TaskAttributes        string `json:"TaskAttributes"`
	TaskAssignmentStatus  string `json:"TaskAssignmentStatus"`
	TaskChannelUniqueName string `json:"TaskChannelUniqueName"`
	TaskQueueSid          string `json:"TaskQueueSid"`
	TaskQueueName         string `json:"TaskQueueName"`
	WorkflowSid           string `json:"WorkflowSid"`
	ReservationSid        string `json:"ReservationSid"`
	WorkerSid             string `json:"WorkerSid"`
	WorkerName            string `json:"WorkerName"`
	Timestamp             string `json:"Timestamp"`
	TimestampMs           string `json:"TimestampMs"`
	// TaskDateCreated is the task's creation (Unix seconds).
	TaskDateCreated     string `json:"TaskDateCreated"`
	TaskCompletedReason string `json:"TaskCompletedReason"`
	TaskCanceledReason  string `json:"TaskCanceledReason"`
}

// Attributes decodes TaskAttributes; malformed or absent attributes yield an
// empty map, since an event is not the place to reject a task.
func (e TaskRouterEvent) Attributes() map[string]any {
	var m map[string]any
	if err := json.Unmarshal([]byte(e.TaskAttributes), &m); err != nil || m == nil {
		return map[string]any{}
	}
	return m
}

// TaskEventHandler reacts to one TaskRouter event. An error makes the
// callback answer 5xx, so that TaskRouter delivers the event again: a handler
// must therefore be idempotent.
type TaskEventHandler func(ctx context.Context, ev TaskRouterEvent) error

// TaskEvents dispatches TaskRouter events to the capabilities that use them
// (inactivity timeout, warm transfer, interaction records…), so that one
// workspace callback serves them all.
type TaskEvents struct {
	handlers map[string][]TaskEventHandler
}

// NewTaskEvents returns an empty dispatcher.
func NewTaskEvents() *TaskEvents { return &TaskEvents{handlers: map[string][]TaskEventHandler{}} }

// On registers h for an event type such as "reservation.accepted". Register
// everything before serving: the dispatcher is read-only afterwards.
func (d *TaskEvents) On(eventType string, h TaskEventHandler) {
	d.handlers[eventType] = append(d.handlers[eventType], h)
}

// Handle runs the handlers of the event's type side by side — they are
// independent capabilities, so one's Twilio round trips do not wait for
// another's — and fails when any failed (TaskRouter then delivers the event
// again to all of them, which their idempotence allows). An event type
// nobody handles is acknowledged with 204 and nothing else.
func (d *TaskEvents) Handle(ctx context.Context, ev *TaskRouterEvent) (flexhooks.NoContent, error) {
	hs := d.handlers[ev.EventType]
	if len(hs) == 0 {
		return flexhooks.NoContent{}, nil
	}
	logSids(ctx, "taskSid", ev.TaskSid, "workerSid", ev.WorkerSid)
	errs := make([]error, len(hs))
	fns := make([]func(), len(hs))
	for i, h := range hs {
		fns[i] = func() { errs[i] = h(ctx, *ev) }
	}
	parallel(fns...)
	return flexhooks.NoContent{}, errors.Join(errs...)
}
