package taskrouter

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	trv1 "github.com/twilio/twilio-go/rest/taskrouter/v1"
)

// A target without a queue keeps the task in the previous target's queue
// and drops that target's worker expression, as the lifecycle doc's
// [{queue, timeout, expression}, {timeout}] example routes
// (docs/taskrouter/lifecycle-task-workflows-and-assignment); a first one
// waits in default_filter's queue. flex-project-template's park-resume
// workflow ({known worker, timeout 30}, {}) is accepted as written.
func TestTargetsWithoutQueue(t *testing.T) {
	w := newWorld(t)
	support, sales := w.sid("WQ", "Support"), w.sid("WQ", "Sales")
	create := func(t *testing.T, cfg map[string]any) string {
		b, _ := json.Marshal(cfg)
		wf, err := w.tr.CreateWorkflow(w.ws, (&trv1.CreateWorkflowParams{}).SetFriendlyName(t.Name()).SetConfiguration(string(b)))
		require.NoError(t, err)
		return *wf.Sid
	}

	t.Run("a later target keeps the queue and drops the expression", func(t *testing.T) {
		wf := create(t, map[string]any{"task_routing": map[string]any{"filters": []any{map[string]any{
			"expression": "1==1",
			"targets": []any{
				map[string]any{"queue": support, "timeout": 15, "expression": `worker.sid == "WKnobody"`},
				map[string]any{"timeout": 15},
			},
		}}}})
		task := w.createTask(t, wf, map[string]any{})
		assert.Equal(t, "pending", string(*task.AssignmentStatus), "nobody matches the first target")
		w.advance(15 * time.Second)
		got := w.fetchTask(t, *task.Sid)
		assert.Equal(t, support, *got.TaskQueueSid)
		assert.Equal(t, "reserved", string(*got.AssignmentStatus), "anyone in Support now")
		w.cancel(t, *task.Sid)
	})

	t.Run("park-resume: known worker, then {}", func(t *testing.T) {
		alice, bob := w.sid("WK", "alice"), w.sid("WK", "bob")
		wf := create(t, map[string]any{"task_routing": map[string]any{
			"filters": []any{map[string]any{
				"expression": `originalRouting.queueName == "Support"`,
				"targets": []any{
					map[string]any{"queue": support, "known_worker_sid": "task.originalRouting.workerSid", "timeout": 30},
					map[string]any{},
				},
			}},
			"default_filter": map[string]any{"queue": sales},
		}})
		_, err := w.tr.UpdateWorker(w.ws, alice, (&trv1.UpdateWorkerParams{}).SetActivitySid(w.sid("WA", "Offline")))
		require.NoError(t, err)
		task := w.createTask(t, wf, map[string]any{"originalRouting": map[string]any{"queueName": "Support", "workerSid": alice}})
		assert.Equal(t, "pending", string(*task.AssignmentStatus), "alice is offline")
		w.advance(30 * time.Second)
		got := w.fetchTask(t, *task.Sid)
		assert.Equal(t, support, *got.TaskQueueSid, "{} stays in Support, not the default queue")
		assert.Equal(t, bob, *w.pending(t, *task.Sid).WorkerSid)
		w.cancel(t, *task.Sid)
		_, err = w.tr.UpdateWorker(w.ws, alice, (&trv1.UpdateWorkerParams{}).SetActivitySid(w.sid("WA", "Available")))
		require.NoError(t, err)
	})

	t.Run("a first target without a queue waits in the default queue", func(t *testing.T) {
		wf := create(t, map[string]any{"task_routing": map[string]any{
			"filters":        []any{map[string]any{"expression": "1==1", "targets": []any{map[string]any{"timeout": 5}}}},
			"default_filter": map[string]any{"queue": sales},
		}})
		task := w.createTask(t, wf, map[string]any{})
		assert.Equal(t, sales, *task.TaskQueueSid)
		w.cancel(t, *task.Sid)
	})
}

func (w *world) cancel(t *testing.T, taskSid string) {
	t.Helper()
	_, err := w.tr.UpdateTask(w.ws, taskSid, (&trv1.UpdateTaskParams{}).SetAssignmentStatus("canceled"))
	require.NoError(t, err)
	w.resetIdle()
}
