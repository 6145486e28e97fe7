package webhooks_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flexhooks/flexhooks/internal/e2etest"
	"github.com/flexhooks/flexhooks/internal/emulator"
	"github.com/flexhooks/flexhooks/webhooks"
)

// lostInvite is issue 14's case 4 as one fault rule: the invite is made
// but its answer lost (503 after the work), and the list of invites that
// would find it fails too (every attempt: the transport retries a GET's
// 503).
var lostInvite = emulator.Fault{Host: "flex-api.twilio.com", Path: `/Invites$`, Status: 503, After: true}

// transferTaskOf is the task of the channel's newest invite.
func (w *transferWorld) transferTaskOf(t testing.TB, csid string) string {
	ch := w.state().channel(csid)
	require.NotNil(t, ch)
	require.NotEmpty(t, ch.Invites)
	return ch.Invites[len(ch.Invites)-1].TaskSid
}

// brokenColdTransfer makes case 4 happen: the caller gets an error, the
// transfer's task exists, and the agent is still in.
func (w *transferWorld) brokenColdTransfer(t *testing.T, c chat, target string) {
	w.Faults(lostInvite)
	status, body := w.Post(w.Services[0], "/transfer", c.AgentToken, c.form(target))
	w.Faults()
	w.Settle()
	require.Equal(t, http.StatusServiceUnavailable, status, "%v", body)
	assert.Contains(t, body["error"].(map[string]any)["message"], "send the same transfer again")
	st := w.state()
	require.Equal(t, 2, st.invitesOf(c.Conversation), "the transfer's task exists")
	require.Equal(t, []string{"alice"}, st.identities(c.Conversation), "the agent is still in")
	require.Equal(t, 1, st.syncItems(webhooks.TransferClaimMap), "the claim is kept for the retry and the sweeper")
}

// Case 4, healed by one sweep without any redelivery: the agent leaves,
// the target's accept ends the transfer; one transfer task, no one
// stranded. No grace is needed: the repair is the removal the live cold
// transfer makes next, so racing it is harmless, and it is only made when
// the transfer's claim (flexhooks' own) vouches for the task's record.
func TestColdTransferLostInviteHealedBySweep(t *testing.T) {
	w := startTransferWorld(t, 2)
	c := w.acceptedChat("+15557100001")
	bob := w.workerSid("bob")
	w.brokenColdTransfer(t, c, bob)

	plan := w.Sweep(1, true)
	require.Len(t, plan.Repairs, 1, "%+v", plan)
	assert.Equal(t, webhooks.OutcomePlanned, plan.Repairs[0].Outcome)
	assert.Equal(t, webhooks.RepairTransferTaskOrphaned, plan.Repairs[0].Kind)
	assert.Equal(t, []string{"alice"}, w.state().identities(c.Conversation), "a dry run changes nothing")

	assert.Equal(t, []string{webhooks.RepairTransferTaskOrphaned}, e2etest.Repaired(w.Sweep(1, false)))
	w.Settle()
	st := w.state()
	assert.Empty(t, st.identities(c.Conversation), "the transferring agent has left")
	origStatus, _ := st.task(c.Task)
	assert.Equal(t, "completed", origStatus)
	taskSid := w.transferTaskOf(t, c.Conversation)
	assert.Equal(t, bob, w.AcceptReservation(taskSid), "the customer's transfer task reaches bob")
	w.Settle()
	st = w.state()
	assert.Equal(t, []string{"bob"}, st.identities(c.Conversation))
	assert.Equal(t, 2, st.invitesOf(c.Conversation), "one transfer task")
	assert.Equal(t, 0, st.syncItems(webhooks.TransferClaimMap), "bob's accept released the claim")
	assert.Empty(t, e2etest.Repaired(w.Sweep(0, false)), "nothing left to repair")
}

// Case 4 when the target accepts before any sweep: the accept removes the
// transferring agent itself (the claim it releases is the sweeper's only
// way to the transfer).
func TestColdTransferLostInviteHealedByTheAccept(t *testing.T) {
	w := startTransferWorld(t, 1)
	c := w.acceptedChat("+15557100003")
	bob := w.workerSid("bob")
	w.brokenColdTransfer(t, c, bob)
	require.Equal(t, []string{"alice"}, w.state().identities(c.Conversation), "the transfer failed before alice left")

	assert.Equal(t, bob, w.AcceptReservation(w.transferTaskOf(t, c.Conversation)))
	w.Settle()
	st := w.state()
	assert.Equal(t, []string{"bob"}, st.identities(c.Conversation), "alice left when bob accepted")
	origStatus, _ := st.task(c.Task)
	assert.Equal(t, "completed", origStatus)
	assert.Equal(t, 0, st.syncItems(webhooks.TransferClaimMap))
	assert.Empty(t, e2etest.Repaired(w.Sweep(0, false)), "nothing left to repair")
}

