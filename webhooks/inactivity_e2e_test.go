package webhooks_test

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	conversations "github.com/twilio/twilio-go/rest/conversations/v1"
	flexapi "github.com/twilio/twilio-go/rest/flex/v1"
	taskrouter "github.com/twilio/twilio-go/rest/taskrouter/v1"

	"github.com/flexhooks/flexhooks/internal/config"
	"github.com/flexhooks/flexhooks/internal/e2etest"
	"github.com/flexhooks/flexhooks/internal/emulator"
	"github.com/flexhooks/flexhooks/internal/isoduration"
	"github.com/flexhooks/flexhooks/webhooks"
)

// inactivityWorld is the end-to-end harness with the Twilio side configured
// as `flexhooks setup` configures it: the Conversations service-level
// webhook and the workspace's event callback pointing at the first replica.
type inactivityWorld struct {
	*e2etest.World
	t testing.TB
}

const (
	closingText = "We closed this chat for inactivity. Write again any time."
	warningText = "Are you still there? This chat closes in 5 minutes."
)

func startInactivity(t testing.TB, replicas int, configure func(*config.Config)) *inactivityWorld {
	t.Helper()
	ew := e2etest.Start(t, e2etest.Options{Replicas: replicas, Configure: func(c *config.Config) {
		c.InactivityTimeout = isoduration.Duration(30 * time.Minute)
		c.InactivityMessage = closingText
		if configure != nil {
			configure(c)
		}
	}})
	w := &inactivityWorld{World: ew, t: t}
	_, err := w.Twilio.ConversationsV1.UpdateServiceWebhookConfiguration(w.Seeded.ChatServiceSID,
		(&conversations.UpdateServiceWebhookConfigurationParams{}).
			SetPostWebhookUrl(w.Services[0]+webhooks.ConversationStateUpdatedPath).SetMethod("POST").
			SetFilters([]string{"onConversationStateUpdated", "onMessageAdded"}))
	require.NoError(t, err)
	_, err = w.Twilio.TaskrouterV1.UpdateWorkspace(w.Seeded.WorkspaceSID,
		(&taskrouter.UpdateWorkspaceParams{}).SetEventCallbackUrl(w.Services[0]+webhooks.TaskRouterEventPath))
	require.NoError(t, err)
	return w
}

// contact makes a customer write in and an agent accept the task.
func (w *inactivityWorld) contact(from, channel string) (csid, taskSid string) {
	w.t.Helper()
	res := w.Inbound(from, channel, "hello")
	require.NotEmpty(w.t, res.TaskSid)
	w.AcceptReservation(res.TaskSid)
	return res.ConversationSid, res.TaskSid
}

type inactivityConv struct {
	Sid        string `json:"sid"`
	State      string `json:"state"`
	Attributes string `json:"attributes"`
	Timers     struct {
		Inactive string `json:"inactive"`
	} `json:"timers"`
	Messages []struct {
		Author     string `json:"author"`
		Body       string `json:"body"`
		Attributes string `json:"attributes"`
	} `json:"messages"`
}

type inactivityState struct {
	TaskRouter struct {
		Workspaces []struct {
			Tasks []struct {
				Sid              string         `json:"sid"`
				AssignmentStatus string         `json:"assignmentStatus"`
				Attributes       map[string]any `json:"attributes"`
			} `json:"tasks"`
		} `json:"workspaces"`
	} `json:"taskrouter"`
	Conversations struct {
		Conversations []inactivityConv `json:"conversations"`
	} `json:"conversations"`
}

func (w *inactivityWorld) snapshot() inactivityState {
	var s inactivityState
	w.State(&s)
	return s
}

func (w *inactivityWorld) conv(csid string) inactivityConv {
	w.t.Helper()
	for _, c := range w.snapshot().Conversations.Conversations {
		if c.Sid == csid {
			return c
		}
	}
	w.t.Fatalf("no conversation %s", csid)
	return inactivityConv{}
}

// taskStatus maps each task of the conversation to its assignment status.
func (w *inactivityWorld) taskStatus(csid string) map[string]string {
	out := map[string]string{}
	for _, ws := range w.snapshot().TaskRouter.Workspaces {
		for _, t := range ws.Tasks {
			if t.Attributes["conversationSid"] == csid {
				out[t.Sid] = t.AssignmentStatus
			}
		}
	}
	return out
}

