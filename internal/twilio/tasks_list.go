package twilio

import (
	"context"
	"encoding/json"
	"strings"

	taskrouter "github.com/twilio/twilio-go/rest/taskrouter/v1"

	"github.com/flexhooks/flexhooks/webhooks"
)

// ListTasks lists the workspace's tasks as o narrows them, at most
// o.Limit, in TaskRouter pages of up to 1000 (followed by twilio-go's page
// token: the task list does not support Page). TaskRouter keeps ended
// tasks listable for only a few minutes (docs/twilio-behaviour.md), so a
// caller looking for ended tasks must look often. TaskRouter's list may
// leave attributes out (its spec: they are shown only when a single task
// is fetched); such a task has nil Attributes.
func (o *Operations) ListTasks(ctx context.Context, workspaceSid string, opts webhooks.TaskListOptions) ([]webhooks.TaskSummary, error) {
	limit := max(opts.Limit, 1)
	ordering := "DateCreated:asc"
	if opts.NewestFirst {
		ordering = "DateCreated:desc"
	}
	p := (&taskrouter.ListTaskParams{}).SetOrdering(ordering).SetPageSize(min(limit, 1000)).SetLimit(limit)
	if len(opts.Statuses) > 0 {
		p.SetAssignmentStatus(opts.Statuses)
	}
	if opts.Evaluate != "" {
		p.SetEvaluateTaskAttributes(opts.Evaluate)
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

// taskSummary converts a task; fetched: a single fetch, whose attributes
// are always shown (an empty object when unset).
func taskSummary(t taskrouter.TaskrouterV1Task, fetched bool) webhooks.TaskSummary {
	s := webhooks.TaskSummary{
		Sid: ptrValue(t.Sid), AssignmentStatus: ptrValue(t.AssignmentStatus),
		DateCreated: ptrValue(t.DateCreated).UTC(), DateUpdated: ptrValue(t.DateUpdated).UTC(),
		QueueSid: ptrValue(t.TaskQueueSid), QueueName: ptrValue(t.TaskQueueFriendlyName), Reason: ptrValue(t.Reason),
		WorkflowSid: ptrValue(t.WorkflowSid), TaskChannelUniqueName: ptrValue(t.TaskChannelUniqueName),
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
