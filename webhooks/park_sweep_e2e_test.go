package webhooks_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flexhooks/flexhooks/internal/e2etest"
	"github.com/flexhooks/flexhooks/webhooks"
)

// sweepLater moves the clock past the sweeper's grace (SWEEP_GRACE, 2
// minutes by default) and sweeps once on the first replica.
func (w *world) sweepLater() webhooks.SweepReport {
	w.t.Helper()
	w.Advance("PT3M")
	rep := w.Sweep(0, false)
	w.settle()
	return rep
}

// liveTasks counts the conversation's tasks that are not ended.
func liveTasks(v conversationView) int {
	n := 0
	for _, t := range v.Tasks {
		if t.Status != "completed" && t.Status != "canceled" {
			n++
		}
	}
	return n
}

// liveTask is the conversation's one live task.
func liveTask(t *testing.T, v conversationView) taskView {
	t.Helper()
	for _, task := range v.Tasks {
		if task.Status != "completed" && task.Status != "canceled" {
			return task
		}
	}
	require.Fail(t, "no live task")
	return taskView{}
}

// assertRouted: the conversation was routed back exactly once, and no
// park bookkeeping is left.
func assertRouted(t *testing.T, v conversationView) {
	t.Helper()
	assert.Equal(t, 1, liveTasks(v), "exactly one live task: routed once, not stranded")
	assert.Empty(t, v.Webhooks, "no unpark webhook left")
	assert.NotContains(t, v.Attributes, "flexhooksPark")
	assert.False(t, v.Claim, "no park claim left")
	assert.Nil(t, v.ListItem, "no list item left")
}

// Issue 14, case 1: the unpark webhook's delete is done by Twilio but its
// answer is lost; the retry gets 404 and the handler takes it for another
// unpark's win. The customer wrote and nobody routes them. The sweeper
// sees the park without a webhook, waits out the grace (an unpark in
// progress looks the same), finds no invite, and routes the customer.
func TestSweepRoutesACustomerWhoseUnparkWasLost(t *testing.T) {
	w := newWorld(t, 1)
	const customer = "+15559871001"
	csid, worker, _ := w.parked(w.services[0], customer, "sms")
	w.faults(map[string]any{"host": "conversations.twilio.com", "method": "DELETE", "path": "/Webhooks/", "status": 503, "after": true, "times": 1})
	w.inbound(customer, "sms", "I'm back")
	w.settle()
	w.faults()
	v := w.view(csid, worker)
	require.Equal(t, 0, liveTasks(v), "stranded: the lost answer made the handler think another unpark won")
	require.Empty(t, v.Webhooks)

	assert.Empty(t, e2etest.Repaired(w.sweepLater()), "first sighting: an unpark in progress looks the same")
	rep := w.sweepLater()
	assert.Equal(t, []string{webhooks.RepairParkHookMissing}, e2etest.Repaired(rep), "%+v", rep)
	v = w.view(csid, worker)
	assertRouted(t, v)
	orig, _ := liveTask(t, v).Attributes["originalRouting"].(map[string]any)
	assert.Equal(t, webhooks.UnparkStranded, orig["reason"])

	assert.Empty(t, e2etest.Repaired(w.sweepLater()), "healed: nothing more to do")
	w.inbound(customer, "sms", "hello?")
	w.settle()
	assert.Equal(t, 1, liveTasks(w.view(csid, worker)), "still one task")
}

