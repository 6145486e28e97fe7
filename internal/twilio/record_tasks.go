package twilio

import (
	"context"

	taskrouter "github.com/twilio/twilio-go/rest/taskrouter/v1"

	"github.com/flexhooks/flexhooks"
	"github.com/flexhooks/flexhooks/webhooks"
)

// The TaskRouter reads the interaction records' sweep makes beside the
// task list (tasks_list.go): a task's facts, and who accepted it.

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
