package webhooks_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	conversationsapi "github.com/twilio/twilio-go/rest/conversations/v1"
	taskrouterapi "github.com/twilio/twilio-go/rest/taskrouter/v1"

	"github.com/flexhooks/flexhooks/internal/config"
	"github.com/flexhooks/flexhooks/internal/e2etest"
	"github.com/flexhooks/flexhooks/internal/isoduration"
	"github.com/flexhooks/flexhooks/webhooks"
)

// chaosFaults fail about one Twilio call in five on every product parks,
// unparks, transfers and the inactivity timeout touch, with every kind of
// failure: refused (429), failed (500), unavailable (503), and done by
// Twilio with the answer lost.
var chaosFaults = []map[string]any{
	{"host": "conversations.twilio.com", "status": 500, "rate": 0.1},
	{"host": "conversations.twilio.com", "status": 503, "rate": 0.1, "after": true},
	{"host": "sync.twilio.com", "status": 429, "rate": 0.1},
	{"host": "sync.twilio.com", "status": 500, "rate": 0.1, "after": true},
	{"host": "flex-api.twilio.com", "status": 503, "rate": 0.1},
	{"host": "flex-api.twilio.com", "status": 500, "rate": 0.1, "after": true},
	{"host": "taskrouter.twilio.com", "status": 500, "rate": 0.2},
}

// chaosSeeds are the seeds to play: FLEXHOOKS_CHAOS_SEED alone when set
// (`make chaos` loops over many), else a bounded few for `make test`. A
// failure reproduces from its seed: the seed drives both the test's choices
// and the emulator's fault draws (seededFaults); only calls the service
// makes concurrently can still swap their draws.
func chaosSeeds() []uint64 {
	if s, err := strconv.ParseUint(os.Getenv("FLEXHOOKS_CHAOS_SEED"), 10, 64); err == nil {
		return []uint64{s}
	}
	return []uint64{1, 2, 3}
}

// chaosDay is the size of a seed's day. `make test` plays a bounded one;
// FLEXHOOKS_CHAOS_CUSTOMERS and FLEXHOOKS_CHAOS_ROUNDS make it longer
// (`make chaos` plays issue 14's day: 12 customers and 36 rounds, about
// 430 operations). Each round plays one operation per customer.
type chaosDay struct{ customers, rounds int }

func chaosDayFromEnv() chaosDay {
	d := chaosDay{customers: 6, rounds: 8}
	if n, err := strconv.Atoi(os.Getenv("FLEXHOOKS_CHAOS_CUSTOMERS")); err == nil && n > 0 {
		d.customers = n
	}
	if n, err := strconv.Atoi(os.Getenv("FLEXHOOKS_CHAOS_ROUNDS")); err == nil && n > 0 {
		d.rounds = n
	}
	return d
}

// seededFaults returns the rules with the seed set on each.
func seededFaults(seed uint64, rules []map[string]any) []map[string]any {
	out := make([]map[string]any, len(rules))
	for i, r := range rules {
		out[i] = map[string]any{"seed": seed}
		for k, v := range r {
			out[i][k] = v
		}
	}
	return out
}

// chaosCustomer is one customer of the run and the agent last serving them.
type chaosCustomer struct{ number, channel, csid, worker string }

// chaosChannels spreads the customers over the channels Flex serves.
var chaosChannels = []struct{ prefix, channel string }{
	{"+1555987", "sms"}, {"whatsapp:+1555986", "whatsapp"}, {"visitor-", "chat"},
}

// TestChaosHeals plays, for each seed, a contact-centre day over two
// replicas with interaction records and the inactivity timeout on: rounds
// of parks, customer messages, agents' unparks, cold and warm transfers,
// their cancels and agents' closes, with a fifth of Twilio's calls failing,
// agents retrying a failed request once as a person would, and the sweeper
// running once a round as `flexhooks serve` does, the faults on. Between
// rounds, with the faults off, agents back at their desks accept what is
// offered to them, or decline one offer in four. After the rounds, and
// again after every conversation idled past its inactivity timeout with
// the faults on, the sweeper runs and every customer must be parked
// (claim, key and exactly one way back), closed (nothing of a park left),
// or served by exactly one live task (a pending warm transfer's offer
// aside): never stranded, never two tasks; the attribute each conversation
// started with is still there; and its interaction record agrees with
// Twilio (every task TaskRouter holds, accepted and ended as TaskRouter
// says, and the state). Last, each customer writes once more and must be
// served by exactly one task, with no park left behind, and the record
// shows the agent who accepts at work.
//
// `make test` plays three seeds of a short day; `make chaos` fifty of a
// long one (chaosDay).
func TestChaosHeals(t *testing.T) {
	for _, seed := range chaosSeeds() {
		t.Run("seed="+strconv.FormatUint(seed, 10), func(t *testing.T) {
			t.Logf("reproduce: FLEXHOOKS_CHAOS_SEED=%d (and the day's FLEXHOOKS_CHAOS_CUSTOMERS, FLEXHOOKS_CHAOS_ROUNDS) go test -run TestChaosHeals ./webhooks", seed)
			playChaos(t, seed)
		})
	}
}

