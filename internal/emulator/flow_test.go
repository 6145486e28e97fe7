package emulator_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	twclient "github.com/twilio/twilio-go/client"
	conversations "github.com/twilio/twilio-go/rest/conversations/v1"
	syncv1 "github.com/twilio/twilio-go/rest/sync/v1"
	taskrouter "github.com/twilio/twilio-go/rest/taskrouter/v1"

	"github.com/flexhooks/flexhooks/internal/emulator/core"
	"github.com/flexhooks/flexhooks/internal/emulator/emutest"
)

// hook is one webhook a test receiver got.
type hook struct {
	URL       string // as the sender addressed it
	Signature string
	Form      url.Values
}

// hookReceiver records the webhooks it is sent and answers 200.
type hookReceiver struct {
	*httptest.Server
	mu   sync.Mutex
	hook []hook
}

func newHookReceiver(t *testing.T) *hookReceiver {
	t.Helper()
	h := &hookReceiver{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		h.mu.Lock()
		h.hook = append(h.hook, hook{URL: "http://" + r.Host + r.URL.RequestURI(), Signature: r.Header.Get("X-Twilio-Signature"), Form: form})
		h.mu.Unlock()
	}))
	t.Cleanup(h.Close)
	return h
}

// find returns the webhooks whose field equals value.
func (h *hookReceiver) find(field, value string) []hook {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []hook
	for _, x := range h.hook {
		if x.Form.Get(field) == value {
			out = append(out, x)
		}
	}
	return out
}

// assertSigned checks X-Twilio-Signature with the emulator's auth token.
func assertSigned(t *testing.T, h hook) {
	t.Helper()
	assert.Equal(t, core.Signature(emutest.AuthToken, h.URL, h.Form), h.Signature, "X-Twilio-Signature of %s", h.Form.Get("EventType"))
}

// flowState is the part of GET /emulator/state the flow looks at.
type flowState struct {
	TaskRouter struct {
		Workspaces []struct {
			Sid   string
			Tasks []struct {
				Sid              string
				AssignmentStatus string
				Attributes       map[string]any
				Worker           string
			}
			Reservations []struct{ Sid, TaskSid, Worker, Status string }
		}
	}
	Conversations struct {
		Conversations []struct {
			Sid, State   string
			Participants []struct{ Identity, Address string }
			Messages     []struct{ Body string }
			Timers       struct{ Inactive string }
		}
	}
	Flex struct {
		Interactions []struct {
			Sid     string
			Channel struct {
				Type, Status, ConversationSid string
				Participants                  []struct{ Type, TaskSid, WorkerSid string }
			}
		}
	}
	Sync struct {
		Services []struct {
			Maps []struct {
				Sid   string
				Items []struct{ Key string }
			}
		}
	}
}

type inboundResult struct{ ConversationSid, MessageSid, InteractionSid, TaskSid string }

func validateToken(t *testing.T, base *twclient.Client, token string) map[string]any {
	t.Helper()
	body, err := json.Marshal(map[string]string{"token": token})
	require.NoError(t, err)
	resp, err := base.SendRequest(http.MethodPost, "https://iam.twilio.com/v1/Accounts/"+emutest.AccountSID+"/Tokens/validate", nil,
		map[string]any{"Content-Type": "application/json"}, body...)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var out map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return out
}

