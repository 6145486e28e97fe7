package webhooks_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// twilioCall names one Twilio call of park or unpark for fault injection.
type twilioCall struct {
	name, host, method, path string
}

var parkCalls = []twilioCall{
	{"fetch conversation", "conversations.twilio.com", "GET", `^/v1/Conversations/CH[0-9a-f]{32}$`},
	{"create webhook", "conversations.twilio.com", "POST", `^/v1/Conversations/CH[0-9a-f]{32}/Webhooks$`},
	{"claim", "sync.twilio.com", "POST", `/Maps/flexhooks_parks_[0-9a-f]/Items$`},
	{"write attributes", "conversations.twilio.com", "POST", `^/v1/Conversations/CH[0-9a-f]{32}$`},
	{"close participant", "flex-api.twilio.com", "POST", `/Participants/UT[0-9a-f]{32}$`},
	{"list item", "sync.twilio.com", "POST", `/Maps/ParkedInteractions_WK[0-9a-f]{32}/Items`},
}

var unparkCalls = []twilioCall{
	{"delete webhook (claim)", "conversations.twilio.com", "DELETE", `/Webhooks/WH[0-9a-f]{32}$`},
	{"fetch conversation", "conversations.twilio.com", "GET", `^/v1/Conversations/CH[0-9a-f]{32}$`},
	{"invite", "flex-api.twilio.com", "POST", `/Invites$`},
	{"clear park key", "conversations.twilio.com", "POST", `^/v1/Conversations/CH[0-9a-f]{32}$`},
	{"delete list item", "sync.twilio.com", "DELETE", `/Maps/ParkedInteractions_WK[0-9a-f]{32}/Items/CH`},
	{"delete claim", "sync.twilio.com", "DELETE", `/Maps/flexhooks_parks_[0-9a-f]/Items/CH`},
}

// A 429 and a 500 at each Twilio call of park: the park succeeds, or fails
// cleanly with nothing left behind, and a retry then parks.
func TestParkFaults(t *testing.T) {
	for _, c := range parkCalls {
		for _, status := range []int{429, 500} {
			t.Run(fmt.Sprintf("%s %d", c.name, status), func(t *testing.T) {
				w := newWorld(t, 1)
				svc := w.services[0]
				customer := "+15559870001"
				csid, worker := w.assigned(customer, "sms")
				token, _ := w.flexToken(worker)
				form := w.parkForm(csid, worker)
				w.faults(map[string]any{"host": c.host, "method": c.method, "path": c.path, "status": status, "times": 1})
				got, body := w.post(svc, "/park-interaction", token, form)
				t.Logf("park answered %d %v", got, body["error"])
				w.faults()
				w.settle()
				v := w.view(csid, worker)
				if got == http.StatusOK {
					assertParked(t, v)
				} else {
					assert.Contains(t, []int{502, 503}, got, body)
					assert.Empty(t, v.Webhooks, "no webhook left behind")
					assert.NotContains(t, v.Attributes, "flexhooksPark")
					assert.False(t, v.Claim, "no claim left behind")
					assert.Nil(t, v.ListItem)
					require.Len(t, v.Tasks, 1)
					assert.NotEqual(t, "completed", v.Tasks[0].Status, "the agent still has the task")
					msg := fmt.Sprint(body["error"])
					assert.Contains(t, msg, "Twilio error", "Twilio's code is in the message")
					got, body = w.post(svc, "/park-interaction", token, form)
					require.Equal(t, http.StatusOK, got, body)
					w.settle()
					assertParked(t, w.view(csid, worker))
				}
				// Whatever happened, the customer gets back exactly once.
				w.inbound(customer, "sms", "back")
				w.settle()
				v = w.view(csid, worker)
				assert.Len(t, v.Tasks, 2, "exactly one new task")
				assert.Empty(t, v.Webhooks)
			})
		}
	}
}

