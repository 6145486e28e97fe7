package taskrouter

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	trv1 "github.com/twilio/twilio-go/rest/taskrouter/v1"
)

func TestRoutesToEveryoneLongestIdleFirst(t *testing.T) {
	w := newWorld(t)
	alice, bob, carol := w.sid("WK", "alice"), w.sid("WK", "bob"), w.sid("WK", "carol")

	var got []string
	for range 4 {
		task := w.createTask(t, "", map[string]any{"channelType": "chat"})
		assert.Equal(t, "reserved", string(*task.AssignmentStatus), "routed at once")
		assert.Equal(t, w.sid("WQ", "Everyone"), *task.TaskQueueSid)
		assert.Equal(t, w.workflow("Assign to Anyone"), *task.WorkflowSid, "the default workflow")
		got = append(got, *w.pending(t, *task.Sid).WorkerSid)
	}
	assert.Equal(t, []string{alice, bob, carol, alice}, got, "never-reserved workers in seed order, then longest idle")

	task := w.createTask(t, "", nil)
	rsv := w.pending(t, *task.Sid)
	accepted, err := w.setReservation(t, *task.Sid, *rsv.Sid, "accepted")
	require.NoError(t, err)
	assert.Equal(t, "accepted", string(*accepted.ReservationStatus))
	assert.Equal(t, "assigned", string(*w.fetchTask(t, *task.Sid).AssignmentStatus))
}

func TestCapacityHoldsTasksPendingUntilAWorkerFrees(t *testing.T) {
	seed := DefaultSeed()
	seed.Workers = seed.Workers[:1] // alice alone, chat capacity 3
	w := newWorldWith(t, seed)

	var tasks []string
	for range 4 {
		tasks = append(tasks, *w.createTask(t, "", nil).Sid)
	}
	assert.Equal(t, "pending", string(*w.fetchTask(t, tasks[3]).AssignmentStatus), "alice is at capacity")

	ch, err := w.tr.FetchWorkerChannel(w.ws, w.sid("WK", "alice"), "chat")
	require.NoError(t, err)
	assert.Equal(t, 3, ch.AssignedTasks)
	assert.Equal(t, 0, ch.AvailableCapacityPercentage)

	rsv := w.pending(t, tasks[0])
	_, err = w.setReservation(t, tasks[0], *rsv.Sid, "accepted")
	require.NoError(t, err)
	_, err = w.tr.UpdateTask(w.ws, tasks[0], (&trv1.UpdateTaskParams{}).SetAssignmentStatus("completed").SetReason("done"))
	require.NoError(t, err)
	assert.Equal(t, "reserved", string(*w.fetchTask(t, tasks[3]).AssignmentStatus), "the freed slot goes to the waiting task")
}

func TestKnownWorkerTargetRoutesToThatWorker(t *testing.T) {
	w := newWorld(t)
	carol := w.sid("WK", "carol")
	cfg := `{"task_routing":{"filters":[{"filter_friendly_name":"same worker","expression":"1==1",
		"targets":[{"queue":"` + w.sid("WQ", "Everyone") + `","known_worker_sid":"task.originalRouting.workerSid"}]}]}}`
	wf, err := w.tr.CreateWorkflow(w.ws, (&trv1.CreateWorkflowParams{}).SetFriendlyName("Back to worker").SetConfiguration(cfg))
	require.NoError(t, err)

	task := w.createTask(t, *wf.Sid, map[string]any{"originalRouting": map[string]any{"workerSid": carol}})
	assert.Equal(t, carol, *w.pending(t, *task.Sid).WorkerSid, "alice was idle longest, but the task named carol")
}

func TestKnownWorkerWaitsThenTimesOutToNextTarget(t *testing.T) {
	w := newWorld(t)
	// The seeded default workflow: back to the original worker for 60 s, then anyone.
	bob := w.sid("WK", "bob")
	_, err := w.tr.UpdateWorker(w.ws, bob, (&trv1.UpdateWorkerParams{}).SetActivitySid(w.sid("WA", "Offline")))
	require.NoError(t, err)

	task := w.createTask(t, "", map[string]any{"originalRouting": map[string]any{"workerSid": bob}})
	assert.Equal(t, "pending", string(*task.AssignmentStatus), "bob is offline: the task waits for him")
	assert.Empty(t, w.reservations(t, *task.Sid, ""))

	w.advance(59 * time.Second)
	assert.Empty(t, w.reservations(t, *task.Sid, ""))
	w.advance(time.Second)
	assert.Equal(t, w.sid("WK", "alice"), *w.pending(t, *task.Sid).WorkerSid, "after the target's timeout, anyone")
}

