package webhooks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	conversations "github.com/twilio/twilio-go/rest/conversations/v1"
	flexapi "github.com/twilio/twilio-go/rest/flex/v1"
	taskrouterapi "github.com/twilio/twilio-go/rest/taskrouter/v1"

	"github.com/flexhooks/flexhooks/internal/config"
	"github.com/flexhooks/flexhooks/internal/e2etest"
	"github.com/flexhooks/flexhooks/internal/emulator"
	"github.com/flexhooks/flexhooks/internal/emulator/emutest"
	"github.com/flexhooks/flexhooks/internal/isoduration"
	"github.com/flexhooks/flexhooks/internal/setup"
	"github.com/flexhooks/flexhooks/internal/twilio"
	"github.com/flexhooks/flexhooks/webhooks"
)

// recordsWorld is the end-to-end harness with interaction records on and
// the Twilio side as `flexhooks setup` leaves it: the workspace's event
// callback (every event type records use) and the Conversations service
// webhook (onConversationStateUpdated, onMessageAdded) point at the first
// replica. Its virtual clock starts on a whole second, so that every time
// Twilio reports (TaskRouter's to the second or millisecond, Conversations'
// to the second) is exact and the record's times can be asserted exactly.
type recordsWorld struct {
	*e2etest.World
	t  testing.TB
	t0 time.Time // the clock when the world was made
}

type recordsOptions struct {
	replicas int
	// noCallbacks leaves the workspace's event callback and the
	// Conversations webhook unset: the test delivers the events itself.
	noCallbacks bool
	// recordsOff turns interaction records off (benchmarks compare).
	recordsOff bool
	configure  func(*config.Config)
	// seed replaces the emulator's default world (the load benchmark's
	// many agents).
	seed *emulator.Seed
}

func startRecords(t testing.TB, opts recordsOptions) *recordsWorld {
	t.Helper()
	ew := e2etest.Start(t, e2etest.Options{Replicas: max(opts.replicas, 1), Seed: opts.seed, Configure: func(c *config.Config) {
		c.InteractionRecords = !opts.recordsOff
		if opts.configure != nil {
			opts.configure(c)
		}
	}})
	w := &recordsWorld{World: ew, t: t}
	if !opts.noCallbacks {
		tw, err := twilio.New(twilio.Options{AccountSID: emutest.AccountSID, AuthToken: emutest.AuthToken, EmulatorURL: w.EmuURL})
		require.NoError(t, err)
		var out bytes.Buffer
		_, err = setup.Run(context.Background(), tw, setup.Steps(setup.Config{
			WorkspaceSID: w.Seeded.WorkspaceSID, ChatServiceSID: w.Seeded.ChatServiceSID, PublicBaseURL: w.Services[0],
		}), false, &out)
		require.NoError(t, err, out.String())
	}
	// Onto the next whole second, plus a microsecond so that a float's
	// rounding cannot leave the clock a nanosecond short of it.
	now := w.now()
	if frac := time.Duration(now.Nanosecond()); frac != 0 {
		w.Advance(fmt.Sprintf("PT%.9fS", (time.Second - frac + time.Microsecond).Seconds()))
	}
	w.t0 = w.now().Truncate(time.Second)
	require.Less(t, w.now().Sub(w.t0), time.Millisecond, "the clock is on a whole second")
	return w
}

func (w *recordsWorld) now() time.Time {
	var clock struct {
		Now time.Time `json:"now"`
	}
	w.Control(http.MethodGet, "/emulator/clock", nil, &clock)
	return clock.Now
}

// at is the world's start plus a number of seconds.
func (w *recordsWorld) at(seconds int) time.Time {
	return w.t0.Add(time.Duration(seconds) * time.Second)
}

// parks is the park tests' harness on the same world, for its park form.
func (w *recordsWorld) parks() *world {
	return &world{World: w.World, t: w.t, services: w.Services}
}

// transfers is the transfer tests' harness on the same world, for its state.
func (w *recordsWorld) transfers() *transferWorld { return &transferWorld{World: w.World} }

// supervisor is a supervisor's token (carol's, who never takes a task in
// these tests).
func (w *recordsWorld) supervisor() string {
	tok, _ := w.Token("carol", "supervisor")
	return tok
}

// interaction reads a record through the API; it must answer 200.
func (w *recordsWorld) interaction(csid, token string) webhooks.Interaction {
	w.t.Helper()
	status, body := w.Get(w.Services[0], "/interactions/"+csid, token)
	require.Equal(w.t, http.StatusOK, status, "%v", body)
	return decodeAs[webhooks.Interaction](w.t, body)
}

func decodeAs[T any](t testing.TB, body map[string]any) T {
	t.Helper()
	var out T
	b, err := json.Marshal(body)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &out))
	return out
}

// stored is a record as Sync holds it: its revision tells whether anything
// wrote it.
type stored struct {
	Revision string
	Data     string
}

func (w *recordsWorld) stored(csid string) stored {
	w.t.Helper()
	it, err := w.Twilio.SyncV1.FetchSyncMapItem("default", webhooks.RecordMap(csid), csid)
	require.NoError(w.t, err)
	b, err := json.Marshal(it.Data)
	require.NoError(w.t, err)
	return stored{Revision: *it.Revision, Data: string(b)}
}

// syncItems lists the items (key → data) of a Sync map, or of every shard
// of a sharded kind (webhooks.ShardedMap): the maps named mapName or
// mapName_xx, from the emulator's state.
func (w *recordsWorld) syncItems(mapName string) map[string]map[string]any {
	w.t.Helper()
	var st state // world_test.go's view of the emulator's state
	w.State(&st)
	shard := regexp.MustCompile("^" + regexp.QuoteMeta(mapName) + "(_[0-9a-f]{1,3})?$")
	out := map[string]map[string]any{}
	for _, svc := range st.Sync.Services {
		for _, m := range svc.Maps {
			if m.UniqueName == nil || !shard.MatchString(*m.UniqueName) {
				continue
			}
			for _, it := range m.Items {
				out[it.Key] = it.Data
			}
		}
	}
	return out
}

// agentWrites posts a message as the agent's Flex UI does (author: the
// worker's identity), firing the webhooks.
func (w *recordsWorld) agentWrites(csid, identity, body string) {
	w.t.Helper()
	_, err := w.Twilio.ConversationsV1.CreateConversationMessage(csid, (&conversations.CreateConversationMessageParams{}).
		SetAuthor(identity).SetBody(body).SetXTwilioWebhookEnabled("true"))
	require.NoError(w.t, err)
	w.Settle()
}

