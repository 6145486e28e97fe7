package webhooks_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// parked sets up a conversation parked by its agent through service svc.
func (w *world) parked(svc, customer, channel string) (csid, worker, token string) {
	w.t.Helper()
	csid, worker = w.assigned(customer, channel)
	token, _ = w.flexToken(worker)
	status, body := w.post(svc, "/park-interaction", token, w.parkForm(csid, worker))
	require.Equal(w.t, http.StatusOK, status, body)
	w.settle()
	return csid, worker, token
}

// messageEvent is the onMessageAdded Twilio sends to the conversation's
// unpark webhook for a message by author, and the URL it is sent to.
func (w *world) messageEvent(csid, author, source string) (hookURL string, form url.Values) {
	w.t.Helper()
	var hookSid string
	for _, c := range w.state().Conversations.Conversations {
		if c.Sid == csid && len(c.Webhooks) > 0 {
			hookSid, hookURL = c.Webhooks[0].Sid, c.Webhooks[0].URL
		}
	}
	require.NotEmpty(w.t, hookSid, "the conversation has an unpark webhook")
	sid, _ := w.Emu.Credentials()
	return hookURL, url.Values{
		"AccountSid":      {sid},
		"EventType":       {"onMessageAdded"},
		"ConversationSid": {csid},
		"MessageSid":      {"IM0123456789abcdef0123456789abcdef"},
		"Index":           {"1"},
		"Author":          {author},
		"Body":            {"hello again"},
		"Source":          {source},
		"WebhookSid":      {hookSid},
		"RetryCount":      {"0"},
	}
}

func TestWebhookReplaysMakeOneTask(t *testing.T) {
	w := newWorld(t, 1)
	const customer = "+15551230003"
	csid, worker, _ := w.parked(w.services[0], customer, "sms")
	hookURL, ev := w.messageEvent(csid, customer, "SMS")

	var wg sync.WaitGroup
	statuses := make(chan int, 20)
	for range 20 {
		wg.Go(func() {
			status, _ := w.signedPost(hookURL, ev)
			statuses <- status
		})
	}
	wg.Wait()
	close(statuses)
	for s := range statuses {
		assert.Equal(t, http.StatusOK, s)
	}
	// Twilio retrying long after.
	status, body := w.signedPost(hookURL, ev)
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "already unparked", body["reason"])
	w.settle()
	assert.Len(t, w.view(csid, worker).Tasks, 2, "exactly one new task")
}

func TestTwoReplicasUnparkOnce(t *testing.T) {
	w := newWorld(t, 2)
	const customer = "whatsapp:+15551230004"
	csid, worker, _ := w.parked(w.services[0], customer, "whatsapp")
	hookURL, ev := w.messageEvent(csid, customer, "WHATSAPP")
	u, err := url.Parse(hookURL)
	require.NoError(t, err)

	var wg sync.WaitGroup
	for i := range 30 {
		// The same delivery reaching either replica (behind one load balancer
		// each would see its own public URL).
		target := w.services[i%2] + u.RequestURI()
		wg.Go(func() {
			status, body := w.signedPost(target, ev)
			assert.Equal(t, http.StatusOK, status, body)
		})
	}
	wg.Wait()
	w.settle()
	assert.Len(t, w.view(csid, worker).Tasks, 2, "exactly one new task")
}

func TestOnlyTheCustomerUnparks(t *testing.T) {
	w := newWorld(t, 1)
	const customer = "whatsapp:+15551230005"
	csid, worker, _ := w.parked(w.services[0], customer, "whatsapp")
	for _, tc := range []struct{ author, source string }{
		{"alice", "SDK"},     // an agent
		{"system", "API"},    // a system message
		{"flexhooks", "API"}, // the service's own
		{"", "API"},          // no author
		{"+15551230005", ""}, // someone else's address
	} {
		hookURL, ev := w.messageEvent(csid, tc.author, tc.source)
		status, body := w.signedPost(hookURL, ev)
		require.Equal(t, http.StatusOK, status, body)
		assert.Equal(t, "not the customer", body["reason"], tc.author)
	}
	v := w.view(csid, worker)
	assert.Len(t, v.Webhooks, 1)
	assert.Len(t, v.Tasks, 1)
	assert.Contains(t, v.Attributes, "flexhooksPark")
}

