package webhooks_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	twilioapi "github.com/twilio/twilio-go"
	twclient "github.com/twilio/twilio-go/client"
	conversations "github.com/twilio/twilio-go/rest/conversations/v1"
	taskrouterapi "github.com/twilio/twilio-go/rest/taskrouter/v1"

	"github.com/flexhooks/flexhooks/internal/config"
	"github.com/flexhooks/flexhooks/internal/emulator"
	"github.com/flexhooks/flexhooks/internal/emulator/emutest"
	"github.com/flexhooks/flexhooks/internal/emulator/taskrouter"
	"github.com/flexhooks/flexhooks/internal/isoduration"
	"github.com/flexhooks/flexhooks/internal/rewrite"
	"github.com/flexhooks/flexhooks/webhooks"
)

// BenchmarkSustainedLoad answers issue 15: new conversations at a steady
// rate (10, 25, 50 and 100 a second, loadSeconds each) on two replicas with
// interaction records, automatic persistent chat, the inactivity timeout and
// the parked list on. Each conversation is lived as a contact centre lives
// it: the customer writes in, an agent accepts through TaskRouter's REST API
// and replies through Conversations', the customer answers; one in five is
// parked and the customer's next message brings it back to the agent, who
// accepts again; a supervisor closes it with a short description through
// the close API. One in ten customers is a returning one (persistent chat
// links the new conversation to the closed one).
//
// It reports, per rate: the rate achieved, the busiest Sync objects' read
// and write rates (10-second mean, from the emulator's request log, the
// way Twilio counts them: items count toward their Map), throttled calls
// (429), the service's Twilio calls per conversation by product (from its
// own /metrics, so that the load generator's calls are not counted), and
// p50/p99 of the operations the generator times. "Capacity" then reports
// the highest rate at which no Sync object went over Twilio's 20 reads and
// 20 writes a second, nothing was throttled and the generator kept up (on
// pace, at most 1 % of conversations lost to the machine's own load).
// LOAD_BREAKDOWN=1 also logs the service's calls per conversation by
// product, method, Sync map kind and status.
func BenchmarkSustainedLoad(b *testing.B) {
	var (
		mu       sync.Mutex
		capacity float64
	)
	for _, rate := range []int{10, 25, 50, 100} {
		b.Run(fmt.Sprintf("Rate%d", rate), func(b *testing.B) {
			for b.Loop() {
				r := runLoad(b, rate, loadSeconds)
				r.report(b)
				if r.withinLimits() {
					mu.Lock()
					capacity = max(capacity, float64(rate))
					mu.Unlock()
				}
			}
		})
	}
	b.Run("Capacity", func(b *testing.B) {
		for b.Loop() {
		}
		b.ReportMetric(capacity, "conv/s-within-limits")
		b.ReportMetric(0, "ns/op")
	})
}

// loadSeconds is how long each rate runs: Sync's burst window.
const loadSeconds = 10

// syncLimit is Twilio Sync's per-object limit, reads and writes each.
const syncLimit = 20

// loadWorkers is how many agents take the load, each with room for many
// conversations at once: the emulator's routing, not staffing, is measured.
const loadWorkers = 60

func loadSeed() *emulator.Seed {
	s := emulator.DefaultSeed()
	ws := []taskrouter.SeedWorker{}
	for i := range loadWorkers {
		name := fmt.Sprintf("agent%02d", i)
		ws = append(ws, taskrouter.SeedWorker{
			FriendlyName: name, Activity: "Available",
			Attributes: map[string]any{"full_name": name, "contact_uri": "client:" + name,
				"routing": map[string]any{"skills": []any{"support"}, "levels": map[string]any{"support": 1}}},
			Channels: map[string]int{"chat": 50, "sms": 50},
		})
	}
	// carol stays: the supervisor who closes conversations takes no tasks.
	ws = append(ws, taskrouter.SeedWorker{FriendlyName: "carol", Activity: "Offline",
		Attributes: map[string]any{"full_name": "Carol", "contact_uri": "client:carol"}})
	s.TaskRouter.Workers = ws
	return &s
}