// chaosTally counts what the run did: the agents' requests by route and
// answer, the offers declined and the sweeper's repairs by kind.
type chaosTally struct {
	requests map[string]int
	declined int
	repaired map[string]int
}

func (tl *chaosTally) sweep(reports ...webhooks.SweepReport) {
	for _, r := range reports {
		for _, kind := range e2etest.Repaired(r) {
			tl.repaired[kind]++
		}
	}
}

func playChaos(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, seed))
	iw := startInactivity(t, 2, func(c *config.Config) {
		c.InteractionRecords = true
		c.InactivityWarning = isoduration.Duration(25 * time.Minute)
	})
	w := &world{World: iw.World, t: t, services: iw.Services}
	day := chaosDayFromEnv()
	w.hireAgents(day.customers/2 - 3) // two customers an agent at most, as the three seeded ones serve six
	var cs []*chaosCustomer
	for i := range day.customers {
		ch := chaosChannels[i%len(chaosChannels)]
		c := &chaosCustomer{number: ch.prefix + strconv.Itoa(6000+i), channel: ch.channel}
		c.csid, c.worker = w.assigned(c.number, c.channel)
		w.markConversation(c.csid)
		cs = append(cs, c)
	}
	tally := &chaosTally{requests: map[string]int{}, repaired: map[string]int{}}
	for range day.rounds {
		w.faults(seededFaults(seed, chaosFaults)...)
		for range cs {
			w.chaosOp(rng, cs[rng.IntN(len(cs))], tally.requests)
		}
		w.settle()
		tally.sweep(w.Sweep(rng.IntN(2), false)) // serve's sweeper, once a minute
		w.faults()
		w.settle()
		w.everyoneAvailable()
		for _, c := range cs {
			w.answerOffered(rng, c, tally)
		}
		w.Advance("PT1M")
		w.settle()
	}
	w.sweepAndCheck(cs, tally, "after the rounds")
	// Everyone goes quiet: the inactivity timeouts fire with the faults on,
	// and serve's sweeper runs once a minute meanwhile.
	w.faults(seededFaults(seed, chaosFaults)...)
	for range 31 {
		w.Advance("PT1M")
		w.settle()
		tally.sweep(w.Sweep(rng.IntN(2), false))
	}
	w.faults()
	w.sweepAndCheck(cs, tally, "after the inactivity timeout")
	t.Logf("agents' requests by answer: %v; offers declined: %d; repairs: %v", tally.requests, tally.declined, tally.repaired)
	w.writeAgain(t, cs)
}

// sweepAndCheck sweeps three times on both replicas, with the faults off,
// and checks every customer's conversation: parked, closed or served by
// one task, its starting attribute kept, its record agreeing with Twilio.
func (w *world) sweepAndCheck(cs []*chaosCustomer, tally *chaosTally, when string) {
	for range 3 {
		tally.sweep(w.sweepLater(), w.Sweep(1, false))
		w.settle()
	}
	w.t.Logf("checking every customer %s", when)
	for _, c := range cs {
		v := w.view(c.csid, c.worker)
		assertParkedClosedOrServed(w.t, c.csid, v)
		assert.Equal(w.t, c.csid, v.Attributes[chaosMark], "%s: the attribute it started with is kept", c.csid)
		w.assertRecord(c.csid, v)
	}
}

// hireAgents adds n available support agents to the seeded three.
func (w *world) hireAgents(n int) {
	w.t.Helper()
	for i := range n {
		name := "agent" + strconv.Itoa(i+1)
		attrs, _ := json.Marshal(map[string]any{"full_name": name, "contact_uri": "client:" + name,
			"routing": map[string]any{"skills": []any{"support"}, "levels": map[string]any{"support": 1}}})
		_, err := w.Twilio.TaskrouterV1.CreateWorker(w.Seeded.WorkspaceSID, (&taskrouterapi.CreateWorkerParams{}).
			SetFriendlyName(name).SetAttributes(string(attrs)))
		require.NoError(w.t, err)
	}
	w.everyoneAvailable()
}

