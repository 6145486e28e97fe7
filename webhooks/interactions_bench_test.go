package webhooks_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	twilioapi "github.com/twilio/twilio-go"
	syncv1 "github.com/twilio/twilio-go/rest/sync/v1"
	taskrouterapi "github.com/twilio/twilio-go/rest/taskrouter/v1"

	"github.com/flexhooks/flexhooks/internal/config"
	"github.com/flexhooks/flexhooks/internal/emulator"
	"github.com/flexhooks/flexhooks/internal/isoduration"
	"github.com/flexhooks/flexhooks/webhooks"
)

// The interaction records' benchmarks answer issue 7's point 9: what
// record upkeep costs the event handlers it runs in (sequential Twilio
// round trips and latency, with 100 ms injected on every Twilio call), that
// it costs the operations it observes (park, unpark, transfer) nothing, and
// how many TaskRouter events per second the service handles with records on
// and off. Each figure is reported for records off and on side by side.

// recordMaps are the Sync maps records write, and the ones the operations
// measured here write: created up front, as in a deployment that has run a
// while (a map's first use costs two more round trips, once).
var recordMaps = append(append(append([]string{webhooks.InteractionCounterMap}, webhooks.ParkClaimMaps()...), webhooks.TransferClaimMaps()...),
	withShards(webhooks.InteractionRecordMap, webhooks.ProfileMap, webhooks.ProfileInteractionsMap, webhooks.ContactMap,
		webhooks.InactivityRecordMap, webhooks.InactivityClaimMap)...)

// withShards names every shard of the sharded kinds (webhooks.ShardNames).
func withShards(kinds ...string) []string {
	var out []string
	for _, kind := range kinds {
		out = append(out, webhooks.ShardNames(kind)...)
	}
	return out
}

