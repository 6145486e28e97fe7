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