// count counts the conversation's messages with the given body.
func (c inactivityConv) count(body string) int {
	n := 0
	for _, m := range c.Messages {
		if m.Body == body {
			n++
		}
	}
	return n
}

// agentWrites posts a message as the agent would from Flex (SDK-like: it
// fires the webhooks).
func (w *inactivityWorld) agentWrites(csid, body string) {
	w.t.Helper()
	_, err := w.Twilio.ConversationsV1.CreateConversationMessage(csid, (&conversations.CreateConversationMessageParams{}).
		SetAuthor("alice").SetBody(body).SetXTwilioWebhookEnabled("true"))
	require.NoError(w.t, err)
	w.Settle()
}

func TestInactivityClosesAnAbandonedConversation(t *testing.T) {
	w := startInactivity(t, 1, nil)
	csid, task := w.contact("+15551110001", "sms")
	c := w.conv(csid)
	assert.Equal(t, "PT30M", c.Timers.Inactive, "the accept armed the channel's timeout")

	w.Advance("PT29M")
	assert.Equal(t, "active", w.conv(csid).State)
	assert.Equal(t, "assigned", w.taskStatus(csid)[task])

	w.Advance("PT2M")
	c = w.conv(csid)
	assert.Equal(t, "closed", c.State)
	assert.Equal(t, 1, c.count(closingText), "one closing notice")
	assert.Equal(t, "completed", w.taskStatus(csid)[task])

	// The customer's next message starts a new conversation.
	next := w.Inbound("+15551110001", "sms", "back again")
	assert.NotEqual(t, csid, next.ConversationSid)
	assert.NotEmpty(t, next.TaskSid)
}

func TestInactivityMessageResetsTheTimer(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(w *inactivityWorld, csid string)
	}{
		{"customer", func(w *inactivityWorld, _ string) { w.Inbound("+15551110002", "sms", "still here") }},
		{"agent", func(w *inactivityWorld, csid string) { w.agentWrites(csid, "any news?") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := startInactivity(t, 1, nil)
			csid, task := w.contact("+15551110002", "sms")
			w.Advance("PT20M")
			tc.write(w, csid)
			w.Advance("PT20M") // 40 minutes in, 20 since the message
			assert.Equal(t, "active", w.conv(csid).State)
			assert.Equal(t, "assigned", w.taskStatus(csid)[task])
			w.Advance("PT11M")
			assert.Equal(t, "closed", w.conv(csid).State)
			assert.Equal(t, "completed", w.taskStatus(csid)[task])
		})
	}
}

func TestInactivityPerChannelTimeout(t *testing.T) {
	w := startInactivity(t, 1, func(c *config.Config) {
		c.InactivityTimeoutWhatsApp = isoduration.Duration(10 * time.Minute)
	})
	wa, _ := w.contact("+15551110003", "whatsapp")
	sms, _ := w.contact("+15551110004", "sms")
	assert.Equal(t, "PT10M", w.conv(wa).Timers.Inactive)
	assert.Equal(t, "PT30M", w.conv(sms).Timers.Inactive)
	w.Advance("PT11M")
	assert.Equal(t, "closed", w.conv(wa).State)
	assert.Equal(t, "active", w.conv(sms).State)
}

// A park key written into the attributes by anyone but flexhooks (another
// integration, a hand edit) has no park claim behind it: it must not keep
// an abandoned conversation open (issue 12, finding 7). A real park is
// left open: TestInactivityAfterParkAndUnpark.
func TestInactivityIgnoresAParkKeyWithoutItsClaim(t *testing.T) {
	w := startInactivity(t, 1, nil)
	csid, task := w.contact("+15551110005", "sms")
	attrs := `{"flexhooksPark":{"conversationSid":"` + csid + `","interactionSid":"KD00000000000000000000000000000000","channelSid":"UO00000000000000000000000000000000"}}`
	_, err := w.Twilio.ConversationsV1.UpdateConversation(csid, (&conversations.UpdateConversationParams{}).SetAttributes(attrs))
	require.NoError(t, err)
	w.Advance("PT31M")
	c := w.conv(csid)
	assert.Equal(t, "closed", c.State, "the forged park key exempts nothing")
	assert.Equal(t, 1, c.count(closingText))
	assert.Equal(t, "completed", w.taskStatus(csid)[task])
}