// createSyncMaps creates the maps, sixteen at a time.
func createSyncMaps(t testing.TB, tw *twilioapi.RestClient, names []string) {
	t.Helper()
	work := make(chan string)
	errs := make(chan error, len(names))
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for name := range work {
				_, err := tw.SyncV1.CreateSyncMap("default", (&syncv1.CreateSyncMapParams{}).SetUniqueName(name))
				errs <- err
			}
		})
	}
	for _, n := range names {
		work <- n
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

func (w *recordsWorld) createMaps(names ...string) {
	w.t.Helper()
	for _, worker := range []string{"alice", "bob", "carol"} {
		_, sid := w.Token(worker)
		names = append(names, webhooks.ParkedListMap(sid))
	}
	createSyncMaps(w.t, w.Twilio, names)
}

// isRecordCall tells a Twilio call of record upkeep: its Sync maps.
func isRecordCall(c call) bool {
	if c.Host != "sync.twilio.com" {
		return false
	}
	for _, m := range []string{webhooks.InteractionRecordMap, webhooks.InteractionCounterMap, webhooks.ProfileMap,
		webhooks.ProfileInteractionsMap, webhooks.ContactMap} {
		// The kind's single map, or one of its shards (m_xx).
		if strings.Contains(c.Path, "/Maps/"+m+"/") || strings.HasSuffix(c.Path, "/Maps/"+m) ||
			regexp.MustCompile("/Maps/"+m+"_[0-9a-f]{2,3}(/|$)").MatchString(c.Path) {
			return true
		}
	}
	return false
}

// opFigures accumulates one operation's measurements over the iterations.
type opFigures struct {
	// whole: the round trips are the longest chain of the request log's
	// calls (a webhook delivery, whose answer waits for every handler).
	// Otherwise the operation's own calls cannot be told in the log from
	// those of the event callbacks it causes, which run beside it, so its
	// round trips are read from its latency: with 100 ms on every Twilio
	// call, the number of whole 100 ms in it.
	whole                bool
	n                    int
	latency              time.Duration
	calls, recordCalls   int
	rounds, recordRounds int // the most seen
}

// add records an operation that took d and made calls, of which the
// record's (recordCalls) may have run on after it answered.
func (f *opFigures) add(d time.Duration, calls []call) {
	var rec []call
	for _, c := range calls {
		if isRecordCall(c) {
			rec = append(rec, c)
		}
	}
	f.n++
	f.latency += d
	f.calls += len(calls) - len(rec)
	f.recordCalls += len(rec)
	if f.whole {
		f.rounds = max(f.rounds, sequentialRoundTrips(calls))
	} else {
		f.rounds = max(f.rounds, int(d/(benchLatencyMs*time.Millisecond)))
	}
	f.recordRounds = max(f.recordRounds, sequentialRoundTrips(rec))
}

func (f *opFigures) report(b *testing.B, unit string) {
	if f.n == 0 {
		return
	}
	n := float64(f.n)
	b.ReportMetric(float64(f.latency.Milliseconds())/n, "ms/"+unit)
	b.ReportMetric(float64(f.rounds), "round-trips")
	b.ReportMetric(float64(f.calls)/n, "twilio-calls/"+unit)
	b.ReportMetric(float64(f.recordCalls)/n, "record-calls/"+unit)
	b.ReportMetric(float64(f.recordRounds), "record-round-trips")
	b.ReportMetric(0, "ns/op") // wall time includes set-up; the figures above are the ones to read
}

var recordsModes = []struct {
	name string
	off  bool
}{{"RecordsOff", true}, {"RecordsOn", false}}

// acceptEvent is the reservation.accepted TaskRouter sends when worker
// accepts the task, stamped now on the world's clock.
func (w *recordsWorld) acceptEvent(taskSid, workerSid string) url.Values {
	w.t.Helper()
	t, err := w.Twilio.TaskrouterV1.FetchTask(w.Seeded.WorkspaceSID, taskSid)
	require.NoError(w.t, err)
	now := w.now()
	return url.Values{
		"EventType": {"reservation.accepted"}, "WorkspaceSid": {w.Seeded.WorkspaceSID}, "TaskSid": {taskSid},
		"TaskAttributes": {*t.Attributes}, "TaskDateCreated": {strconv.FormatInt(t.DateCreated.Unix(), 10)},
		"TaskQueueSid": {*t.TaskQueueSid}, "TaskQueueName": {*t.TaskQueueFriendlyName}, "WorkerSid": {workerSid}, "WorkerName": {"agent"},
		"Timestamp": {strconv.FormatInt(now.Unix(), 10)}, "TimestampMs": {strconv.FormatInt(now.UnixMilli(), 10)},
	}
}

// complete ends a task through TaskRouter, freeing its worker's capacity.
func (w *recordsWorld) complete(taskSid string) {
	w.t.Helper()
	for _, st := range []string{"wrapping", "completed"} {
		_, err := w.Twilio.TaskrouterV1.UpdateTask(w.Seeded.WorkspaceSID, taskSid, (&taskrouterapi.UpdateTaskParams{}).SetAssignmentStatus(st))
		require.NoError(w.t, err)
	}
	w.Settle()
}

// BenchmarkInteractionRecordsAccept measures the delivery of a
// reservation.accepted (the inactivity timeout on, as issue 7 asks) whose
// task the record has seen created but not accepted: the record's
// conditional update runs beside the inactivity timer.
func BenchmarkInteractionRecordsAccept(b *testing.B) {
	for _, mode := range recordsModes {
		b.Run(mode.name, func(b *testing.B) {
			w := startRecords(b, recordsOptions{recordsOff: mode.off, configure: func(c *config.Config) {
				c.InactivityTimeout = isoduration.Duration(30 * time.Minute)
			}})
			w.createMaps(recordMaps...)
			// The record learns of each task's creation from TaskRouter;
			// the accept is delivered by the benchmark, with latency on.
			w.RouteTaskRouterEvents(w.Services[0], "task.created")
			f := opFigures{whole: true}
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				in := w.Inbound(fmt.Sprintf("+1555610%04d", i), "sms", "hello")
				worker := w.AcceptReservation(in.TaskSid)
				ev := w.acceptEvent(in.TaskSid, worker)
				w.Faults(emulator.Fault{LatencyMs: benchLatencyMs})
				w.ClearRequests()
				b.StartTimer()
				start := time.Now()
				status, body := w.SignedPost(w.Services[0]+webhooks.TaskRouterEventPath, ev)
				d := time.Since(start)
				b.StopTimer()
				require.Equal(b, http.StatusNoContent, status, "%v", body)
				f.add(d, twilioCalls(w.World))
				w.Faults()
				w.complete(in.TaskSid)
				b.StartTimer()
			}
			f.report(b, "delivery")
		})
	}
}