func (w *recordsWorld) conversationState(csid string) string {
	w.t.Helper()
	c, err := w.Twilio.ConversationsV1.FetchConversation(csid)
	require.NoError(w.t, err)
	return *c.State
}

// newTaskOf is the conversation's task that is not among known.
func (w *recordsWorld) newTaskOf(csid string, known ...string) string {
	w.t.Helper()
	st := w.transfers().state()
	var out []string
	for _, t := range st.TaskRouter.Workspaces[0].Tasks {
		if t.Attributes["conversationSid"] == csid && !slices.Contains(known, t.Sid) {
			out = append(out, t.Sid)
		}
	}
	require.Len(w.t, out, 1, "one new task of %s", csid)
	return out[0]
}

// park parks the conversation the worker holds through the native route.
func (w *recordsWorld) park(csid, workerSid string) {
	w.t.Helper()
	tok, _ := w.Token(workerSid)
	status, body := w.Post(w.Services[0], "/park-interaction", tok, w.parks().parkForm(csid, workerSid))
	require.Equal(w.t, http.StatusOK, status, "%v", body)
	w.Settle()
}

// contacted makes a customer write in and an agent accept after wait.
func (w *recordsWorld) contacted(from, channel, wait string) (csid, task, worker string) {
	w.t.Helper()
	in := w.Inbound(from, channel, "hello")
	require.NotEmpty(w.t, in.TaskSid)
	if wait != "" {
		w.Advance(wait)
	}
	return in.ConversationSid, in.TaskSid, w.AcceptReservation(in.TaskSid)
}

func seconds(v *float64) float64 {
	if v == nil {
		return -1
	}
	return *v
}

func TestInteractionRecordFullLife(t *testing.T) {
	w := startRecords(t, recordsOptions{})
	sup := w.supervisor()
	const customer = "+15556000001"
	_, bob := w.Token("bob")

	// 0 s: the customer writes; the task is created.
	in := w.Inbound(customer, "sms", "hello")
	csid, task1 := in.ConversationSid, in.TaskSid
	v := w.interaction(csid, sup)
	assert.Equal(t, "INT0000001", v.Number)
	assert.Equal(t, "sms", v.Type)
	assert.Equal(t, webhooks.StateNew, v.State)
	assert.Equal(t, webhooks.ReasonWaitingForAgent, v.StateReason)
	assert.Equal(t, customer, v.CustomerAddress)
	assert.Equal(t, webhooks.ProfileID("sms", customer), v.OpenedFor.ProfileID)
	assert.Equal(t, in.InteractionSid, v.InteractionSid)
	require.NotNil(t, v.OpenedAt)
	assert.Equal(t, w.at(0), *v.OpenedAt)
	assert.Nil(t, v.WaitTimeSeconds, "nobody has answered")
	assert.Nil(t, v.AssignedTo)
	require.Len(t, v.RelatedTasks, 1)
	assert.Equal(t, task1, v.RelatedTasks[0].ContactID)
	assert.Equal(t, webhooks.ContactInbound, v.RelatedTasks[0].Reason)

	// 60 s: alice accepts. No message yet: the wait is measured to the accept.
	w.Advance("PT1M")
	alice := w.AcceptReservation(task1)
	v = w.interaction(csid, sup)
	assert.Equal(t, webhooks.StateWorkInProgress, v.State)
	assert.Empty(t, v.StateReason)
	require.NotNil(t, v.AssignedTo)
	assert.Equal(t, webhooks.Assignee{WorkerSid: alice, WorkerName: "alice"}, *v.AssignedTo)
	assert.Equal(t, 60.0, seconds(v.WaitTimeSeconds))
	assert.Equal(t, webhooks.WaitFromAccept, v.WaitTimeSource)

	// 120 s: the customer and the system write: neither is an agent's reply.
	w.Advance("PT1M")
	w.Inbound(customer, "sms", "anyone there?")
	w.agentWrites(csid, "system", "An agent will be with you shortly")
	assert.Equal(t, webhooks.WaitFromAccept, w.interaction(csid, sup).WaitTimeSource)

	// 180 s: alice's first message is the first reply.
	w.Advance("PT1M")
	w.agentWrites(csid, "alice", "Hi, how can I help?")
	v = w.interaction(csid, sup)
	assert.Equal(t, 180.0, seconds(v.WaitTimeSeconds))
	assert.Equal(t, webhooks.WaitFromFirstReply, v.WaitTimeSource)
	w.Advance("PT30S")
	w.agentWrites(csid, "alice", "Let me check")
	assert.Equal(t, 180.0, seconds(w.interaction(csid, sup).WaitTimeSeconds), "only the first reply counts")

	// 360 s: alice parks it.
	w.Advance("PT2M30S")
	w.park(csid, alice)
	v = w.interaction(csid, sup)
	assert.Equal(t, webhooks.StateOnHold, v.State)
	assert.Equal(t, webhooks.ReasonWaitingOnCustomer, v.StateReason)
	assert.Equal(t, 300.0, v.DurationSeconds, "alice's first stint: 60 s to 360 s")
	require.NotNil(t, v.AssignedTo)
	assert.Equal(t, alice, v.AssignedTo.WorkerSid, "still the last agent")

	// 960 s: the customer comes back: the unpark's task waits for an agent.
	w.Advance("PT10M")
	w.Inbound(customer, "sms", "I'm back")
	task2 := w.newTaskOf(csid, task1)
	v = w.interaction(csid, sup)
	assert.Equal(t, webhooks.StateNew, v.State)
	assert.Equal(t, webhooks.ReasonWaitingForAgent, v.StateReason)
	require.Len(t, v.RelatedTasks, 2)
	assert.Equal(t, webhooks.ContactUnpark, v.RelatedTasks[1].Reason)

	// 1020 s: accepted again.
	w.Advance("PT1M")
	require.Equal(t, alice, w.AcceptReservation(task2), "the unpark goes back to alice")
	v = w.interaction(csid, sup)
	assert.Equal(t, webhooks.StateWorkInProgress, v.State)
	assert.Equal(t, alice, v.AssignedTo.WorkerSid)

	// 1260 s: alice transfers it to bob (cold): it waits internally.
	w.Advance("PT4M")
	ch := w.transfers().state().channel(csid)
	require.NotNil(t, ch)
	c := chat{Conversation: csid, Interaction: in.InteractionSid, Channel: ch.Sid, Task: task2, AgentWorker: alice, AgentParticipant: ch.agent(alice).Sid}
	aliceToken, _ := w.Token(alice)
	status, body := w.Post(w.Services[0], "/transfer", aliceToken, c.form(bob))
	require.Equal(t, http.StatusOK, status, "%v", body)
	w.Settle()
	task3, _ := body["taskSid"].(string)
	v = w.interaction(csid, sup)
	assert.Equal(t, webhooks.StateOnHold, v.State)
	assert.Equal(t, webhooks.ReasonWaitingInternal, v.StateReason)
	require.Len(t, v.RelatedTasks, 3)
	assert.Equal(t, task3, v.RelatedTasks[2].ContactID)
	assert.Equal(t, webhooks.ContactTransfer, v.RelatedTasks[2].Reason)
	assert.Equal(t, 540.0, v.DurationSeconds, "plus alice's second stint: 1020 s to 1260 s")

	// 1320 s: bob accepts (within the reservation's timeout): in progress
	// again, with a second assignee.
	w.Advance("PT1M")
	require.Equal(t, bob, w.AcceptReservation(task3))
	v = w.interaction(csid, sup)
	assert.Equal(t, webhooks.StateWorkInProgress, v.State)
	assert.Equal(t, webhooks.Assignee{WorkerSid: bob, WorkerName: "bob"}, *v.AssignedTo)

	// 1680 s: bob closes it with a short description.
	w.Advance("PT6M")
	bobToken, _ := w.Token(bob)
	status, body = w.Post(w.Services[0], "/interactions/"+csid+"/close", bobToken, map[string]any{"shortDescription": "Refund issued"})
	require.Equal(t, http.StatusOK, status, "%v", body)
	assert.Equal(t, webhooks.StateClosedComplete, body["state"])
	assert.Equal(t, "Refund issued", body["shortDescription"])
	w.Settle()
	assert.Equal(t, "closed", w.conversationState(csid))

	v = w.interaction(csid, sup)
	assert.Equal(t, webhooks.StateClosedComplete, v.State)
	assert.Empty(t, v.StateReason)
	assert.False(t, v.NeedsDescription)
	assert.Equal(t, "Refund issued", v.ShortDescription)
	require.NotNil(t, v.ClosedAt)
	assert.Equal(t, w.at(1680), *v.ClosedAt)
	assert.Equal(t, 300.0+240+360, v.DurationSeconds, "alice's two stints and bob's")
	assert.Equal(t, 180.0, seconds(v.WaitTimeSeconds))
	assert.Equal(t, "INT0000001", v.Number)
	want := []struct {
		sid, reason, worker           string
		started, accepted, endedAtSec int
	}{
		{task1, webhooks.ContactInbound, alice, 0, 60, 360},
		{task2, webhooks.ContactUnpark, alice, 960, 1020, 1260},
		{task3, webhooks.ContactTransfer, bob, 1260, 1320, 1680},
	}
	require.Len(t, v.RelatedTasks, len(want))
	for i, wt := range want {
		got := v.RelatedTasks[i]
		assert.Equal(t, wt.sid, got.ContactID, "contact %d", i)
		assert.Equal(t, task1, got.InitialContactID)
		assert.Equal(t, wt.reason, got.Reason, "contact %d", i)
		assert.Equal(t, wt.worker, got.WorkerSid, "contact %d", i)
		assert.Equal(t, "completed", got.EndStatus, "contact %d", i)
		assert.Equal(t, w.at(wt.started), *got.StartedAt, "contact %d", i)
		assert.Equal(t, w.at(wt.accepted), *got.AcceptedAt, "contact %d", i)
		assert.Equal(t, w.at(wt.endedAtSec), *got.EndedAt, "contact %d", i)
		if i > 0 {
			assert.Equal(t, want[i-1].sid, got.PreviousContactID)
		}
		if i+1 < len(want) {
			assert.Equal(t, want[i+1].sid, got.NextContactID)
		}
	}
	// The contact index finds each task's conversation.
	contacts := w.syncItems(webhooks.ContactMap)
	for _, sid := range []string{task1, task2, task3} {
		assert.Equal(t, csid, contacts[sid]["conversationSid"], sid)
	}
}

