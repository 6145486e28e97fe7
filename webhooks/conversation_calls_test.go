package webhooks_test

import (
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	conversations "github.com/twilio/twilio-go/rest/conversations/v1"
	flexapi "github.com/twilio/twilio-go/rest/flex/v1"
	taskrouterapi "github.com/twilio/twilio-go/rest/taskrouter/v1"

	"github.com/flexhooks/flexhooks/internal/config"
	"github.com/flexhooks/flexhooks/internal/e2etest"
	"github.com/flexhooks/flexhooks/internal/isoduration"
	"github.com/flexhooks/flexhooks/webhooks"
)

// conversationStep is one step of a conversation's life and the Twilio
// calls the service made for it, by product.
type conversationStep struct {
	name  string
	calls []call
}

// liveOneConversation lives one conversation as the sustained-load
// benchmark does (accept, agent reply, customer reply, optionally a park
// the customer ends, a supervisor's close) with every capability on, the
// plugin calls on the last replica and the callbacks on the first, and
// returns the service's Twilio calls step by step (the
// test's own calls as the Flex UI and a supervisor taken out).
func liveOneConversation(t *testing.T, replicas int, parked bool) []conversationStep {
	w := startRecords(t, recordsOptions{replicas: replicas, configure: func(c *config.Config) {
		c.PersistentChat = config.PersistentChatEntirePastSession
		c.PersistentChatWindow = isoduration.Duration(7 * 24 * time.Hour)
		c.InactivityTimeout = isoduration.Duration(30 * time.Minute)
		c.ParkedList = true
	}})
	w.createMaps(recordMaps...)
	// A first conversation warms the replicas up as a running deployment
	// is: their once-per-replica checks of the legacy maps, the number
	// block, and the state webhook seen arriving.
	w.liveConversation(t, "whatsapp:+15551230000", false, func(_ string, do func()) { do(); w.Settle() })
	var steps []conversationStep
	w.liveConversation(t, "whatsapp:+15551230001", parked, func(name string, do func()) {
		w.ClearRequests()
		do()
		w.Settle()
		steps = append(steps, conversationStep{name: name, calls: serviceCalls(twilioCalls(w.World))})
	})
	return steps
}

// liveConversation is one customer's conversation, each step through step.
func (w *recordsWorld) liveConversation(t *testing.T, addr string, parked bool, step func(name string, do func())) {
	var csid, task, worker string
	step("inbound", func() {
		in := w.Inbound(addr, "whatsapp", "hello")
		csid, task = in.ConversationSid, in.TaskSid
	})
	step("accept", func() { worker = w.AcceptReservation(task) })
	var ident struct{ Identity string }
	w.Control(http.MethodPost, "/emulator/workers/"+worker+"/token", map[string]any{"roles": []string{"agent"}}, &ident)
	step("agent reply", func() { w.agentWrites(csid, ident.Identity, "How can I help?") })
	step("customer reply", func() { w.Inbound(addr, "whatsapp", "thanks") })
	if parked {
		tok, _ := w.Token(worker)
		form := w.parks().parkForm(csid, worker)
		step("park", func() {
			status, body := w.Post(w.Services[len(w.Services)-1], "/park-interaction", tok, form)
			require.Equal(t, http.StatusOK, status, "%v", body)
		})
		step("customer unparks", func() { w.Inbound(addr, "whatsapp", "I am back") })
		next := w.newTaskOf(csid, task)
		step("accept again", func() { w.AcceptReservation(next) })
	}
	step("close", func() {
		status, body := w.Post(w.Services[len(w.Services)-1], "/interactions/"+csid+"/close", w.supervisor(), map[string]string{"shortDescription": "load"})
		require.Equal(t, http.StatusOK, status, "%v", body)
	})
}

// serviceCalls drops the calls a test makes as the Flex UI and the
// supervisor do (reservations listed and accepted, the agent's message).
func serviceCalls(calls []call) []call {
	var out []call
	for _, c := range calls {
		switch {
		case c.Host == "taskrouter.twilio.com" && strings.Contains(c.Path, "/Reservations"):
		case c.Host == "conversations.twilio.com" && c.Method == http.MethodPost && strings.HasSuffix(c.Path, "/Messages"):
		default:
			out = append(out, c)
		}
	}
	return out
}

