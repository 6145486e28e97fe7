package webhooks_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	flexapi "github.com/twilio/twilio-go/rest/flex/v1"
	taskrouterapi "github.com/twilio/twilio-go/rest/taskrouter/v1"

	"github.com/flexhooks/flexhooks/internal/config"
	"github.com/flexhooks/flexhooks/internal/e2etest"
	"github.com/flexhooks/flexhooks/internal/emulator"
	"github.com/flexhooks/flexhooks/internal/emulator/flex"
	"github.com/flexhooks/flexhooks/internal/isoduration"
	"github.com/flexhooks/flexhooks/webhooks"
)

// Issue 14 case 6: every event of one task hits a record gap. The single
// fault rule: every write of a record item fails (both the create and the
// conditional update are POSTs on the record shards' items) while the
// task's events arrive. Its handlers answer 2xx, so Twilio sends nothing
// again, and no later event speaks of the task: only the sweep heals it.
func recordWritesFail() emulator.Fault {
	return emulator.Fault{Host: "sync.twilio.com", Method: "POST", Path: "/Maps/" + webhooks.InteractionRecordMap + "_[0-9a-f]{3}/Items", Status: 503}
}

// recordGaps are the sweep's record_gap entries.
func recordGaps(rep webhooks.SweepReport) []webhooks.RepairEntry {
	var out []webhooks.RepairEntry
	for _, r := range rep.Repairs {
		if r.Kind == webhooks.RecordGapKind {
			out = append(out, r)
		}
	}
	return out
}

// historyOf lists the customer's interactions as a supervisor sees them.
func (w *recordsWorld) historyOf(address string) []webhooks.Interaction {
	w.t.Helper()
	status, body := w.Get(w.Services[0], "/interactions?"+url.Values{"address": {address}}.Encode(), w.supervisor())
	require.Equal(w.t, http.StatusOK, status, "%v", body)
	return decodeAs[webhooks.InteractionList](w.t, body).Interactions
}

// A record that never opened (task.created and reservation.accepted lost):
// the sweep opens it, complete, while the agent works; a dry run before
// only lists it.
func TestRecordSweepOpensARecordWhoseEventsWereAllLost(t *testing.T) {
	w := startRecords(t, recordsOptions{})
	const customer = "+15556000020"
	w.Faults(recordWritesFail())
	csid, task, alice := w.contacted(customer, "sms", "PT1M")
	w.Faults()
	status, _ := w.Get(w.Services[0], "/interactions/"+csid, w.supervisor())
	require.Equal(t, http.StatusNotFound, status, "every event of the task hit the gap")

	// Within the grace the sweep leaves it: the events could be on their way.
	assert.Empty(t, recordGaps(w.Sweep(0, true)), "a task younger than the grace is not a gap yet")
	w.Advance("PT3M")

	dry := recordGaps(w.Sweep(0, true))
	require.Len(t, dry, 1)
	assert.Equal(t, webhooks.OutcomePlanned, dry[0].Outcome)
	assert.Equal(t, csid, dry[0].Sids["conversationSid"])
	assert.Equal(t, task, dry[0].Sids["taskSid"])
	status, _ = w.Get(w.Services[0], "/interactions/"+csid, w.supervisor())
	require.Equal(t, http.StatusNotFound, status, "a dry run changes nothing")

	rep := w.Sweep(0, false)
	assert.Equal(t, []string{webhooks.RecordGapKind}, e2etest.Repaired(rep))
	v := w.interaction(csid, w.supervisor())
	assert.Equal(t, webhooks.StateWorkInProgress, v.State)
	require.NotNil(t, v.OpenedAt)
	assert.Equal(t, w.at(0), *v.OpenedAt, "TaskRouter's creation")
	assert.Equal(t, 60.0, seconds(v.WaitTimeSeconds), "the reservation, still accepted, was accepted when it last changed")
	assert.Equal(t, webhooks.WaitFromAccept, v.WaitTimeSource)
	require.NotNil(t, v.AssignedTo)
	assert.Equal(t, alice, v.AssignedTo.WorkerSid)
	assert.NotEmpty(t, v.Number)
	require.Len(t, v.RelatedTasks, 1)
	assert.Equal(t, webhooks.ContactInbound, v.RelatedTasks[0].Reason)
	hist := w.historyOf(customer)
	require.Len(t, hist, 1, "the customer's history has its one entry")
	assert.Equal(t, csid, hist[0].ConversationSid)
	assert.Equal(t, csid, w.syncItems(webhooks.ContactMap)[task]["conversationSid"])

	again := w.Sweep(0, false)
	assert.Empty(t, recordGaps(again), "a healed record is no suspect")

	// The conversation goes on as usual from here.
	w.Advance("PT5M")
	w.park(csid, alice)
	v = w.interaction(csid, w.supervisor())
	assert.Equal(t, webhooks.StateOnHold, v.State)
	assert.Equal(t, 480.0, v.DurationSeconds, "accepted at 60 s, parked at 540 s")
}

