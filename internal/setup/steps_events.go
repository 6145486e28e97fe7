package setup

import (
	"context"
	"fmt"
	"slices"
	"strings"

	taskrouter "github.com/twilio/twilio-go/rest/taskrouter/v1"

	"github.com/flexhooks/flexhooks/internal/twilio"
	"github.com/flexhooks/flexhooks/webhooks"
)

// TaskRouterEventTypes are the workspace events flexhooks uses: transfers',
// the inactivity timeout's (reservation.accepted) and interaction records'
// (subscribed whether records are on or not, so that turning them on needs
// no second setup; the service acknowledges unused events at once).
func TaskRouterEventTypes() []string {
	var out []string
	for _, t := range slices.Concat([]string{"reservation.accepted"}, webhooks.ParkEventTypes, webhooks.TransferEventTypes, webhooks.InteractionEventTypes) {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// workspaceEventsStep points the workspace's EventCallbackUrl at the
// service and adds the event types it needs to EventsFilter, keeping the
// types already there (an empty filter means every event, and stays so).
type workspaceEventsStep struct{ cfg Config }

func (workspaceEventsStep) Name() string { return "workspace event callback" }

func (s workspaceEventsStep) Plan(ctx context.Context, api *twilio.API) (Plan, error) {
	ws, err := api.TaskRouter.FetchWorkspace(s.cfg.WorkspaceSID)
	if err != nil {
		return Plan{}, twilio.MapError(err)
	}
	url := strings.TrimRight(s.cfg.PublicBaseURL, "/") + webhooks.TaskRouterEventPath
	haveURL, haveFilter := deref(ws.EventCallbackUrl), strings.TrimSpace(deref(ws.EventsFilter))
	var changes []string
	p := &taskrouter.UpdateWorkspaceParams{}
	if haveURL != url {
		p.SetEventCallbackUrl(url)
		if haveURL == "" {
			changes = append(changes, "set EventCallbackUrl to "+url)
		} else {
			changes = append(changes, fmt.Sprintf("replace EventCallbackUrl %s with %s (the old URL stops receiving events)", haveURL, url))
		}
	}
	switch {
	case haveFilter == "" && haveURL != "":
		// Every event is delivered already; a filter would drop some.
	default:
		merged, added := mergeList(strings.Split(haveFilter, ","), TaskRouterEventTypes())
		if len(added) > 0 {
			p.SetEventsFilter(strings.Join(merged, ","))
			changes = append(changes, "add "+strings.Join(added, ", ")+" to EventsFilter")
		}
	}
	if len(changes) == 0 {
		return Plan{}, nil
	}
	return Plan{
		Changes: changes,
		Apply: func(ctx context.Context, api *twilio.API) (string, error) {
			_, err := api.TaskRouter.UpdateWorkspace(s.cfg.WorkspaceSID, p)
			return "", twilio.MapError(err)
		},
	}, nil
}
