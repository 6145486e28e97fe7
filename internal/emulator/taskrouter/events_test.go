package taskrouter

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	trv1 "github.com/twilio/twilio-go/rest/taskrouter/v1"

	"github.com/flexhooks/flexhooks/internal/emulator/emutest"
)

func TestEventCallbacksAreDeliveredAndSigned(t *testing.T) {
	w := newWorld(t)
	rc := newReceiver(t)
	_, err := w.tr.UpdateWorkspace(w.ws, (&trv1.UpdateWorkspaceParams{}).SetEventCallbackUrl(rc.srv.URL+"/events?x=1"))
	require.NoError(t, err)

	task := w.createTask(t, "", map[string]any{"conversationSid": "CH123"})
	rsv := w.pending(t, *task.Sid)
	_, err = w.setReservation(t, *task.Sid, *rsv.Sid, "accepted")
	require.NoError(t, err)
	_, err = w.tr.UpdateTask(w.ws, *task.Sid, (&trv1.UpdateTaskParams{}).SetAssignmentStatus("wrapping"))
	require.NoError(t, err)
	_, err = w.tr.UpdateTask(w.ws, *task.Sid, (&trv1.UpdateTaskParams{}).SetAssignmentStatus("completed").SetReason("resolved"))
	require.NoError(t, err)
	w.settle(t)

	assert.ElementsMatch(t, []string{
		"task.created", "task-queue.entered", "reservation.created", "reservation.accepted",
		"reservation.wrapup", "task.wrapup", "reservation.completed", "task.completed",
	}, rc.types())
	assert.Zero(t, rc.bad, "every callback carries a valid X-Twilio-Signature")

	acc := rc.find("reservation.accepted")
	require.Len(t, acc, 1)
	e := acc[0]
	want := map[string]string{
		"AccountSid":            emutest.AccountSID,
		"WorkspaceSid":          w.ws,
		"WorkspaceName":         "Flex Task Assignment",
		"ResourceType":          "Reservation",
		"ResourceSid":           *rsv.Sid,
		"ReservationSid":        *rsv.Sid,
		"TaskSid":               *task.Sid,
		"TaskAssignmentStatus":  "assigned",
		"TaskChannelUniqueName": "chat",
		"TaskQueueSid":          w.sid("WQ", "Everyone"),
		"TaskQueueName":         "Everyone",
		"WorkflowSid":           w.workflow("Assign to Anyone"),
		"WorkflowName":          "Assign to Anyone",
		"WorkerSid":             w.sid("WK", "alice"),
		"WorkerName":            "alice",
		"WorkerActivityName":    "Available",
		"TaskPriority":          "0",
		"TaskAge":               "0",
		"Timestamp":             "1767344400",
	}
	for k, v := range want {
		assert.Equal(t, v, e.Get(k), k)
	}
	var attrs map[string]any
	require.NoError(t, json.Unmarshal([]byte(e.Get("TaskAttributes")), &attrs))
	assert.Equal(t, "CH123", attrs["conversationSid"])
	require.NoError(t, json.Unmarshal([]byte(e.Get("WorkerAttributes")), &attrs))
	assert.Equal(t, "client:alice", attrs["contact_uri"])

	done := rc.find("task.completed")
	require.Len(t, done, 1)
	assert.Equal(t, "resolved", done[0].Get("TaskCompletedReason"))
	assert.Equal(t, "Task", done[0].Get("ResourceType"))
}

func TestEventsFilterAndTimeoutEvents(t *testing.T) {
	w := newWorld(t)
	rc := newReceiver(t)
	_, err := w.tr.UpdateWorkspace(w.ws, (&trv1.UpdateWorkspaceParams{}).SetEventCallbackUrl(rc.srv.URL).
		SetEventsFilter("reservation.timeout, worker.activity.update,task.canceled"))
	require.NoError(t, err)

	task, err := w.tr.CreateTask(w.ws, (&trv1.CreateTaskParams{}).SetTimeout(150))
	require.NoError(t, err)
	w.advance(120 * time.Second) // alice's reservation times out; bob is offered it
	w.advance(30 * time.Second)  // the task's own timeout cancels it
	w.settle(t)

	assert.ElementsMatch(t, []string{"reservation.timeout", "worker.activity.update", "task.canceled"}, rc.types(), "deliveries are concurrent, as at Twilio")
	up := rc.find("worker.activity.update")[0]
	assert.Equal(t, "Offline", up.Get("WorkerActivityName"))
	assert.Equal(t, "Available", up.Get("WorkerPreviousActivityName"))
	assert.Equal(t, "Worker", up.Get("ResourceType"))
	canceled := rc.find("task.canceled")[0]
	assert.Equal(t, *task.Sid, canceled.Get("TaskSid"))
	assert.Equal(t, "Task TTL Exceeded", canceled.Get("TaskCanceledReason"))
}

func TestNoCallbackWithoutURL(t *testing.T) {
	w := newWorld(t)
	w.createTask(t, "", nil)
	w.settle(t)
	assert.Empty(t, w.env.Outbox.Deliveries())
}
