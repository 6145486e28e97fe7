package webhooks_test

import (
	"math/rand/v2"
	"net/url"
	"os"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/flexhooks/flexhooks/internal/e2etest"
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

// TestChaosHeals plays, for each seed, rounds of parks, customer messages,
// agents' unparks and cold transfers over two replicas with a fifth of
// Twilio's calls failing, agents retrying a failed request once as a
// person would; between rounds, with the faults off, the agents accept
// what is offered to them. Then every conversation is left idle past its
// inactivity timeout, the faults still on, and the sweeper runs. Every
// customer must then be parked (claim, key and exactly one way back),
// closed by the inactivity timeout (nothing of a park left), or served by
// exactly one live task: never stranded, never two tasks. Last, each
// customer writes once more and must be served by exactly one task, with
// no park left behind.
//
// `make test` plays three seeds; `make chaos` many more.
func TestChaosHeals(t *testing.T) {
	for _, seed := range chaosSeeds() {
		t.Run("seed="+strconv.FormatUint(seed, 10), func(t *testing.T) {
			t.Logf("reproduce: FLEXHOOKS_CHAOS_SEED=%d go test -run TestChaosHeals ./webhooks", seed)
			playChaos(t, seed)
		})
	}
}

func playChaos(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, seed))
	iw := startInactivity(t, 2, nil)
	w := &world{World: iw.World, t: t, services: iw.Services}
	var cs []*chaosCustomer
	for i := range 6 {
		ch := chaosChannels[i%len(chaosChannels)]
		c := &chaosCustomer{number: ch.prefix + strconv.Itoa(6000+i), channel: ch.channel}
		c.csid, c.worker = w.assigned(c.number, c.channel)
		cs = append(cs, c)
	}
	statuses := map[int]int{}
	for range 8 {
		w.faults(seededFaults(seed, chaosFaults)...)
		for range 6 {
			w.chaosOp(rng, cs[rng.IntN(len(cs))], statuses)
		}
		w.faults()
		w.settle()
		for _, c := range cs {
			if by := w.acceptOffered(c.csid, c.worker); by != "" {
				c.worker = by
			}
		}
		w.settle()
	}
	// Everyone goes quiet: the inactivity timeouts fire with the faults on.
	w.faults(seededFaults(seed, chaosFaults)...)
	w.Advance("PT31M")
	w.settle()
	w.faults()
	repaired := map[string]int{}
	for range 3 {
		for _, kind := range append(e2etest.Repaired(w.sweepLater()), e2etest.Repaired(w.Sweep(1, false))...) {
			repaired[kind]++
		}
		w.settle()
	}
	t.Logf("agents' requests by answer: %v; repairs: %v", statuses, repaired)
	for _, c := range cs {
		assertParkedClosedOrServed(t, c.csid, w.view(c.csid, c.worker))
	}
	w.writeAgain(t, cs)
}

// chaosOp plays one random operation on c through a random replica.
func (w *world) chaosOp(rng *rand.Rand, c *chaosCustomer, statuses map[int]int) {
	svc := w.services[rng.IntN(2)]
	token, _ := w.flexToken(c.worker)
	retry := func(do func() int) {
		s := do()
		statuses[s]++
		if s >= 500 {
			statuses[do()]++
		}
	}
	seated := func() bool { return liveTasks(w.view(c.csid, c.worker)) == 1 && w.seated(c.csid, c.worker) }
	switch op := rng.IntN(4); {
	case op == 0 && seated():
		form := w.parkForm(c.csid, c.worker)
		retry(func() int { s, _ := w.post(svc, "/park-interaction", token, w.cloneForm(form)); return s })
	case op == 1:
		w.inbound(c.number, c.channel, "hello again")
	case op == 2:
		retry(func() int {
			s, _ := w.post(svc, "/unpark-interaction", token, url.Values{"ConversationSid": {c.csid}})
			return s
		})
	case op == 3 && seated():
		form := transferForm(w.parkForm(c.csid, c.worker))
		retry(func() int { s, _ := w.post(svc, "/transfer", token, w.cloneForm(form)); return s })
	}
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
// the sweeps: never two tasks; closed: nothing live and nothing of a park;
// parked: claim, key and exactly one way back; served: one live task and
// no park, but possibly an inert unpark webhook (one whose park's undo
// could neither learn its SID nor delete it after listing). It has no
// claim behind it, so a customer message spends it without routing
// anything (checked when the customer writes again).
func assertParkedClosedOrServed(t *testing.T, csid string, v conversationView) {
	t.Helper()
	live := liveTasks(v)
	assert.LessOrEqual(t, live, 1, "%s: never two tasks", csid)
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

// writeAgain has every customer write once more: each must then be served
// by exactly one task, in the conversation the message went to (a new one
// where the old was closed), with nothing of a park left.
func (w *world) writeAgain(t *testing.T, cs []*chaosCustomer) {
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

// acceptOffered has the conversation's reserved task accepted by the
// worker it is offered to (with the faults off), and returns that worker,
// or "" when nothing was offered.
func (w *world) acceptOffered(csid, worker string) string {
	w.t.Helper()
	for _, task := range w.view(csid, worker).Tasks {
		if task.Status == "reserved" && w.PendingReservation(task.Sid) != "" {
			return w.AcceptReservation(task.Sid)
		}
	}
	return ""
}
