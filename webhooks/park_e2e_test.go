package webhooks_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flexhooks/flexhooks/internal/config"
	"github.com/flexhooks/flexhooks/internal/e2etest"
	"github.com/flexhooks/flexhooks/webhooks"
)

// conversationView gathers what the tests check of one conversation from
// the emulator's state.
type conversationView struct {
	State      string
	Attributes map[string]any
	Webhooks   []string // URLs
	HookSids   []string
	Tasks      []taskView // tasks of the conversation, oldest first
	ListItem   map[string]any
	Claim      bool
}

type taskView struct {
	Sid, Status, WorkerSid string
	Attributes             map[string]any
}

func (w *world) view(csid, workerSid string) conversationView {
	w.t.Helper()
	st := w.state()
	var v conversationView
	for _, c := range st.Conversations.Conversations {
		if c.Sid != csid {
			continue
		}
		v.State = c.State
		require.NoError(w.t, json.Unmarshal([]byte(c.Attributes), &v.Attributes))
		for _, h := range c.Webhooks {
			v.Webhooks = append(v.Webhooks, h.URL)
			v.HookSids = append(v.HookSids, h.Sid)
		}
	}
	for _, ws := range st.TaskRouter.Workspaces {
		for _, t := range ws.Tasks {
			if t.Attributes["conversationSid"] == csid {
				v.Tasks = append(v.Tasks, taskView{t.Sid, t.AssignmentStatus, t.WorkerSid, t.Attributes})
			}
		}
	}
	for _, s := range st.Sync.Services {
		for _, m := range s.Maps {
			if m.UniqueName == nil {
				continue
			}
			for _, it := range m.Items {
				if it.Key != csid {
					continue
				}
				switch name := *m.UniqueName; {
				case name == "ParkedInteractions_"+workerSid:
					v.ListItem = it.Data
				case strings.HasPrefix(name, webhooks.ParkClaimMap):
					v.Claim = true // in its shard, or the legacy map of earlier versions
				}
			}
		}
	}
	return v
}

// parkForm is the park request flex-project-template's plugin sends, with
// its exact field names, for the conversation's live agent.
func (w *world) parkForm(csid, workerSid string) url.Values {
	w.t.Helper()
	st := w.state()
	f := url.Values{"conversationSid": {csid}, "workerSid": {workerSid}, "createUpdateSyncMapItem": {"true"}}
	for _, in := range st.Flex.Interactions {
		if in.Channel.ConversationSid != csid {
			continue
		}
		f.Set("interactionSid", in.Sid)
		f.Set("channelSid", in.Channel.Sid)
		f.Set("channelType", in.Channel.Type)
		for _, p := range in.Channel.Participants {
			if p.Type == "agent" && p.WorkerSid == workerSid && p.Status != "closed" {
				f.Set("participantSid", p.Sid)
				f.Set("taskSid", p.TaskSid)
			}
		}
	}
	for _, ws := range st.TaskRouter.Workspaces {
		for _, t := range ws.Tasks {
			if t.Sid != f.Get("taskSid") {
				continue
			}
			attrs, _ := json.Marshal(t.Attributes)
			f.Set("taskAttributes", string(attrs))
			f.Set("workflowSid", t.WorkflowSid)
			f.Set("taskChannelUniqueName", t.TaskChannel)
			f.Set("queueName", t.Queue)
			f.Set("queueSid", t.QueueSid)
		}
	}
	require.NotEmpty(w.t, f.Get("participantSid"), "the worker is live on the conversation")
	return f
}

// assigned starts a conversation from a customer and has its task accepted.
func (w *world) assigned(from, channel string) (csid, workerSid string) {
	in := w.inbound(from, channel, "hello")
	require.NotEmpty(w.t, in.TaskSid)
	return in.ConversationSid, w.acceptReservation(in.TaskSid)
}