func TestInactivityAfterTransferCompletesEveryLiveTask(t *testing.T) {
	for _, tc := range []struct {
		name          string
		firstFinished bool
	}{
		{"cold: the first agent completed their task", true},
		{"warm: both agents still in", false},
	} {
		t.Run(tc.name, func(t *testing.T) { testInactivityAfterTransfer(t, tc.firstFinished) })
	}
}

func testInactivityAfterTransfer(t *testing.T, firstFinished bool) {
	w := startInactivity(t, 1, nil)
	csid, first := w.contact("+15551110006", "sms")
	var s struct {
		Flex struct {
			Interactions []struct {
				Sid     string `json:"sid"`
				Channel struct {
					Sid             string `json:"sid"`
					ConversationSid string `json:"conversationSid"`
				} `json:"channel"`
			} `json:"interactions"`
		} `json:"flex"`
	}
	w.State(&s)
	var isid, chsid string
	for _, in := range s.Flex.Interactions {
		if in.Channel.ConversationSid == csid {
			isid, chsid = in.Sid, in.Channel.Sid
		}
	}
	require.NotEmpty(t, isid)

	// A transfer: a second invite on the channel, accepted by another agent.
	_, err := w.Twilio.FlexV1.CreateInteractionChannelInvite(isid, chsid, (&flexapi.CreateInteractionChannelInviteParams{}).
		SetRouting(map[string]any{"properties": map[string]any{
			"workspace_sid": w.Seeded.WorkspaceSID, "workflow_sid": w.Seeded.DefaultWorkflowSID, "task_channel_unique_name": "sms",
			"attributes": map[string]any{"conversationSid": csid, "transferTargetType": "queue"},
		}}))
	require.NoError(t, err)
	w.Settle()
	var second string
	for sid, st := range w.taskStatus(csid) {
		if sid != first && (st == "reserved" || st == "pending") {
			second = sid
		}
	}
	require.NotEmpty(t, second, "the transfer's task: %v", w.taskStatus(csid))
	w.AcceptReservation(second)
	if firstFinished {
		// The first agent finishes their part before the customer goes quiet.
		_, err = w.Twilio.TaskrouterV1.UpdateTask(w.Seeded.WorkspaceSID, first, (&taskrouter.UpdateTaskParams{}).SetAssignmentStatus("wrapping"))
		require.NoError(t, err)
		_, err = w.Twilio.TaskrouterV1.UpdateTask(w.Seeded.WorkspaceSID, first, (&taskrouter.UpdateTaskParams{}).SetAssignmentStatus("completed"))
		require.NoError(t, err)
	} else {
		require.Equal(t, "assigned", w.taskStatus(csid)[first])
	}

	w.Advance("PT31M")
	assert.Equal(t, "closed", w.conv(csid).State)
	assertEnded(t, w.taskStatus(csid), first, second)
	assert.Equal(t, "completed", w.taskStatus(csid)[second], "the close completed the live task")
	assert.Equal(t, 1, w.conv(csid).count(closingText))
}

// assertEnded checks that every task is completed. TaskRouter deletes an
// ended task some minutes after it ends (docs/twilio-behaviour.md), so a
// task that ended long before the check may be gone: that is ended too.
func assertEnded(t *testing.T, status map[string]string, tasks ...string) {
	t.Helper()
	for _, task := range tasks {
		if s, ok := status[task]; ok {
			assert.Equal(t, "completed", s, task)
		}
	}
	assert.NotEmpty(t, status, "the close's own completions are still listed")
}

