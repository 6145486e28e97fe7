package taskrouter

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	trv1 "github.com/twilio/twilio-go/rest/taskrouter/v1"
)

// TimestampMs and TaskDateCreated are not in TaskRouter's event reference:
// with the switch off, events carry neither (Timestamp stays).
func TestVariantEventsWithoutTimestamps(t *testing.T) {
	w := newWorld(t)
	w.locked(func() { w.env.Behaviour.TaskRouterEventTimestamps = false })
	rc := newReceiver(t)
	_, err := w.tr.UpdateWorkspace(w.ws, (&trv1.UpdateWorkspaceParams{}).SetEventCallbackUrl(rc.srv.URL+"/events"))
	require.NoError(t, err)
	w.createTask(t, "", map[string]any{})
	w.settle(t)
	created := rc.find("task.created")
	require.Len(t, created, 1)
	assert.NotEmpty(t, created[0].Get("Timestamp"))
	assert.False(t, created[0].Has("TimestampMs"))
	assert.False(t, created[0].Has("TaskDateCreated"))
}

// Twilio's spec shows a task's attributes only when one task is fetched:
// with the switch off, the list gives null, while a fetch and an
// EvaluateTaskAttributes filter still see them.
func TestVariantTaskListWithoutAttributes(t *testing.T) {
	w := newWorld(t)
	w.locked(func() { w.env.Behaviour.TaskListAttributes = false })
	task := w.createTask(t, "", map[string]any{"type": "sales"})
	require.NotNil(t, task.Attributes, "a create returns the one task it made")

	list, err := w.tr.ListTask(w.ws, (&trv1.ListTaskParams{}).SetEvaluateTaskAttributes(`type == "sales"`))
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Nil(t, list[0].Attributes)
	assert.JSONEq(t, `{"type":"sales"}`, *w.fetchTask(t, *task.Sid).Attributes)
}