// loadResult is what one rate's run measured.
type loadResult struct {
	rate, started, finished, failed int
	elapsed                         time.Duration
	objects                         map[string]*objectRate
	throttled, mapsCreated          int
	callsByProduct                  map[string]float64
	latencies                       map[string][]time.Duration
	failures                        map[string]int
	// breakdown is LOAD_BREAKDOWN's lines: every call in the emulator's
	// log (the generator's too) by host, method, path shape and status.
	breakdown []string
}

// objectRate is one Sync object's busiest 10-second window.
type objectRate struct {
	name                string
	reads, writes       float64 // per second, 10-s mean, busiest window
	readPeak, writePeak int     // busiest single second
}

func (r *loadResult) busiest() (reads, writes *objectRate) {
	for _, o := range r.objects {
		if reads == nil || o.reads > reads.reads {
			reads = o
		}
		if writes == nil || o.writes > writes.writes {
			writes = o
		}
	}
	if reads == nil {
		reads = &objectRate{}
	}
	if writes == nil {
		writes = &objectRate{}
	}
	return reads, writes
}

func (r *loadResult) withinLimits() bool {
	reads, writes := r.busiest()
	achieved := float64(r.started) / r.elapsed.Seconds()
	// A conversation fails when the machine running the emulator, the
	// replicas and the generator falls behind (a close that found no record
	// for 15 s): tolerated up to 1 %, since it measures this machine, not
	// Twilio's limits.
	return reads.reads <= syncLimit && writes.writes <= syncLimit && r.throttled == 0 &&
		achieved >= 0.95*float64(r.rate) && r.failed*100 <= r.started
}

func (r *loadResult) report(b *testing.B) {
	reads, writes := r.busiest()
	b.ReportMetric(float64(r.started)/r.elapsed.Seconds(), "conv/s")
	b.ReportMetric(float64(r.failed), "failed-conv")
	b.ReportMetric(reads.reads, "busiest-reads/s")
	b.ReportMetric(writes.writes, "busiest-writes/s")
	b.ReportMetric(float64(r.throttled), "throttled")
	b.ReportMetric(float64(r.mapsCreated), "maps-created")
	total := 0.0
	for p, n := range r.callsByProduct {
		b.ReportMetric(n, p+"-calls/conv")
		total += n
	}
	b.ReportMetric(total, "twilio-calls/conv")
	for op, ls := range r.latencies {
		if len(ls) == 0 {
			continue
		}
		slices.Sort(ls)
		pct := func(p float64) float64 {
			return float64(ls[min(len(ls)-1, int(p*float64(len(ls))))].Microseconds()) / 1000
		}
		b.ReportMetric(pct(0.50), op+"-p50-ms")
		b.ReportMetric(pct(0.99), op+"-p99-ms")
	}
	b.ReportMetric(0, "ns/op")
	objs := make([]*objectRate, 0, len(r.objects))
	for _, o := range r.objects {
		objs = append(objs, o)
	}
	sort.Slice(objs, func(i, j int) bool {
		return max(objs[i].reads, objs[i].writes) > max(objs[j].reads, objs[j].writes)
	})
	var sb strings.Builder
	fmt.Fprintf(&sb, "%d conv/s: %d started, %d finished, %d failed %v; %d Sync objects; busiest (10-s mean reads/s, writes/s; peak second):\n",
		r.rate, r.started, r.finished, r.failed, r.failures, len(objs))
	for _, o := range objs[:min(len(objs), 6)] {
		fmt.Fprintf(&sb, "  %-60s %6.1f %6.1f  (%d, %d)\n", o.name, o.reads, o.writes, o.readPeak, o.writePeak)
	}
	// One log entry, the busiest objects first: without -v, go test keeps
	// only the first lines of a benchmark's log.
	for _, l := range r.breakdown {
		fmt.Fprintf(&sb, "  %s\n", l)
	}
	b.Log(sb.String())
}

