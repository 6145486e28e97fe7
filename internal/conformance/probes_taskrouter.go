package conformance

import (
	"context"
	"encoding/json"
	"fmt"

	taskrouter "github.com/twilio/twilio-go/rest/taskrouter/v1"
)

var probeNullLiteral = Probe{
	Name: "taskrouter-null-literal",
	Behaviour: "TaskRouter expressions know three constant types, strings, numbers and booleans: a workflow using `null` is refused " +
		"(https://www.twilio.com/docs/taskrouter/expression-syntax); `flexhooks setup` no longer writes it",
	Expected: "HTTP 400 (no workflow created)",
	Run: func(ctx context.Context, c *Client) (string, bool, error) {
		if c.workspaceSID == "" {
			return "", false, skip("no TWILIO_FLEX_WORKSPACE_SID")
		}
		api := c.API(ctx).TaskRouter
		// A queue of the workspace's own, so that the expression is
		// the configuration's only fault. Reading it changes nothing.
		queues, err := api.ListTaskQueue(c.workspaceSID, (&taskrouter.ListTaskQueueParams{}).SetPageSize(1).SetLimit(1))
		if err != nil {
			observed, err := answer(err)
			return "listing queues: " + observed, false, err
		}
		if len(queues) == 0 || queues[0].Sid == nil {
			return "", false, skip("the workspace has no queue")
		}
		q := *queues[0].Sid
		config, _ := json.Marshal(map[string]any{"task_routing": map[string]any{
			"filters": []any{map[string]any{
				"filter_friendly_name": "null literal",
				"expression":           "flexhooksConformance == null",
				"targets":              []any{map[string]any{"queue": q}},
			}},
			"default_filter": map[string]any{"queue": q},
		}})
		wf, err := api.CreateWorkflow(c.workspaceSID, (&taskrouter.CreateWorkflowParams{}).
			SetFriendlyName(c.Name("null-literal")).SetConfiguration(string(config)))
		if err == nil {
			sid := *wf.Sid
			c.made("workflow "+sid+" "+c.Name("null-literal"), func(ctx context.Context) error {
				return c.API(ctx).TaskRouter.DeleteWorkflow(c.workspaceSID, sid)
			})
			return fmt.Sprintf("success: workflow %s created", sid), false, nil
		}
		return refusedWith(err, 400, 0)
	},
}