func TestInteractionRecordAbandoned(t *testing.T) {
	w := startRecords(t, recordsOptions{configure: func(c *config.Config) {
		c.InactivityTimeout = isoduration.Duration(30 * time.Minute)
		c.InactivityMessage = closingText
	}})
	csid, _, _ := w.contacted("+15556000002", "sms", "PT1M") // accepted at 60 s: the timer is armed for 30 minutes
	w.Advance("PT29M")
	assert.Equal(t, webhooks.StateWorkInProgress, w.interaction(csid, w.supervisor()).State)
	// The timer is due at 1860 s; the emulator fires what is due at the
	// end of an advance, so end it there for an exact close time.
	w.Advance("PT1M")
	require.Equal(t, "closed", w.conversationState(csid))

	v := w.interaction(csid, w.supervisor())
	assert.Equal(t, webhooks.StateClosedAbandoned, v.State)
	assert.Equal(t, webhooks.ReasonTimedOut, v.StateReason)
	assert.False(t, v.NeedsDescription, "nobody has anything to describe")
	require.NotNil(t, v.ClosedAt)
	assert.Equal(t, w.at(1860), *v.ClosedAt)
	assert.Equal(t, 1800.0, v.DurationSeconds, "alice's time: the accept to the close")
	assert.Equal(t, 60.0, seconds(v.WaitTimeSeconds))
	require.Len(t, v.RelatedTasks, 1)
	assert.Equal(t, "completed", v.RelatedTasks[0].EndStatus)
	status, body := w.Post(w.Services[0], "/interactions/"+csid+"/close", w.supervisor(), map[string]any{"shortDescription": "late"})
	assert.Equal(t, http.StatusConflict, status, "an abandoned record is not closed again: %v", body)
	assert.Equal(t, webhooks.StateClosedAbandoned, w.interaction(csid, w.supervisor()).State)

	t.Run("an inactivity close that failed does not make a later close abandoned", func(t *testing.T) {
		csid, _, alice := w.contacted("+15556000003", "sms", "")
		// Every attempt of the close fails (Twilio's webhook retries too):
		// the record has been told the close began, but it never happened.
		w.Faults(emulator.Fault{Host: "flex-api.twilio.com", Method: "POST", Path: "/Channels/UO", Status: 500})
		w.Advance("PT31M")
		w.Faults()
		require.NotEqual(t, "closed", w.conversationState(csid))
		require.Contains(t, w.stored(csid).Data, `"closeKind":"abandoned"`, "the timeout marked it as its close began")
		assert.Equal(t, webhooks.StateWorkInProgress, w.interaction(csid, w.supervisor()).State)

		tok, _ := w.Token(alice)
		status, body := w.Post(w.Services[0], "/interactions/"+csid+"/close", tok, map[string]any{"shortDescription": "Solved on the phone"})
		require.Equal(t, http.StatusOK, status, "%v", body)
		w.Settle()
		require.Equal(t, "closed", w.conversationState(csid))
		v := w.interaction(csid, w.supervisor())
		assert.Equal(t, webhooks.StateClosedComplete, v.State)
		assert.Equal(t, "Solved on the phone", v.ShortDescription)
	})
}