// runLoad starts rate new conversations a second for seconds seconds, waits
// for them to finish and measures.
func runLoad(b *testing.B, rate, seconds int) *loadResult {
	b.StopTimer()
	defer b.StartTimer()
	w := startRecords(b, recordsOptions{replicas: 2, seed: loadSeed(), configure: func(c *config.Config) {
		c.PersistentChat = config.PersistentChatEntirePastSession
		c.PersistentChatWindow = isoduration.Duration(7 * 24 * time.Hour)
		c.InactivityTimeout = isoduration.Duration(30 * time.Minute)
		c.ParkedList = true
		c.TwilioTimeout = 30 * time.Second
	}})
	g := newLoadGenerator(b, w)
	g.createMaps()
	before := g.serviceCalls()
	tap := g.tapRequests()
	res := &loadResult{rate: rate, latencies: map[string][]time.Duration{}, failures: map[string]int{}}
	var wg sync.WaitGroup
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	for i := range rate * seconds {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		res.started++
		wg.Go(func() { g.conversation(i) })
	}
	res.elapsed = time.Since(start)
	wg.Wait()
	calls := tap.stop()
	after := g.serviceCalls()
	g.mu.Lock()
	res.finished, res.failed, res.latencies, res.failures = g.finished, g.failed, g.latencies, g.failures
	g.mu.Unlock()
	res.objects, res.throttled = syncObjectRates(calls)
	if os.Getenv("LOAD_BREAKDOWN") != "" {
		bd := map[string]int{}
		for _, c := range calls {
			if c.Host == "iam.twilio.com" {
				continue
			}
			k := c.Host + " " + c.Method + " " + regexp.MustCompile(`_[0-9a-f]{2,3}$`).ReplaceAllString(syncObject(c), "_xx")
			if c.Host != "sync.twilio.com" {
				k = c.Host + " " + c.Method + " " + regexp.MustCompile(`[A-Z]{2}[0-9a-f]{32}`).ReplaceAllString(c.Path, "*")
			} else if strings.HasPrefix(syncObject(c), "Maps/ParkedInteractions_") {
				k = c.Host + " " + c.Method + " ParkedInteractions_*"
			}
			bd[fmt.Sprintf("%s %d", k, c.Status)]++
		}
		keys := make([]string, 0, len(bd))
		for k := range bd {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			res.breakdown = append(res.breakdown, fmt.Sprintf("%6.2f/conv %s", float64(bd[k])/float64(res.started), k))
		}
	}
	res.callsByProduct = map[string]float64{}
	res.mapsCreated = firstUses(calls)
	for p, n := range after {
		d := n - before[p]
		if p == "sync" {
			d -= 2 * float64(res.mapsCreated) // once per map for the life of the account
		}
		if d > 0 && p != "iam" {
			res.callsByProduct[p] = d / float64(res.started)
		}
	}
	return res
}

// loadGenerator plays customers, agents and a supervisor against a world.
type loadGenerator struct {
	b      *testing.B
	w      *recordsWorld
	tw     *twilioapi.RestClient
	hc     *http.Client
	agents []loadAgent
	super  string // a supervisor's token

	mu        sync.Mutex
	finished  int
	failed    int
	failures  map[string]int
	latencies map[string][]time.Duration
	returning []string // addresses whose conversation is closed
	taken     map[string]bool
}

type loadAgent struct{ sid, identity, token string }