func TestKnownWorkerWhoComesBackGetsTheTask(t *testing.T) {
	w := newWorld(t)
	bob := w.sid("WK", "bob")
	_, err := w.tr.UpdateWorker(w.ws, bob, (&trv1.UpdateWorkerParams{}).SetActivitySid(w.sid("WA", "Break")))
	require.NoError(t, err)
	task := w.createTask(t, "", map[string]any{"originalRouting": map[string]any{"workerSid": bob}})
	w.advance(30 * time.Second)
	_, err = w.tr.UpdateWorker(w.ws, bob, (&trv1.UpdateWorkerParams{}).SetActivitySid(w.sid("WA", "Available")))
	require.NoError(t, err)
	assert.Equal(t, bob, *w.pending(t, *task.Sid).WorkerSid)
}

func TestTransferSkipsWorkersInTheConversation(t *testing.T) {
	w := newWorld(t)
	alice, bob := w.sid("WK", "alice"), w.sid("WK", "bob")
	tests := []struct {
		name    string
		attrs   map[string]any
		want    string
		wantQue string
	}{
		{"queue transfer skips alice", map[string]any{"transferTargetType": "queue", "transferQueueName": "Support",
			"workerSidsInConversation": []any{alice}}, bob, "Support"},
		{"empty list: anyone in the queue", map[string]any{"transferTargetType": "queue", "transferQueueName": "Support",
			"workerSidsInConversation": []any{}}, alice, "Support"},
		// NOT IN an absent list is false, and there is no null to test
		// absence with: the service must always set the list.
		{"no list: nobody", map[string]any{"transferTargetType": "queue", "transferQueueName": "Support"}, "", "Support"},
		{"worker transfer", map[string]any{"transferTargetType": "worker", "transferTargetSid": bob}, bob, "Everyone"},
		{"sales", map[string]any{"transferTargetType": "queue", "transferQueueName": "Sales",
			"workerSidsInConversation": []any{}}, w.sid("WK", "carol"), "Sales"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			task := w.createTask(t, w.workflow("Chat Transfer"), tt.attrs)
			assert.Equal(t, w.sid("WQ", tt.wantQue), *task.TaskQueueSid)
			if tt.want == "" {
				assert.Equal(t, "pending", string(*task.AssignmentStatus))
			} else {
				rsv := w.pending(t, *task.Sid)
				assert.Equal(t, tt.want, *rsv.WorkerSid)
			}
			// Leave the workers idle-ordered as before: reject, then cancel.
			_, err := w.tr.UpdateTask(w.ws, *task.Sid, (&trv1.UpdateTaskParams{}).SetAssignmentStatus("canceled"))
			require.NoError(t, err)
			w.resetIdle()
		})
	}
}

// resetIdle forgets who was reserved last so table cases start alike.
func (w *world) resetIdle() {
	w.locked(func() {
		for _, wk := range w.store.workspaces[0].Workers {
			wk.lastReserved = 0
		}
	})
}

func TestTransferWaitsInTheQueueWhenEveryWorkerIsInTheConversation(t *testing.T) {
	w := newWorld(t)
	task := w.createTask(t, w.workflow("Chat Transfer"), map[string]any{"transferTargetType": "queue", "transferQueueName": "Sales",
		"workerSidsInConversation": []any{w.sid("WK", "carol")}})
	assert.Equal(t, w.sid("WQ", "Sales"), *task.TaskQueueSid)
	assert.Equal(t, "pending", string(*task.AssignmentStatus), "as in TaskRouter, the task waits at its target")
}

func TestSkipIfPassesATargetWithNoAvailableWorker(t *testing.T) {
	w := newWorld(t)
	cfg := `{"task_routing":{"filters":[{"expression":"1==1","targets":[
		{"queue":"` + w.sid("WQ", "Sales") + `","expression":"worker.sid NOT IN task.busy","skip_if":"workers.available == 0"},
		{"queue":"` + w.sid("WQ", "Support") + `"}]}]}}`
	wf, err := w.tr.CreateWorkflow(w.ws, (&trv1.CreateWorkflowParams{}).SetFriendlyName("skip").SetConfiguration(cfg))
	require.NoError(t, err)
	task := w.createTask(t, *wf.Sid, map[string]any{"busy": []any{w.sid("WK", "carol")}})
	assert.Equal(t, w.sid("WQ", "Support"), *task.TaskQueueSid)
	assert.Equal(t, w.sid("WK", "alice"), *w.pending(t, *task.Sid).WorkerSid)
}