func TestInteractionRecordCloseNeedsADescription(t *testing.T) {
	w := startRecords(t, recordsOptions{})
	csid, _, alice := w.contacted("+15556000004", "whatsapp", "PT1M")
	tok, _ := w.Token(alice)
	w.Advance("PT4M")
	before := w.stored(csid)

	for _, body := range []any{map[string]any{}, nil} {
		status, resp := w.Send(http.MethodPost, w.Services[0], "/interactions/"+csid+"/close", tok, body)
		require.Equal(t, http.StatusUnprocessableEntity, status, "%v", resp)
		e, _ := resp["error"].(map[string]any)
		assert.Equal(t, "unprocessable", e["code"])
		assert.Contains(t, e["message"], "shortDescription")
		assert.Contains(t, e["fields"], "shortDescription")
	}
	w.Settle()
	assert.Equal(t, before, w.stored(csid), "the record is unchanged")
	assert.Equal(t, "active", w.conversationState(csid), "and the conversation open")

	// The description set beforehand is enough.
	status, resp := w.Send(http.MethodPatch, w.Services[0], "/interactions/"+csid, tok, map[string]any{"shortDescription": " Address changed "})
	require.Equal(t, http.StatusOK, status, "%v", resp)
	assert.Equal(t, "Address changed", resp["shortDescription"])
	assert.Equal(t, webhooks.StateWorkInProgress, resp["state"])
	status, resp = w.Send(http.MethodPost, w.Services[0], "/interactions/"+csid+"/close", tok, nil)
	require.Equal(t, http.StatusOK, status, "%v", resp)
	w.Settle()
	v := w.interaction(csid, tok)
	assert.Equal(t, webhooks.StateClosedComplete, v.State)
	assert.Equal(t, "Address changed", v.ShortDescription)
	assert.Equal(t, w.at(300), *v.ClosedAt)
	assert.Equal(t, 240.0, v.DurationSeconds)

	// Closing again answers the record as it is.
	status, resp = w.Send(http.MethodPost, w.Services[0], "/interactions/"+csid+"/close", tok, nil)
	require.Equal(t, http.StatusOK, status, "%v", resp)
	assert.Equal(t, webhooks.StateClosedComplete, resp["state"])
}

// Flex ends a chat by closing the interaction channel (the conversation
// closes, the agent's task goes to wrapping) and the agent completes the
// task after wrap-up: no description was asked for, and the record says so.
func TestInteractionRecordClosedInFlex(t *testing.T) {
	w := startRecords(t, recordsOptions{})
	in := w.Inbound("+15556000005", "sms", "hello")
	csid := in.ConversationSid
	w.Advance("PT1M")
	alice := w.AcceptReservation(in.TaskSid)
	w.Advance("PT5M")
	ch := w.transfers().state().channel(csid)
	require.NotNil(t, ch)
	_, err := w.Twilio.FlexV1.UpdateInteractionChannel(in.InteractionSid, ch.Sid, (&flexapi.UpdateInteractionChannelParams{}).SetStatus("closed"))
	require.NoError(t, err)
	w.Settle()
	require.Equal(t, "closed", w.conversationState(csid))
	taskStatus, _ := w.TaskStatus(in.TaskSid)
	require.Equal(t, "wrapping", taskStatus)

	sup := w.supervisor()
	v := w.interaction(csid, sup)
	assert.Equal(t, webhooks.StateClosedComplete, v.State, "the conversation is over")
	assert.True(t, v.NeedsDescription)
	assert.Equal(t, w.at(360), *v.ClosedAt)
	assert.Zero(t, v.DurationSeconds, "alice is still wrapping up")

	w.Advance("PT2M")
	_, err = w.Twilio.TaskrouterV1.UpdateTask(w.Seeded.WorkspaceSID, in.TaskSid, (&taskrouterapi.UpdateTaskParams{}).SetAssignmentStatus("completed"))
	require.NoError(t, err)
	w.Settle()
	v = w.interaction(csid, sup)
	assert.Equal(t, webhooks.StateClosedComplete, v.State)
	assert.True(t, v.NeedsDescription, "complete, but not documented")
	assert.Equal(t, w.at(360), *v.ClosedAt, "the task's later end does not move the close")
	assert.Equal(t, 420.0, v.DurationSeconds, "accept to completion, wrap-up included")

	// The agent documents it afterwards.
	tok, _ := w.Token(alice)
	status, resp := w.Send(http.MethodPatch, w.Services[0], "/interactions/"+csid, tok, map[string]any{"shortDescription": "Delivery date confirmed"})
	require.Equal(t, http.StatusOK, status, "%v", resp)
	assert.NotContains(t, resp, "needsDescription", "documented: the flag is gone")
	v = w.interaction(csid, sup)
	assert.False(t, v.NeedsDescription)
	assert.Equal(t, webhooks.StateClosedComplete, v.State)
}

// taskEvent is a TaskRouter event for a conversation's task as the
// workspace callback sends it, at a time on the world's clock.
func (w *recordsWorld) taskEvent(eventType, taskSid, attrs string, createdSec, atSec int, worker string) url.Values {
	ev := url.Values{
		"EventType": {eventType}, "WorkspaceSid": {w.Seeded.WorkspaceSID}, "TaskSid": {taskSid}, "TaskAttributes": {attrs},
		"TaskDateCreated": {strconv.FormatInt(w.at(createdSec).Unix(), 10)},
		"Timestamp":       {strconv.FormatInt(w.at(atSec).Unix(), 10)}, "TimestampMs": {strconv.FormatInt(w.at(atSec).UnixMilli(), 10)},
		"TaskQueueName": {"Everyone"},
	}
	if worker != "" {
		ev.Set("WorkerSid", worker)
	}
	if eventType == "task.completed" {
		ev.Set("TaskCompletedReason", "done")
	}
	return ev
}

func (w *recordsWorld) taskAttributes(taskSid string) string {
	_, attrs := w.TaskStatus(taskSid)
	return attrs
}