func TestInactivityWarning(t *testing.T) {
	warn := func(c *config.Config) {
		c.InactivityWarning = isoduration.Duration(25 * time.Minute)
		c.InactivityWarningMessage = warningText
	}
	t.Run("silence after the warning closes", func(t *testing.T) {
		w := startInactivity(t, 1, warn)
		csid, task := w.contact("+15551110007", "sms")
		assert.Equal(t, "PT25M", w.conv(csid).Timers.Inactive, "armed at the warning point")
		w.Advance("PT26M")
		c := w.conv(csid)
		assert.Equal(t, 1, c.count(warningText))
		assert.Equal(t, "active", c.State)
		assert.Equal(t, "PT5M", c.Timers.Inactive, "re-armed for the rest of the timeout")
		assert.Contains(t, c.Attributes, webhooks.InactivityAttributeKey)
		w.Advance("PT6M")
		c = w.conv(csid)
		assert.Equal(t, "closed", c.State)
		assert.Equal(t, 1, c.count(closingText))
		assert.Equal(t, "completed", w.taskStatus(csid)[task])
	})
	t.Run("a reply after the warning cancels the close", func(t *testing.T) {
		w := startInactivity(t, 1, warn)
		csid, task := w.contact("+15551110008", "sms")
		w.Advance("PT26M")
		require.Equal(t, 1, w.conv(csid).count(warningText))
		w.Advance("PT2M")
		w.Inbound("+15551110008", "sms", "yes, still here")
		w.Advance("PT6M") // the close would have come here
		c := w.conv(csid)
		assert.NotEqual(t, "closed", c.State)
		assert.Equal(t, "assigned", w.taskStatus(csid)[task])
		assert.Zero(t, c.count(closingText))
		// Silence from then on: warned again 25 minutes after the reply,
		// closed 5 minutes later.
		w.Advance("PT20M")
		c = w.conv(csid)
		assert.Equal(t, 2, c.count(warningText))
		assert.NotEqual(t, "closed", c.State)
		w.Advance("PT6M")
		c = w.conv(csid)
		assert.Equal(t, "closed", c.State)
		assert.Equal(t, 1, c.count(closingText))
	})
}

func TestInactivityWhatsAppWindow(t *testing.T) {
	long := func(c *config.Config) {
		c.InactivityTimeoutWhatsApp = isoduration.Duration(25 * time.Hour)
	}
	for _, tc := range []struct {
		name       string
		contentSid string
		wantNotice bool
	}{
		{"template when configured", "HX00000000000000000000000000000001", true},
		{"skipped without a template", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := startInactivity(t, 1, func(c *config.Config) { long(c); c.InactivityWhatsAppContentSID = tc.contentSid })
			csid, task := w.contact("+15551110009", "whatsapp")
			w.Advance("PT25H1M")
			c := w.conv(csid)
			assert.Equal(t, "closed", c.State, "the close happens either way")
			assert.Equal(t, "completed", w.taskStatus(csid)[task])
			notices := 0
			for _, m := range c.Messages {
				if strings.Contains(m.Attributes, "flexhooksInactivityNotice") {
					notices++
					assert.NotEqual(t, closingText, m.Body, "no free text outside the window")
				}
			}
			assert.Equal(t, tc.wantNotice, notices == 1, "notices: %d", notices)
		})
	}
}

// stateEvent is the onConversationStateUpdated Twilio sends when the
// conversation's timer makes it inactive at the given time.
func stateEvent(csid, at string) url.Values {
	return url.Values{
		"EventType": {"onConversationStateUpdated"}, "ConversationSid": {csid},
		"StateFrom": {"active"}, "StateTo": {"inactive"}, "Reason": {"TIMER"}, "StateUpdated": {at},
	}
}

// makeInactive moves the conversation to inactive by the timer without the
// service seeing it: the service-level webhook is pointed elsewhere first,
// so that the test delivers the event itself.
func (w *inactivityWorld) makeInactive(csid string) string {
	w.t.Helper()
	_, err := w.Twilio.ConversationsV1.UpdateServiceWebhookConfiguration(w.Seeded.ChatServiceSID,
		(&conversations.UpdateServiceWebhookConfigurationParams{}).SetPostWebhookUrl(w.EmuURL+"/nowhere"))
	require.NoError(w.t, err)
	w.Advance("PT31M")
	require.Equal(w.t, "inactive", w.conv(csid).State)
	var clock struct {
		Now string `json:"now"`
	}
	w.Control("GET", "/emulator/clock", nil, &clock)
	return clock.Now
}