// BenchmarkInteractionRecordsOperations runs park, the customer's unpark
// and a cold transfer end to end with the workspace's event callback and
// the Conversations webhook pointing at the service (as `flexhooks setup`
// leaves them), records off and on. The operation's latency and its own
// round trips must not change: record upkeep runs in the event callbacks
// the operation causes. Those are waited for (with the latency still on)
// and reported apart: record-calls and record-round-trips.
func BenchmarkInteractionRecordsOperations(b *testing.B) {
	latency := emulator.Fault{LatencyMs: benchLatencyMs}
	// measure runs op with latency on, waits for the events it causes,
	// and adds the calls of both to f.
	measure := func(w *recordsWorld, f *opFigures, op func()) {
		w.Faults(latency)
		w.ClearRequests()
		start := time.Now()
		op()
		d := time.Since(start)
		w.Settle()
		f.add(d, twilioCalls(w.World))
		w.Faults()
	}
	for _, mode := range recordsModes {
		b.Run("Park/"+mode.name, func(b *testing.B) {
			w := startRecords(b, recordsOptions{recordsOff: mode.off})
			w.createMaps(recordMaps...)
			var f opFigures
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				csid, _, worker := w.contacted(benchAddress(100+i), "whatsapp", "")
				tok, _ := w.Token(worker)
				w.Get(w.Services[0], "/parked-interactions", tok) // the token is validated once, then cached
				form := w.parks().parkForm(csid, worker)
				b.StartTimer()
				measure(w, &f, func() {
					if status, body := w.Post(w.Services[0], "/park-interaction", tok, form); status != http.StatusOK {
						b.Fatalf("park: %d %v", status, body)
					}
				})
			}
			f.report(b, "op")
		})
		b.Run("UnparkCustomer/"+mode.name, func(b *testing.B) {
			w := startRecords(b, recordsOptions{recordsOff: mode.off})
			w.createMaps(recordMaps...)
			var f opFigures
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				customer := benchAddress(200 + i)
				csid, _, _ := w.parks().parked(w.Services[0], customer, "whatsapp")
				hookURL, ev := w.parks().messageEvent(csid, customer, "WHATSAPP")
				known := w.tasksOf(csid)
				b.StartTimer()
				measure(w, &f, func() {
					if status, body := w.SignedPost(hookURL, ev); status != http.StatusOK || body["unparked"] != true {
						b.Fatalf("unpark: %d %v", status, body)
					}
				})
				b.StopTimer()
				w.transfers().cancelTask(b, w.newTaskOf(csid, known...)) // free the worker it goes to
				b.StartTimer()
			}
			f.report(b, "op")
		})
		b.Run("TransferCold/"+mode.name, func(b *testing.B) {
			w := startRecords(b, recordsOptions{recordsOff: mode.off})
			w.createMaps(recordMaps...)
			tw := w.transfers()
			alice, bob := tw.workerSid("alice"), tw.workerSid("bob")
			var f opFigures
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				c := tw.acceptedChat(fmt.Sprintf("+1555620%04d", i))
				w.Get(w.Services[0], "/parked-interactions", c.AgentToken)
				target := bob
				if c.AgentWorker == bob {
					target = alice
				}
				form := c.form(target)
				var taskSid string
				b.StartTimer()
				measure(w, &f, func() {
					status, body := w.Post(w.Services[0], "/transfer", c.AgentToken, form)
					if status != http.StatusOK {
						b.Fatalf("transfer: %d %v", status, body)
					}
					taskSid, _ = body["taskSid"].(string)
				})
				b.StopTimer()
				tw.cancelTask(b, taskSid) // the target's capacity would run out
				b.StartTimer()
			}
			f.report(b, "op")
		})
	}
}