func TestInteractionRecordReplicasAndReplays(t *testing.T) {
	t.Run("one record, one number, no lost fact", func(t *testing.T) {
		w := startRecords(t, recordsOptions{replicas: 2, noCallbacks: true})
		in := w.Inbound("+15556000006", "sms", "hello")
		csid, task1 := in.ConversationSid, in.TaskSid
		attrs := w.taskAttributes(task1)
		_, alice := w.Token("alice")
		_, bob := w.Token("bob")
		// A second task, as an unpark makes: same conversation, its mark.
		task2 := "WT" + strings.Repeat("7", 32)
		var a2 map[string]any
		require.NoError(t, json.Unmarshal([]byte(attrs), &a2))
		a2["flexhooksUnparkId"] = "WH" + strings.Repeat("1", 32)
		attrs2, _ := json.Marshal(a2)

		events := []url.Values{
			w.taskEvent("task.created", task1, attrs, 0, 0, ""),
			w.taskEvent("reservation.accepted", task1, attrs, 0, 60, alice),
			w.taskEvent("task.completed", task1, attrs, 0, 360, ""),
			w.taskEvent("task.created", task2, string(attrs2), 960, 960, ""),
			w.taskEvent("reservation.accepted", task2, string(attrs2), 960, 1020, bob),
		}
		// TaskRouter's own view agrees with the events (the catch-up asks it).
		w.Advance("PT1M")
		w.AcceptReservation(task1)
		w.Advance("PT5M")
		_, err := w.Twilio.TaskrouterV1.UpdateTask(w.Seeded.WorkspaceSID, task1, (&taskrouterapi.UpdateTaskParams{}).SetAssignmentStatus("wrapping"))
		require.NoError(t, err)
		_, err = w.Twilio.TaskrouterV1.UpdateTask(w.Seeded.WorkspaceSID, task1, (&taskrouterapi.UpdateTaskParams{}).SetAssignmentStatus("completed"))
		require.NoError(t, err)

		// Every event, eight times to each replica, all at once, in no order.
		const copies = 8
		var wg sync.WaitGroup
		statuses := make(chan int, len(events)*copies*2)
		for range copies {
			for _, ev := range events {
				for _, svc := range w.Services {
					wg.Go(func() {
						status, _ := w.SignedPost(svc+webhooks.TaskRouterEventPath, ev)
						statuses <- status
					})
				}
			}
		}
		wg.Wait()
		close(statuses)
		for s := range statuses {
			require.Equal(t, http.StatusNoContent, s)
		}

		records := w.syncItems(webhooks.InteractionRecordMap)
		require.Len(t, records, 1, "one record")
		v := w.interaction(csid, w.supervisor())
		assert.Regexp(t, `^INT\d{7}$`, v.Number)
		assert.Equal(t, webhooks.StateWorkInProgress, v.State)
		assert.Equal(t, bob, v.AssignedTo.WorkerSid)
		assert.Equal(t, 300.0, v.DurationSeconds)
		assert.Equal(t, 60.0, seconds(v.WaitTimeSeconds))
		require.Len(t, v.RelatedTasks, 2)
		assert.Equal(t, []string{task1, task2}, []string{v.RelatedTasks[0].ContactID, v.RelatedTasks[1].ContactID})
		assert.Equal(t, webhooks.ContactUnpark, v.RelatedTasks[1].Reason)
		assert.Equal(t, w.at(360), *v.RelatedTasks[0].EndedAt)

		profiles := w.syncItems(webhooks.ProfileMap)
		assert.Len(t, profiles, 1, "one profile")
		index := w.syncItems(webhooks.ProfileInteractionsMap)
		assert.Len(t, index, 1, "indexed once")
		contacts := w.syncItems(webhooks.ContactMap)
		assert.Equal(t, csid, contacts[task1]["conversationSid"])
		assert.Equal(t, csid, contacts[task2]["conversationSid"])

		// Replays after the fact change nothing either.
		before := w.stored(csid)
		for _, ev := range events {
			status, _ := w.SignedPost(w.Services[1]+webhooks.TaskRouterEventPath, ev)
			require.Equal(t, http.StatusNoContent, status)
		}
		assert.Equal(t, before, w.stored(csid))
	})

	t.Run("concurrent new conversations get distinct numbers", func(t *testing.T) {
		w := startRecords(t, recordsOptions{replicas: 2, noCallbacks: true})
		const n = 24
		var events []url.Values
		for i := range n {
			in := w.Inbound(fmt.Sprintf("+1555601%04d", i), "sms", "hello")
			events = append(events, w.taskEvent("task.created", in.TaskSid, w.taskAttributes(in.TaskSid), 0, 0, ""))
		}
		// Each conversation's first event reaches both replicas at once.
		var wg sync.WaitGroup
		for _, ev := range events {
			for _, svc := range w.Services {
				wg.Go(func() {
					status, _ := w.SignedPost(svc+webhooks.TaskRouterEventPath, ev)
					assert.Equal(t, http.StatusNoContent, status)
				})
			}
		}
		wg.Wait()
		records := w.syncItems(webhooks.InteractionRecordMap)
		require.Len(t, records, n, "every conversation has its record")
		seen := map[string]string{}
		for csid, rec := range records {
			num, _ := rec["number"].(string)
			require.Regexp(t, `^INT\d{7}$`, num)
			require.NotContains(t, seen, num, "%s and %s share a number", seen[num], csid)
			seen[num] = csid
		}
		counter := w.syncItems(webhooks.InteractionCounterMap)[webhooks.InteractionCounterKey]
		last, _ := counter["last"].(float64)
		assert.GreaterOrEqual(t, int(last), n, "numbers are unique, not gapless")
	})
}