func TestInactivityDuplicateAndConcurrentDeliveries(t *testing.T) {
	w := startInactivity(t, 2, nil)
	csid, task := w.contact("+15551110010", "sms")
	at := w.makeInactive(csid)
	ev := stateEvent(csid, at)

	var wg sync.WaitGroup
	statuses := make([]int, 4)
	for i := range statuses {
		wg.Go(func() {
			statuses[i], _ = w.SignedPost(w.Services[i%2]+webhooks.ConversationStateUpdatedPath, ev)
		})
	}
	wg.Wait()
	for _, s := range statuses {
		assert.Equal(t, 200, s, "a loser leaves the work to the holder (or the sweeper): %v", statuses)
	}
	// A late duplicate after everything is done.
	status, body := w.SignedPost(w.Services[1]+"/on_conversation_state_updated", ev)
	assert.Equal(t, 200, status, "%v", body)

	c := w.conv(csid)
	assert.Equal(t, "closed", c.State)
	assert.Equal(t, 1, c.count(closingText), "one notice")
	assert.Equal(t, "completed", w.taskStatus(csid)[task])
}

func TestInactivityIgnoresOtherEvents(t *testing.T) {
	w := startInactivity(t, 1, nil)
	csid, _ := w.contact("+15551110011", "sms")
	for _, ev := range []url.Values{
		{"EventType": {"onConversationStateUpdated"}, "ConversationSid": {csid}, "StateFrom": {"active"}, "StateTo": {"inactive"}, "Reason": {"API"}},
		{"EventType": {"onConversationStateUpdated"}, "ConversationSid": {csid}, "StateFrom": {"inactive"}, "StateTo": {"active"}, "Reason": {"EVENT"}},
		{"EventType": {"onMessageAdded"}, "ConversationSid": {csid}, "Body": {"hi"}},
	} {
		w.ClearRequests()
		status, body := w.SignedPost(w.Services[0]+webhooks.ConversationStateUpdatedPath, ev)
		assert.Equal(t, 200, status)
		assert.Equal(t, webhooks.InactivityIgnored, body["action"])
		assert.Empty(t, w.Requests(), "no Twilio call")
	}
	assert.Equal(t, "active", w.conv(csid).State)
}

func TestInactivityOff(t *testing.T) {
	w := startInactivity(t, 1, func(c *config.Config) { c.InactivityTimeout = 0 })
	csid, task := w.contact("+15551110012", "sms")
	assert.Empty(t, w.conv(csid).Timers.Inactive, "nothing armed")
	status, _ := w.SignedPost(w.Services[0]+webhooks.ConversationStateUpdatedPath, stateEvent(csid, "2026-01-01T00:00:00Z"))
	assert.Equal(t, 200, status)
	w.Advance("PT2H")
	assert.Equal(t, "active", w.conv(csid).State)
	assert.Equal(t, "assigned", w.taskStatus(csid)[task])
}