// chaosMark is an attribute each conversation starts with, as a Studio
// flow or a CRM integration would set: nothing flexhooks writes may lose it.
const chaosMark = "chaosMark"

// markConversation adds chaosMark (the conversation's own SID) to its
// attributes, keeping what Flex wrote there.
func (w *world) markConversation(csid string) {
	w.t.Helper()
	c, err := w.Twilio.ConversationsV1.FetchConversation(csid)
	require.NoError(w.t, err)
	attrs := map[string]any{}
	require.NoError(w.t, json.Unmarshal([]byte(*c.Attributes), &attrs))
	attrs[chaosMark] = csid
	b, err := json.Marshal(attrs)
	require.NoError(w.t, err)
	_, err = w.Twilio.ConversationsV1.UpdateConversation(csid, (&conversationsapi.UpdateConversationParams{}).SetAttributes(string(b)))
	require.NoError(w.t, err)
}

// chaosOp plays one random operation on c through a random replica.
func (w *world) chaosOp(rng *rand.Rand, c *chaosCustomer, requests map[string]int) {
	svc := w.services[rng.IntN(2)]
	token, _ := w.flexToken(c.worker)
	retry := func(path string, form url.Values) {
		do := func() int {
			s, _ := w.post(svc, path, token, w.cloneForm(form))
			requests[path+" "+strconv.Itoa(s)]++
			return s
		}
		if do() >= 500 {
			do()
		}
	}
	seated := func() bool { return liveTasks(w.view(c.csid, c.worker)) == 1 && w.seated(c.csid, c.worker) }
	switch op := rng.IntN(7); {
	case op == 0 && seated():
		retry("/park-interaction", w.parkForm(c.csid, c.worker))
	case op == 1:
		w.inbound(c.number, c.channel, "hello again")
	case op == 2:
		retry("/unpark-interaction", url.Values{"ConversationSid": {c.csid}})
	case op == 3 && seated():
		retry("/transfer", transferForm(w.parkForm(c.csid, c.worker)))
	case op == 4 && seated():
		retry("/transfer", w.warmTransferForm(rng, w.parkForm(c.csid, c.worker)))
	case op == 5:
		retry("/transfer/cancel", url.Values{"conversationSid": {c.csid}})
	case op == 6 && seated() && rng.IntN(3) == 0: // rarer: a closed customer is out of the day
		do := func() int {
			s, _ := w.Post(svc, "/interactions/"+c.csid+"/close", token, map[string]any{"shortDescription": "Solved"})
			requests["/interactions/close "+strconv.Itoa(s)]++
			return s
		}
		if do() >= 500 {
			do()
		}
	}
}

// warmTransferForm is a warm transfer of the park form's conversation to
// its queue or to another worker, the transferring agent leaving when the
// target accepts. (A warm transfer whose agent stays leaves two agents and
// two live tasks by design; the single-fault tests cover it.)
func (w *world) warmTransferForm(rng *rand.Rand, park url.Values) url.Values {
	form := transferForm(park)
	form.Set("mode", "warm")
	form.Set("removeTransferringAgent", "true")
	if others := slices.DeleteFunc([]string{"alice", "bob", "carol"}, func(name string) bool {
		_, sid := w.flexToken(name)
		return sid == park.Get("workerSid")
	}); rng.IntN(2) == 0 {
		_, sid := w.flexToken(others[rng.IntN(len(others))])
		form.Set("transferTargetSid", sid)
	}
	return form
}

// transferForm is a cold transfer of the park form's conversation to the
// queue it came from (whose other workers get it).
func transferForm(park url.Values) url.Values {
	return url.Values{
		"conversationSid":               {park.Get("conversationSid")},
		"flexInteractionSid":            {park.Get("interactionSid")},
		"flexInteractionChannelSid":     {park.Get("channelSid")},
		"flexInteractionParticipantSid": {park.Get("participantSid")},
		"taskSid":                       {park.Get("taskSid")},
		"taskChannelUniqueName":         {park.Get("taskChannelUniqueName")},
		"transferTargetSid":             {park.Get("queueSid")},
	}
}