// TestFlow walks one customer conversation through every product, as
// flexhooks sees it: the control API plays the customer and the clock,
// the real twilio-go client plays flexhooks and Flex UI.
func TestFlow(t *testing.T) {
	emu, srv := start(t)
	c := emutest.Client(t, srv.URL)
	seeded := emu.SeededSIDs()
	trHooks, convHooks := newHookReceiver(t), newHookReceiver(t)

	_, err := c.TaskrouterV1.UpdateWorkspace(seeded.WorkspaceSID,
		(&taskrouter.UpdateWorkspaceParams{}).SetEventCallbackUrl(trHooks.URL+"/taskrouter?tenant=t1"))
	require.NoError(t, err)
	_, err = c.ConversationsV1.UpdateServiceWebhookConfiguration(seeded.ChatServiceSID,
		(&conversations.UpdateServiceWebhookConfigurationParams{}).
			SetPostWebhookUrl(convHooks.URL+"/conversations").
			SetMethod("POST").
			SetFilters([]string{"onConversationStateUpdated", "onMessageAdded"}))
	require.NoError(t, err)

	// A customer writes by SMS: conversation + interaction + task.
	var first inboundResult
	require.Equal(t, 200, control(t, srv, http.MethodPost, "/emulator/inbound",
		`{"from":"+15550001111","to":"+15559990000","channel":"sms","body":"my order is late"}`, &first))
	require.NotEmpty(t, first.ConversationSid)
	require.NotEmpty(t, first.MessageSid)
	require.NotEmpty(t, first.InteractionSid)
	require.NotEmpty(t, first.TaskSid)

	var st flowState
	require.Equal(t, 200, control(t, srv, http.MethodGet, "/emulator/state", "", &st))
	require.Len(t, st.Conversations.Conversations, 1)
	conv := st.Conversations.Conversations[0]
	assert.Equal(t, first.ConversationSid, conv.Sid)
	assert.Equal(t, "active", conv.State)
	require.Len(t, conv.Messages, 1)
	assert.Equal(t, "my order is late", conv.Messages[0].Body)
	require.Len(t, st.Flex.Interactions, 1)
	assert.Equal(t, first.InteractionSid, st.Flex.Interactions[0].Sid)
	assert.Equal(t, first.ConversationSid, st.Flex.Interactions[0].Channel.ConversationSid)
	assert.Equal(t, "sms", st.Flex.Interactions[0].Channel.Type)
	require.Len(t, st.TaskRouter.Workspaces, 1)
	require.Len(t, st.TaskRouter.Workspaces[0].Tasks, 1)
	task := st.TaskRouter.Workspaces[0].Tasks[0]
	assert.Equal(t, first.TaskSid, task.Sid)
	assert.Equal(t, "reserved", task.AssignmentStatus, "the default workflow offered it to an available worker")
	assert.Equal(t, first.ConversationSid, task.Attributes["conversationSid"])
	assert.Equal(t, first.InteractionSid, task.Attributes["flexInteractionSid"])
	assert.Equal(t, "+15550001111", task.Attributes["from"])
	assert.Len(t, convHooks.find("EventType", "onMessageAdded"), 1)

	// Flex UI accepts the reservation through the TaskRouter API.
	pending, err := c.TaskrouterV1.ListTaskReservation(seeded.WorkspaceSID, first.TaskSid,
		(&taskrouter.ListTaskReservationParams{}).SetReservationStatus("pending"))
	require.NoError(t, err)
	require.Len(t, pending, 1)
	res, err := c.TaskrouterV1.UpdateTaskReservation(seeded.WorkspaceSID, first.TaskSid, *pending[0].Sid,
		(&taskrouter.UpdateTaskReservationParams{}).SetReservationStatus("accepted"))
	require.NoError(t, err)
	assert.Equal(t, "accepted", *res.ReservationStatus)
	// Settle: the accept's webhooks are in flight once the REST call answers.
	require.Equal(t, 200, control(t, srv, http.MethodPost, "/emulator/settle", "", nil))

	worker, err := c.TaskrouterV1.FetchWorker(seeded.WorkspaceSID, *res.WorkerSid)
	require.NoError(t, err)
	var workerAttrs map[string]any
	require.NoError(t, json.Unmarshal([]byte(*worker.Attributes), &workerAttrs))
	identity := workerAttrs["contact_uri"].(string)[len("client:"):]
	parts, err := c.ConversationsV1.ListConversationParticipant(first.ConversationSid, nil)
	require.NoError(t, err)
	var identities []string
	for _, p := range parts {
		if p.Identity != nil {
			identities = append(identities, *p.Identity)
		}
	}
	assert.Contains(t, identities, identity, "accepting adds the worker to the conversation")
	tk, err := c.TaskrouterV1.FetchTask(seeded.WorkspaceSID, first.TaskSid)
	require.NoError(t, err)
	assert.Equal(t, "assigned", *tk.AssignmentStatus)

	accepted := trHooks.find("EventType", "reservation.accepted")
	require.Len(t, accepted, 1)
	assert.Equal(t, *res.Sid, accepted[0].Form.Get("ReservationSid"))
	assert.Equal(t, first.TaskSid, accepted[0].Form.Get("TaskSid"))
	assert.Equal(t, *res.WorkerSid, accepted[0].Form.Get("WorkerSid"))
	assert.Equal(t, trHooks.URL+"/taskrouter?tenant=t1", accepted[0].URL)
	assertSigned(t, accepted[0])
	for _, h := range trHooks.find("WorkspaceSid", seeded.WorkspaceSID) {
		assertSigned(t, h)
	}

	// The customer writes again: same conversation, no new interaction or task.
	var second inboundResult
	require.Equal(t, 200, control(t, srv, http.MethodPost, "/emulator/inbound",
		`{"from":"+15550001111","to":"+15559990000","channel":"sms","body":"any news?"}`, &second))
	assert.Equal(t, first.ConversationSid, second.ConversationSid)
	assert.NotEqual(t, first.MessageSid, second.MessageSid)
	assert.Empty(t, second.InteractionSid)
	assert.Empty(t, second.TaskSid)
	msgs, err := c.ConversationsV1.ListConversationMessage(first.ConversationSid, nil)
	require.NoError(t, err)
	assert.Len(t, msgs, 2)

	// The inactive timer fires on the virtual clock, and the service webhook hears it.
	updated, err := c.ConversationsV1.UpdateConversation(first.ConversationSid,
		(&conversations.UpdateConversationParams{}).SetTimersInactive("PT5M"))
	require.NoError(t, err)
	assert.Equal(t, "active", *updated.State)
	require.Equal(t, 200, control(t, srv, http.MethodPost, "/emulator/clock", `{"advance":"PT4M"}`, nil))
	fetched, err := c.ConversationsV1.FetchConversation(first.ConversationSid)
	require.NoError(t, err)
	assert.Equal(t, "active", *fetched.State, "not yet")
	assert.Empty(t, convHooks.find("EventType", "onConversationStateUpdated"))

	require.Equal(t, 200, control(t, srv, http.MethodPost, "/emulator/clock", `{"advance":"PT2M"}`, nil))
	fetched, err = c.ConversationsV1.FetchConversation(first.ConversationSid)
	require.NoError(t, err)
	assert.Equal(t, "inactive", *fetched.State)
	require.Equal(t, 200, control(t, srv, http.MethodGet, "/emulator/state", "", &st))
	assert.Equal(t, "inactive", st.Conversations.Conversations[0].State)
	stateHooks := convHooks.find("EventType", "onConversationStateUpdated")
	require.Len(t, stateHooks, 1, "the clock call answers once its webhooks are delivered")
	sh := stateHooks[0]
	assert.Equal(t, first.ConversationSid, sh.Form.Get("ConversationSid"))
	assert.Equal(t, "active", sh.Form.Get("StateFrom"))
	assert.Equal(t, "inactive", sh.Form.Get("StateTo"))
	assert.Equal(t, "TIMER", sh.Form.Get("Reason"))
	assert.Equal(t, seeded.ChatServiceSID, sh.Form.Get("ChatServiceSid"))
	assert.Equal(t, convHooks.URL+"/conversations", sh.URL)
	assertSigned(t, sh)
	for _, h := range convHooks.find("AccountSid", emutest.AccountSID) {
		assertSigned(t, h)
	}

	// A Sync item with a TTL expires when the clock passes it.
	m, err := c.SyncV1.CreateSyncMap("default", (&syncv1.CreateSyncMapParams{}).SetUniqueName("ParkedInteractions"))
	require.NoError(t, err)
	_, err = c.SyncV1.CreateSyncMapItem("default", *m.Sid, (&syncv1.CreateSyncMapItemParams{}).
		SetKey(first.ConversationSid).SetData(map[string]any{"taskSid": first.TaskSid}).SetTtl(120))
	require.NoError(t, err)
	_, err = c.SyncV1.CreateSyncMapItem("default", *m.Sid, (&syncv1.CreateSyncMapItemParams{}).
		SetKey("forever").SetData(map[string]any{}))
	require.NoError(t, err)
	require.Equal(t, 200, control(t, srv, http.MethodPost, "/emulator/clock", `{"advance":"PT1M"}`, nil))
	_, err = c.SyncV1.FetchSyncMapItem("default", *m.Sid, first.ConversationSid)
	require.NoError(t, err, "alive before its TTL")
	require.Equal(t, 200, control(t, srv, http.MethodPost, "/emulator/clock", `{"advance":"PT2M"}`, nil))
	_, err = c.SyncV1.FetchSyncMapItem("default", *m.Sid, first.ConversationSid)
	assertTwilioError(t, err, 404, 54201) // Sync: Map Item not found
	_, err = c.SyncV1.FetchSyncMapItem("default", *m.Sid, "forever")
	require.NoError(t, err, "an item without a TTL stays")
	require.Equal(t, 200, control(t, srv, http.MethodGet, "/emulator/state", "", &st))
	var keys []string
	for _, svc := range st.Sync.Services {
		for _, mp := range svc.Maps {
			for _, it := range mp.Items {
				keys = append(keys, it.Key)
			}
		}
	}
	assert.Equal(t, []string{"forever"}, keys)

	// A Flex token for alice validates through IAM until the clock passes its TTL.
	var tok struct {
		Token, WorkerSid, Identity string
	}
	require.Equal(t, 200, control(t, srv, http.MethodPost, "/emulator/workers/alice/token", `{"ttl":"PT10M"}`, &tok))
	require.NotEmpty(t, tok.Token)
	base := emutest.BaseClient(t, srv.URL)
	v := validateToken(t, base, tok.Token)
	assert.Equal(t, true, v["valid"])
	assert.Equal(t, "alice", v["identity"])
	assert.Equal(t, tok.WorkerSid, v["worker_sid"])
	assert.Equal(t, []any{"agent"}, v["roles"])
	require.Equal(t, 200, control(t, srv, http.MethodPost, "/emulator/clock", `{"advance":"PT9M"}`, nil))
	assert.Equal(t, true, validateToken(t, base, tok.Token)["valid"])
	require.Equal(t, 200, control(t, srv, http.MethodPost, "/emulator/clock", `{"advance":"PT2M"}`, nil))
	v = validateToken(t, base, tok.Token)
	assert.Equal(t, false, v["valid"])
	assert.EqualValues(t, 20104, v["code"])
	v = validateToken(t, base, "not-a-token")
	assert.Equal(t, false, v["valid"])
	assert.EqualValues(t, 20101, v["code"])

	// Nothing the flow caused failed to deliver.
	var delivered struct{ Webhooks []core.Delivery }
	require.Equal(t, 200, control(t, srv, http.MethodGet, "/emulator/webhooks", "", &delivered))
	require.NotEmpty(t, delivered.Webhooks)
	for _, d := range delivered.Webhooks {
		assert.Equal(t, 200, d.Status, "%s %s", d.EventType, d.URL)
		assert.Equal(t, 1, d.Attempts)
	}
}