// Case 4's retry: the agent sends the transfer again and gets the one that
// exists, finished; no second task.
func TestColdTransferLostInviteRetryFindsIt(t *testing.T) {
	w := startTransferWorld(t, 1)
	c := w.acceptedChat("+15557100002")
	bob := w.workerSid("bob")
	w.brokenColdTransfer(t, c, bob)
	taskSid := w.transferTaskOf(t, c.Conversation)

	status, body := w.Post(w.Services[0], "/transfer", c.AgentToken, c.form(bob))
	require.Equal(t, http.StatusOK, status, "%v", body)
	assert.Equal(t, true, body["transferred"])
	assert.Equal(t, taskSid, body["taskSid"], "the existing transfer, not a second")
	w.Settle()
	st := w.state()
	assert.Equal(t, 2, st.invitesOf(c.Conversation))
	assert.Empty(t, st.identities(c.Conversation))
	assert.Equal(t, bob, w.AcceptReservation(taskSid))
	w.Settle()
	assert.Equal(t, []string{"bob"}, w.state().identities(c.Conversation))
	assert.Empty(t, e2etest.Repaired(w.Sweep(0, false)))
}

// A warm transfer whose accept could not remove the agent: the event is
// not delivered again, the sweep removes the agent and ends the transfer.
func TestTransferSweepRemovesAgentAfterAFailedAccept(t *testing.T) {
	w := startTransferWorld(t, 1)
	c := w.acceptedChat("+15557100003")
	status, body := w.Post(w.Services[0], "/transfer", c.AgentToken, c.form(w.workerSid("bob"), "mode", "warm", "removeTransferringAgent", "true"))
	require.Equal(t, http.StatusOK, status, "%v", body)
	w.Faults(emulator.Fault{Host: "flex-api.twilio.com", Method: "POST", Path: `/Participants/UT[0-9a-f]+$`, Status: 500, Times: 1})
	w.AcceptReservation(body["taskSid"].(string))
	w.Settle()
	w.Faults()
	require.ElementsMatch(t, []string{"alice", "bob"}, w.state().identities(c.Conversation), "two agents until the sweep")

	assert.Equal(t, []string{webhooks.RepairTransferAgentNotRemoved}, e2etest.Repaired(w.Sweep(0, false)))
	w.Settle()
	st := w.state()
	assert.Equal(t, []string{"bob"}, st.identities(c.Conversation))
	assert.Nil(t, w.pending(t, c.Conversation))
	assert.Equal(t, 0, st.syncItems(webhooks.TransferClaimMap))
}

// A declined warm transfer whose claim could not be released: the sweep
// releases it once the task has ended, and the agent can transfer again.
func TestTransferSweepReleasesAnEndedTransfersClaim(t *testing.T) {
	w := startTransferWorld(t, 1)
	c := w.acceptedChat("+15557100004")
	bob := w.workerSid("bob")
	status, body := w.Post(w.Services[0], "/transfer", c.AgentToken, c.form(bob, "mode", "warm"))
	require.Equal(t, http.StatusOK, status, "%v", body)
	w.Faults(emulator.Fault{Host: "sync.twilio.com", Method: "DELETE", Path: `/Maps/flexhooks_transfers_[0-9a-f]/Items/`, Status: 500})
	w.RejectReservation(body["taskSid"].(string))
	w.Settle()
	w.Faults()
	require.Equal(t, 1, w.state().syncItems(webhooks.TransferClaimMap), "the claim was left")

	assert.Equal(t, []string{webhooks.RepairTransferClaimEnded}, e2etest.Repaired(w.Sweep(0, false)))
	assert.Equal(t, 0, w.state().syncItems(webhooks.TransferClaimMap))
	assert.Equal(t, []string{"alice"}, w.state().identities(c.Conversation))
	status, body = w.Post(w.Services[0], "/transfer", c.AgentToken, c.form(bob, "mode", "warm"))
	assert.Equal(t, http.StatusOK, status, "%v", body)
}

// A claim whose invite was never made and whose release failed: released
// after the sweeper's grace (a transfer between its claim and its invite
// looks the same), not before.
func TestTransferSweepReleasesAnOrphanClaimAfterTheGrace(t *testing.T) {
	w := startTransferWorld(t, 1)
	c := w.acceptedChat("+15557100005")
	w.Faults(
		emulator.Fault{Host: "flex-api.twilio.com", Method: "POST", Path: `/Invites$`, Status: 500},
		emulator.Fault{Host: "sync.twilio.com", Method: "DELETE", Path: `/Maps/flexhooks_transfers_[0-9a-f]/Items/`, Status: 500},
	)
	status, body := w.Post(w.Services[0], "/transfer", c.AgentToken, c.form(w.workerSid("bob")))
	w.Faults()
	require.Equal(t, http.StatusBadGateway, status, "%v", body)
	require.Equal(t, 1, w.state().syncItems(webhooks.TransferClaimMap))

	assert.Empty(t, e2etest.Repaired(w.Sweep(0, false)), "first seen: could be a live transfer")
	w.Advance("PT3M")
	assert.Equal(t, []string{webhooks.RepairTransferClaimOrphaned}, e2etest.Repaired(w.Sweep(0, false)))
	assert.Equal(t, 0, w.state().syncItems(webhooks.TransferClaimMap))
	assert.Equal(t, []string{"alice"}, w.state().identities(c.Conversation))
}