// Issue 14, case 2: the webhook create's answer is lost at park, so the
// park fails, and its undo, which looks for the webhook it does not know,
// cannot list the webhooks, nor can the agent's retry (which would remove
// it), so the retry adds a second. The sweeper removes the extra one, and
// the customer's message makes one task. (TestParkUndoRemovesAWebhookWhoseAnswerWasLost: the usual case.)
func TestSweepRemovesASecondUnparkWebhook(t *testing.T) {
	w := newWorld(t, 1)
	const customer = "+15559871002"
	csid, worker := w.assigned(customer, "sms")
	token, _ := w.flexToken(worker)
	form := w.parkForm(csid, worker)
	noList := map[string]any{"host": "conversations.twilio.com", "method": "GET", "path": `/Webhooks$`, "status": 500}
	w.faults(map[string]any{"host": "conversations.twilio.com", "method": "POST", "path": `/Webhooks$`, "status": 500, "after": true, "times": 1}, noList)
	status, body := w.post(w.services[0], "/park-interaction", token, form)
	require.NotEqual(t, http.StatusOK, status, body)
	status, body = w.post(w.services[0], "/park-interaction", token, w.cloneForm(form))
	w.faults()
	require.Equal(t, http.StatusOK, status, body)
	w.settle()
	require.Len(t, w.view(csid, worker).Webhooks, 2, "the lost create's webhook and the retry's")

	rep := w.sweepLater()
	assert.Equal(t, []string{webhooks.RepairParkHookDuplicate}, e2etest.Repaired(rep), "%+v", rep)
	v := w.view(csid, worker)
	assertParked(t, v)
	assert.Len(t, v.Webhooks, 1)

	w.inbound(customer, "sms", "back")
	w.settle()
	assertRouted(t, w.view(csid, worker))
}

// A park whose webhook create's answer is lost fails, and its undo finds
// the webhook it never learnt the SID of by its URL: nothing is left, and
// the retry parks with one webhook.
func TestParkUndoRemovesAWebhookWhoseAnswerWasLost(t *testing.T) {
	w := newWorld(t, 1)
	const customer = "+15559871012"
	csid, worker := w.assigned(customer, "sms")
	token, _ := w.flexToken(worker)
	form := w.parkForm(csid, worker)
	w.faults(map[string]any{"host": "conversations.twilio.com", "method": "POST", "path": `/Webhooks$`, "status": 500, "after": true, "times": 1})
	status, body := w.post(w.services[0], "/park-interaction", token, form)
	w.faults()
	require.Equal(t, http.StatusBadGateway, status, body)
	v := w.view(csid, worker)
	assert.Empty(t, v.Webhooks, "the lost create's webhook is removed by the undo")
	assert.False(t, v.Claim, "and the claim")
	assert.Equal(t, 1, liveTasks(v), "the agent still serves the customer")

	status, body = w.post(w.services[0], "/park-interaction", token, w.cloneForm(form))
	require.Equal(t, http.StatusOK, status, body)
	assertParked(t, w.view(csid, worker))
	assert.Len(t, w.view(csid, worker).Webhooks, 1)
}

// parkedInClaimOnly parks the customer's conversation while every write of
// its attributes fails: the park answers 200 and lives only in its claim.
func (w *world) parkedInClaimOnly(customer string) (csid, worker string) {
	w.t.Helper()
	csid, worker = w.assigned(customer, "sms")
	token, _ := w.flexToken(worker)
	form := w.parkForm(csid, worker)
	w.faults(map[string]any{"host": "conversations.twilio.com", "method": "POST", "path": `^/v1/Conversations/CH[0-9a-f]{32}$`, "status": 500, "times": 10})
	status, body := w.post(w.services[0], "/park-interaction", token, form)
	w.faults()
	require.Equal(w.t, http.StatusOK, status, body)
	w.settle()
	v := w.view(csid, worker)
	require.NotContains(w.t, v.Attributes, "flexhooksPark", "both writes failed")
	require.True(w.t, v.Claim)
	return csid, worker
}

// Issue 14, case 3: both attribute writes of a park fail, so the park
// lives only in its claim. The agent's unpark and the inactivity timeout
// already read the claim; the sweeper writes the key so that every reader
// agrees.
func TestSweepWritesTheKeyOfAParkOnlyInItsClaim(t *testing.T) {
	w := newWorld(t, 1)
	const customer = "+15559871003"
	csid, worker := w.parkedInClaimOnly(customer)

	rep := w.sweepLater()
	assert.Equal(t, []string{webhooks.RepairParkKeyMissing}, e2etest.Repaired(rep), "%+v", rep)
	assertParked(t, w.view(csid, worker))

	w.inbound(customer, "sms", "back")
	w.settle()
	assertRouted(t, w.view(csid, worker))
}