// assertParkedClosedOrServed checks a conversation after the faults and
// the sweeps: never two tasks, but for a pending warm transfer's offer
// beside the transferring agent's task; closed: nothing live and nothing
// of a park; parked: claim, key and exactly one way back; served: one live task and
// no park, but possibly an inert unpark webhook (one whose park's undo
// could neither learn its SID nor delete it after listing). It has no
// claim behind it, so a customer message spends it without routing
// anything (checked when the customer writes again).
func assertParkedClosedOrServed(t testing.TB, csid string, v conversationView) {
	t.Helper()
	live := liveTasks(v)
	if pendingWarm(v) {
		live-- // the agent serves while the target is sought
	}
	assert.LessOrEqual(t, live, 1, "%s: never two tasks (a pending warm transfer's aside): %s", csid, v.tasksSummary())
	switch {
	case v.State == "closed":
		assert.Zero(t, live, "%s: closed, so nothing live", csid)
		assert.False(t, v.Claim, "%s: closed, so no park claim", csid)
	case live == 0:
		assert.True(t, v.Claim, "%s: not served, so parked: its claim", csid)
		assert.Contains(t, v.Attributes, "flexhooksPark", "%s: not served, so parked: its key", csid)
		assert.Len(t, v.Webhooks, 1, "%s: not served, so parked: one way back", csid)
	case len(v.Webhooks) > 0:
		assert.False(t, v.Claim, "%s: served: an unpark webhook left must be inert (no park claim)", csid)
	}
}

// pendingWarm reports whether one of the conversation's live tasks is the
// offer of the warm transfer its attributes hold as pending: while no
// target has accepted, the transferring agent's task and that offer are
// both live, by design.
func pendingWarm(v conversationView) bool {
	rec, _ := v.Attributes[webhooks.TransferAttributeKey].(map[string]any)
	if rec == nil || rec["mode"] != webhooks.ModeWarm {
		return false
	}
	for _, task := range v.Tasks {
		tr, _ := task.Attributes[webhooks.TransferTaskKey].(map[string]any)
		if tr != nil && tr["id"] == rec["id"] && (task.Status == "pending" || task.Status == "reserved") {
			return true
		}
	}
	return false
}

// tasksSummary is a line per task: what a failure needs to be traced.
func (v conversationView) tasksSummary() string {
	out := ""
	for _, task := range v.Tasks {
		why := "inbound"
		for _, k := range []string{"transferTargetType", "flexhooksUnparkId", "flexhooksTransferId"} {
			if task.Attributes[k] != nil {
				why = fmt.Sprintf("%s=%v", k, task.Attributes[k])
			}
		}
		out += fmt.Sprintf("\n  %s %s worker=%s %s", task.Sid, task.Status, task.WorkerSid, why)
	}
	return out
}

// writeAgain has every customer write once more: each must then be served
// by exactly one task, in the conversation the message went to (a new one
// where the old was closed), with nothing of a park left; once an agent
// accepts, the record shows the conversation worked by that agent.
func (w *world) writeAgain(t *testing.T, cs []*chaosCustomer) {
	w.everyoneAvailable()
	for _, c := range cs {
		if in := w.inbound(c.number, c.channel, "still there?"); in.ConversationSid != c.csid {
			c.csid = in.ConversationSid
		}
	}
	w.settle()
	for _, c := range cs {
		v := w.view(c.csid, c.worker)
		assert.Equal(t, 1, liveTasks(v), "%s: served by one task once the customer writes", c.csid)
		assert.Empty(t, v.Webhooks, "%s: no unpark webhook left", c.csid)
		assert.False(t, v.Claim, "%s: no park claim left", c.csid)
	}
	// An unpark's task waits up to a minute for the agent who parked it
	// (the workflow's first target) before the queue's other agents.
	w.Advance("PT61S")
	w.settle()
	for _, c := range cs {
		for _, task := range w.view(c.csid, c.worker).Tasks {
			if task.Status == "reserved" && w.PendingReservation(task.Sid) != "" {
				c.worker = w.AcceptReservation(task.Sid)
			}
		}
	}
	for _, c := range cs {
		v := w.view(c.csid, c.worker)
		if state := w.assertRecord(c.csid, v); state != webhooks.StateWorkInProgress {
			t.Errorf("%s: accepted, so Work in Progress, not %q: %s", c.csid, state, v.tasksSummary())
		}
	}
}