// A warm transfer whose pending record could not be written (both of the
// transfer's attempts failed) answers 200, and its invite stands; but
// without the record its agent cannot cancel it, and a plugin sees no
// transfer pending. Once the sweeper's grace has passed (a live transfer
// between its invite and its record looks the same), the sweep writes the
// record back from the task's copy, which the claim vouches for; the
// agent's cancel then works and ends it cleanly.
func TestSweepRestoresAWarmTransfersLostRecord(t *testing.T) {
	w := startTransferWorld(t, 1)
	c := w.acceptedChat("+15557100009")
	bob := w.workerSid("bob")
	setActivity(t, w.World, bob, "Offline") // the offer waits for bob: no reservation times out
	w.Faults(emulator.Fault{Host: "conversations.twilio.com", Method: "POST", Path: `^/v1/Conversations/CH[0-9a-f]+$`, Status: 500, Times: 2})
	status, body := w.Post(w.Services[0], "/transfer", c.AgentToken, c.form(bob, "mode", "warm"))
	w.Faults()
	require.Equal(t, http.StatusOK, status, "%v", body)
	require.Equal(t, true, body["pending"])
	require.Nil(t, w.pending(t, c.Conversation), "both writes of the record failed")
	cancel := func() (int, map[string]any) {
		return w.Post(w.Services[0], "/transfer/cancel", c.AgentToken, url.Values{"conversationSid": {c.Conversation}})
	}
	status, _ = cancel()
	require.Equal(t, http.StatusConflict, status, "without its record the transfer cannot be canceled")

	assert.Empty(t, e2etest.Repaired(w.Sweep(0, false)), "within the grace it could be a transfer writing its record")
	w.Advance("PT3M")
	rep := w.Sweep(0, false)
	assert.Equal(t, []string{webhooks.RepairTransferRecordMissing}, e2etest.Repaired(rep), "%+v", rep)
	rec := w.pending(t, c.Conversation)
	require.NotNil(t, rec, "the record is back")
	assert.Equal(t, body["transferId"], rec["id"])
	assert.Empty(t, e2etest.Repaired(w.Sweep(0, false)), "nothing more to do")

	status, body = cancel()
	require.Equal(t, http.StatusOK, status, "%v", body)
	w.Settle()
	st := w.state()
	taskStatus, _ := st.task(body["taskSid"].(string))
	assert.Equal(t, "canceled", taskStatus)
	assert.Nil(t, w.pending(t, c.Conversation))
	assert.Zero(t, st.syncItems(webhooks.TransferClaimMap), "the claim is released")
	assert.Equal(t, []string{"alice"}, st.identities(c.Conversation))
}

// A warm transfer to a worker who declines: the decline's handler cancels
// the task, since no one else may take it. When that cancel fails, Twilio
// sends the event no more and the task would wait a day for a worker who
// declined it, the transfer blocking the conversation's next one. The
// sweep finds the declined reservation and cancels the task, as the
// handler would have; the transferring agent keeps the customer.
func TestSweepCancelsADeclinedWarmTransfer(t *testing.T) {
	w := startTransferWorld(t, 1)
	c := w.acceptedChat("+15557100010")
	status, body := w.Post(w.Services[0], "/transfer", c.AgentToken, c.form(w.workerSid("bob"), "mode", "warm"))
	require.Equal(t, http.StatusOK, status, "%v", body)
	task := body["taskSid"].(string)
	w.Faults(emulator.Fault{Host: "taskrouter.twilio.com", Method: "POST", Path: "/Tasks/" + task + "$", Status: 500, Times: 1})
	w.RejectReservation(task)
	w.Faults()
	st := w.state()
	status2, _ := st.task(task)
	require.Equal(t, "pending", status2, "the decline's cancel failed")

	assert.Equal(t, []string{webhooks.RepairTransferDeclined}, e2etest.Repaired(w.Sweep(0, false)))
	w.Settle()
	st = w.state()
	status2, _ = st.task(task)
	assert.Equal(t, "canceled", status2)
	assert.Nil(t, w.pending(t, c.Conversation), "the transfer is over")
	assert.Zero(t, st.syncItems(webhooks.TransferClaimMap), "the claim is released")
	assert.Equal(t, []string{"alice"}, st.identities(c.Conversation), "the transferring agent keeps the customer")
	assert.Empty(t, e2etest.Repaired(w.Sweep(0, false)), "nothing more to do")
}