func assertTwilioError(t *testing.T, err error, status, code int) {
	t.Helper()
	var terr *twclient.TwilioRestError
	require.True(t, errors.As(err, &terr), "want a Twilio error, got %v", err)
	assert.Equal(t, status, terr.Status)
	assert.Equal(t, code, terr.Code)
}

// TestConcurrentDeletesOfOneWebhook: of 100 simultaneous DELETEs of one
// conversation webhook, exactly one succeeds; the others are 404s.
func TestConcurrentDeletesOfOneWebhook(t *testing.T) {
	_, srv := start(t)
	c := emutest.Client(t, srv.URL)
	conv, err := c.ConversationsV1.CreateConversation(&conversations.CreateConversationParams{})
	require.NoError(t, err)
	wh, err := c.ConversationsV1.CreateConversationScopedWebhook(*conv.Sid, (&conversations.CreateConversationScopedWebhookParams{}).
		SetTarget("webhook").SetConfigurationUrl("https://example.com/hook").SetConfigurationFilters([]string{"onMessageAdded"}))
	require.NoError(t, err)

	const n = 100
	errs := make([]error, n)
	var wg sync.WaitGroup
	startGun := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-startGun
			errs[i] = c.ConversationsV1.DeleteConversationScopedWebhook(*conv.Sid, *wh.Sid)
		}()
	}
	close(startGun)
	wg.Wait()

	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
			continue
		}
		var terr *twclient.TwilioRestError
		if assert.ErrorAs(t, err, &terr) {
			assert.Equal(t, 404, terr.Status)
			assert.Equal(t, 20404, terr.Code)
		}
	}
	assert.Equal(t, 1, ok, "exactly one DELETE wins")

	var log struct {
		Requests []struct {
			Method string
			Status int
		}
	}
	require.Equal(t, 200, control(t, srv, http.MethodGet, "/emulator/requests", "", &log))
	statuses := map[int]int{}
	for _, r := range log.Requests {
		if r.Method == http.MethodDelete {
			statuses[r.Status]++
		}
	}
	assert.Equal(t, map[int]int{204: 1, 404: n - 1}, statuses)
	list, err := c.ConversationsV1.ListConversationScopedWebhook(*conv.Sid, nil)
	require.NoError(t, err)
	assert.Empty(t, list)
}