func TestRejectMovesToNextWorker(t *testing.T) {
	w := newWorld(t)
	task := w.createTask(t, "", nil)
	first := w.pending(t, *task.Sid)
	assert.Equal(t, w.sid("WK", "alice"), *first.WorkerSid)

	rejected, err := w.setReservation(t, *task.Sid, *first.Sid, "rejected")
	require.NoError(t, err)
	assert.Equal(t, "rejected", string(*rejected.ReservationStatus))
	second := w.pending(t, *task.Sid)
	assert.Equal(t, w.sid("WK", "bob"), *second.WorkerSid)

	_, err = w.setReservation(t, *task.Sid, *second.Sid, "rejected")
	require.NoError(t, err)
	third := w.pending(t, *task.Sid)
	assert.Equal(t, w.sid("WK", "carol"), *third.WorkerSid)

	_, err = w.setReservation(t, *task.Sid, *third.Sid, "rejected")
	require.NoError(t, err)
	assert.Equal(t, "pending", string(*w.fetchTask(t, *task.Sid).AssignmentStatus), "everyone rejected: it waits")

	_, err = w.setReservation(t, *task.Sid, *third.Sid, "accepted")
	require.Error(t, err, "a rejected reservation cannot be accepted")
}

func TestRejectWithActivityMovesTheWorker(t *testing.T) {
	w := newWorld(t)
	task := w.createTask(t, "", nil)
	rsv := w.pending(t, *task.Sid)
	_, err := w.tr.UpdateTaskReservation(w.ws, *task.Sid, *rsv.Sid, (&trv1.UpdateTaskReservationParams{}).
		SetReservationStatus("rejected").SetWorkerActivitySid(w.sid("WA", "Break")))
	require.NoError(t, err)
	alice, err := w.tr.FetchWorker(w.ws, w.sid("WK", "alice"))
	require.NoError(t, err)
	assert.Equal(t, "Break", *alice.ActivityName)
	assert.False(t, *alice.Available)
}

func TestReservationTimesOutOnTheVirtualClock(t *testing.T) {
	w := newWorld(t)
	task := w.createTask(t, "", nil)
	first := w.pending(t, *task.Sid)

	w.advance(119 * time.Second)
	assert.Equal(t, *first.Sid, *w.pending(t, *task.Sid).Sid, "still pending before the workflow's 120 s")
	w.advance(time.Second)

	got, err := w.tr.FetchTaskReservation(w.ws, *task.Sid, *first.Sid)
	require.NoError(t, err)
	assert.Equal(t, "timeout", string(*got.ReservationStatus))
	assert.Equal(t, w.sid("WK", "bob"), *w.pending(t, *task.Sid).WorkerSid, "on to the next worker")

	alice, err := w.tr.FetchWorker(w.ws, w.sid("WK", "alice"))
	require.NoError(t, err)
	assert.Equal(t, "Offline", *alice.ActivityName, "TaskRouter moves a worker who let a reservation time out to the timeout activity")
}

func TestTaskTimeoutCancelsTheTask(t *testing.T) {
	seed := DefaultSeed()
	seed.Workers = nil
	w := newWorldWith(t, seed)
	task, err := w.tr.CreateTask(w.ws, (&trv1.CreateTaskParams{}).SetTimeout(300))
	require.NoError(t, err)
	assert.Equal(t, "pending", string(*task.AssignmentStatus))
	w.advance(300 * time.Second)
	got := w.fetchTask(t, *task.Sid)
	assert.Equal(t, "canceled", string(*got.AssignmentStatus))
	assert.Equal(t, "Task TTL Exceeded", *got.Reason)
}

func TestPendingTaskWaitsForANewWorker(t *testing.T) {
	seed := DefaultSeed()
	seed.Workers = nil
	w := newWorldWith(t, seed)
	task := w.createTask(t, "", nil)
	assert.Equal(t, "pending", string(*task.AssignmentStatus))
	wk, err := w.tr.CreateWorker(w.ws, (&trv1.CreateWorkerParams{}).SetFriendlyName("dave").
		SetActivitySid(w.sid("WA", "Available")).SetAttributes(`{"contact_uri":"client:dave"}`))
	require.NoError(t, err)
	assert.Equal(t, *wk.Sid, *w.pending(t, *task.Sid).WorkerSid)
}

