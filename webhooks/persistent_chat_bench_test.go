package webhooks_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	conversationsapi "github.com/twilio/twilio-go/rest/conversations/v1"

	"github.com/flexhooks/flexhooks/internal/emulator"
	"github.com/flexhooks/flexhooks/webhooks"
)

// BenchmarkTranscript reads the transcript of a conversation that continues
// a chain of 3 past sessions holding 500 messages (167, 167 and 166), end to
// end (HTTP → service → twilio-go → emulator) with 100 ms injected on every
// Twilio call, whole in one page and 100 messages a page. It reports per
// transcript read: end-to-end latency, the Twilio calls made, their
// sequential round trips (from the emulator's request log; the agent's Flex
// token is validated beforehand, as it is cached after an agent's first
// call) and the HTTP requests the client made. Reading the sessions one
// after the other, 50 messages a call (Twilio's default page), would take
// 14 sequential calls (the record, then 4 + 4 + 4 + 1 pages).
func BenchmarkTranscript(b *testing.B) {
	w := startPCWorld(b, 1, nil)
	current, token := w.longHistory(b, "+15558100001", []int{167, 167, 166})
	// One call so that the service has validated the token.
	status, body := w.Get(w.Services[0], webhooks.TranscriptPath(current)+"?pageSize=1", token)
	require.Equal(b, http.StatusOK, status, "%v", body)

	for _, size := range []int{1000, 100} {
		b.Run(fmt.Sprintf("pageSize=%d", size), func(b *testing.B) {
			var total time.Duration
			var calls, rounds, requests int
			for b.Loop() {
				b.StopTimer()
				w.Faults(emulator.Fault{LatencyMs: benchLatencyMs})
				w.ClearRequests()
				b.StartTimer()
				start := time.Now()
				pages, lines := w.transcript(w.Services[0], token, current, size)
				d := time.Since(start)
				b.StopTimer()
				w.Faults()
				require.Len(b, lines, 501, "the 500 past messages and the current conversation's one")
				cs := twilioCalls(w.World)
				total += d
				calls += len(cs)
				rounds = max(rounds, sequentialRoundTrips(cs))
				requests = len(pages)
				b.StartTimer()
			}
			n := float64(b.N)
			b.ReportMetric(float64(total.Milliseconds())/n, "ms/transcript")
			b.ReportMetric(float64(calls)/n, "twilio-calls/op")
			b.ReportMetric(float64(rounds), "round-trips")
			b.ReportMetric(float64(requests), "http-requests/op")
		})
	}
}

// longHistory makes a chain of past sessions of the customer, each with the
// given number of messages (its inbound first message included) and each
// continuing the one before, then a current conversation continuing the
// last; it returns the current conversation and its agent's Flex token.
func (w *pcWorld) longHistory(tb testing.TB, customer string, sizes []int) (string, string) {
	var prev *pcSession
	for i, n := range sizes {
		s := w.start(customer, fmt.Sprintf("session %d, message 0", i+1))
		if prev != nil {
			w.link(tb, s, prev)
		}
		for j := 1; j < n; j++ {
			_, err := w.Twilio.ConversationsV1.CreateConversationMessage(s.Conversation, (&conversationsapi.CreateConversationMessageParams{}).
				SetAuthor(s.Agents[0]).SetBody(fmt.Sprintf("session %d, message %d", i+1, j)))
			require.NoError(tb, err)
		}
		w.end(s)
		prev = s
	}
	s := w.start(customer, "the current conversation")
	w.link(tb, s, prev)
	tok, _ := w.Token(s.Agents[0])
	return s.Conversation, tok
}

// link makes s continue the whole of past.
func (w *pcWorld) link(tb testing.TB, s, past *pcSession) {
	status, body := w.rehydrate(w.Services[0], w.supervisor, map[string]any{
		"conversationSid": s.Conversation, "sourceContactId": past.Contacts[0], "rehydrationType": webhooks.RehydrateEntirePastSession,
	})
	require.Equal(tb, http.StatusOK, status, "%v", body)
}

// BenchmarkRehydrate links a returning customer's new conversation to their
// past session through POST /persistent-chat (with a client token), end to
// end with 100 ms injected on every Twilio call, and reports the latency,
// the Twilio calls and their sequential round trips.
func BenchmarkRehydrate(b *testing.B) {
	w := startPCWorld(b, 1, nil)
	const customer = "+15558200001"
	past := w.pastSession(customer)
	// The client-token map is made by the first request ever.
	warm := w.start(customer, "warming up")
	w.linkWithToken(b, warm, past, "warm-up")
	w.end(warm)
	var total time.Duration
	var calls, rounds int
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		s := w.start(customer, "back")
		tok, _ := w.Token(s.Agents[0])
		// One call so that the route has validated the token (it keeps its
		// own cache): an empty request passes authentication, then is 400.
		status, _ := w.rehydrate(w.Services[0], tok, map[string]any{})
		require.Equal(b, http.StatusBadRequest, status)
		w.Faults(emulator.Fault{LatencyMs: benchLatencyMs})
		w.ClearRequests()
		b.StartTimer()
		start := time.Now()
		status, body := w.rehydrate(w.Services[0], tok, map[string]any{
			"conversationSid": s.Conversation, "sourceContactId": past.Contacts[1], "rehydrationType": webhooks.RehydrateFromSegment,
			"clientToken": fmt.Sprintf("bench-%d", i),
		})
		d := time.Since(start)
		b.StopTimer()
		w.Faults()
		require.Equal(b, http.StatusOK, status, "%v", body)
		cs := twilioCalls(w.World)
		total += d
		calls += len(cs)
		rounds = max(rounds, sequentialRoundTrips(cs))
		w.end(s)
		b.StartTimer()
	}
	n := float64(b.N)
	b.ReportMetric(float64(total.Milliseconds())/n, "ms/link")
	b.ReportMetric(float64(calls)/n, "twilio-calls/op")
	b.ReportMetric(float64(rounds), "round-trips")
}

// linkWithToken makes s continue the whole of past, with a client token.
func (w *pcWorld) linkWithToken(tb testing.TB, s, past *pcSession, token string) {
	status, body := w.rehydrate(w.Services[0], w.supervisor, map[string]any{
		"conversationSid": s.Conversation, "sourceContactId": past.Contacts[0], "rehydrationType": webhooks.RehydrateEntirePastSession,
		"clientToken": token,
	})
	require.Equal(tb, http.StatusOK, status, "%v", body)
}
