package webhooks_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flexhooks/flexhooks/internal/e2etest"
	"github.com/flexhooks/flexhooks/webhooks"
)

// declinedSameWorkerUnpark parks, resumes to the same worker, and has that
// worker decline: Flex cancels a task whose invite named a worker who
// declines, leaving the conversation without an agent.
func declinedSameWorkerUnpark(t *testing.T, w *world, customer string) (csid, worker string) {
	t.Helper()
	csid, worker, token := w.parked(w.services[0], customer, "sms")
	status, body := w.post(w.services[0], "/unpark-interaction", token, url.Values{"ConversationSid": {csid}, "RouteToSameWorker": {"true"}})
	require.Equal(t, http.StatusOK, status, body)
	w.settle()
	task := liveTask(t, w.view(csid, worker))
	w.RejectReservation(task.Sid)
	w.settle()
	taskStatus, _ := w.TaskStatus(task.Sid)
	require.Equal(t, "canceled", taskStatus, "Flex cancels a declined worker-SID invite's task")
	return csid, worker
}

// The declined unpark's task.canceled event puts the park back: the
// customer is not stranded, the agent sees it listed again, and the next
// message routes it through the workflow.
func TestDeclinedUnparkIsParkedAgain(t *testing.T) {
	w := newWorld(t, 1)
	w.RouteTaskRouterEvents(w.services[0], webhooks.ParkEventTypes...)
	const customer = "+15559873001"
	csid, worker := declinedSameWorkerUnpark(t, w, customer)
	v := w.view(csid, worker)
	assertParked(t, v)
	assert.Equal(t, 0, liveTasks(v))

	w.inbound(customer, "sms", "hello?")
	w.settle()
	assertRouted(t, w.view(csid, worker))
}

// Without the event (lost: TaskRouter sends none again), the sweep finds
// the canceled unpark task and parks the conversation again, once; also
// when TaskRouter's list leaves the task's attributes out (its spec shows
// them only when one task is fetched), since the sweep then fetches it.
func TestSweepReparksACanceledUnpark(t *testing.T) {
	for _, listed := range []bool{true, false} {
		t.Run(fmt.Sprintf("taskListAttributes=%v", listed), func(t *testing.T) {
			w := newWorld(t, 1)
			b := w.Emu.Behaviour()
			b.TaskListAttributes = listed
			w.Emu.SetBehaviour(b)
			const customer = "+15559873002"
			csid, worker := declinedSameWorkerUnpark(t, w, customer)
			require.False(t, w.view(csid, worker).Claim, "stranded: neither served nor parked")

			rep := w.Sweep(0, false)
			w.settle()
			assert.Equal(t, []string{webhooks.RepairUnparkCanceled}, e2etest.Repaired(rep), "%+v", rep)
			assertParked(t, w.view(csid, worker))
			assert.Empty(t, e2etest.Repaired(w.Sweep(0, false)), "once")

			w.inbound(customer, "sms", "hello?")
			w.settle()
			assertRouted(t, w.view(csid, worker))
			assert.Empty(t, e2etest.Repaired(w.Sweep(0, false)), "the old canceled task, still listed, reparks nothing now")
		})
	}
}