// Issue 14, case 5: the unpark's invite fails and so does putting the
// webhook back. The park claim outlives the failed invite (it is deleted
// only once an invite is made), so the sweeper finds the park without a
// way back and routes the customer who wrote.
func TestSweepRoutesACustomerWhoseUnparkRestoreFailed(t *testing.T) {
	w := newWorld(t, 1)
	const customer = "+15559871005"
	csid, worker, _ := w.parked(w.services[0], customer, "sms")
	w.faults(
		map[string]any{"host": "flex-api.twilio.com", "method": "POST", "path": `/Invites$`, "status": 500, "times": 10},
		map[string]any{"host": "conversations.twilio.com", "method": "POST", "path": `/Webhooks$`, "status": 500, "times": 10},
	)
	w.inbound(customer, "sms", "I'm back")
	w.settle()
	w.faults()
	v := w.view(csid, worker)
	require.Equal(t, 0, liveTasks(v))
	require.Empty(t, v.Webhooks, "the restore failed")
	require.True(t, v.Claim, "the claim outlives a failed invite")

	w.sweepLater()
	rep := w.sweepLater()
	assert.Contains(t, e2etest.Repaired(rep), webhooks.RepairParkHookMissing, "%+v", rep)
	assertRouted(t, w.view(csid, worker))
}

// A dry run lists what it would repair and changes nothing.
func TestSweepDryRunChangesNothing(t *testing.T) {
	w := newWorld(t, 1)
	csid, worker := w.parkedInClaimOnly("+15559871006")
	w.Advance("PT3M")
	before := w.view(csid, worker)
	rep := w.Sweep(0, true)
	assert.True(t, rep.DryRun)
	require.Len(t, rep.Repairs, 1)
	assert.Equal(t, webhooks.RepairParkKeyMissing, rep.Repairs[0].Kind)
	assert.Equal(t, webhooks.OutcomePlanned, rep.Repairs[0].Outcome)
	assert.Equal(t, csid, rep.Repairs[0].Sids["conversationSid"])
	assert.Equal(t, before, w.view(csid, worker))
}

// Two replicas sweeping the same fault at once repair it once.
func TestTwoReplicasSweepOnce(t *testing.T) {
	ew := e2etest.Start(t, e2etest.Options{Replicas: 2})
	w := &world{World: ew, t: t, services: ew.Services}
	const customer = "+15559871007"
	csid, worker, _ := w.parked(w.services[0], customer, "sms")
	w.faults(map[string]any{"host": "conversations.twilio.com", "method": "DELETE", "path": "/Webhooks/", "status": 503, "after": true, "times": 1})
	w.inbound(customer, "sms", "I'm back")
	w.settle()
	w.faults()
	w.sweepLater()
	w.Advance("PT3M")
	reps := make(chan webhooks.SweepReport, 2)
	for i := range 2 {
		go func() { reps <- w.Sweep(i, false) }()
	}
	repaired := len(e2etest.Repaired(<-reps)) + len(e2etest.Repaired(<-reps))
	w.settle()
	assert.Equal(t, 1, repaired, "one replica repairs, the other finds it locked or done")
	assertRouted(t, w.view(csid, worker))
}

// Only a supervisor, an admin or the service's credentials may sweep.
func TestSweepNeedsASupervisor(t *testing.T) {
	w := newWorld(t, 1)
	agent, _ := w.flexToken("alice")
	status, body := w.post(w.services[0], "/admin/sweep", agent, map[string]any{})
	assert.Equal(t, http.StatusForbidden, status, body)
	boss, _ := w.flexToken("carol", "supervisor")
	status, body = w.post(w.services[0], "/admin/sweep", boss, map[string]any{"dryRun": true})
	assert.Equal(t, http.StatusOK, status, body)
	status, _ = w.post(w.services[0], "/admin/sweep", "", map[string]any{})
	assert.Equal(t, http.StatusUnauthorized, status)
}