func TestTemplateWebhookWithoutHint(t *testing.T) {
	// A webhook made by flex-project-template's function points at the alias
	// and carries no customer hint: the record decides who the customer is.
	w := newWorld(t, 1)
	svc := w.services[0]
	const customer = "+15551230006"
	csid, worker, _ := w.parked(svc, customer, "sms")
	_, ev := w.messageEvent(csid, "alice", "SDK")
	alias := svc + "/features/park-interaction/common/unpark-interaction"
	status, body := w.signedPost(alias, ev)
	require.Equal(t, http.StatusOK, status, body)
	assert.Equal(t, "not the customer", body["reason"])

	ev.Set("Author", customer)
	ev.Set("Source", "SMS")
	status, body = w.signedPost(alias, ev)
	require.Equal(t, http.StatusOK, status, body)
	assert.Equal(t, true, body["unparked"])
	w.settle()
	assert.Len(t, w.view(csid, worker).Tasks, 2)
}

func TestWebhookSignatureRequired(t *testing.T) {
	w := newWorld(t, 1)
	const customer = "+15551230007"
	csid, worker, _ := w.parked(w.services[0], customer, "sms")
	hookURL, ev := w.messageEvent(csid, customer, "SMS")
	resp, err := http.Post(hookURL, "application/x-www-form-urlencoded", strings.NewReader(ev.Encode()))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.Len(t, w.view(csid, worker).Webhooks, 1, "nothing changed")
}

func TestWorkerUnpark(t *testing.T) {
	w := newWorld(t, 1)
	svc := w.services[0]
	const customer = "whatsapp:+15551230008"
	csid, worker, token := w.parked(svc, customer, "whatsapp")

	// Another agent may not; unknown, malformed and missing fields are refused; nothing changes.
	other, _ := w.flexToken("carol")
	if w.workerSid("carol") == worker {
		other, _ = w.flexToken("bob")
	}
	status, body := w.post(svc, "/unpark-interaction", other, map[string]any{"ConversationSid": csid})
	assert.Equal(t, http.StatusForbidden, status, body)
	status, body = w.post(svc, "/unpark-interaction", token, map[string]any{"ConversationSid": "CH00000000000000000000000000000000"})
	assert.Equal(t, http.StatusNotFound, status, body)
	status, body = w.post(svc, "/unpark-interaction", token, map[string]any{"ConversationSid": "CHnope", "WebhookSid": "x"})
	assert.Equal(t, http.StatusBadRequest, status, body)
	fields, _ := body["error"].(map[string]any)["fields"].(map[string]any)
	assert.Contains(t, fields, "ConversationSid")
	assert.Contains(t, fields, "WebhookSid")
	v := w.view(csid, worker)
	require.Len(t, v.Webhooks, 1)
	require.Len(t, v.Tasks, 1)

	// The plugin's alias, form-encoded, with the template's field names.
	status, body = w.post(svc, "/features/park-interaction/flex/unpark-interaction", token,
		url.Values{"ConversationSid": {csid}, "WebhookSid": {v.HookSids[0]}, "RouteToSameWorker": {"true"}})
	require.Equal(t, http.StatusOK, status, body)
	assert.Equal(t, true, body["unparked"])
	w.settle()
	v = w.view(csid, worker)
	require.Len(t, v.Tasks, 2)
	assert.Equal(t, worker, v.Tasks[1].WorkerSid, "routed straight to the same worker")
	assert.Empty(t, v.Webhooks)

	// Not parked any more.
	status, body = w.post(svc, "/unpark-interaction", token, map[string]any{"ConversationSid": csid})
	assert.Equal(t, http.StatusConflict, status, body)
}

func TestWorkerUnparkDoubleClick(t *testing.T) {
	w := newWorld(t, 1)
	svc := w.services[0]
	csid, worker, token := w.parked(svc, "+15551230009", "sms")
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			status, body := w.post(svc, "/unpark-interaction", token, map[string]any{"ConversationSid": csid})
			assert.Contains(t, []int{http.StatusOK, http.StatusConflict}, status, body)
		})
	}
	wg.Wait()
	w.settle()
	assert.Len(t, w.view(csid, worker).Tasks, 2, "exactly one new task")
}

func (w *world) workerSid(name string) string {
	_, sid := w.flexToken(name)
	return sid
}

