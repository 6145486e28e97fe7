package setup

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"

	taskrouter "github.com/twilio/twilio-go/rest/taskrouter/v1"

	"github.com/flexhooks/flexhooks/internal/twilio"
)

// TransferWorkflowName is the workflow transfers route through.
const TransferWorkflowName = "Chat Transfer"

// transferWorkflowStep creates or updates the Chat Transfer workflow: a
// filter for worker targets (known_worker_sid: task.transferTargetSid) and
// one per queue, whose target excludes the workers already in the
// conversation (task.workerSidsInConversation), so that a queue transfer
// reaches someone new.
type transferWorkflowStep struct{ cfg Config }

func (transferWorkflowStep) Name() string { return "transfer workflow" }

func (s transferWorkflowStep) Plan(ctx context.Context, api *twilio.API) (Plan, error) {
	ws := s.cfg.WorkspaceSID
	queues, err := api.TaskRouter.ListTaskQueue(ws, (&taskrouter.ListTaskQueueParams{}).SetPageSize(1000).SetLimit(1000))
	if err != nil {
		return Plan{}, twilio.MapError(err)
	}
	if len(queues) == 0 {
		return Plan{}, fmt.Errorf("workspace %s has no task queue to transfer to", ws)
	}
	want := transferWorkflowConfig(queues)
	wantJSON, err := json.Marshal(want)
	if err != nil {
		return Plan{}, err
	}
	flows, err := api.TaskRouter.ListWorkflow(ws, (&taskrouter.ListWorkflowParams{}).SetFriendlyName(TransferWorkflowName).SetPageSize(50).SetLimit(50))
	if err != nil {
		return Plan{}, twilio.MapError(err)
	}
	var existing *taskrouter.TaskrouterV1Workflow
	for i := range flows {
		if deref(flows[i].FriendlyName) == TransferWorkflowName {
			existing = &flows[i]
			break
		}
	}
	if existing == nil {
		return Plan{
			Changes: []string{fmt.Sprintf("create workflow %q (worker filter + %d queue filters)", TransferWorkflowName, len(queues))},
			Apply: func(ctx context.Context, api *twilio.API) (string, error) {
				wf, err := api.TaskRouter.CreateWorkflow(ws, (&taskrouter.CreateWorkflowParams{}).
					SetFriendlyName(TransferWorkflowName).SetConfiguration(string(wantJSON)))
				if err != nil {
					return "", twilio.MapError(err)
				}
				return "set TWILIO_FLEX_CHAT_TRANSFER_WORKFLOW_SID=" + deref(wf.Sid), nil
			},
			Note: "its SID is printed once it is created",
		}, nil
	}
	sid := deref(existing.Sid)
	note := "TWILIO_FLEX_CHAT_TRANSFER_WORKFLOW_SID=" + sid
	if sameJSON(deref(existing.Configuration), want) {
		return Plan{Note: note}, nil
	}
	return Plan{
		Changes: []string{fmt.Sprintf("update workflow %s %q configuration (worker filter + %d queue filters)", sid, TransferWorkflowName, len(queues))},
		Apply: func(ctx context.Context, api *twilio.API) (string, error) {
			_, err := api.TaskRouter.UpdateWorkflow(ws, sid, (&taskrouter.UpdateWorkflowParams{}).SetConfiguration(string(wantJSON)))
			return "", twilio.MapError(err)
		},
		Note: note,
	}, nil
}

// transferWorkflowConfig is the workflow's configuration for the queues.
// Worker targets sit in the queue every worker belongs to ("Everyone" in
// Flex), else the first queue.
func transferWorkflowConfig(queues []taskrouter.TaskrouterV1TaskQueue) map[string]any {
	everyone := deref(queues[0].Sid)
	for _, q := range queues {
		if deref(q.FriendlyName) == "Everyone" || deref(q.TargetWorkers) == "1==1" {
			everyone = deref(q.Sid)
			break
		}
	}
	// TaskRouter's expressions have no null (strings, numbers and booleans
	// only: docs/taskrouter/expression-syntax), and NOT IN an absent list is
	// false; flexhooks always sets the list on a transfer's task (empty when
	// nobody is in the conversation), as flex-project-template's
	// conversation-transfer workflow relies on too.
	const notInConversation = "worker.sid NOT IN task.workerSidsInConversation"
	filters := []any{map[string]any{
		"filter_friendly_name": "Transfer to a worker",
		"expression":           `transferTargetType == "worker"`,
		"targets":              []any{map[string]any{"queue": everyone, "known_worker_sid": "task.transferTargetSid"}},
	}}
	for _, q := range queues {
		name := deref(q.FriendlyName)
		filters = append(filters, map[string]any{
			"filter_friendly_name": "Transfer to " + name,
			"expression":           fmt.Sprintf(`transferTargetType == "queue" AND transferQueueName == %q`, name),
			"targets":              []any{map[string]any{"queue": deref(q.Sid), "expression": notInConversation}},
		})
	}
	return map[string]any{"task_routing": map[string]any{
		"filters":        filters,
		"default_filter": map[string]any{"queue": everyone},
	}}
}

// sameJSON compares a configuration Twilio holds (JSON text) with want, by
// value: Twilio may reorder keys or reformat.
func sameJSON(have string, want any) bool {
	var a, b any
	if json.Unmarshal([]byte(have), &a) != nil {
		return false
	}
	wb, err := json.Marshal(want)
	if err != nil || json.Unmarshal(wb, &b) != nil {
		return false
	}
	return reflect.DeepEqual(a, b)
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