var sidPattern = regexp.MustCompile(`[A-Z]{2}[0-9a-f]{32}`)
var shardPattern = regexp.MustCompile(`_[0-9a-f]{1,3}(/|$)`)

func describeCalls(calls []call) string {
	var lines []string
	for _, c := range calls {
		p := shardPattern.ReplaceAllString(sidPattern.ReplaceAllString(c.Path, "*"), "_x$1")
		lines = append(lines, fmt.Sprintf("%s %s %s %d", c.Host, c.Method, p, c.Status))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n    ")
}

// byProduct counts calls by product (the host's first label), and by
// "product method path-shape status" for the finer assertions.
func byProduct(calls []call) map[string]int {
	out := map[string]int{}
	for _, c := range calls {
		product, _, _ := strings.Cut(c.Host, ".")
		out[product]++
	}
	return out
}

func countCalls(calls []call, host, method, pathPattern string) int {
	re := regexp.MustCompile(pathPattern)
	n := 0
	for _, c := range calls {
		if c.Host == host && c.Method == method && re.MatchString(c.Path) {
			n++
		}
	}
	return n
}

// TestConversationTwilioCalls pins the calls per conversation that issue 15
// cut (docs/scaling.md): a new customer's profile is created without a read
// first, a later accept of the same conversation does not create its
// inactivity record again, and a task's end does not ask Conversations
// whether the conversation closed once the state webhook is seen arriving.
// The conversation is the sustained-load benchmark's, on two replicas with
// every capability on, after a first conversation has warmed them up.
func TestConversationTwilioCalls(t *testing.T) {
	steps := map[string][]call{}
	for _, s := range liveOneConversation(t, 2, true) {
		steps[s.name] = s.calls
		t.Logf("%s: %d\n    %s", s.name, len(s.calls), describeCalls(s.calls))
	}
	conversation := `^/v1/Conversations/CH[0-9a-f]{32}$`
	profile := `/Maps/flexhooks_profiles_[0-9a-f]+/Items`
	inactivity := `/Maps/flexhooks_inactivity_[0-9a-f]+/Items$`

	// Opening the record: the profile, its index entry, the record, the
	// contact entry; one call each, nothing read.
	require.Equal(t, map[string]int{"sync": 4}, byProduct(steps["inbound"]), "inbound")
	require.Zero(t, countCalls(steps["inbound"], "sync.twilio.com", http.MethodGet, profile), "a new customer's profile is not read first")
	// An accept: the inactive timer, the inactivity record, the record.
	require.Equal(t, map[string]int{"conversations": 1, "sync": 2}, byProduct(steps["accept"]), "accept")
	require.Equal(t, 1, countCalls(steps["accept"], "sync.twilio.com", http.MethodPost, inactivity))
	// Accepting the unparked task arms the timer again; the inactivity
	// record this replica made is there still.
	require.Equal(t, map[string]int{"conversations": 1, "sync": 1}, byProduct(steps["accept again"]), "accept again")
	require.Zero(t, countCalls(steps["accept again"], "sync.twilio.com", http.MethodPost, inactivity))
	// The first reply is one record write; the customer's messages cost
	// nothing.
	require.Equal(t, map[string]int{"sync": 1}, byProduct(steps["agent reply"]), "agent reply")
	require.Empty(t, steps["customer reply"], "customer reply")
	// The parked task's end: its record write, and no conversation fetch
	// beside the park's own (the state webhook is seen arriving).
	require.LessOrEqual(t, countCalls(steps["park"], "conversations.twilio.com", http.MethodGet, conversation), 1, "park")
	// The close: the channel close and record calls, no conversation
	// fetch (the close's own event records it).
	require.Zero(t, byProduct(steps["close"])["conversations"], "close")
	require.Equal(t, 1, byProduct(steps["close"])["flex-api"], "close")
}

// TestConversationTwilioCallsOneReplica: with one replica (or a load
// balancer that keeps a conversation's calls together), the close through
// the API writes on the revision the close's own events left, instead of
// having the one it read first refused: the record read, the channel
// close, three record writes (the API's, the task's end, the close).
func TestConversationTwilioCallsOneReplica(t *testing.T) {
	steps := map[string][]call{}
	for _, s := range liveOneConversation(t, 1, false) {
		steps[s.name] = s.calls
		t.Logf("%s: %d\n    %s", s.name, len(s.calls), describeCalls(s.calls))
	}
	require.Equal(t, map[string]int{"flex-api": 1, "sync": 4}, byProduct(steps["close"]), "close")
	for _, c := range steps["close"] {
		require.NotEqual(t, http.StatusPreconditionFailed, c.Status, "no refused write: %s %s", c.Method, c.Path)
	}
	total := 0
	for _, calls := range steps {
		total += len(calls)
	}
	require.Equal(t, 13, total, "a conversation, no park: 4 to open, 3 to accept, 1 reply, 5 to close")
}

// TestCloseUnseenAfterTheStateWebhookIsGone is the price of not asking
// Conversations at a task's end once the state webhook is seen arriving:
// when the webhook then stops (its filter removed), a close's event never
// comes and the record shows the end but not the close; the records' sweep
// closes it, as it does a close whose event was lost.
func TestCloseUnseenAfterTheStateWebhookIsGone(t *testing.T) {
	w := startRecords(t, recordsOptions{})
	closeChannel := func(csid, interactionSid string) {
		ch := w.transfers().state().channel(csid)
		require.NotNil(t, ch)
		_, err := w.Twilio.FlexV1.UpdateInteractionChannel(interactionSid, ch.Sid, (&flexapi.UpdateInteractionChannelParams{}).SetStatus("closed"))
		require.NoError(t, err)
		w.Settle()
	}
	first := w.Inbound("+15556000031", "sms", "hello")
	w.AcceptReservation(first.TaskSid)
	closeChannel(first.ConversationSid, first.InteractionSid)
	require.Equal(t, webhooks.StateClosedComplete, w.interaction(first.ConversationSid, w.supervisor()).State,
		"closed by its state event, which tells the replica the webhook arrives")

	_, err := w.Twilio.ConversationsV1.UpdateServiceWebhookConfiguration(w.Seeded.ChatServiceSID,
		(&conversations.UpdateServiceWebhookConfigurationParams{}).SetFilters([]string{"onMessageAdded"}))
	require.NoError(t, err)
	in := w.Inbound("+15556000032", "sms", "hello")
	w.Advance("PT1M")
	w.AcceptReservation(in.TaskSid)
	w.Advance("PT5M")
	closeChannel(in.ConversationSid, in.InteractionSid)
	require.Equal(t, "closed", w.conversationState(in.ConversationSid))
	w.Advance("PT1M") // the agent's wrap-up
	// The close is then known from the task's end, as when the end's
	// event asked Conversations (and the sweep gives it the same time).
	closedAt := w.now()
	_, err = w.Twilio.TaskrouterV1.UpdateTask(w.Seeded.WorkspaceSID, in.TaskSid, (&taskrouterapi.UpdateTaskParams{}).SetAssignmentStatus("completed"))
	require.NoError(t, err)
	w.Settle()
	v := w.interaction(in.ConversationSid, w.supervisor())
	require.Len(t, v.RelatedTasks, 1)
	require.NotNil(t, v.RelatedTasks[0].EndedAt, "the task's end is recorded")
	require.Nil(t, v.ClosedAt, "no state event, and the task's end did not ask Conversations")

	w.Advance("PT3M")
	assert.Equal(t, []string{webhooks.RecordGapKind}, e2etest.Repaired(w.Sweep(0, false)))
	v = w.interaction(in.ConversationSid, w.supervisor())
	assert.Equal(t, webhooks.StateClosedComplete, v.State)
	require.NotNil(t, v.ClosedAt)
	assert.Equal(t, closedAt, *v.ClosedAt)
}