// Every failure path of the close, with Twilio-like delivery (no
// redelivery after a 5xx): the close is finished by the webhook itself or,
// once the sweeper's grace has passed (a delivery could still be at work
// before), by one sweep. wantKind is the repair, "" when none is needed.
func TestInactivityFaults(t *testing.T) {
	tests := []struct {
		name     string
		fault    emulator.Fault
		wantKind string
	}{
		{"claim fails", emulator.Fault{Host: "sync.twilio.com", Method: "POST", Path: "flexhooks_inactivity_claims_[0-9a-f]{2}/Items$", Status: 503, Times: 1}, ""},
		{"claim answer lost", emulator.Fault{Host: "sync.twilio.com", Method: "POST", Path: "flexhooks_inactivity_claims_[0-9a-f]{2}/Items$", Status: 503, Times: 1, After: true}, ""},
		{"claim fails twice", emulator.Fault{Host: "sync.twilio.com", Method: "POST", Path: "flexhooks_inactivity_claims_[0-9a-f]{2}/Items$", Status: 500, Times: 2}, ""},
		{"record fetch fails", emulator.Fault{Host: "sync.twilio.com", Method: "GET", Path: "flexhooks_inactivity_[0-9a-f]{2}/Items/CH", Status: 500, Times: 1}, webhooks.RepairInactivityClaimStuck},
		{"conversation fetch fails", emulator.Fault{Host: "conversations.twilio.com", Method: "GET", Path: "/Conversations/CH[0-9a-f]+$", Status: 500, Times: 1}, webhooks.RepairInactivityClaimStuck},
		{"messages fail", emulator.Fault{Host: "conversations.twilio.com", Method: "GET", Path: "/Messages$", Status: 500, Times: 1}, webhooks.RepairInactivityClaimStuck},
		{"notice fails", emulator.Fault{Host: "conversations.twilio.com", Method: "POST", Path: "/Messages$", Status: 500, Times: 1}, webhooks.RepairInactivityClaimStuck},
		{"close fails after the notice", emulator.Fault{Host: "flex-api.twilio.com", Method: "POST", Path: "/Channels/UO", Status: 500, Times: 1}, webhooks.RepairInactivityCloseUnfinished},
		{"close answer lost", emulator.Fault{Host: "flex-api.twilio.com", Method: "POST", Path: "/Channels/UO", Status: 500, Times: 1, After: true}, ""},
		{"throttled", emulator.Fault{Status: 429, Times: 2}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := startInactivity(t, 2, nil)
			csid, task := w.contact("+15551110013", "sms")
			w.Faults(tc.fault)
			w.Advance("PT31M")
			w.Faults()
			assert.Empty(t, e2etest.Repaired(w.Sweep(1, false)), "within the grace a delivery could still be at work")
			w.Advance("PT3M")
			if tc.wantKind != "" {
				plan := w.Sweep(0, true)
				require.Len(t, plan.Repairs, 1, "%+v", plan)
				assert.Equal(t, webhooks.OutcomePlanned, plan.Repairs[0].Outcome)
				assert.NotEqual(t, "closed", w.conv(csid).State, "a dry run changes nothing")
			}
			var want []string
			if tc.wantKind != "" {
				want = []string{tc.wantKind}
			}
			assert.Equal(t, want, e2etest.Repaired(w.Sweep(1, false)))
			w.Settle()
			assert.Empty(t, e2etest.Repaired(w.Sweep(0, false)), "one sweep was enough")
			c := w.conv(csid)
			assert.Equal(t, "closed", c.State)
			assert.Equal(t, 1, c.count(closingText), "exactly one notice")
			assert.Equal(t, "completed", w.taskStatus(csid)[task])
		})
	}
}