func TestInteractionRecordProfiles(t *testing.T) {
	w := startRecords(t, recordsOptions{})
	const customer = "whatsapp:+15556000007"
	profile := webhooks.ProfileID("whatsapp", customer)

	// Three contacts an hour apart, each closed before the next.
	var convs []string
	for i := range 3 {
		csid, _, agent := w.contacted(customer, "whatsapp", "PT1M")
		tok, _ := w.Token(agent)
		status, body := w.Post(w.Services[0], "/interactions/"+csid+"/close", tok, map[string]any{"shortDescription": fmt.Sprintf("Contact %d", i+1)})
		require.Equal(t, http.StatusOK, status, "%v", body)
		w.Settle()
		convs = append(convs, csid)
		w.Advance("PT1H")
	}
	require.Len(t, slices.Compact(slices.Clone(convs)), 3, "a new conversation each time")
	sup := w.supervisor() // tokens expire on the virtual clock: a fresh one

	status, body := w.Get(w.Services[0], "/profiles/"+profile, sup)
	require.Equal(t, http.StatusOK, status, "%v", body)
	p := decodeAs[webhooks.Profile](t, body)
	assert.Equal(t, webhooks.Profile{ID: profile, Channel: "whatsapp", Address: customer, CreatedAt: p.CreatedAt}, p)

	list := func(path, token string) webhooks.InteractionList {
		t.Helper()
		status, body := w.Get(w.Services[0], path, token)
		require.Equal(t, http.StatusOK, status, "%v", body)
		return decodeAs[webhooks.InteractionList](t, body)
	}
	conversationsOf := func(l webhooks.InteractionList) []string {
		var out []string
		for _, in := range l.Interactions {
			out = append(out, in.ConversationSid)
		}
		return out
	}

	t.Run("newest first, paged", func(t *testing.T) {
		page := list("/profiles/"+profile+"/interactions?pageSize=2", sup)
		assert.Equal(t, profile, page.ProfileID)
		assert.Equal(t, []string{convs[2], convs[1]}, conversationsOf(page))
		require.NotEmpty(t, page.NextPageToken)
		assert.Equal(t, "Contact 3", page.Interactions[0].ShortDescription)
		next := list("/profiles/"+profile+"/interactions?pageSize=2&pageToken="+url.QueryEscape(page.NextPageToken), sup)
		assert.Equal(t, []string{convs[0]}, conversationsOf(next))
		assert.Empty(t, next.NextPageToken, "the last page")

		all := list("/profiles/"+profile+"/interactions", sup)
		assert.Equal(t, []string{convs[2], convs[1], convs[0]}, conversationsOf(all))
		assert.Empty(t, all.NextPageToken)
		exact := list("/profiles/"+profile+"/interactions?pageSize=3", sup)
		assert.Len(t, exact.Interactions, 3)
		assert.Empty(t, exact.NextPageToken, "no empty page after an exact fit")
	})

	t.Run("by address", func(t *testing.T) {
		page := list("/interactions?address="+url.QueryEscape(customer)+"&pageSize=1", sup)
		assert.Equal(t, profile, page.ProfileID, "the channel is inferred from the address")
		assert.Equal(t, []string{convs[2]}, conversationsOf(page))
		page = list("/interactions?address="+url.QueryEscape(customer)+"&pageSize=1&pageToken="+url.QueryEscape(page.NextPageToken), sup)
		assert.Equal(t, []string{convs[1]}, conversationsOf(page))
		page = list("/interactions?address="+url.QueryEscape(customer)+"&channel=whatsapp", sup)
		assert.Len(t, page.Interactions, 3)
		assert.Empty(t, list("/interactions?address=%2B15559999999", sup).Interactions, "an unknown customer has none")
	})

	t.Run("agents see the ones they worked", func(t *testing.T) {
		worked := map[string][]string{} // worker → conversations, newest first
		for _, csid := range []string{convs[2], convs[1], convs[0]} {
			for _, c := range w.interaction(csid, sup).RelatedTasks {
				worked[c.WorkerSid] = append(worked[c.WorkerSid], csid)
			}
		}
		for _, name := range []string{"alice", "bob", "carol"} {
			tok, sid := w.Token(name)
			assert.Equal(t, worked[sid], conversationsOf(list("/profiles/"+profile+"/interactions", tok)), name)
		}
	})

	t.Run("a web chat customer by identity", func(t *testing.T) {
		in := w.Inbound("ann.example", "chat", "hello")
		w.Settle()
		v := w.interaction(in.ConversationSid, sup)
		assert.Equal(t, "web", v.Type, "Flex's channelType")
		page := list("/interactions?address=ann.example", sup)
		assert.Equal(t, []string{in.ConversationSid}, conversationsOf(page))
		assert.Equal(t, v.OpenedFor.ProfileID, page.ProfileID)
	})

	t.Run("a linked profile opens the next interaction for the customer", func(t *testing.T) {
		status, body := w.Send(http.MethodPatch, w.Services[0], "/profiles/"+profile, sup,
			map[string]any{"customerId": "CUST-1001", "customerName": "Ann Example"})
		require.Equal(t, http.StatusOK, status, "%v", body)
		assert.Equal(t, "CUST-1001", body["customerId"])
		assert.Equal(t, "Ann Example", body["customerName"])

		old := w.interaction(convs[2], sup)
		assert.Equal(t, webhooks.ProfileRef{ProfileID: profile}, old.OpenedFor, "records already opened keep who they were opened for")

		in := w.Inbound(customer, "whatsapp", "it's me again")
		v := w.interaction(in.ConversationSid, sup)
		linkedBy, _ := body["customerLinkedBy"].(string)
		assert.True(t, strings.HasPrefix(linkedBy, "supervisor:WK"), "the link names who made it: %q", linkedBy)
		assert.Equal(t, webhooks.ProfileRef{ProfileID: profile, CustomerID: "CUST-1001", CustomerName: "Ann Example", CustomerLinkedBy: linkedBy}, v.OpenedFor)
		page := list("/profiles/"+profile+"/interactions?pageSize=1", sup)
		assert.Equal(t, []string{in.ConversationSid}, conversationsOf(page), "the newest first")
	})
}