// The park's task loses every event (its creation, its accept, its end):
// the sweep, within TaskRouter's five minutes, records the whole task and
// its end: On Hold, waiting on the customer.
func TestRecordSweepCatchesUpAParkedTask(t *testing.T) {
	w := startRecords(t, recordsOptions{})
	const customer = "+15556000021"
	w.Faults(recordWritesFail())
	csid, task, alice := w.contacted(customer, "sms", "PT1M")
	w.Advance("PT5M")
	w.park(csid, alice)
	w.Faults()
	status, _ := w.Get(w.Services[0], "/interactions/"+csid, w.supervisor())
	require.Equal(t, http.StatusNotFound, status)
	parked, _ := w.TaskStatus(task)
	require.Equal(t, "completed", parked)

	w.Advance("PT3M")
	assert.Equal(t, []string{webhooks.RecordGapKind}, e2etest.Repaired(w.Sweep(0, false)))
	v := w.interaction(csid, w.supervisor())
	assert.Equal(t, webhooks.StateOnHold, v.State)
	assert.Equal(t, webhooks.ReasonWaitingOnCustomer, v.StateReason)
	require.Len(t, v.RelatedTasks, 1)
	c := v.RelatedTasks[0]
	require.NotNil(t, c.EndedAt)
	assert.Equal(t, w.at(360), *c.EndedAt, "when TaskRouter says the task completed")
	assert.Equal(t, "completed", c.EndStatus)
	assert.Equal(t, alice, c.WorkerSid)
	assert.Equal(t, w.at(0), *v.OpenedAt)
	// A reservation that has moved on says that it was accepted, not when:
	// between its offer (0 s) and the task's end. The offer is recorded,
	// so the wait is at most the true 60 s and the duration at least the
	// true 300 s, never more than the task's whole life.
	require.NotNil(t, c.AcceptedAt)
	assert.False(t, c.AcceptedAt.After(w.at(60)), "no later than the true accept")
	assert.LessOrEqual(t, seconds(v.WaitTimeSeconds), 60.0)
	assert.GreaterOrEqual(t, v.DurationSeconds, 300.0)
	assert.LessOrEqual(t, v.DurationSeconds, 360.0)
	assert.Len(t, w.historyOf(customer), 1)
	assert.Empty(t, recordGaps(w.Sweep(0, false)))

	// The customer comes back: the live events merge into the caught-up record.
	w.Inbound(customer, "sms", "back")
	v = w.interaction(csid, w.supervisor())
	assert.Equal(t, webhooks.StateNew, v.State)
	assert.Len(t, v.RelatedTasks, 2)
	assert.Len(t, w.historyOf(customer), 1, "one conversation, one history entry")
}

// The agent closes the conversation in Flex while every event of its task
// and the close's own event are lost: Closed Complete, closed when the
// channel's close put the task in wrap-up.
func TestRecordSweepCatchesUpAClose(t *testing.T) {
	w := startRecords(t, recordsOptions{})
	const customer = "+15556000022"
	w.Faults(recordWritesFail())
	in := w.Inbound(customer, "sms", "hello")
	w.Advance("PT1M")
	w.AcceptReservation(in.TaskSid)
	w.Advance("PT5M")
	ch := w.transfers().state().channel(in.ConversationSid)
	require.NotNil(t, ch)
	_, err := w.Twilio.FlexV1.UpdateInteractionChannel(in.InteractionSid, ch.Sid, (&flexapi.UpdateInteractionChannelParams{}).SetStatus("closed"))
	require.NoError(t, err)
	w.Settle()
	w.Faults()
	require.Equal(t, "closed", w.conversationState(in.ConversationSid))

	w.Advance("PT3M")
	assert.Equal(t, []string{webhooks.RecordGapKind}, e2etest.Repaired(w.Sweep(0, false)))
	v := w.interaction(in.ConversationSid, w.supervisor())
	assert.Equal(t, webhooks.StateClosedComplete, v.State)
	require.NotNil(t, v.ClosedAt)
	assert.Equal(t, w.at(360), *v.ClosedAt)
	// The reservation went to wrapping with the task: the accept is known
	// to lie between the offer and then, and the offer is recorded.
	assert.GreaterOrEqual(t, seconds(v.WaitTimeSeconds), 0.0)
	assert.LessOrEqual(t, seconds(v.WaitTimeSeconds), 60.0)
	assert.Zero(t, v.DurationSeconds, "the agent is still wrapping up")
	assert.Len(t, w.historyOf(customer), 1)
	assert.Empty(t, recordGaps(w.Sweep(0, false)), "a closed record is no suspect")
}

