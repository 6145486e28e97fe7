package webhooks_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flexhooks/flexhooks/internal/emulator"
	"github.com/flexhooks/flexhooks/webhooks"
)

// createMaps creates the Sync maps the inactivity timeout writes to, as a
// deployment that has run for a while has them: the very first write to a
// map creates it first, which costs two more round trips once.
func (w *inactivityWorld) createMaps() {
	w.t.Helper()
	createSyncMaps(w.t, w.Twilio, withShards(webhooks.InactivityRecordMap, webhooks.InactivityClaimMap))
}

// acceptEvent is the reservation.accepted TaskRouter sends for the task.
func (w *inactivityWorld) acceptEvent(taskSid string) url.Values {
	w.t.Helper()
	var s struct {
		TaskRouter struct {
			Workspaces []struct {
				Tasks []struct {
					Sid        string         `json:"sid"`
					Attributes map[string]any `json:"attributes"`
				} `json:"tasks"`
			} `json:"workspaces"`
		} `json:"taskrouter"`
	}
	w.State(&s)
	for _, ws := range s.TaskRouter.Workspaces {
		for _, t := range ws.Tasks {
			if t.Sid == taskSid {
				attrs, err := json.Marshal(t.Attributes)
				require.NoError(w.t, err)
				return url.Values{
					"EventType": {"reservation.accepted"}, "TaskSid": {taskSid}, "WorkspaceSid": {w.Seeded.WorkspaceSID},
					"TaskAttributes": {string(attrs)},
				}
			}
		}
	}
	w.t.Fatalf("no task %s", taskSid)
	return nil
}

// measured is one webhook delivery with its Twilio calls.
type measured struct {
	status     int
	latency    time.Duration
	roundTrips int
	calls      int
}

func (w *inactivityWorld) measure(fullURL string, form url.Values) measured {
	w.ClearRequests()
	start := time.Now()
	status, _ := w.SignedPost(fullURL, form)
	m := measured{status: status, latency: time.Since(start)}
	calls := twilioCalls(w.World)
	m.roundTrips, m.calls = sequentialRoundTrips(calls), len(calls)
	return m
}

func TestInactivityRoundTrips(t *testing.T) {
	w := startInactivity(t, 1, nil)
	w.createMaps()
	csid, task := w.contact("+15552220001", "sms")

	// Latency on every call makes the sequence of calls unambiguous in the log.
	w.Faults(emulator.Fault{LatencyMs: 50})
	acc := w.measure(w.Services[0]+webhooks.TaskRouterEventPath, w.acceptEvent(task))
	assert.Equal(t, 204, acc.status)
	assert.Equal(t, 1, acc.roundTrips, "reservation accepted: timer ‖ record")

	w.Faults()
	at := w.makeInactive(csid)
	w.Faults(emulator.Fault{LatencyMs: 50})
	cl := w.measure(w.Services[0]+webhooks.ConversationStateUpdatedPath, stateEvent(csid, at))
	assert.Equal(t, 200, cl.status)
	assert.Equal(t, 3, cl.roundTrips, "close: claim ‖ reads, notice, channel close")
	assert.Equal(t, "closed", w.conv(csid).State)
}

// BenchmarkInactivity measures both halves of the inactivity timeout with
// 100 ms of latency on every Twilio call, reporting the delivery's latency
// and its sequential Twilio round trips.
func BenchmarkInactivity(b *testing.B) {
	latency := emulator.Fault{LatencyMs: 100}
	b.Run("ReservationAccepted", func(b *testing.B) {
		w := startInactivity(b, 1, nil)
		w.createMaps()
		_, task := w.contact("+15552220002", "sms")
		ev := w.acceptEvent(task)
		w.Faults(latency)
		var total measured
		for b.Loop() {
			m := w.measure(w.Services[0]+webhooks.TaskRouterEventPath, ev)
			require.Equal(b, 204, m.status)
			total.latency += m.latency
			total.roundTrips = max(total.roundTrips, m.roundTrips)
			total.calls = max(total.calls, m.calls)
		}
		b.ReportMetric(float64(total.latency.Milliseconds())/float64(b.N), "ms/delivery")
		b.ReportMetric(float64(total.roundTrips), "roundtrips")
		b.ReportMetric(float64(total.calls), "calls")
	})
	b.Run("Close", func(b *testing.B) {
		w := startInactivity(b, 1, nil)
		w.createMaps()
		var total measured
		n := 0
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			w.Faults()
			csid, _ := w.contact(fmt.Sprintf("+1555333%04d", i), "sms")
			at := w.makeInactive(csid)
			w.Faults(latency)
			b.StartTimer()
			m := w.measure(w.Services[0]+webhooks.ConversationStateUpdatedPath, stateEvent(csid, at))
			require.Equal(b, 200, m.status)
			total.latency += m.latency
			total.roundTrips = max(total.roundTrips, m.roundTrips)
			total.calls = max(total.calls, m.calls)
			n++
		}
		b.ReportMetric(float64(total.latency.Milliseconds())/float64(n), "ms/delivery")
		b.ReportMetric(float64(total.roundTrips), "roundtrips")
		b.ReportMetric(float64(total.calls), "calls")
	})
}