func TestTaskLifecycleAndHooks(t *testing.T) {
	w := newWorld(t)
	var accepted, ended []string
	w.locked(func() {
		w.store.OnReservationAccepted = func(tk *Task, r *Reservation, wk *Worker) {
			accepted = append(accepted, tk.Sid+"/"+wk.FriendlyName+"/"+tk.AssignmentStatus)
		}
		w.store.OnTaskEnded = func(tk *Task) { ended = append(ended, tk.Sid+"/"+tk.AssignmentStatus) }
	})
	task := w.createTask(t, "", nil)
	rsv := w.pending(t, *task.Sid)
	_, err := w.setReservation(t, *task.Sid, *rsv.Sid, "accepted")
	require.NoError(t, err)
	assert.Equal(t, []string{*task.Sid + "/alice/assigned"}, accepted)

	_, err = w.tr.UpdateTask(w.ws, *task.Sid, (&trv1.UpdateTaskParams{}).SetAssignmentStatus("canceled"))
	require.Error(t, err, "an assigned task cannot be canceled")

	_, err = w.setReservation(t, *task.Sid, *rsv.Sid, "wrapping")
	require.NoError(t, err)
	assert.Equal(t, "wrapping", string(*w.fetchTask(t, *task.Sid).AssignmentStatus))

	_, err = w.setReservation(t, *task.Sid, *rsv.Sid, "completed")
	require.NoError(t, err)
	assert.Equal(t, "completed", string(*w.fetchTask(t, *task.Sid).AssignmentStatus))
	assert.Equal(t, []string{*task.Sid + "/completed"}, ended)

	// The exported API agrees and refuses to end a task twice.
	w.locked(func() {
		tk := w.store.Task(w.ws, *task.Sid)
		require.NotNil(t, tk)
		assert.Equal(t, "completed", tk.AssignmentStatus)
		assert.NotNil(t, w.store.UpdateTaskStatus(w.ws, *task.Sid, "completed", "again"))
		assert.NotNil(t, w.store.UpdateTaskStatus(w.ws, "WT00000000000000000000000000000000", "completed", ""))
	})
}

func TestCreateTaskExportedAndDirectRouting(t *testing.T) {
	w := newWorld(t)
	carol := w.sid("WK", "carol")
	w.locked(func() {
		tk, err := w.store.CreateTask(TaskParams{WorkspaceSid: w.ws, TaskChannel: "sms", WorkerSid: carol,
			Attributes: map[string]any{"n": 1}})
		require.Nil(t, err)
		assert.Equal(t, StatusReserved, tk.AssignmentStatus)
		assert.Equal(t, carol, tk.WorkerSid)
		assert.Equal(t, "", tk.WorkflowSid, "direct routing evaluates no workflow")
		assert.Equal(t, w.sid("WQ", "Everyone"), tk.QueueSid, "the first queue carol is in")

		_, err = w.store.CreateTask(TaskParams{WorkspaceSid: w.ws, WorkerSid: "WK00000000000000000000000000000000"})
		require.NotNil(t, err)
		assert.Equal(t, 400, err.Status)
		_, err = w.store.CreateTask(TaskParams{WorkspaceSid: w.ws, TaskChannel: "pigeon"})
		require.NotNil(t, err)
		_, err = w.store.CreateTask(TaskParams{WorkspaceSid: "WS00000000000000000000000000000000"})
		require.NotNil(t, err)
		assert.Equal(t, 404, err.Status)
	})
}

func TestAttributeUpdateReroutesAPendingTask(t *testing.T) {
	seed := DefaultSeed()
	seed.Workers = seed.Workers[2:] // carol only (sales)
	w := newWorldWith(t, seed)
	task := w.createTask(t, w.workflow("Chat Transfer"), map[string]any{"transferTargetType": "queue", "transferQueueName": "Support"})
	assert.Equal(t, "pending", string(*task.AssignmentStatus), "no support worker")

	b, _ := json.Marshal(map[string]any{"transferTargetType": "queue", "transferQueueName": "Sales", "workerSidsInConversation": []any{}})
	updated, err := w.tr.UpdateTask(w.ws, *task.Sid, (&trv1.UpdateTaskParams{}).SetAttributes(string(b)))
	require.NoError(t, err)
	assert.Equal(t, "reserved", string(*updated.AssignmentStatus))
	assert.Equal(t, w.sid("WQ", "Sales"), *updated.TaskQueueSid)
}