// sweepCalls runs one sweep and counts the Twilio calls of the records'
// step, by what they touch (other steps' calls are left out: they have
// tests of their own).
func (w *recordsWorld) sweepCalls() map[string]int {
	w.t.Helper()
	w.ClearRequests()
	rep := w.Sweep(0, false)
	require.Empty(w.t, rep.StepErrors)
	recordItems := regexp.MustCompile("/Maps/" + webhooks.InteractionRecordMap + "_[0-9a-f]{3}/Items")
	out := map[string]int{}
	for _, r := range w.Requests() {
		switch {
		case r.Host == "taskrouter.twilio.com" && strings.HasSuffix(r.Path, "/Tasks"):
			out["task list"]++
		case r.Host == "taskrouter.twilio.com":
			out["task reads"]++
		case r.Host == "sync.twilio.com" && recordItems.MatchString(r.Path) && r.Method == http.MethodGet:
			out["record reads"]++
		case r.Host == "sync.twilio.com" && recordItems.MatchString(r.Path):
			out["record writes"]++
		case r.Host == "conversations.twilio.com" && r.Method == http.MethodGet:
			out["conversation reads"]++
		}
	}
	return out
}

// The sweep's cost follows the tasks TaskRouter holds (live, or ended in
// the last five minutes), never the records of the past: one task list,
// one record read per conversation in flight, and a conversation read only
// for one whose tasks have all left their agents. When the list leaves the
// attributes out (TaskRouter's spec), each task is read once more, the
// first time a replica sees it.
func TestRecordSweepCostFollowsWorkInFlight(t *testing.T) {
	for _, listed := range []bool{true, false} {
		t.Run(fmt.Sprintf("taskListAttributes=%v", listed), func(t *testing.T) {
			w := startRecords(t, recordsOptions{})
			b := w.Emu.Behaviour()
			b.TaskListAttributes = listed
			w.Emu.SetBehaviour(b)
			recordSweepCost(t, w, listed)
		})
	}
}

func recordSweepCost(t *testing.T, w *recordsWorld, listed bool) {
	// History: three parked conversations whose tasks TaskRouter has deleted.
	for _, c := range []string{"+15556000030", "+15556000031", "+15556000032"} {
		csid, _, worker := w.contacted(c, "sms", "")
		w.park(csid, worker)
	}
	w.Advance("PT10M")
	calls := w.sweepCalls()
	// The park step's share, counted apart: one list of canceled tasks,
	// and per park in flight its conversation and its webhooks.
	parkShare := func(parks int) map[string]int {
		return map[string]int{"task list": 1, "conversation reads": 2 * parks}
	}
	minus := func(calls, share map[string]int) map[string]int {
		for k, n := range share {
			if calls[k] -= n; calls[k] == 0 {
				delete(calls, k)
			}
		}
		return calls
	}
	assert.Equal(t, map[string]int{"task list": 1}, minus(calls, parkShare(3)), "no record is read for the past")

	// Two conversations in flight: one worked, one just parked.
	w.contacted("+15556000033", "sms", "")
	csid, _, worker := w.contacted("+15556000034", "sms", "")
	w.park(csid, worker)
	w.Advance("PT3M")
	want := map[string]int{"task list": 1, "record reads": 2, "conversation reads": 1}
	if !listed {
		want["task reads"] = 2 // each new task's conversation, read from the task
	}
	assert.Equal(t, want, minus(w.sweepCalls(), parkShare(4)),
		"one record read per conversation in flight; the parked one's conversation: closed or parked?")
	delete(want, "task reads")
	assert.Equal(t, want, minus(w.sweepCalls(), parkShare(4)), "a task's conversation is read from it once")
}

