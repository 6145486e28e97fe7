package twilio

import (
	"context"
	"encoding/json"
	"strings"

	taskrouter "github.com/twilio/twilio-go/rest/taskrouter/v1"

	"github.com/flexhooks/flexhooks"
	"github.com/flexhooks/flexhooks/webhooks"
)

// The TaskRouter reads the interaction records' sweep makes: the tasks the
// workspace holds, a task's facts, and who accepted it.

// ListWorkspaceTasks lists the workspace's tasks in the given assignment
// statuses, oldest first, at most limit (TaskRouter pages of up to 1000,
// followed by twilio-go's page token: the task list does not support Page).
// TaskRouter's list may leave Attributes out (its spec: they are shown only
// when a single task is fetched); such a task has nil Attributes.
func (o *Operations) ListWorkspaceTasks(ctx context.Context, workspaceSid string, statuses []string, limit int) ([]webhooks.TaskSummary, error) {
	p := (&taskrouter.ListTaskParams{}).SetOrdering("DateCreated:asc").SetPageSize(min(limit, 1000)).SetLimit(limit)
	if len(statuses) > 0 {
		p.SetAssignmentStatus(statuses)
	}
	ts, err := o.c.API(ctx).TaskRouter.ListTask(workspaceSid, p)
	if err != nil {
		return nil, MapError(err)
	}
	out := make([]webhooks.TaskSummary, 0, len(ts))
	for _, t := range ts {
		out = append(out, taskSummary(t, false))
	}
	return out, nil
}

// FetchTaskSummary reads one task with its attributes and dates.
func (o *Operations) FetchTaskSummary(ctx context.Context, workspaceSid, taskSid string) (webhooks.TaskSummary, error) {
	t, err := o.c.API(ctx).TaskRouter.FetchTask(workspaceSid, taskSid)
	if err != nil {
		return webhooks.TaskSummary{}, MapError(err)
	}
	s := taskSummary(*t, true)
	if s.Attributes == nil && ptrValue(t.Attributes) != "" {
		return webhooks.TaskSummary{}, flexhooks.Errorf(flexhooks.EUPSTREAM, "task %s has attributes that are not a JSON object", taskSid)
	}
	return s, nil
}

// taskSummary converts a task; fetched: a single fetch, whose attributes
// are always shown (an empty object when unset).
func taskSummary(t taskrouter.TaskrouterV1Task, fetched bool) webhooks.TaskSummary {
	s := webhooks.TaskSummary{
		Sid: ptrValue(t.Sid), AssignmentStatus: ptrValue(t.AssignmentStatus),
		DateCreated: ptrValue(t.DateCreated).UTC(), DateUpdated: ptrValue(t.DateUpdated).UTC(),
		QueueSid: ptrValue(t.TaskQueueSid), QueueName: ptrValue(t.TaskQueueFriendlyName), Reason: ptrValue(t.Reason),
	}
	if a := ptrValue(t.Attributes); a != "" {
		d := json.NewDecoder(strings.NewReader(a))
		d.UseNumber()
		var m map[string]any
		if d.Decode(&m) == nil && m != nil {
			s.Attributes = m
		}
	} else if fetched {
		s.Attributes = map[string]any{}
	}
	return s
}

// ListTaskReservations lists a task's reservations (TaskRouter keeps them
// as long as the task).
func (o *Operations) ListTaskReservations(ctx context.Context, workspaceSid, taskSid string) ([]webhooks.TaskReservation, error) {
	rs, err := o.c.API(ctx).TaskRouter.ListTaskReservation(workspaceSid, taskSid,
		(&taskrouter.ListTaskReservationParams{}).SetPageSize(50).SetLimit(200))
	if err != nil {
		return nil, MapError(err)
	}
	out := make([]webhooks.TaskReservation, 0, len(rs))
	for _, r := range rs {
		out = append(out, webhooks.TaskReservation{
			Sid: ptrValue(r.Sid), Status: ptrValue(r.ReservationStatus),
			WorkerSid: ptrValue(r.WorkerSid), WorkerName: ptrValue(r.WorkerName),
			DateCreated: ptrValue(r.DateCreated).UTC(), DateUpdated: ptrValue(r.DateUpdated).UTC(),
		})
	}
	return out, nil
}