func newLoadGenerator(b *testing.B, w *recordsWorld) *loadGenerator {
	target, err := url.Parse(w.EmuURL)
	require.NoError(b, err)
	pool := &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 512, IdleConnTimeout: 30 * time.Second}
	cc := &twclient.Client{
		Credentials: twclient.NewCredentials(emutest.AccountSID, emutest.AuthToken),
		HTTPClient:  &http.Client{Transport: &rewrite.Transport{Target: target, Base: pool}, Timeout: 60 * time.Second},
	}
	cc.SetAccountSid(emutest.AccountSID)
	g := &loadGenerator{
		b: b, w: w, tw: twilioapi.NewRestClientWithParams(twilioapi.ClientParams{Client: cc, AccountSid: emutest.AccountSID}),
		hc:       &http.Client{Transport: pool, Timeout: 60 * time.Second},
		failures: map[string]int{}, latencies: map[string][]time.Duration{}, taken: map[string]bool{},
	}
	for i := range loadWorkers {
		var out struct{ Token, WorkerSid, Identity string }
		w.Control(http.MethodPost, fmt.Sprintf("/emulator/workers/agent%02d/token", i), map[string]any{"roles": []string{"agent"}}, &out)
		g.agents = append(g.agents, loadAgent{sid: out.WorkerSid, identity: out.Identity, token: out.Token})
	}
	g.super, _ = w.Token("carol", "supervisor")
	return g
}

func (g *loadGenerator) agent(workerSid string) loadAgent {
	for _, a := range g.agents {
		if a.sid == workerSid {
			return a
		}
	}
	return loadAgent{}
}

func (g *loadGenerator) observe(op string, d time.Duration) {
	g.mu.Lock()
	g.latencies[op] = append(g.latencies[op], d)
	g.mu.Unlock()
}

// conversation lives one conversation; a step that fails ends it, counted.
func (g *loadGenerator) conversation(i int) {
	err := g.live(i)
	g.mu.Lock()
	defer g.mu.Unlock()
	if err != nil {
		g.failed++
		g.failures[strings.SplitN(err.Error(), ":", 2)[0]]++
		return
	}
	g.finished++
}

func (g *loadGenerator) address(i int) string {
	if i%10 == 9 {
		g.mu.Lock()
		defer g.mu.Unlock()
		for j, a := range g.returning {
			if !g.taken[a] {
				g.taken[a] = true
				g.returning = slices.Delete(g.returning, j, j+1)
				return a
			}
		}
	}
	return fmt.Sprintf("whatsapp:+1556%07d", i)
}

func (g *loadGenerator) live(i int) error {
	addr := g.address(i)
	in, err := g.inbound(addr, "hello")
	if err != nil {
		return err
	}
	if in.TaskSid == "" {
		return fmt.Errorf("inbound: no task for %s (%s)", addr, in.ConversationSid)
	}
	csid := in.ConversationSid
	worker, err := g.accept(in.TaskSid)
	if err != nil {
		return err
	}
	a := g.agent(worker)
	if err := g.reply(csid, a.identity); err != nil {
		return err
	}
	if _, err := g.inbound(addr, "thanks"); err != nil {
		return err
	}
	if i%5 == 0 {
		if err := g.parkAndReturn(csid, in.TaskSid, a, addr); err != nil {
			return err
		}
	}
	if err := g.close(csid); err != nil {
		return err
	}
	g.mu.Lock()
	g.returning = append(g.returning, addr)
	delete(g.taken, addr)
	g.mu.Unlock()
	return nil
}

type inboundAnswer struct{ ConversationSid, TaskSid string }

func (g *loadGenerator) inbound(from, body string) (inboundAnswer, error) {
	js, _ := json.Marshal(map[string]string{"from": from, "to": "+15550000000", "channel": "whatsapp", "body": body})
	var out inboundAnswer
	resp, err := g.hc.Post(g.w.EmuURL+"/emulator/inbound?wait=false", "application/json", bytes.NewReader(js))
	if err != nil {
		return out, fmt.Errorf("inbound: %w", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return out, fmt.Errorf("inbound: %d %.200s", resp.StatusCode, raw)
	}
	return out, json.Unmarshal(raw, &out)
}

// accept waits for the task's reservation and accepts it through
// TaskRouter's REST API, as the agent's Flex UI does.
func (g *loadGenerator) accept(taskSid string) (string, error) {
	ws := g.w.Seeded.WorkspaceSID
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		res, err := g.tw.TaskrouterV1.ListTaskReservation(ws, taskSid, (&taskrouterapi.ListTaskReservationParams{}).SetReservationStatus("pending"))
		if err != nil {
			return "", fmt.Errorf("accept: %w", err)
		}
		if len(res) > 0 {
			start := time.Now()
			_, err := g.tw.TaskrouterV1.UpdateTaskReservation(ws, taskSid, *res[0].Sid,
				(&taskrouterapi.UpdateTaskReservationParams{}).SetReservationStatus("accepted"))
			if err != nil {
				return "", fmt.Errorf("accept: %w", err)
			}
			g.observe("accept", time.Since(start))
			return *res[0].WorkerSid, nil
		}
		time.Sleep(25 * time.Millisecond)
	}
	return "", fmt.Errorf("accept: no reservation for %s", taskSid)
}