func TestParkBadInput(t *testing.T) {
	w := newWorld(t, 1)
	svc := w.services[0]
	csid, worker := w.assigned("+15551230010", "sms")
	token, _ := w.flexToken(worker)
	w.clearRequests()

	form := w.parkForm(csid, worker)
	form.Set("conversationSid", "CH123")
	form.Del("interactionSid")
	form.Set("taskAttributes", "{not json")
	status, body := w.post(svc, "/park-interaction", token, form)
	require.Equal(t, http.StatusBadRequest, status, body)
	msg := fmt.Sprint(body["error"])
	for _, f := range []string{"conversationSid", "interactionSid", "taskAttributes"} {
		assert.Contains(t, msg, f)
	}

	// Another agent's conversation.
	other := "bob"
	if w.workerSid("bob") == worker {
		other = "alice"
	}
	otherToken, _ := w.flexToken(other)
	status, body = w.post(svc, "/park-interaction", otherToken, w.parkForm(csid, worker))
	assert.Equal(t, http.StatusForbidden, status, body)

	for _, r := range w.requests() {
		assert.NotEqual(t, "conversations.twilio.com", r.Host, "no Twilio call on a 4xx: %s %s", r.Method, r.Path)
		assert.NotEqual(t, "flex-api.twilio.com", r.Host)
		assert.NotEqual(t, "sync.twilio.com", r.Host)
	}
	assert.Len(t, w.view(csid, worker).Webhooks, 0)
}

func TestParkClosedConversation(t *testing.T) {
	w := newWorld(t, 1)
	svc := w.services[0]
	csid, worker := w.assigned("+15551230011", "sms")
	token, _ := w.flexToken(worker)
	form := w.parkForm(csid, worker)
	w.closeConversation(csid)
	status, body := w.post(svc, "/park-interaction", token, form)
	assert.Equal(t, http.StatusConflict, status, body)
	w.settle()
	v := w.view(csid, worker)
	assert.Empty(t, v.Webhooks)
	assert.NotContains(t, v.Attributes, "flexhooksPark")
	assert.False(t, v.Claim)
}

func TestConcurrentParksOnTwoReplicas(t *testing.T) {
	w := newWorld(t, 2)
	csid, worker := w.assigned("+15551230012", "sms")
	token, _ := w.flexToken(worker)
	form := w.parkForm(csid, worker)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			status, body := w.post(w.services[i%2], "/park-interaction", token, w.cloneForm(form))
			assert.Equal(t, http.StatusOK, status, body)
		})
	}
	wg.Wait()
	w.settle()
	v := w.view(csid, worker)
	assert.Len(t, v.Webhooks, 1, "one park: the losers removed their webhooks")
	assert.Contains(t, v.Attributes, "flexhooksPark")
}

func TestParkedListPagingAndSupervisor(t *testing.T) {
	w := newWorld(t, 1)
	svc := w.services[0]
	var worker, token string
	var parkedOrder []string
	for i := range 3 {
		csid, wk, tk := w.parked(svc, fmt.Sprintf("+1555123010%d", i), "sms")
		if worker != "" && wk != worker {
			continue // the emulator routed to someone else; keep one worker's list
		}
		worker, token = wk, tk
		parkedOrder = append(parkedOrder, csid)
	}
	require.NotEmpty(t, parkedOrder)
	status, list := w.get(svc, "/parked-interactions?pageSize=1", token)
	require.Equal(t, http.StatusOK, status, list)
	items := list["parkedInteractions"].([]any)
	require.Len(t, items, 1)
	assert.Equal(t, parkedOrder[len(parkedOrder)-1], items[0].(map[string]any)["conversationSid"], "newest first")
	assert.EqualValues(t, len(parkedOrder), list["total"])

	// Another agent may not read it; a supervisor may.
	other := "carol"
	if w.workerSid(other) == worker {
		other = "bob"
	}
	agentTok, _ := w.flexToken(other)
	status, _ = w.get(svc, "/parked-interactions?workerSid="+worker, agentTok)
	assert.Equal(t, http.StatusForbidden, status)
	supTok, _ := w.flexToken(other, "supervisor")
	status, list = w.get(svc, "/parked-interactions?workerSid="+worker, supTok)
	require.Equal(t, http.StatusOK, status, list)
	assert.EqualValues(t, len(parkedOrder), list["total"])
}