func TestParkUnparkStory(t *testing.T) {
	w := newWorld(t, 1)
	svc := w.services[0]
	const customer = "whatsapp:+15551230001"
	csid, worker := w.assigned(customer, "whatsapp")
	token, _ := w.flexToken(worker)

	// 1. Park through the flex-project-template alias, form-encoded.
	form := w.parkForm(csid, worker)
	status, body := w.post(svc, "/features/park-interaction/flex/park-interaction", token, form)
	require.Equal(t, http.StatusOK, status, body)
	assert.Equal(t, true, body["parked"])
	w.settle()

	v := w.view(csid, worker)
	assert.Equal(t, "active", v.State, "the conversation stays active with its history")
	require.Len(t, v.Webhooks, 1)
	assert.True(t, strings.HasPrefix(v.Webhooks[0], svc+"/webhooks/unpark-interaction"), v.Webhooks[0])
	require.Len(t, v.Tasks, 1)
	assert.Equal(t, "completed", v.Tasks[0].Status, "the agent's task completes")
	park, ok := v.Attributes["flexhooksPark"].(map[string]any)
	require.True(t, ok, "the park record is in the attributes: %v", v.Attributes)
	for _, k := range []string{"interactionSid", "channelSid", "workflowSid", "queueName", "queueSid", "workerSid", "taskChannelUniqueName", "taskAttributes", "webhookSid", "channelType", "parkedAt"} {
		assert.NotEmpty(t, park[k], k)
	}
	assert.Equal(t, v.HookSids[0], park["webhookSid"])
	// The list item, with the fields the template's plugin reads.
	require.NotNil(t, v.ListItem, "the parked-list item exists")
	for _, k := range []string{"interactionSid", "flexInteractionChannelSid", "channelType", "participantSid", "workflowSid", "taskChannelUniqueName", "taskAttributes", "webhookSid"} {
		assert.NotEmpty(t, v.ListItem[k], k)
	}
	assert.Equal(t, form.Get("channelSid"), v.ListItem["flexInteractionChannelSid"])
	assert.True(t, v.Claim)

	// 2. The parked list shows it.
	status, list := w.get(svc, "/parked-interactions", token)
	require.Equal(t, http.StatusOK, status, list)
	items, _ := list["parkedInteractions"].([]any)
	require.Len(t, items, 1)
	first := items[0].(map[string]any)
	assert.Equal(t, csid, first["conversationSid"])
	assert.Equal(t, "whatsapp", first["channelType"])
	assert.Equal(t, customer, first["customerAddress"])
	assert.NotEmpty(t, first["parkedAt"])

	// 3. Parking again changes nothing.
	status, body = w.post(svc, "/park-interaction", token, w.cloneForm(form))
	require.Equal(t, http.StatusOK, status, body)
	assert.Equal(t, true, body["alreadyParked"])
	assert.Len(t, w.view(csid, worker).Webhooks, 1)

	// 4. A message not written by the customer does not unpark.
	w.systemMessage(csid, "system", "We will get back to you")
	w.settle()
	v = w.view(csid, worker)
	assert.Len(t, v.Webhooks, 1)
	assert.Len(t, v.Tasks, 1)

	// 5. The customer writes: one new task, with originalRouting.
	w.inbound(customer, "whatsapp", "I'm back")
	w.settle()
	v = w.view(csid, worker)
	assert.Empty(t, v.Webhooks, "the unpark webhook is removed")
	assert.NotContains(t, v.Attributes, "flexhooksPark", "the park key is cleared")
	assert.Nil(t, v.ListItem, "the list item is deleted")
	assert.False(t, v.Claim)
	require.Len(t, v.Tasks, 2, "exactly one new task")
	orig, _ := v.Tasks[1].Attributes["originalRouting"].(map[string]any)
	assert.Equal(t, map[string]any{"queueName": form.Get("queueName"), "queueSid": form.Get("queueSid"), "workerSid": worker, "reason": webhooks.UnparkByCustomer}, orig)
	assert.Equal(t, form.Get("workflowSid"), w.taskWorkflow(v.Tasks[1].Sid))
}

// cloneForm copies a form: the same request sent again (a double click).
func (w *world) cloneForm(f url.Values) url.Values {
	out := url.Values{}
	for k, v := range f {
		out[k] = append([]string(nil), v...)
	}
	return out
}