// tasksOf lists the conversation's task SIDs.
func (w *recordsWorld) tasksOf(csid string) []string {
	var out []string
	for _, t := range w.transfers().state().TaskRouter.Workspaces[0].Tasks {
		if t.Attributes["conversationSid"] == csid {
			out = append(out, t.Sid)
		}
	}
	return out
}

// BenchmarkInteractionRecordsEventThroughput posts signed TaskRouter
// events to the service from 16 concurrent senders, no latency injected.
// An iteration is a batch of 960 events: a new task in each of 320
// conversations, its task.created, then its reservation.accepted, then its
// task.completed, as a busy contact centre's callback sees them (the first
// batch also opens the 320 records: numbers allocated under contention).
// With records off the task events have no handler (204 at once): the
// figure is the service's floor (signature check, routing); with records on
// each event is a record read and a conditional write (retried on a lost
// race: conflicts/event counts Sync's 412s), and a task.completed also
// reads its conversation. Every Twilio call goes to the emulator on the
// same machine, which serializes its world: the records-on figure is bound
// by it, not by the service.
func BenchmarkInteractionRecordsEventThroughput(b *testing.B) {
	const conversations, senders = 320, 16
	const batch = 3 * conversations
	for _, mode := range recordsModes {
		b.Run(mode.name, func(b *testing.B) {
			w := startRecords(b, recordsOptions{recordsOff: mode.off, noCallbacks: true})
			w.createMaps(recordMaps...)
			attrs := make([]string, conversations)
			_, worker := w.Token("alice")
			for i := range attrs {
				in := w.Inbound(fmt.Sprintf("+1555630%04d", i), "sms", "hello")
				attrs[i] = w.taskAttributes(in.TaskSid)
			}
			types := []string{"task.created", "reservation.accepted", "task.completed"}
			// Event j of batch n: the event j/320 of conversation j%320's
			// task n.
			event := func(n, j int) url.Values {
				conv, phase := j%conversations, j/conversations
				task := n*conversations + conv
				return w.taskEvent(types[phase], fmt.Sprintf("WT%032x", task+1), attrs[conv], n*10, n*10+phase, worker)
			}
			target := w.Services[0] + webhooks.TaskRouterEventPath
			var (
				latencies []time.Duration
				elapsed   time.Duration
				sent      int
				conflicts int
			)
			for n := 0; b.Loop(); n++ {
				b.StopTimer()
				evs := make([]url.Values, batch)
				for j := range evs {
					evs[j] = event(n, j)
				}
				lat := make([]time.Duration, batch)
				statuses := make([]int, batch)
				var next atomic.Int64
				var wg sync.WaitGroup
				w.ClearRequests()
				b.StartTimer()
				start := time.Now()
				for range senders {
					wg.Go(func() {
						for j := int(next.Add(1) - 1); j < batch; j = int(next.Add(1) - 1) {
							t0 := time.Now()
							statuses[j], _ = w.SignedPost(target, evs[j])
							lat[j] = time.Since(t0)
						}
					})
				}
				wg.Wait()
				elapsed += time.Since(start)
				b.StopTimer()
				for j, st := range statuses {
					require.Equal(b, http.StatusNoContent, st, "event %d", j)
				}
				latencies = append(latencies, lat...)
				sent += batch
				for _, c := range twilioCalls(w.World) {
					if c.Status == http.StatusPreconditionFailed {
						conflicts++
					}
				}
				b.StartTimer()
			}
			slices.Sort(latencies)
			pct := func(p float64) float64 {
				return float64(latencies[min(len(latencies)-1, int(p*float64(len(latencies))))].Microseconds()) / 1000
			}
			b.ReportMetric(float64(sent)/elapsed.Seconds(), "events/s")
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
			b.ReportMetric(float64(conflicts)/float64(sent), "conflicts/event")
			b.ReportMetric(0, "ns/op") // a batch's wall time; events/s is the figure to read
		})
	}
}
