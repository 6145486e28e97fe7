package webhooks_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	conversations "github.com/twilio/twilio-go/rest/conversations/v1"
	syncv1 "github.com/twilio/twilio-go/rest/sync/v1"

	"github.com/flexhooks/flexhooks/internal/config"
	"github.com/flexhooks/flexhooks/internal/e2etest"
	"github.com/flexhooks/flexhooks/internal/isoduration"
	"github.com/flexhooks/flexhooks/webhooks"
)

// BenchmarkSweep measures what one sweep costs with 0, 100 and 1,000
// healthy parks in flight, with 100 ms injected on every Twilio call: its
// duration, its Twilio calls in all and per product. A healthy park costs
// two reads in one round trip (the conversation and its webhooks), eight
// parks at a time; the rest is a few list calls whatever the load.
func BenchmarkSweep(b *testing.B) {
	for _, parks := range []int{0, 100, 1000} {
		b.Run(fmt.Sprintf("parks=%d", parks), func(b *testing.B) {
			w := newWorld(b, 1)
			// Laying out a thousand parks is not what is measured: Sync's
			// per-object limits are off while it is, and on for the sweep.
			w.Control(http.MethodPatch, "/emulator/behaviour", map[string]any{"syncRateLimits": false}, nil)
			seedParks(b, w, parks)
			w.Control(http.MethodPatch, "/emulator/behaviour", map[string]any{"syncRateLimits": true}, nil)
			w.Advance("PT3M") // the parks are older than the grace
			measureSweep(b, w)
		})
	}
	// Every capability on, nothing in flight: what a sweep costs an idle
	// contact centre (the inactivity claims' 256 shards, the records'
	// task list and gap Map on top of the parks' and transfers' Maps).
	b.Run("parks=0,all-capabilities", func(b *testing.B) {
		ew := e2etest.Start(b, e2etest.Options{Replicas: 1, Configure: func(c *config.Config) {
			c.InactivityTimeout = isoduration.Duration(30 * time.Minute)
			c.InteractionRecords = true
		}})
		measureSweep(b, &world{World: ew, t: b, services: ew.Services})
	})
}

// measureSweep reports what one sweep of replica 0 costs with 100 ms
// injected on every Twilio call, and requires it to have found nothing.
func measureSweep(b *testing.B, w *world) {
	var total time.Duration
	var calls []call
	for b.Loop() {
		w.faults(map[string]any{"latencyMs": benchLatencyMs})
		w.clearRequests()
		start := time.Now()
		rep := w.Apps[0].Sweeper.Sweep(context.Background(), false) // in process: no request deadline
		total += time.Since(start)
		w.faults()
		require.Empty(b, rep.Repairs, "healthy work needs no repair")
		calls = twilioCalls(w.World)
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/sweep")
	b.ReportMetric(float64(len(calls)), "twilio-calls/sweep")
	for product, n := range callsByProduct(calls) {
		b.ReportMetric(float64(n), product+"-calls/sweep")
	}
}

// seedParks lays out n parks as a park leaves them: a conversation whose
// attributes hold the park key, its unpark webhook and its claim.
func seedParks(b *testing.B, w *world, n int) {
	b.Helper()
	for i := range n {
		conv, err := w.Twilio.ConversationsV1.CreateConversation(&conversations.CreateConversationParams{})
		require.NoError(b, err)
		csid := *conv.Sid
		rec := webhooks.ParkRecord{
			ConversationSid: csid, InteractionSid: fmt.Sprintf("KD%032x", i), ChannelSid: fmt.Sprintf("UO%032x", i),
			ParticipantSid: fmt.Sprintf("UT%032x", i), ChannelType: "sms", WorkflowSid: w.Seeded.TransferWorkflowSID,
			TaskChannelUniqueName: "sms", WorkerSid: fmt.Sprintf("WK%032x", i%20), ParkedAt: w.Emu.Now(),
			TaskAttributes: map[string]any{"from": fmt.Sprintf("+1555%07d", i)},
		}
		hook, err := w.Twilio.ConversationsV1.CreateConversationScopedWebhook(csid, (&conversations.CreateConversationScopedWebhookParams{}).
			SetTarget("webhook").SetConfigurationUrl(w.services[0]+webhooks.UnparkWebhookPath).SetConfigurationMethod("POST").
			SetConfigurationFilters([]string{"onMessageAdded"}))
		require.NoError(b, err)
		rec.WebhookSid = *hook.Sid
		attrs, err := json.Marshal(map[string]any{webhooks.ParkAttributeKey: rec})
		require.NoError(b, err)
		_, err = w.Twilio.ConversationsV1.UpdateConversation(csid, (&conversations.UpdateConversationParams{}).SetAttributes(string(attrs)))
		require.NoError(b, err)
		claim := webhooks.ParkClaimMapFor(csid)
		if i == 0 {
			_, _ = w.Twilio.SyncV1.CreateSyncMap("default", (&syncv1.CreateSyncMapParams{}).SetUniqueName(claim))
		}
		var data map[string]any
		require.NoError(b, json.Unmarshal(must(json.Marshal(rec)), &data))
		_, err = w.Twilio.SyncV1.CreateSyncMapItem("default", claim, (&syncv1.CreateSyncMapItemParams{}).SetKey(csid).SetData(data))
		if err != nil && strings.Contains(err.Error(), "Status: 404") { // a shard's map not made yet
			_, _ = w.Twilio.SyncV1.CreateSyncMap("default", (&syncv1.CreateSyncMapParams{}).SetUniqueName(claim))
			_, err = w.Twilio.SyncV1.CreateSyncMapItem("default", claim, (&syncv1.CreateSyncMapItemParams{}).SetKey(csid).SetData(data))
		}
		require.NoError(b, err)
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// callsByProduct counts calls per Twilio product (the host's first label).
func callsByProduct(calls []call) map[string]int {
	out := map[string]int{}
	for _, c := range calls {
		out[strings.SplitN(c.Host, ".", 2)[0]]++
	}
	return out
}
