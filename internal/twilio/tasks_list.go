package twilio

import (
	"context"
	"encoding/json"

	taskrouter "github.com/twilio/twilio-go/rest/taskrouter/v1"

	"github.com/flexhooks/flexhooks/webhooks"
)

// ListRecentTasks returns up to limit of the workspace's tasks in any of
// statuses (pending, reserved, assigned, wrapping, completed, canceled)
// whose attributes match evaluate (a TaskRouter expression; "" for all),
// newest first (TaskRouter orders by DateCreated or Priority only): one
// page of at most 1000. TaskRouter keeps ended tasks listable for only a
// few minutes (docs/twilio-behaviour.md), so a caller looking for ended
// tasks must look often. TaskRouter's list may leave attributes out (its
// spec: they are shown only when a single task is fetched); such a task
// has nil Attributes.
func (o *Operations) ListRecentTasks(ctx context.Context, workspaceSid string, statuses []string, evaluate string, limit int) ([]webhooks.ListedTask, error) {
	limit = min(max(limit, 1), 1000)
	params := (&taskrouter.ListTaskParams{}).SetAssignmentStatus(statuses).SetOrdering("DateCreated:desc").SetPageSize(limit).SetLimit(limit)
	if evaluate != "" {
		params.SetEvaluateTaskAttributes(evaluate)
	}
	ts, err := o.c.API(ctx).TaskRouter.ListTask(workspaceSid, params)
	if err != nil {
		return nil, MapError(err)
	}
	out := make([]webhooks.ListedTask, 0, len(ts))
	for _, t := range ts {
		lt := webhooks.ListedTask{
			Task:        webhooks.Task{Sid: ptrValue(t.Sid), AssignmentStatus: ptrValue(t.AssignmentStatus), DateUpdated: ptrValue(t.DateUpdated)},
			WorkflowSid: ptrValue(t.WorkflowSid), TaskChannelUniqueName: ptrValue(t.TaskChannelUniqueName),
		}
		if a := ptrValue(t.Attributes); a != "" {
			lt.Attributes = map[string]any{}
			_ = json.Unmarshal([]byte(a), &lt.Attributes) // a task that is not ours is skipped by its attributes
		}
		out = append(out, lt)
	}
	return out, nil
}