// A close whose answer is lost (Twilio closed the participant, then the
// answer failed) must not be undone: the agent has gone, and removing the
// webhook would strand the customer.
func TestParkCloseAnswerLost(t *testing.T) {
	w := newWorld(t, 1)
	const customer = "+15559870004"
	csid, worker := w.assigned(customer, "sms")
	token, _ := w.flexToken(worker)
	w.faults(map[string]any{"host": "flex-api.twilio.com", "method": "POST", "path": `/Participants/UT`, "status": 500, "after": true, "times": 1})
	status, body := w.post(w.services[0], "/park-interaction", token, w.parkForm(csid, worker))
	w.faults()
	require.Equal(t, http.StatusOK, status, body)
	w.settle()
	assertParked(t, w.view(csid, worker))
	w.inbound(customer, "sms", "back")
	w.settle()
	assert.Len(t, w.view(csid, worker).Tasks, 2)
}

// An invite whose answer is lost (Flex made the task, then the answer
// failed) must not be taken for a failure: restoring the park would make a
// second task on the customer's next message.
func TestUnparkInviteAnswerLost(t *testing.T) {
	w := newWorld(t, 1)
	const customer = "+15559870005"
	csid, worker, _ := w.parked(w.services[0], customer, "sms")
	w.faults(map[string]any{"host": "flex-api.twilio.com", "method": "POST", "path": `/Invites$`, "status": 500, "after": true, "times": 1})
	w.inbound(customer, "sms", "back")
	w.settle()
	w.faults()
	v := w.view(csid, worker)
	assert.Len(t, v.Tasks, 2)
	assert.Empty(t, v.Webhooks, "not restored: the invite was made")
	w.inbound(customer, "sms", "hello?")
	w.settle()
	assert.Len(t, w.view(csid, worker).Tasks, 2, "still exactly one new task")
}

// An invite whose answer is lost while the invites cannot be read either:
// whether it was made is unknown, so the park is put back, marked. The
// customer's next message then finds the invite instead of making a second
// task, and the sweeper ends the park (left alone, the customer would
// look parked to the parked list and to PARK_MAX_AGE while an agent
// serves them).
func TestUnparkInviteUnknownIsFoundLater(t *testing.T) {
	for _, by := range []string{"customer", "sweeper"} {
		t.Run(by, func(t *testing.T) {
			w := newWorld(t, 1)
			const customer = "+15559870015"
			csid, worker, token := w.parked(w.services[0], customer, "sms")
			w.faults(map[string]any{"host": "flex-api.twilio.com", "method": "POST", "path": `/Invites$`, "status": 500, "after": true, "times": 1},
				map[string]any{"host": "flex-api.twilio.com", "method": "GET", "path": `/Invites$`, "status": 500, "times": 3})
			status, body := w.post(w.services[0], "/unpark-interaction", token, url.Values{"ConversationSid": {csid}})
			w.faults()
			require.Equal(t, http.StatusBadGateway, status, body)
			w.settle()
			v := w.view(csid, worker)
			require.Len(t, v.Tasks, 2, "the invite was made")
			require.Len(t, v.Webhooks, 1, "and the park put back, since that could not be known")

			if by == "customer" {
				w.inbound(customer, "sms", "hello?")
				w.settle()
			} else {
				w.sweepLater()
			}
			v = w.view(csid, worker)
			assert.Len(t, v.Tasks, 2, "no second task")
			assert.Equal(t, 1, liveTasks(v))
			assert.Empty(t, v.Webhooks, "the park is over")
			assert.False(t, v.Claim)
			assert.NotContains(t, v.Attributes, "flexhooksPark")
		})
	}
}

