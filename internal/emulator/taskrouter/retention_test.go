package taskrouter

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	twclient "github.com/twilio/twilio-go/client"
	trv1 "github.com/twilio/twilio-go/rest/taskrouter/v1"
)

// A canceled or completed task is deleted five minutes after it got there
// (docs/taskrouter/lifecycle-task-state; said of canceled, applied to
// completed too as the worst case).
func TestEndedTasksAreDeletedAfterFiveMinutes(t *testing.T) {
	w := newWorld(t)
	canceled := w.createTask(t, w.workflow("Assign to Anyone"), map[string]any{})
	w.cancel(t, *canceled.Sid)
	completed := w.createTask(t, w.workflow("Assign to Anyone"), map[string]any{})
	rsv := w.pending(t, *completed.Sid)
	_, err := w.setReservation(t, *completed.Sid, *rsv.Sid, "accepted")
	require.NoError(t, err)
	_, err = w.tr.UpdateTask(w.ws, *completed.Sid, (&trv1.UpdateTaskParams{}).SetAssignmentStatus("completed"))
	require.NoError(t, err)

	w.advance(taskRetention - time.Second)
	for _, sid := range []string{*canceled.Sid, *completed.Sid} {
		_, err := w.tr.FetchTask(w.ws, sid)
		require.NoError(t, err, "still listable within five minutes")
	}
	w.advance(time.Second)
	for _, sid := range []string{*canceled.Sid, *completed.Sid} {
		_, err := w.tr.FetchTask(w.ws, sid)
		var te *twclient.TwilioRestError
		require.ErrorAs(t, err, &te)
		assert.Equal(t, http.StatusNotFound, te.Status)
	}
	tasks, err := w.tr.ListTask(w.ws, nil)
	require.NoError(t, err)
	assert.Empty(t, tasks)
}