func TestWorkflowUpdateReroutesPendingTasks(t *testing.T) {
	seed := DefaultSeed()
	seed.Workers = seed.Workers[2:] // carol only (sales)
	w := newWorldWith(t, seed)
	cfg := func(queue string) string {
		return `{"task_routing":{"default_filter":{"queue":"` + w.sid("WQ", queue) + `"}}}`
	}
	wf, err := w.tr.CreateWorkflow(w.ws, (&trv1.CreateWorkflowParams{}).SetFriendlyName("moving").SetConfiguration(cfg("Support")))
	require.NoError(t, err)
	task := w.createTask(t, *wf.Sid, nil)
	assert.Equal(t, "pending", string(*task.AssignmentStatus))

	_, err = w.tr.UpdateWorkflow(w.ws, *wf.Sid, (&trv1.UpdateWorkflowParams{}).SetConfiguration(cfg("Sales")))
	require.NoError(t, err)
	got := w.fetchTask(t, *task.Sid)
	assert.Equal(t, "reserved", string(*got.AssignmentStatus))
	assert.Equal(t, w.sid("WQ", "Sales"), *got.TaskQueueSid)
}

func TestWorkerChannelCapacityAndAvailability(t *testing.T) {
	seed := DefaultSeed()
	seed.Workers = seed.Workers[:1]
	w := newWorldWith(t, seed)
	alice := w.sid("WK", "alice")
	_, err := w.tr.UpdateWorkerChannel(w.ws, alice, "chat", (&trv1.UpdateWorkerChannelParams{}).SetAvailable(false))
	require.NoError(t, err)
	task := w.createTask(t, "", nil)
	assert.Equal(t, "pending", string(*task.AssignmentStatus), "alice's chat channel is off")
	_, err = w.tr.UpdateWorkerChannel(w.ws, alice, "chat", (&trv1.UpdateWorkerChannelParams{}).SetAvailable(true))
	require.NoError(t, err)
	assert.Equal(t, "reserved", string(*w.fetchTask(t, *task.Sid).AssignmentStatus))
}

func TestTargetTimeoutDuringAReservationMovesOnAfterIt(t *testing.T) {
	w := newWorld(t)
	bob := w.sid("WK", "bob")
	task := w.createTask(t, "", map[string]any{"originalRouting": map[string]any{"workerSid": bob}})
	rsv := w.pending(t, *task.Sid)
	require.Equal(t, bob, *rsv.WorkerSid)

	w.advance(90 * time.Second) // past the 60 s known-worker target, inside the 120 s reservation timeout
	assert.Equal(t, *rsv.Sid, *w.pending(t, *task.Sid).Sid, "a pending reservation is not taken away by the target's timeout")

	_, err := w.setReservation(t, *task.Sid, *rsv.Sid, "rejected")
	require.NoError(t, err)
	assert.Equal(t, w.sid("WK", "alice"), *w.pending(t, *task.Sid).WorkerSid, "then the next target: anyone")
}

func TestDeletingAWorkerRescindsItsReservation(t *testing.T) {
	w := newWorld(t)
	task := w.createTask(t, "", nil)
	rsv := w.pending(t, *task.Sid)
	require.NoError(t, w.tr.DeleteWorker(w.ws, *rsv.WorkerSid, &trv1.DeleteWorkerParams{}))
	old, err := w.tr.FetchTaskReservation(w.ws, *task.Sid, *rsv.Sid)
	require.NoError(t, err)
	assert.Equal(t, "rescinded", string(*old.ReservationStatus))
	assert.Equal(t, w.sid("WK", "bob"), *w.pending(t, *task.Sid).WorkerSid)
}

// Every worker lets the reservation time out (a walkthrough that jumps the
// clock half an hour): each goes Offline, and the task waits. A worker made
// Available again is offered it again; one who rejected it is not.
func TestTimedOutWorkersAreOfferedTheTaskAgain(t *testing.T) {
	w := newWorld(t)
	task := w.createTask(t, "", nil)
	for range 3 {
		w.advance(120 * time.Second)
	}
	for _, r := range w.reservations(t, *task.Sid, "pending") {
		t.Fatalf("no worker should be left to offer it to, got %s", *r.WorkerSid)
	}
	assert.Equal(t, "pending", *w.fetchTask(t, *task.Sid).AssignmentStatus)

	_, err := w.tr.UpdateWorker(w.ws, w.sid("WK", "bob"), (&trv1.UpdateWorkerParams{}).SetActivitySid(w.sid("WA", "Available")))
	require.NoError(t, err)
	rsv := w.pending(t, *task.Sid)
	assert.Equal(t, w.sid("WK", "bob"), *rsv.WorkerSid, "bob is back: the task is offered to him again")

	_, err = w.setReservation(t, *task.Sid, *rsv.Sid, "rejected")
	require.NoError(t, err)
	assert.Empty(t, w.reservations(t, *task.Sid, "pending"), "bob rejected it: not offered to him again")
}