// A 429 and a 500 at each Twilio call of the customer's unpark: the
// conversation is routed once, or stays parked so that the next message
// routes it; never stranded, never two tasks.
func TestUnparkFaults(t *testing.T) {
	for _, c := range unparkCalls {
		for _, status := range []int{429, 500} {
			t.Run(fmt.Sprintf("%s %d", c.name, status), func(t *testing.T) {
				w := newWorld(t, 1)
				const customer = "whatsapp:+15559870002"
				csid, worker, _ := w.parked(w.services[0], customer, "whatsapp")
				w.faults(map[string]any{"host": c.host, "method": c.method, "path": c.path, "status": status, "times": 1})
				w.inbound(customer, "whatsapp", "hello?")
				w.settle()
				w.faults()
				v := w.view(csid, worker)
				t.Logf("after the first message: %d tasks, %d webhooks", len(v.Tasks), len(v.Webhooks))
				if len(v.Tasks) == 1 {
					assertParked(t, v) // still parked, the way back intact
				} else {
					assert.Len(t, v.Tasks, 2)
				}
				w.inbound(customer, "whatsapp", "anyone?")
				w.settle()
				v = w.view(csid, worker)
				assert.Len(t, v.Tasks, 2, "exactly one new task")
				assert.Empty(t, v.Webhooks)
				assert.NotContains(t, v.Attributes, "flexhooksPark")
			})
		}
	}
}

func assertParked(t *testing.T, v conversationView) {
	t.Helper()
	assert.Len(t, v.Webhooks, 1, "one unpark webhook")
	assert.Contains(t, v.Attributes, "flexhooksPark")
	// TaskRouter deletes an ended task minutes after it ends: a park older
	// than that has no task left to show.
	for _, task := range v.Tasks {
		assert.Contains(t, []string{"completed", "canceled"}, task.Status, "no live task: the agent's completed (an unpark's declined one was canceled)")
	}
}

var workerUnparkCalls = []twilioCall{
	{"fetch conversation", "conversations.twilio.com", "GET", `^/v1/Conversations/CH[0-9a-f]{32}$`},
	{"list webhooks", "conversations.twilio.com", "GET", `/Webhooks$`},
	{"delete webhook (claim)", "conversations.twilio.com", "DELETE", `/Webhooks/WH[0-9a-f]{32}$`},
	{"invite", "flex-api.twilio.com", "POST", `/Invites$`},
	{"clear park key", "conversations.twilio.com", "POST", `^/v1/Conversations/CH[0-9a-f]{32}$`},
	{"delete list item", "sync.twilio.com", "DELETE", `/Maps/ParkedInteractions_WK[0-9a-f]{32}/Items/CH`},
	{"delete claim", "sync.twilio.com", "DELETE", `/Maps/flexhooks_parks_[0-9a-f]/Items/CH`},
}

// The same for the agent's unpark from the parked list: routed once, or an
// error with the park intact so that pressing the button again works.
func TestWorkerUnparkFaults(t *testing.T) {
	for _, c := range workerUnparkCalls {
		for _, status := range []int{429, 500} {
			t.Run(fmt.Sprintf("%s %d", c.name, status), func(t *testing.T) {
				w := newWorld(t, 1)
				svc := w.services[0]
				csid, worker, token := w.parked(svc, "whatsapp:+15559870003", "whatsapp")
				req := map[string]any{"ConversationSid": csid}
				w.faults(map[string]any{"host": c.host, "method": c.method, "path": c.path, "status": status, "times": 1})
				got, body := w.post(svc, "/unpark-interaction", token, req)
				w.faults()
				w.settle()
				v := w.view(csid, worker)
				if got == http.StatusOK {
					assert.Len(t, v.Tasks, 2)
				} else {
					assert.Contains(t, []int{502, 503}, got, body)
					assertParked(t, v)
					got, body = w.post(svc, "/unpark-interaction", token, req)
					require.Equal(t, http.StatusOK, got, body)
					w.settle()
					v = w.view(csid, worker)
				}
				assert.Len(t, v.Tasks, 2, "exactly one new task")
				assert.Empty(t, v.Webhooks)
				assert.NotContains(t, v.Attributes, "flexhooksPark")
			})
		}
	}
}
