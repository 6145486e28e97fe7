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

// chaosFaults fail about one Twilio call in five on every product the park
// and unpark touch, with every kind of failure: refused (429), failed
// (500), unavailable (503), and done by Twilio with the answer lost.
var chaosFaults = []map[string]any{
	{"host": "conversations.twilio.com", "status": 500, "rate": 0.1},
	{"host": "conversations.twilio.com", "status": 503, "rate": 0.1, "after": true},
	{"host": "sync.twilio.com", "status": 429, "rate": 0.1},
	{"host": "sync.twilio.com", "status": 500, "rate": 0.1, "after": true},
	{"host": "flex-api.twilio.com", "status": 503, "rate": 0.1},
	{"host": "flex-api.twilio.com", "status": 500, "rate": 0.1, "after": true},
	{"host": "taskrouter.twilio.com", "status": 500, "rate": 0.2},
}

// chaosSeed is FLEXHOOKS_CHAOS_SEED, or 1: a failure reproduces from the
// seed it logs. The seed drives both the test's choices and the emulator's
// fault draws (seededFaults); only calls the service makes concurrently
// can still swap their draws, so a rerun takes nearly the same path.
func chaosSeed(t *testing.T) uint64 {
	if s, err := strconv.ParseUint(os.Getenv("FLEXHOOKS_CHAOS_SEED"), 10, 64); err == nil {
		return s
	}
	return 1
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

// TestChaosParksHeal plays rounds of parks, customer messages and agents'
// unparks over two replicas with a fifth of Twilio's calls failing, agents
// retrying a failed request once as a person would; between rounds, with
// the faults off, the agents accept what is offered to them. Then the
// sweeper runs, and every customer must be either parked (claim, key and
// exactly one way back) or served by exactly one live task: never
// stranded, never two tasks.
//
// It runs from `make chaos` (FLEXHOOKS_CHAOS=1, seeds 1 to 10), not from
// `make test`: it still finds faults the sweeper does not heal (issue 14's
// note lists the seeds and what they leave), and the emulator's fault
// draws are not seeded, so it would make `make test` fail at random.
func TestChaosParksHeal(t *testing.T) {
	if os.Getenv("FLEXHOOKS_CHAOS") == "" {
		t.Skip("the randomized chaos run is `make chaos` (FLEXHOOKS_CHAOS=1): it still finds unhealed faults, see issue 14")
	}
	seed := chaosSeed(t)
	t.Logf("FLEXHOOKS_CHAOS_SEED=%d", seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	ew := e2etest.Start(t, e2etest.Options{Replicas: 2})
	w := &world{World: ew, t: t, services: ew.Services}

	type customer struct{ number, csid, worker string }
	var cs []*customer
	for i := range 6 {
		c := &customer{number: "+1555987" + strconv.Itoa(5000+i)}
		c.csid, c.worker = w.assigned(c.number, "sms")
		cs = append(cs, c)
	}
	statuses := map[int]int{}
	retry := func(do func() int) {
		s := do()
		statuses[s]++
		if s >= 500 {
			statuses[do()]++
		}
	}
	for range 8 {
		w.faults(seededFaults(seed, chaosFaults)...)
		for range 6 {
			c := cs[rng.IntN(len(cs))]
			svc := w.services[rng.IntN(2)]
			token, _ := w.flexToken(c.worker)
			switch op := rng.IntN(3); {
			case op == 0 && liveTasks(w.view(c.csid, c.worker)) == 1 && w.seated(c.csid, c.worker):
				form := w.parkForm(c.csid, c.worker)
				retry(func() int { s, _ := w.post(svc, "/park-interaction", token, w.cloneForm(form)); return s })
			case op == 1:
				w.inbound(c.number, "sms", "hello again")
			default:
				retry(func() int {
					s, _ := w.post(svc, "/unpark-interaction", token, url.Values{"ConversationSid": {c.csid}})
					return s
				})
			}
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
	repaired := map[string]int{}
	for range 3 {
		for _, kind := range append(e2etest.Repaired(w.sweepLater()), e2etest.Repaired(w.Sweep(1, false))...) {
			repaired[kind]++
		}
		w.settle()
	}
	t.Logf("agents' requests by answer: %v; repairs: %v", statuses, repaired)
	for _, c := range cs {
		assertParkedOrServed(t, c.csid, w.view(c.csid, c.worker))
	}
	// The way back works: each customer writes once more, and every one
	// of them is then served by exactly one task, with nothing of a park
	// left behind.
	for _, c := range cs {
		w.inbound(c.number, "sms", "still there?")
	}
	w.settle()
	for _, c := range cs {
		v := w.view(c.csid, c.worker)
		assert.Equal(t, 1, liveTasks(v), "%s: served by one task once the customer writes", c.csid)
		assert.Empty(t, v.Webhooks, "%s: no unpark webhook left", c.csid)
		assert.False(t, v.Claim, "%s: no park claim left", c.csid)
	}
}

// assertParkedOrServed checks a conversation after the faults and the
// sweeps: never two tasks; with none, parked (claim, key and exactly one
// way back); with one, no park left but possibly an inert unpark webhook:
// one whose park's undo could neither learn its SID nor delete it after
// listing. It has no claim behind it, so a customer message spends it
// without routing anything (checked after the customer writes again).
func assertParkedOrServed(t *testing.T, csid string, v conversationView) {
	t.Helper()
	live := liveTasks(v)
	assert.LessOrEqual(t, live, 1, "%s: never two tasks", csid)
	if live == 0 {
		assert.True(t, v.Claim, "%s: not served, so parked: its claim", csid)
		assert.Contains(t, v.Attributes, "flexhooksPark", "%s: not served, so parked: its key", csid)
		assert.Len(t, v.Webhooks, 1, "%s: not served, so parked: one way back", csid)
		return
	}
	if len(v.Webhooks) > 0 {
		assert.False(t, v.Claim, "%s: served: an unpark webhook left must be inert (no park claim)", csid)
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