// The inactivity timeout closes a conversation while every record write
// fails: the close's mark, the task's end and the close event's write are
// all lost, and once TaskRouter has let the ended task go (five minutes)
// the records' own sweep knows only the task's end, which its event wrote
// down (it records that, not the close). The inactivity sweep,
// whose claim of the episode is still held, asks the record whether it saw
// the close: it did not, so the sweep records it, Closed Abandoned at the
// closing notice's time, and lets the claim go only on the sweep after.
func TestInactivitySweepClosesTheRecordThatMissedTheClose(t *testing.T) {
	w := startRecords(t, recordsOptions{configure: func(c *config.Config) {
		c.InactivityTimeout = isoduration.Duration(30 * time.Minute)
		c.InactivityMessage = closingText
	}})
	csid, _, _ := w.contacted("+15556000030", "sms", "PT1M") // the timer is due at 1860 s
	w.Advance("PT28M")
	w.Faults(recordWritesFail())
	w.Advance("PT2M")
	w.Faults()
	require.Equal(t, "closed", w.conversationState(csid))
	require.Equal(t, webhooks.StateWorkInProgress, w.interaction(csid, w.supervisor()).State, "every write of the close was lost")

	w.Advance("PT6M") // TaskRouter has deleted the ended task
	rep := w.Sweep(0, false)
	assert.ElementsMatch(t, []string{webhooks.RepairRecordCloseUnseen, webhooks.RecordGapKind}, e2etest.Repaired(rep))
	v := w.interaction(csid, w.supervisor())
	assert.Equal(t, webhooks.StateClosedAbandoned, v.State)
	assert.NotNil(t, v.RelatedTasks[0].EndedAt, "the task's end, as its event wrote it down")
	require.NotNil(t, v.ClosedAt)
	assert.Equal(t, w.at(1860), *v.ClosedAt, "closed when the closing notice went out")

	assert.Empty(t, e2etest.Repaired(w.Sweep(0, false)), "the record has the close: nothing more")
	assert.Empty(t, w.syncItems(webhooks.InactivityClaimMap), "the episode's claim is let go")
}

// endUnrecorded has an accepted task end, and with closed its
// conversation close first (in Flex), while every record write fails;
// the faults stay on. It returns the task and when it ended.
func (w *recordsWorld) endUnrecorded(from string, closed bool) (flex.InboundResult, time.Time) {
	t := w.t
	in := w.Inbound(from, "sms", "hello")
	w.AcceptReservation(in.TaskSid)
	w.Advance("PT1M")
	w.Faults(recordWritesFail())
	if closed {
		ch := w.transfers().state().channel(in.ConversationSid)
		require.NotNil(t, ch)
		_, err := w.Twilio.FlexV1.UpdateInteractionChannel(in.InteractionSid, ch.Sid, (&flexapi.UpdateInteractionChannelParams{}).SetStatus("closed"))
		require.NoError(t, err)
	}
	_, err := w.Twilio.TaskrouterV1.UpdateTask(w.Seeded.WorkspaceSID, in.TaskSid, (&taskrouterapi.UpdateTaskParams{}).SetAssignmentStatus("completed"))
	require.NoError(t, err)
	w.Settle()
	return in, w.now().Truncate(time.Second)
}

// sweepsFailForTaskRoutersWindow has every sweep fail (TaskRouter's task
// list) once a minute for as long as TaskRouter holds an ended task.
func (w *recordsWorld) sweepsFailForTaskRoutersWindow() {
	w.Faults(emulator.Fault{Host: "taskrouter.twilio.com", Method: "GET", Path: "/Tasks$", Status: 503})
	for range 6 {
		w.Advance("PT1M")
		assert.NotEmpty(w.t, w.Sweep(0, false).StepErrors, "the task list fails")
	}
	w.Faults()
}

// sweepFindsButCannotRepair has a sweep find the gap once it is older than
// the grace, and fail to repair it (the record's writes still fail); then
// the faults go.
func (w *recordsWorld) sweepFindsButCannotRepair() {
	w.Advance("PT3M")
	rep := w.Sweep(0, false)
	require.Len(w.t, recordGaps(rep), 1, "%+v", rep)
	assert.Equal(w.t, webhooks.OutcomeFailed, recordGaps(rep)[0].Outcome, "the record's writes still fail")
	w.Faults()
}