// parkForm is what the plugin posts to park the conversation the worker
// holds.
func (w *inactivityWorld) parkForm(csid, workerSid string) url.Values {
	w.t.Helper()
	var s struct {
		Flex struct {
			Interactions []struct {
				Sid     string `json:"sid"`
				Channel struct {
					Sid             string `json:"sid"`
					Type            string `json:"type"`
					ConversationSid string `json:"conversationSid"`
					Participants    []struct {
						Sid       string `json:"sid"`
						Type      string `json:"type"`
						Status    string `json:"status"`
						TaskSid   string `json:"taskSid"`
						WorkerSid string `json:"workerSid"`
					} `json:"participants"`
				} `json:"channel"`
			} `json:"interactions"`
		} `json:"flex"`
		TaskRouter struct {
			Workspaces []struct {
				Tasks []struct {
					Sid         string         `json:"sid"`
					Attributes  map[string]any `json:"attributes"`
					WorkflowSid string         `json:"workflowSid"`
					TaskChannel string         `json:"taskChannel"`
				} `json:"tasks"`
			} `json:"workspaces"`
		} `json:"taskrouter"`
	}
	w.State(&s)
	f := url.Values{"conversationSid": {csid}, "workerSid": {workerSid}}
	for _, in := range s.Flex.Interactions {
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
	for _, ws := range s.TaskRouter.Workspaces {
		for _, t := range ws.Tasks {
			if t.Sid == f.Get("taskSid") {
				attrs, _ := json.Marshal(t.Attributes)
				f.Set("taskAttributes", string(attrs))
				f.Set("workflowSid", t.WorkflowSid)
				f.Set("taskChannelUniqueName", t.TaskChannel)
			}
		}
	}
	require.NotEmpty(w.t, f.Get("participantSid"))
	return f
}

func TestInactivityAfterParkAndUnpark(t *testing.T) {
	w := startInactivity(t, 1, nil)
	const customer = "+15551110014"
	res := w.Inbound(customer, "sms", "hello")
	worker := w.AcceptReservation(res.TaskSid)
	csid, first := res.ConversationSid, res.TaskSid

	token, _ := w.Token(worker)
	status, body := w.Post(w.Services[0], "/park-interaction", token, w.parkForm(csid, worker))
	require.Equal(t, 200, status, "%v", body)
	w.Advance("PT31M")
	require.NotEqual(t, "closed", w.conv(csid).State, "parked: never closed")

	// The customer comes back: unpark makes a new task, an agent accepts it.
	w.Inbound(customer, "sms", "I'm back")
	var second string
	for sid, st := range w.taskStatus(csid) {
		if sid != first && (st == "reserved" || st == "pending") {
			second = sid
		}
	}
	require.NotEmpty(t, second, "unpark's task: %v", w.taskStatus(csid))
	w.AcceptReservation(second)

	w.Advance("PT31M")
	c := w.conv(csid)
	assert.Equal(t, "closed", c.State)
	assert.Equal(t, 1, c.count(closingText))
	assertEnded(t, w.taskStatus(csid), first, second)
	assert.Equal(t, "completed", w.taskStatus(csid)[second], "the close completed the unpark's task")
}

func TestInactivityEventWithoutItsTime(t *testing.T) {
	w := startInactivity(t, 1, nil)
	csid, task := w.contact("+15551110015", "sms")
	w.makeInactive(csid)
	ev := stateEvent(csid, "")
	ev.Del("StateUpdated")
	for range 2 {
		status, body := w.SignedPost(w.Services[0]+webhooks.ConversationStateUpdatedPath, ev)
		assert.Equal(t, 200, status, "%v", body)
	}
	c := w.conv(csid)
	assert.Equal(t, "closed", c.State)
	assert.Equal(t, 1, c.count(closingText))
	assert.Equal(t, "completed", w.taskStatus(csid)[task])
}

func TestInactivityWarningFaults(t *testing.T) {
	warn := func(c *config.Config) {
		c.InactivityWarning = isoduration.Duration(25 * time.Minute)
		c.InactivityWarningMessage = warningText
	}
	tests := []struct {
		name  string
		fault emulator.Fault
	}{
		{"warning fails", emulator.Fault{Host: "conversations.twilio.com", Method: "POST", Path: "/Messages$", Status: 500, Times: 1}},
		{"re-arm fails after the warning", emulator.Fault{Host: "conversations.twilio.com", Method: "POST", Path: "/Conversations/CH[0-9a-f]+$", Status: 500, Times: 1}},
		{"re-arm answer lost", emulator.Fault{Host: "conversations.twilio.com", Method: "POST", Path: "/Conversations/CH[0-9a-f]+$", Status: 500, Times: 1, After: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := startInactivity(t, 1, warn)
			csid, task := w.contact("+15551110016", "sms")
			w.Faults(tc.fault)
			w.Advance("PT26M")
			w.Faults()
			// Twilio does not deliver the event again after a 5xx: past the
			// grace, one sweep finishes the warning.
			w.Advance("PT2M30S")
			rep := w.Sweep(0, false)
			t.Logf("sweep: %+v", rep)
			c := w.conv(csid)
			assert.Equal(t, 1, c.count(warningText), "exactly one warning")
			assert.Equal(t, "PT5M", c.Timers.Inactive)
			w.Advance("PT6M")
			c = w.conv(csid)
			assert.Equal(t, "closed", c.State)
			assert.Equal(t, 1, c.count(closingText))
			assert.Equal(t, "completed", w.taskStatus(csid)[task])
		})
	}
}

// The accept arms the timer and writes the inactivity record the close
// needs (the interaction channel to close). TaskRouter sends the accept
// once: a record write that fails is tried three times, and when all
// three fail the timeout rebuilds the record from the conversation's live
// task. Either way the timeout closes the conversation.
func TestInactivityRecordWriteFailsOnAccept(t *testing.T) {
	for _, times := range []int{2, 3} {
		t.Run(strconv.Itoa(times)+" failures", func(t *testing.T) {
			w := startInactivity(t, 1, nil)
			w.Faults(emulator.Fault{Host: "sync.twilio.com", Method: "POST", Path: "flexhooks_inactivity_[0-9a-f]{2}/Items$", Status: 500, Times: times})
			csid, task := w.contact("+15551110020", "sms")
			w.Faults()
			w.Advance("PT31M")
			c := w.conv(csid)
			assert.Equal(t, "closed", c.State)
			assert.Equal(t, 1, c.count(closingText), "the customer is told")
			assert.Equal(t, "completed", w.taskStatus(csid)[task])
		})
	}
}