func (w *world) taskWorkflow(taskSid string) string {
	for _, ws := range w.state().TaskRouter.Workspaces {
		for _, t := range ws.Tasks {
			if t.Sid == taskSid {
				return t.WorkflowSid
			}
		}
	}
	return ""
}

// systemMessage adds a message through the REST API, as a system or the
// service itself would, which fires the conversation's webhooks.

func TestFiftyConcurrentCustomerMessagesMakeOneTask(t *testing.T) {
	w := newWorld(t, 1)
	svc := w.services[0]
	const customer = "+15551230002"
	csid, worker := w.assigned(customer, "sms")
	token, _ := w.flexToken(worker)
	status, body := w.post(svc, "/park-interaction", token, w.parkForm(csid, worker))
	require.Equal(t, http.StatusOK, status, body)

	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() { w.inbound(customer, "sms", "are you there?") })
	}
	wg.Wait()
	w.settle()
	v := w.view(csid, worker)
	assert.Len(t, v.Tasks, 2, "exactly one new task")
	assert.Empty(t, v.Webhooks)
}

// A WhatsApp park outliving the 24-hour window: the list item expires with
// the window, the park does not, and the customer's reply resumes it.
func TestWhatsAppParkOutlivesItsWindow(t *testing.T) {
	w := newWorld(t, 1)
	const customer = "whatsapp:+15551230020"
	csid, worker, _ := w.parked(w.services[0], customer, "whatsapp")
	require.NotNil(t, w.view(csid, worker).ListItem)

	w.control(http.MethodPost, "/emulator/clock", map[string]string{"advance": "PT25H"}, nil)
	w.settle()
	token, _ := w.flexToken(worker) // the park's expired a day ago
	v := w.view(csid, worker)
	assert.Nil(t, v.ListItem, "the list item expired with the window")
	assertParked(t, v)
	status, list := w.get(w.services[0], "/parked-interactions", token)
	require.Equal(t, http.StatusOK, status)
	assert.EqualValues(t, 0, list["total"])

	w.inbound(customer, "whatsapp", "sorry, I was away")
	w.settle()
	v = w.view(csid, worker)
	live := 0
	for _, task := range v.Tasks {
		if task.Status != "completed" {
			live++
		}
	}
	assert.Equal(t, 1, live, "the reply resumes the conversation: one new task (the parked one is long gone from TaskRouter): %+v", v.Tasks)
	assert.Empty(t, v.Webhooks)
}

// An SMS park's list item never expires.
func TestSMSParkListItemDoesNotExpire(t *testing.T) {
	w := newWorld(t, 1)
	csid, worker, _ := w.parked(w.services[0], "+15551230021", "sms")
	w.control(http.MethodPost, "/emulator/clock", map[string]string{"advance": "P3D"}, nil)
	w.settle()
	assert.NotNil(t, w.view(csid, worker).ListItem)
}

// PARKED_LIST writes the list item on every park, asked for or not; a
// native JSON park without createUpdateSyncMapItem shows it too.
func TestParkedListSetting(t *testing.T) {
	ew := e2etest.Start(t, e2etest.Options{Configure: func(c *config.Config) { c.ParkedList = true }})
	w := &world{World: ew, t: t, services: ew.Services}
	csid, worker := w.assigned("+15551230030", "sms")
	token, _ := w.flexToken(worker)
	form := w.parkForm(csid, worker)
	body := map[string]any{}
	for k := range form {
		body[k] = form.Get(k)
	}
	delete(body, "createUpdateSyncMapItem")
	var attrs map[string]any
	require.NoError(t, json.Unmarshal([]byte(form.Get("taskAttributes")), &attrs))
	body["taskAttributes"] = attrs // JSON callers may send the object itself
	status, resp := w.post(w.services[0], "/park-interaction", token, body)
	require.Equal(t, http.StatusOK, status, resp)
	w.settle()
	assert.NotNil(t, w.view(csid, worker).ListItem)
}