// reply is the agent's message, as the Flex UI posts it.
func (g *loadGenerator) reply(csid, identity string) error {
	start := time.Now()
	_, err := g.tw.ConversationsV1.CreateConversationMessage(csid, (&conversations.CreateConversationMessageParams{}).
		SetAuthor(identity).SetBody("How can I help?").SetXTwilioWebhookEnabled("true"))
	if err != nil {
		return fmt.Errorf("reply: %w", err)
	}
	g.observe("reply", time.Since(start))
	return nil
}

// parkAndReturn parks the conversation through the native route, then the
// customer writes and the agent accepts the task the unpark makes.
func (g *loadGenerator) parkAndReturn(csid, taskSid string, a loadAgent, addr string) error {
	ws := g.w.Seeded.WorkspaceSID
	t, err := g.tw.TaskrouterV1.FetchTask(ws, taskSid)
	if err != nil {
		return fmt.Errorf("park: %w", err)
	}
	var attrs map[string]any
	_ = json.Unmarshal([]byte(*t.Attributes), &attrs)
	isid, chsid := fmt.Sprint(attrs["flexInteractionSid"]), fmt.Sprint(attrs["flexInteractionChannelSid"])
	ps, err := g.tw.FlexV1.ListInteractionChannelParticipant(isid, chsid, nil)
	if err != nil {
		return fmt.Errorf("park: %w", err)
	}
	form := url.Values{"conversationSid": {csid}, "workerSid": {a.sid}, "createUpdateSyncMapItem": {"true"},
		"interactionSid": {isid}, "channelSid": {chsid}, "channelType": {fmt.Sprint(attrs["channelType"])},
		"taskSid": {taskSid}, "taskAttributes": {*t.Attributes}, "workflowSid": {*t.WorkflowSid},
		"taskChannelUniqueName": {*t.TaskChannelUniqueName}, "queueName": {*t.TaskQueueFriendlyName}, "queueSid": {*t.TaskQueueSid},
		"Token": {a.token}}
	for _, p := range ps {
		if p.Type != nil && *p.Type == "agent" && p.Sid != nil {
			form.Set("participantSid", *p.Sid)
		}
	}
	start := time.Now()
	status, body, err := g.send(http.MethodPost, g.w.Services[1]+"/park-interaction", "", form)
	if err != nil || status != http.StatusOK {
		return fmt.Errorf("park: %d %v %v", status, body, err)
	}
	g.observe("park", time.Since(start))
	start = time.Now()
	if _, err := g.inbound(addr, "I am back"); err != nil {
		return err
	}
	next, err := g.unparkedTask(csid, a.sid, taskSid)
	if err != nil {
		return err
	}
	g.observe("unpark", time.Since(start))
	_, err = g.accept(next)
	return err
}