func TestInteractionRecordAccessAndBadInput(t *testing.T) {
	w := startRecords(t, recordsOptions{})
	csid, _, alice := w.contacted("+15556000008", "sms", "PT1M")
	svc := w.Services[0]
	aliceToken, _ := w.Token(alice)
	carolToken, _ := w.Token("carol")
	sup := w.supervisor()
	profile := webhooks.ProfileID("sms", "+15556000008")
	before := w.stored(csid)
	profileBefore := w.syncItems(webhooks.ProfileMap)

	t.Run("who may read", func(t *testing.T) {
		status, _ := w.Get(svc, "/interactions/"+csid, aliceToken)
		assert.Equal(t, http.StatusOK, status, "the assigned agent")
		status, _ = w.Get(svc, "/interactions/"+csid, sup)
		assert.Equal(t, http.StatusOK, status, "a supervisor")
		status, body := w.Get(svc, "/interactions/"+csid, carolToken)
		assert.Equal(t, http.StatusForbidden, status, "an agent never assigned: %v", body)
		status, _ = w.Get(svc, "/interactions/"+csid, "")
		assert.Equal(t, http.StatusUnauthorized, status)
		status, body = w.Get(svc, "/interactions/CH"+strings.Repeat("0", 32), sup)
		assert.Equal(t, http.StatusNotFound, status, "%v", body)
	})

	// Every request below is refused; none may change the record.
	tests := []struct {
		name       string
		method     string
		path       string
		token      string
		body       any
		wantStatus int
		wantFields []string
	}{
		{"patch by an agent never assigned", http.MethodPatch, "/interactions/" + csid, carolToken, map[string]any{"shortDescription": "x"}, http.StatusForbidden, nil},
		{"close by an agent never assigned", http.MethodPost, "/interactions/" + csid + "/close", carolToken, map[string]any{"shortDescription": "x"}, http.StatusForbidden, nil},
		{"patch without a token", http.MethodPatch, "/interactions/" + csid, "", map[string]any{"shortDescription": "x"}, http.StatusUnauthorized, nil},
		{"close without a description", http.MethodPost, "/interactions/" + csid + "/close", aliceToken, map[string]any{}, http.StatusUnprocessableEntity, []string{"shortDescription"}},
		{"get: not a conversation SID", http.MethodGet, "/interactions/CH123", sup, nil, http.StatusBadRequest, []string{"conversationSid"}},
		{"patch: nothing to set", http.MethodPatch, "/interactions/" + csid, aliceToken, map[string]any{}, http.StatusBadRequest, []string{"shortDescription"}},
		{"patch: a good description with a blank reason", http.MethodPatch, "/interactions/" + csid, aliceToken,
			map[string]any{"shortDescription": "Fine", "stateReason": "  "}, http.StatusBadRequest, []string{"stateReason"}},
		{"patch: too long, and a bad SID in the body is ignored", http.MethodPatch, "/interactions/" + csid, aliceToken,
			map[string]any{"conversationSid": "CH1", "shortDescription": strings.Repeat("a", 161)}, http.StatusBadRequest, []string{"shortDescription"}},
		{"patch: a description that is not text", http.MethodPatch, "/interactions/" + csid, aliceToken, map[string]any{"shortDescription": 42}, http.StatusBadRequest, []string{"shortDescription"}},
		{"close: a blank description", http.MethodPost, "/interactions/" + csid + "/close", aliceToken, map[string]any{"shortDescription": " "}, http.StatusBadRequest, []string{"shortDescription"}},
		{"patch an unknown conversation", http.MethodPatch, "/interactions/CH" + strings.Repeat("0", 32), sup, map[string]any{"shortDescription": "x"}, http.StatusNotFound, nil},
		{"list: no address", http.MethodGet, "/interactions", sup, nil, http.StatusBadRequest, []string{"address"}},
		{"list: page too large", http.MethodGet, "/interactions?address=%2B15556000008&pageSize=51", sup, nil, http.StatusBadRequest, []string{"pageSize"}},
		{"list: page size not a number", http.MethodGet, "/profiles/" + profile + "/interactions?pageSize=ten", sup, nil, http.StatusBadRequest, []string{"pageSize"}},
		{"list: a forged page token", http.MethodGet, "/profiles/" + profile + "/interactions?pageToken=bm9wZQ", sup, nil, http.StatusBadRequest, []string{"pageToken"}},
		{"profile: not an ID", http.MethodGet, "/profiles/PF123", sup, nil, http.StatusBadRequest, []string{"profileId"}},
		{"profile: unknown", http.MethodGet, "/profiles/PF" + strings.Repeat("0", 32), sup, nil, http.StatusNotFound, nil},
		{"patch profile: nothing to set", http.MethodPatch, "/profiles/" + profile, sup, map[string]any{}, http.StatusBadRequest, []string{"customerId"}},
		{"patch profile: a blank id and too long a name", http.MethodPatch, "/profiles/" + profile, sup,
			map[string]any{"customerId": "", "customerName": strings.Repeat("n", 121)}, http.StatusBadRequest, []string{"customerId", "customerName"}},
		{"patch profile: unknown", http.MethodPatch, "/profiles/PF" + strings.Repeat("0", 32), sup, map[string]any{"customerId": "C1"}, http.StatusNotFound, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := w.Send(tt.method, svc, tt.path, tt.token, tt.body)
			require.Equal(t, tt.wantStatus, status, "%v", body)
			e, _ := body["error"].(map[string]any)
			require.NotNil(t, e, "an error body: %v", body)
			assert.NotEmpty(t, e["message"])
			if tt.wantFields != nil {
				fields, _ := e["fields"].(map[string]any)
				var got []string
				for k := range fields {
					got = append(got, k)
				}
				assert.ElementsMatch(t, tt.wantFields, got, "%v", e)
			}
		})
	}
	w.Settle()
	assert.Equal(t, before, w.stored(csid), "no refused request changed the record")
	assert.Equal(t, profileBefore, w.syncItems(webhooks.ProfileMap), "nor the profile")
	assert.Equal(t, "active", w.conversationState(csid))
}

func TestInteractionRecordStateReason(t *testing.T) {
	w := startRecords(t, recordsOptions{})
	const customer = "+15556000009"
	csid, _, alice := w.contacted(customer, "sms", "PT1M")
	tok, _ := w.Token(alice)
	w.park(csid, alice)
	status, body := w.Send(http.MethodPatch, w.Services[0], "/interactions/"+csid, tok, map[string]any{"stateReason": "Waiting for the invoice"})
	require.Equal(t, http.StatusOK, status, "%v", body)
	assert.Equal(t, webhooks.StateOnHold, body["state"])
	assert.Equal(t, "Waiting for the invoice", body["stateReason"])

	w.Inbound(customer, "sms", "here is the invoice")
	v := w.interaction(csid, tok)
	assert.Equal(t, webhooks.StateNew, v.State)
	assert.Equal(t, webhooks.ReasonWaitingForAgent, v.StateReason, "the note was for the hold")
}

func TestInteractionRecordCatchesUpAfterSyncFaults(t *testing.T) {
	w := startRecords(t, recordsOptions{})
	const customer = "+15556000010"
	csid, task1, alice := w.contacted(customer, "sms", "PT1M")
	w.Advance("PT5M")

	// Sync fails for the records while alice parks: the park's own Sync
	// writes (its claim, the parked list) go through, the record's do not.
	w.Faults(emulator.Fault{Host: "sync.twilio.com", Path: "/Maps/" + webhooks.InteractionRecordMap, Status: 503})
	tok, _ := w.Token(alice)
	status, body := w.Post(w.Services[0], "/park-interaction", tok, w.parks().parkForm(csid, alice))
	require.Equal(t, http.StatusOK, status, "the park does not depend on the record: %v", body)
	w.Settle()
	w.Faults()
	parked, _ := w.TaskStatus(task1)
	require.Equal(t, "completed", parked)
	v := w.interaction(csid, w.supervisor())
	require.Equal(t, webhooks.StateWorkInProgress, v.State, "the park's event was lost to the record")
	assert.Positive(t, gapCount(t, w.World, w.Services[0]), "the gap is counted for alerting, not only logged")

	// The conversation's next event brings it up to date (while TaskRouter
	// still lists the ended task: TestInteractionRecordCatchesUpAfterTheTaskIsGone).
	w.Advance("PT2M")
	w.Inbound(customer, "sms", "back")
	v = w.interaction(csid, w.supervisor())
	assert.Equal(t, webhooks.StateNew, v.State)
	assert.Equal(t, webhooks.ReasonWaitingForAgent, v.StateReason)
	require.Len(t, v.RelatedTasks, 2)
	require.NotNil(t, v.RelatedTasks[0].EndedAt)
	assert.Equal(t, w.at(360), *v.RelatedTasks[0].EndedAt, "when TaskRouter says the task completed")
	assert.Equal(t, "completed", v.RelatedTasks[0].EndStatus)
	assert.Equal(t, 300.0, v.DurationSeconds)

	// Sync failing while a record opens: the record opens on the next event.
	w.Faults(emulator.Fault{Host: "sync.twilio.com", Path: "/Maps/" + webhooks.InteractionRecordMap, Status: 503})
	in := w.Inbound("+15556000011", "sms", "hello")
	w.Faults()
	status, _ = w.Get(w.Services[0], "/interactions/"+in.ConversationSid, w.supervisor())
	require.Equal(t, http.StatusNotFound, status)
	w.Advance("PT1M")
	w.AcceptReservation(in.TaskSid)
	v = w.interaction(in.ConversationSid, w.supervisor())
	assert.Equal(t, webhooks.StateWorkInProgress, v.State)
	assert.Equal(t, w.at(480), *v.OpenedAt, "the accept carries the task's creation")
	assert.Equal(t, 60.0, seconds(v.WaitTimeSeconds))
	contacts := w.syncItems(webhooks.ContactMap)
	assert.Equal(t, in.ConversationSid, contacts[in.TaskSid]["conversationSid"])
}