// A conversation closed in Flex while every record write fails, and the
// sweeps that see it closed fail too: once TaskRouter lets its tasks go
// (five minutes after they end), the close would be lost for good. The
// first sweep that saw it remembered it, so a later one records it.
func TestRecordSweepRemembersACloseUntilItIsRecorded(t *testing.T) {
	w := startRecords(t, recordsOptions{})
	in, completedAt := w.endUnrecorded("+15556000031", true)
	w.sweepFindsButCannotRepair()
	require.Equal(t, webhooks.StateWorkInProgress, w.interaction(in.ConversationSid, w.supervisor()).State)

	w.Advance("PT6M") // TaskRouter has deleted the completed task
	assert.Equal(t, []string{webhooks.RecordGapKind}, e2etest.Repaired(w.Sweep(0, false)))
	v := w.interaction(in.ConversationSid, w.supervisor())
	assert.Equal(t, webhooks.StateClosedComplete, v.State)
	require.NotNil(t, v.ClosedAt)
	assert.Equal(t, completedAt, *v.ClosedAt, "closed when its task last changed")
	assert.Empty(t, e2etest.Repaired(w.Sweep(0, false)), "nothing more to do")
	assert.Empty(t, w.syncItems(webhooks.RecordGapMap), "the close is forgotten once recorded")
}

// A task's end the record missed, found by a sweep whose repair failed, is
// recorded by a later sweep although TaskRouter has deleted the task since
// (five minutes after its end): the sweep remembered what it showed.
func TestRecordSweepRemembersATaskEndUntilItIsRecorded(t *testing.T) {
	w := startRecords(t, recordsOptions{})
	in, completedAt := w.endUnrecorded("+15556000032", false)
	w.sweepFindsButCannotRepair()
	require.Nil(t, w.interaction(in.ConversationSid, w.supervisor()).RelatedTasks[0].EndedAt)

	w.Advance("PT6M") // TaskRouter has deleted the completed task
	assert.Equal(t, []string{webhooks.RecordGapKind}, e2etest.Repaired(w.Sweep(0, false)))
	v := w.interaction(in.ConversationSid, w.supervisor())
	require.Len(t, v.RelatedTasks, 1)
	if assert.NotNil(t, v.RelatedTasks[0].EndedAt, "the end is recorded") {
		assert.Equal(t, completedAt, *v.RelatedTasks[0].EndedAt, "when the task ended")
	}
	assert.NotEqual(t, webhooks.StateWorkInProgress, v.State, "no agent works it any more")
	assert.Empty(t, e2etest.Repaired(w.Sweep(0, false)), "nothing more to do")
	assert.Empty(t, w.syncItems(webhooks.RecordGapMap), "the end is forgotten once recorded")
}

// A task's end whose record write failed is written down by the event's
// handler: recorded by the first sweep that works, although every sweep
// failed for as long as TaskRouter held the ended task.
func TestRecordSweepRecordsAnEndNoSweepSaw(t *testing.T) {
	w := startRecords(t, recordsOptions{})
	in, completedAt := w.endUnrecorded("+15556000033", false)
	w.sweepsFailForTaskRoutersWindow()
	require.Nil(t, w.interaction(in.ConversationSid, w.supervisor()).RelatedTasks[0].EndedAt)
	require.Contains(t, w.syncItems(webhooks.RecordGapMap), in.TaskSid, "its event wrote the end down")

	assert.Equal(t, []string{webhooks.RecordGapKind}, e2etest.Repaired(w.Sweep(0, false)))
	v := w.interaction(in.ConversationSid, w.supervisor())
	if assert.NotNil(t, v.RelatedTasks[0].EndedAt, "the end is recorded") {
		assert.Equal(t, completedAt, *v.RelatedTasks[0].EndedAt, "when the task ended")
	}
	assert.Empty(t, w.syncItems(webhooks.RecordGapMap), "the end is forgotten once recorded")
}

// The close and its task's end both missed the record, and every sweep
// failed for as long as TaskRouter held the ended task: the end, written
// down by its event, leads the sweep to the close, which Conversations
// still shows.
func TestRecordSweepRecordsACloseNoSweepSaw(t *testing.T) {
	w := startRecords(t, recordsOptions{})
	in, completedAt := w.endUnrecorded("+15556000034", true)
	w.sweepsFailForTaskRoutersWindow()
	require.Equal(t, webhooks.StateWorkInProgress, w.interaction(in.ConversationSid, w.supervisor()).State, "the end and the close missed")

	assert.Equal(t, []string{webhooks.RecordGapKind}, e2etest.Repaired(w.Sweep(0, false)))
	v := w.interaction(in.ConversationSid, w.supervisor())
	assert.Equal(t, webhooks.StateClosedComplete, v.State)
	if assert.NotNil(t, v.ClosedAt) {
		assert.Equal(t, completedAt, *v.ClosedAt, "closed at the task's end, the last change it showed")
	}
	assert.Empty(t, w.syncItems(webhooks.RecordGapMap), "forgotten once recorded")
}