// unparkedTask finds the task the customer's message made: the worker's
// pending reservation for the conversation (it routes back to them).
func (g *loadGenerator) unparkedTask(csid, workerSid, old string) (string, error) {
	ws := g.w.Seeded.WorkspaceSID
	seen := map[string]bool{old: true}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		res, err := g.tw.TaskrouterV1.ListWorkerReservation(ws, workerSid, (&taskrouterapi.ListWorkerReservationParams{}).SetReservationStatus("pending"))
		if err != nil {
			return "", fmt.Errorf("unpark: %w", err)
		}
		for _, r := range res {
			if r.TaskSid == nil || seen[*r.TaskSid] {
				continue
			}
			seen[*r.TaskSid] = true
			t, err := g.tw.TaskrouterV1.FetchTask(ws, *r.TaskSid)
			if err == nil && strings.Contains(*t.Attributes, csid) {
				return *r.TaskSid, nil
			}
		}
		time.Sleep(25 * time.Millisecond)
	}
	return "", fmt.Errorf("unpark: no task for %s", csid)
}

// close is a supervisor's close with a short description. The record may
// not have seen the conversation's first task yet (its event runs beside
// the generator): a 404 or 409 is tried again.
func (g *loadGenerator) close(csid string) error {
	for attempt := range 60 {
		start := time.Now()
		status, body, err := g.send(http.MethodPost, g.w.Services[1]+"/interactions/"+csid+"/close", g.super,
			map[string]string{"shortDescription": "load"})
		if err != nil {
			return fmt.Errorf("close: %w", err)
		}
		switch status {
		case http.StatusOK:
			g.observe("close", time.Since(start))
			return nil
		case http.StatusNotFound, http.StatusConflict, http.StatusServiceUnavailable:
			g.mu.Lock()
			g.failures["close-retried"]++
			g.mu.Unlock()
			time.Sleep(time.Duration(100*min(attempt+1, 5)) * time.Millisecond)
			continue
		}
		return fmt.Errorf("close: %d %v", status, body)
	}
	return fmt.Errorf("close: the record of %s never showed", csid)
}

// send is a plugin call: form (token inside) or JSON with a bearer token.
func (g *loadGenerator) send(method, u, token string, body any) (int, map[string]any, error) {
	var rd io.Reader
	ct := "application/json"
	if f, ok := body.(url.Values); ok {
		rd, ct = strings.NewReader(f.Encode()), "application/x-www-form-urlencoded"
	} else {
		js, _ := json.Marshal(body)
		rd = bytes.NewReader(js)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", ct)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := g.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out, nil
}

// createMaps makes the Sync maps the run writes, as in a deployment that
// has run a while: the single maps (the legacy claim maps empty, as after
// an upgrade's first sweep), the 16 of each claim kind and the 256 of each
// small kind. The
// 4096 record maps are made by their first writes instead (making them
// here takes longer than the run): each first use costs two calls once for
// the life of the account (the item create finds no map, the map create),
// which runLoad takes out of the per-conversation figures (firstUses).
func (g *loadGenerator) createMaps() {
	names := append([]string{webhooks.InteractionCounterMap, webhooks.ParkClaimMap, webhooks.TransferClaimMap},
		withShards(webhooks.ProfileMap, webhooks.ProfileInteractionsMap, webhooks.ContactMap,
			webhooks.InactivityRecordMap, webhooks.InactivityClaimMap)...)
	names = append(names, webhooks.ParkClaimMaps()...)
	names = append(names, webhooks.TransferClaimMaps()...)
	for _, a := range g.agents {
		names = append(names, webhooks.ParkedListMap(a.sid))
	}
	createSyncMaps(g.b, g.tw, names)
}

// firstUses counts the Sync maps the service created during the run.
func firstUses(calls []emulator.LoggedRequest) int {
	n := 0
	for _, c := range calls {
		if c.Host == "sync.twilio.com" && c.Method == http.MethodPost && strings.HasSuffix(c.Path, "/Maps") {
			n++
		}
	}
	return n
}

// serviceCalls sums flexhooks_twilio_calls_total by product over the
// replicas: the service's own calls, not the generator's.
func (g *loadGenerator) serviceCalls() map[string]float64 {
	out := map[string]float64{}
	for _, svc := range g.w.Services {
		resp, err := g.hc.Get(svc + "/metrics")
		require.NoError(g.b, err)
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, line := range strings.Split(string(raw), "\n") {
			rest, ok := strings.CutPrefix(line, "flexhooks_twilio_calls_total{")
			if !ok {
				continue
			}
			labels, value, _ := strings.Cut(rest, "} ")
			n, _ := strconv.ParseFloat(value, 64)
			for _, l := range strings.Split(labels, ",") {
				if p, ok := strings.CutPrefix(l, `product="`); ok {
					out[strings.TrimSuffix(p, `"`)] += n
				}
			}
		}
	}
	return out
}

// requestTap copies the emulator's request log while a run goes on: the
// log keeps the last 10 000 calls, so it is read twice a second and the
// calls already seen are dropped.
type requestTap struct {
	g     *loadGenerator
	done  chan struct{}
	ended chan []emulator.LoggedRequest
}

func (g *loadGenerator) tapRequests() *requestTap {
	g.w.ClearRequests()
	t := &requestTap{g: g, done: make(chan struct{}), ended: make(chan []emulator.LoggedRequest)}
	go t.run()
	return t
}

func (t *requestTap) run() {
	seen := map[string]bool{}
	var all []emulator.LoggedRequest
	read := func() {
		resp, err := t.g.hc.Get(t.g.w.EmuURL + "/emulator/requests")
		if err != nil {
			return
		}
		defer resp.Body.Close()
		var out struct{ Requests []emulator.LoggedRequest }
		if json.NewDecoder(resp.Body).Decode(&out) != nil {
			return
		}
		for _, r := range out.Requests {
			k := fmt.Sprint(r.Start.UnixNano(), r.Method, r.Host, r.Path, r.Query, r.Status)
			if !seen[k] {
				seen[k] = true
				all = append(all, r)
			}
		}
	}
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			read()
		case <-t.done:
			read()
			t.ended <- all
			return
		}
	}
}