// A lost end discovered after TaskRouter deleted the ended task: the
// record still leaves Work in Progress, with the end bounded by the new
// task's creation and marked deleted.
func TestInteractionRecordCatchesUpAfterTheTaskIsGone(t *testing.T) {
	w := startRecords(t, recordsOptions{})
	const customer = "+15556000012"
	csid, _, alice := w.contacted(customer, "sms", "PT1M")
	w.Faults(emulator.Fault{Host: "sync.twilio.com", Path: "/Maps/" + webhooks.InteractionRecordMap, Status: 503})
	tok, _ := w.Token(alice)
	status, body := w.Post(w.Services[0], "/park-interaction", tok, w.parks().parkForm(csid, alice))
	require.Equal(t, http.StatusOK, status, "%v", body)
	w.Settle()
	w.Faults()

	w.Advance("PT30M") // well past TaskRouter's retention of ended tasks
	w.Inbound(customer, "sms", "back")
	v := w.interaction(csid, w.supervisor())
	assert.Equal(t, webhooks.StateNew, v.State)
	require.Len(t, v.RelatedTasks, 2)
	assert.Equal(t, "deleted", v.RelatedTasks[0].EndStatus)
	require.NotNil(t, v.RelatedTasks[0].EndedAt)
	require.NotNil(t, v.RelatedTasks[1].StartedAt)
	assert.False(t, v.RelatedTasks[0].EndedAt.After(*v.RelatedTasks[1].StartedAt), "ended by the time the next task began")
}

// gapCount reads flexhooks_record_gaps_total for interaction records from a
// replica's /metrics.
func gapCount(t testing.TB, w *e2etest.World, service string) float64 {
	t.Helper()
	resp, err := w.HTTP.Get(service + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, `flexhooks_record_gaps_total{capability="interaction_records"} `); ok {
			n, err := strconv.ParseFloat(v, 64)
			require.NoError(t, err)
			return n
		}
	}
	return 0
}

// The close API closes the channel first, then writes the record. When
// that write fails (and the close's own event's write may fail too), the
// record would never learn of the close once TaskRouter has let the tasks
// go: the write is tried three times before the API gives up. Each retry
// must write what the failed attempt did not: on a replica that did not
// handle the close's own events, it starts from the record it read, which
// the failed attempt changed in place.
func TestInteractionRecordCloseRetriesTheRecordWrite(t *testing.T) {
	for _, tc := range []struct {
		name          string
		replicas, via int
		failures      int
	}{
		{"the replica that handles the events", 1, 0, 2},
		{"another replica, one failure", 2, 1, 1},
		{"another replica, two failures", 2, 1, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := startRecords(t, recordsOptions{replicas: tc.replicas})
			csid, _, alice := w.contacted("+15556000040", "sms", "PT1M")
			tok, _ := w.Token(alice)
			w.Faults(emulator.Fault{Host: "sync.twilio.com", Method: "POST", Path: "/Maps/" + webhooks.InteractionRecordMap + "_[0-9a-f]{3}/Items/CH", Status: 500, Times: tc.failures})
			status, body := w.Post(w.Services[tc.via], "/interactions/"+csid+"/close", tok, map[string]any{"shortDescription": "Solved"})
			w.Faults()
			w.Settle()
			require.Equal(t, http.StatusOK, status, "%v", body)
			assert.Equal(t, "closed", w.conversationState(csid))
			v := w.interaction(csid, w.supervisor())
			assert.Equal(t, webhooks.StateClosedComplete, v.State)
			assert.Equal(t, "Solved", v.ShortDescription, "the close API's own write is stored")
		})
	}
}

// The record missed the agent's accept (its write failed, and the sweep
// has not run yet): the agent still reads and closes their own
// interaction, TaskRouter vouching for the accept, which the record then
// shows. Another agent still gets 403.
func TestInteractionCloseByAnAgentTheRecordMissed(t *testing.T) {
	w := startRecords(t, recordsOptions{})
	in := w.Inbound("+15556000041", "sms", "hello")
	w.Advance("PT1M")
	w.Faults(recordWritesFail())
	alice := w.AcceptReservation(in.TaskSid)
	w.Settle()
	w.Faults()
	require.Nil(t, w.interaction(in.ConversationSid, w.supervisor()).AssignedTo, "the record missed the accept")

	bobTok, _ := w.Token("bob")
	status, body := w.Post(w.Services[0], "/interactions/"+in.ConversationSid+"/close", bobTok, map[string]any{})
	require.Equal(t, http.StatusForbidden, status, "%v", body)
	tok, _ := w.Token(alice)
	status, body = w.Post(w.Services[0], "/interactions/"+in.ConversationSid+"/close", tok, map[string]any{"shortDescription": "Solved"})
	require.Equal(t, http.StatusOK, status, "%v", body)
	w.Settle()
	assert.Equal(t, "closed", w.conversationState(in.ConversationSid))
	v := w.interaction(in.ConversationSid, w.supervisor())
	assert.Equal(t, webhooks.StateClosedComplete, v.State)
	if assert.NotNil(t, v.AssignedTo) {
		assert.Equal(t, alice, v.AssignedTo.WorkerSid)
	}
}
