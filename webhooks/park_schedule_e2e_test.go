package webhooks_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flexhooks/flexhooks/internal/config"
	"github.com/flexhooks/flexhooks/internal/e2etest"
	"github.com/flexhooks/flexhooks/webhooks"
)

// snoozed parks the customer's conversation until unparkAt.
func (w *world) snoozed(customer, unparkAt string) (csid, worker, token string) {
	w.t.Helper()
	csid, worker = w.assigned(customer, "sms")
	token, _ = w.flexToken(worker)
	form := w.parkForm(csid, worker)
	form.Set("unparkAt", unparkAt)
	status, body := w.post(w.services[0], "/park-interaction", token, form)
	require.Equal(w.t, http.StatusOK, status, body)
	w.settle()
	return csid, worker, token
}

// A snoozed park comes back by itself when its time comes, once, with
// the reason "scheduled"; the parked list shows when.
func TestScheduledUnpark(t *testing.T) {
	w := newWorld(t, 1)
	const customer = "+15559872001"
	parkedAt := w.Emu.Now()
	csid, worker, token := w.snoozed(customer, "PT1H")

	status, list := w.get(w.services[0], "/parked-interactions", token)
	require.Equal(t, http.StatusOK, status, list)
	items := list["parkedInteractions"].([]any)
	require.Len(t, items, 1)
	at, err := time.Parse(time.RFC3339, items[0].(map[string]any)["unparkAt"].(string))
	require.NoError(t, err)
	assert.WithinDuration(t, parkedAt.Add(time.Hour), at, 2*time.Second)

	w.Advance("PT58M")
	assert.Empty(t, e2etest.Repaired(w.Sweep(0, false)), "not yet")
	assertParked(t, w.view(csid, worker))

	rep := w.sweepLater()
	assert.Equal(t, []string{webhooks.RepairParkScheduled}, e2etest.Repaired(rep), "%+v", rep)
	v := w.view(csid, worker)
	assertRouted(t, v)
	task := liveTask(t, v)
	orig, _ := task.Attributes["originalRouting"].(map[string]any)
	assert.Equal(t, webhooks.UnparkScheduled, orig["reason"])
	assert.Equal(t, worker, orig["workerSid"], "to the same agent where the workflow can")

	assert.Empty(t, e2etest.Repaired(w.sweepLater()), "exactly once")
	w.inbound(customer, "sms", "hi again")
	w.settle()
	assert.Equal(t, 1, liveTasks(w.view(csid, worker)))
}

// A customer who writes before the snooze ends unparks as usual, and the
// schedule is dropped with the park.
func TestCustomerMessageDropsTheSchedule(t *testing.T) {
	w := newWorld(t, 1)
	const customer = "+15559872002"
	csid, worker, _ := w.snoozed(customer, "P7D")
	w.Advance("PT10M")
	w.inbound(customer, "sms", "actually, now please")
	w.settle()
	assertRouted(t, w.view(csid, worker))
	w.ClearRequests()
	w.Advance("P8D")
	assert.Empty(t, e2etest.Repaired(w.Sweep(0, false)))
	w.settle()
	for _, r := range w.Requests() {
		assert.False(t, r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/Invites"), "no second routing when the time comes: %s %s", r.Method, r.Path)
	}
}

// unparkAt that cannot be honoured is a 400 naming the field, and changes
// nothing.
func TestUnparkAtRefused(t *testing.T) {
	w := newWorld(t, 1)
	csid, worker := w.assigned("+15559872003", "sms")
	token, _ := w.flexToken(worker)
	for _, at := range []string{"yesterday", "PT10S", "P20D", "2020-01-01T00:00:00Z"} {
		form := w.parkForm(csid, worker)
		form.Set("unparkAt", at)
		status, body := w.post(w.services[0], "/park-interaction", token, form)
		assert.Equal(t, http.StatusBadRequest, status, "%s: %v", at, body)
		fields, _ := body["error"].(map[string]any)["fields"].(map[string]any)
		assert.Contains(t, fields, "unparkAt", at)
	}
	v := w.view(csid, worker)
	assert.Empty(t, v.Webhooks)
	assert.False(t, v.Claim)
}

// A park that reaches PARK_MAX_AGE is closed: the customer is told, the
// conversation closes, nothing of the park remains.
func TestExpiredParkCloses(t *testing.T) {
	w := newWorld(t, 1)
	const customer = "+15559872004"
	csid, worker, _ := w.parked(w.services[0], customer, "sms")
	w.Advance("P13DT23H58M")
	assert.Empty(t, e2etest.Repaired(w.Sweep(0, false)), "not yet 14 days")
	rep := w.sweepLater()
	assert.Equal(t, []string{webhooks.RepairParkExpired}, e2etest.Repaired(rep), "%+v", rep)
	v := w.view(csid, worker)
	assert.Equal(t, "closed", v.State)
	assert.Equal(t, 0, liveTasks(v))
	assert.False(t, v.Claim)
	assert.Nil(t, v.ListItem)
	msgs, err := w.Twilio.ConversationsV1.ListConversationMessage(csid, nil)
	require.NoError(t, err)
	require.NotEmpty(t, msgs)
	assert.Contains(t, *msgs[len(msgs)-1].Body, "waiting a long time", "the customer was told")
}

// With PARK_EXPIRY=route an expired park goes back to an agent instead.
func TestExpiredParkRoutesWhenConfigured(t *testing.T) {
	ew := e2etest.Start(t, e2etest.Options{Configure: func(c *config.Config) { c.ParkExpiry = "route" }})
	w := &world{World: ew, t: t, services: ew.Services}
	csid, worker, _ := w.parked(w.services[0], "+15559872005", "sms")
	w.Advance("P14D")
	rep := w.sweepLater()
	assert.Equal(t, []string{webhooks.RepairParkExpired}, e2etest.Repaired(rep), "%+v", rep)
	v := w.view(csid, worker)
	assertRouted(t, v)
	orig, _ := liveTask(t, v).Attributes["originalRouting"].(map[string]any)
	assert.Equal(t, webhooks.UnparkExpired, orig["reason"])
}