func (t *requestTap) stop() []emulator.LoggedRequest {
	close(t.done)
	return <-t.ended
}

// syncObjectRates counts each Sync object's reads (GET) and writes (every
// other method) per second, items counting toward their Map as Twilio
// counts them, and returns each object's busiest 10-second window; and the
// calls throttled (429) over all products.
func syncObjectRates(calls []emulator.LoggedRequest) (map[string]*objectRate, int) {
	type counts struct{ reads, writes map[int64]int }
	per := map[string]*counts{}
	throttled := 0
	for _, c := range calls {
		if c.Status == http.StatusTooManyRequests {
			throttled++
		}
		obj := syncObject(c)
		if c.Host != "sync.twilio.com" || obj == "" {
			continue
		}
		ct := per[obj]
		if ct == nil {
			ct = &counts{reads: map[int64]int{}, writes: map[int64]int{}}
			per[obj] = ct
		}
		sec := c.Start.Unix()
		if c.Method == http.MethodGet {
			ct.reads[sec]++
		} else {
			ct.writes[sec]++
		}
	}
	out := map[string]*objectRate{}
	for name, ct := range per {
		o := &objectRate{name: name}
		o.reads, o.readPeak = busiestWindow(ct.reads)
		o.writes, o.writePeak = busiestWindow(ct.writes)
		out[name] = o
	}
	return out, throttled
}

// busiestWindow is the highest 10-second mean of per-second counts, and
// the busiest single second.
func busiestWindow(bySecond map[int64]int) (float64, int) {
	best, peak := 0, 0
	for s, n := range bySecond {
		peak = max(peak, n)
		sum := 0
		for i := range int64(loadSeconds) {
			sum += bySecond[s+i]
		}
		best = max(best, sum)
	}
	return float64(best) / loadSeconds, peak
}

// syncObject names the Sync object a call touches ("Maps/flexhooks_x"),
// "" for the service-level calls.
func syncObject(c emulator.LoggedRequest) string {
	parts := strings.Split(strings.Trim(c.Path, "/"), "/")
	// v1 Services {sid} {Maps|Documents|Lists} {name} …
	if len(parts) < 5 {
		return ""
	}
	return parts[3] + "/" + parts[4]
}