// assertRecord checks the conversation's interaction record against
// Twilio and returns its state. Every task TaskRouter holds of the
// conversation is in the record, ended as TaskRouter says, and accepted
// where TaskRouter says it was; every task of the record TaskRouter has
// let go is ended; the state follows the conversation:
// closed (by its agent or the inactivity timeout) is Closed Complete or
// Closed Abandoned, parked (nothing live) On Hold, worked Work in Progress by the
// serving worker, and offered New or On Hold.
func (w *world) assertRecord(csid string, v conversationView) string {
	t := w.t
	t.Helper()
	tok, _ := w.flexToken("carol", "supervisor")
	status, body := w.get(w.services[0], "/interactions/"+csid, tok)
	if !assert.Equal(t, http.StatusOK, status, "%s: its record: %v", csid, body) {
		return ""
	}
	rec := decodeAs[webhooks.Interaction](t, body)
	contacts := map[string]webhooks.Contact{}
	for _, c := range rec.RelatedTasks {
		contacts[c.ContactID] = c
	}
	var serving *taskView
	for _, task := range v.Tasks {
		c, ok := contacts[task.Sid]
		if !assert.True(t, ok, "%s: its task %s (%s) is in the record", csid, task.Sid, task.Status) {
			continue
		}
		ended := task.Status == "completed" || task.Status == "canceled"
		assert.Equal(t, ended, c.EndedAt != nil, "%s: task %s is %s, and the record agrees", csid, task.Sid, task.Status)
		if task.Status != "canceled" {
			accepted := task.Status == "assigned" || task.Status == "wrapping" || task.Status == "completed"
			assert.Equal(t, accepted, c.AcceptedAt != nil, "%s: task %s is %s, and the record agrees on its accept", csid, task.Sid, task.Status)
		}
		if !ended {
			serving = &task
		}
	}
	for _, c := range rec.RelatedTasks {
		if !slices.ContainsFunc(v.Tasks, func(task taskView) bool { return task.Sid == c.ContactID }) {
			// TaskRouter lets a task go five minutes after it ends.
			assert.NotNil(t, c.EndedAt, "%s: task %s, gone from TaskRouter, ended in the record", csid, c.ContactID)
		}
	}
	switch {
	case v.State == "closed":
		assert.Contains(t, []string{webhooks.StateClosedAbandoned, webhooks.StateClosedComplete}, rec.State, "%s: closed%s\nrecord: %+v", csid, v.tasksSummary(), rec.RelatedTasks)
	case serving == nil:
		assert.Equal(t, webhooks.StateOnHold, rec.State, "%s: parked", csid)
	case serving.Status == "assigned":
		assert.Equal(t, webhooks.StateWorkInProgress, rec.State, "%s: worked", csid)
		if assert.NotNil(t, rec.AssignedTo, "%s: worked, so assigned", csid) {
			assert.Equal(t, serving.WorkerSid, rec.AssignedTo.WorkerSid, "%s: assigned to its agent", csid)
		}
	default:
		assert.Contains(t, []string{webhooks.StateNew, webhooks.StateOnHold}, rec.State, "%s: offered (%s)", csid, serving.Status)
	}
	return rec.State
}

// seated reports whether the worker holds a live agent participant on the
// conversation (what a park needs).
func (w *world) seated(csid, worker string) bool {
	for _, in := range w.state().Flex.Interactions {
		if in.Channel.ConversationSid != csid {
			continue
		}
		for _, p := range in.Channel.Participants {
			if p.Type == "agent" && p.WorkerSid == worker && p.Status != "closed" {
				return true
			}
		}
	}
	return false
}

// everyoneAvailable brings back every worker a timed-out reservation made
// unavailable (TaskRouter's timeout activity), as agents come back to
// their desks, with the faults off.
func (w *world) everyoneAvailable() {
	w.t.Helper()
	workers, err := w.Twilio.TaskrouterV1.ListWorker(w.Seeded.WorkspaceSID, nil)
	require.NoError(w.t, err)
	for _, wk := range workers {
		if !*wk.Available {
			setActivity(w.t, w.World, *wk.Sid, "Available")
		}
	}
}

// answerOffered has the conversation's reserved task answered by the
// worker it is offered to (with the faults off): declined one time in
// four, else accepted, the customer's agent then being that worker.
func (w *world) answerOffered(rng *rand.Rand, c *chaosCustomer, tally *chaosTally) {
	w.t.Helper()
	for _, task := range w.view(c.csid, c.worker).Tasks {
		if task.Status != "reserved" || w.PendingReservation(task.Sid) == "" {
			continue
		}
		if rng.IntN(4) == 0 {
			w.RejectReservation(task.Sid)
			tally.declined++
			return
		}
		c.worker = w.AcceptReservation(task.Sid)
		return
	}
}
