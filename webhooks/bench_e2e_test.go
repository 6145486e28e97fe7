package webhooks_test

import (
	"fmt"
	"github.com/flexhooks/flexhooks/webhooks"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// The benchmarks run park and unpark end to end (HTTP → service → twilio-go
// → emulator) with 100 ms of latency injected on every Twilio call, and
// report per operation: end-to-end latency, the Twilio calls made, and the
// sequential round trips on the critical path (the longest chain of calls
// each starting after the previous one ended, from the emulator's request
// log). flex-project-template's functions need 3 to 5 sequential calls.

const benchLatencyMs = 100

type benchWorld struct {
	*world
}

// newBenchWorld is a world whose Sync maps exist, as they do after the
// first park of each agent: the first use of a map costs two more
// sequential calls (the item create finds no map, the map is created, the
// item create is repeated), once per map for the life of the account.
func newBenchWorld(b *testing.B) *benchWorld {
	w := newWorld(b, 1)
	maps := webhooks.ParkClaimMaps()
	for _, name := range []string{"alice", "bob", "carol"} {
		maps = append(maps, "ParkedInteractions_"+w.workerSid(name))
	}
	for _, m := range maps {
		w.createSyncMap(m)
	}
	return &benchWorld{world: w}
}

// measure runs op with latency injected and returns its duration, the
// Twilio calls it made and their sequential round trips.
func (bw *benchWorld) measure(op func()) (time.Duration, int, int) {
	bw.faults(map[string]any{"latencyMs": benchLatencyMs})
	bw.clearRequests()
	start := time.Now()
	op()
	d := time.Since(start)
	calls := twilioCalls(bw.World)
	bw.faults()
	return d, len(calls), sequentialRoundTrips(calls)
}

type tally struct {
	d             time.Duration
	calls, rounds int
	n             int
}

func (t *tally) add(d time.Duration, calls, rounds int) {
	t.d += d
	t.calls += calls
	t.rounds += rounds
	t.n++
}

func (t *tally) report(b *testing.B) {
	if t.n == 0 {
		return
	}
	b.ReportMetric(float64(t.d.Milliseconds())/float64(t.n), "ms/op-e2e")
	b.ReportMetric(float64(t.calls)/float64(t.n), "twilio-calls/op")
	b.ReportMetric(float64(t.rounds)/float64(t.n), "round-trips/op")
	b.ReportMetric(0, "ns/op") // wall time includes set-up; the e2e figure above is the one to read
}

func BenchmarkPark(b *testing.B) {
	bw := newBenchWorld(b)
	svc := bw.services[0]
	var t tally
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		csid, worker := bw.assigned(benchAddress(i), "whatsapp")
		token, _ := bw.flexToken(worker)
		bw.get(svc, "/parked-interactions", token) // validates the token once (cached after)
		form := bw.parkForm(csid, worker)
		b.StartTimer()
		t.add(bw.measure(func() {
			if status, body := bw.post(svc, "/park-interaction", token, form); status != http.StatusOK {
				b.Fatalf("park: %d %v", status, body)
			}
		}))
	}
	t.report(b)
}

func BenchmarkUnparkCustomer(b *testing.B) {
	bw := newBenchWorld(b)
	svc := bw.services[0]
	var t tally
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		customer := benchAddress(i)
		csid, _, _ := bw.parked(svc, customer, "whatsapp")
		hookURL, ev := bw.messageEvent(csid, customer, "WHATSAPP")
		b.StartTimer()
		t.add(bw.measure(func() {
			// The onMessageAdded Twilio delivers, signed, straight to the service.
			if status, body := bw.signedPost(hookURL, ev); status != http.StatusOK || body["unparked"] != true {
				b.Fatalf("unpark: %d %v", status, body)
			}
		}))
	}
	t.report(b)
}

func BenchmarkUnparkWorker(b *testing.B) {
	bw := newBenchWorld(b)
	svc := bw.services[0]
	var t tally
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		csid, _, token := bw.parked(svc, benchAddress(i), "whatsapp")
		b.StartTimer()
		t.add(bw.measure(func() {
			if status, body := bw.post(svc, "/unpark-interaction", token, url.Values{"ConversationSid": {csid}}); status != http.StatusOK || body["unparked"] != true {
				b.Fatalf("unpark: %d %v", status, body)
			}
		}))
	}
	t.report(b)
}

// benchAddress is a new customer per iteration: a parked conversation stays
// active, and a known address would join it.
func benchAddress(i int) string { return fmt.Sprintf("whatsapp:+1555%07d", i) }
