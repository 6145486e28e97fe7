package twilio

import (
	"context"
	"encoding/json"
	"strings"

	taskrouter "github.com/twilio/twilio-go/rest/taskrouter/v1"

	"github.com/flexhooks/flexhooks"
	"github.com/flexhooks/flexhooks/webhooks"
)

// FetchWorker returns a worker of the workspace; ENOTFOUND when unknown.
func (o *Operations) FetchWorker(ctx context.Context, workspaceSid, workerSid string) (webhooks.Worker, error) {
	w, err := o.c.API(ctx).TaskRouter.FetchWorker(workspaceSid, workerSid)
	if err != nil {
		return webhooks.Worker{}, MapError(err)
	}
	return webhooks.Worker{Sid: ptrValue(w.Sid), FriendlyName: ptrValue(w.FriendlyName)}, nil
}

// FetchQueue returns a task queue of the workspace; ENOTFOUND when unknown.
func (o *Operations) FetchQueue(ctx context.Context, workspaceSid, queueSid string) (webhooks.Queue, error) {
	q, err := o.c.API(ctx).TaskRouter.FetchTaskQueue(workspaceSid, queueSid)
	if err != nil {
		return webhooks.Queue{}, MapError(err)
	}
	return webhooks.Queue{Sid: ptrValue(q.Sid), FriendlyName: ptrValue(q.FriendlyName)}, nil
}

// FindQueue returns the queue with that friendly name. TaskRouter's
// FriendlyName filter is used, then checked exactly: it is documented as
// an exact match, but a case-insensitive answer must not pick another queue.
func (o *Operations) FindQueue(ctx context.Context, workspaceSid, friendlyName string) (webhooks.Queue, error) {
	qs, err := o.c.API(ctx).TaskRouter.ListTaskQueue(workspaceSid,
		(&taskrouter.ListTaskQueueParams{}).SetFriendlyName(friendlyName).SetPageSize(50).SetLimit(50))
	if err != nil {
		return webhooks.Queue{}, MapError(err)
	}
	var fold *webhooks.Queue
	for _, q := range qs {
		got := webhooks.Queue{Sid: ptrValue(q.Sid), FriendlyName: ptrValue(q.FriendlyName)}
		if got.FriendlyName == friendlyName {
			return got, nil
		}
		if fold == nil && strings.EqualFold(got.FriendlyName, friendlyName) {
			fold = &got
		}
	}
	if fold != nil {
		return *fold, nil
	}
	return webhooks.Queue{}, flexhooks.Errorf(flexhooks.ENOTFOUND, "no task queue named %q", friendlyName)
}

// FetchTask returns a task's status and attributes.
func (o *Operations) FetchTask(ctx context.Context, workspaceSid, taskSid string) (webhooks.Task, error) {
	t, err := o.c.API(ctx).TaskRouter.FetchTask(workspaceSid, taskSid)
	if err != nil {
		return webhooks.Task{}, MapError(err)
	}
	out := webhooks.Task{Sid: ptrValue(t.Sid), AssignmentStatus: ptrValue(t.AssignmentStatus), Attributes: map[string]any{}, DateUpdated: ptrValue(t.DateUpdated)}
	if a := ptrValue(t.Attributes); a != "" {
		d := json.NewDecoder(strings.NewReader(a))
		d.UseNumber()
		if err := d.Decode(&out.Attributes); err != nil || out.Attributes == nil {
			return webhooks.Task{}, &flexhooks.Error{Code: flexhooks.EUPSTREAM, Message: "task " + taskSid + " has attributes that are not a JSON object", Err: err}
		}
	}
	return out, nil
}

// CancelTask moves a pending or reserved task to canceled.
func (o *Operations) CancelTask(ctx context.Context, workspaceSid, taskSid, reason string) error {
	_, err := o.c.API(ctx).TaskRouter.UpdateTask(workspaceSid, taskSid,
		(&taskrouter.UpdateTaskParams{}).SetAssignmentStatus("canceled").SetReason(reason))
	return MapError(err)
}
