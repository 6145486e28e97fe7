package e2etest

import (
	"strings"

	"github.com/stretchr/testify/require"
	taskrouter "github.com/twilio/twilio-go/rest/taskrouter/v1"
)

// TaskRouterEventPath is the service's workspace event callback path.
const TaskRouterEventPath = "/webhooks/reservation-accepted"

// RouteTaskRouterEvents points the workspace's event callback at a replica
// (any replica serves it), for the given event types, as `flexhooks setup`
// does on a real workspace.
func (w *World) RouteTaskRouterEvents(service string, eventTypes ...string) {
	w.T.Helper()
	p := (&taskrouter.UpdateWorkspaceParams{}).SetEventCallbackUrl(service + TaskRouterEventPath)
	if len(eventTypes) > 0 {
		p.SetEventsFilter(strings.Join(eventTypes, ","))
	}
	_, err := w.Twilio.TaskrouterV1.UpdateWorkspace(w.Seeded.WorkspaceSID, p)
	require.NoError(w.T, err)
}

// PendingReservation returns the worker a task is offered to now, or "".
func (w *World) PendingReservation(taskSid string) string {
	w.T.Helper()
	res, err := w.Twilio.TaskrouterV1.ListTaskReservation(w.Seeded.WorkspaceSID, taskSid,
		(&taskrouter.ListTaskReservationParams{}).SetReservationStatus("pending"))
	require.NoError(w.T, err)
	if len(res) == 0 || res[0].WorkerSid == nil {
		return ""
	}
	return *res[0].WorkerSid
}

// RejectReservation rejects the task's pending reservation through the
// TaskRouter API, as an agent's Flex UI does, waits for the webhooks it
// fires, and returns the worker who rejected it.
func (w *World) RejectReservation(taskSid string) string {
	w.T.Helper()
	return w.answerReservation(taskSid, "rejected")
}

// TaskStatus returns a task's assignment status and attributes (JSON text).
func (w *World) TaskStatus(taskSid string) (status, attributes string) {
	w.T.Helper()
	t, err := w.Twilio.TaskrouterV1.FetchTask(w.Seeded.WorkspaceSID, taskSid)
	require.NoError(w.T, err)
	return *t.AssignmentStatus, *t.Attributes
}
