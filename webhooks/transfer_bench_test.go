package webhooks_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	flexapi "github.com/twilio/twilio-go/rest/flex/v1"
	taskrouterapi "github.com/twilio/twilio-go/rest/taskrouter/v1"

	"github.com/flexhooks/flexhooks/internal/emulator"
)

// BenchmarkTransfer runs cold and warm transfers end to end (HTTP → service
// → twilio-go → emulator) with 100 ms injected on every Twilio call, and
// reports per transfer: end-to-end latency, the Twilio calls made and the
// sequential round trips on the critical path (from the emulator's request
// log; Flex token validation, cached after an agent's first call, is left
// out). The samples need 4 or more sequential calls and have no guards.
func BenchmarkTransfer(b *testing.B) {
	for _, mode := range []string{"cold", "warm"} {
		b.Run(mode, func(b *testing.B) {
			w := startTransferWorld(b, 1)
			tokens := map[string]string{}
			token := func(workerSid string) string {
				if tok, ok := tokens[workerSid]; ok {
					return tok
				}
				tok, _ := w.Token(workerSid)
				// One call so that the service has validated the token.
				status, _ := w.Get(w.Services[0], "/parked-interactions", tok)
				require.Equal(b, http.StatusOK, status)
				tokens[workerSid] = tok
				return tok
			}
			alice, bob := w.workerSid("alice"), w.workerSid("bob")
			var total time.Duration
			var calls, rounds int
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				c := w.acceptedChat(fmt.Sprintf("+1555800%04d", i))
				c.AgentToken = token(c.AgentWorker)
				target := bob
				if c.AgentWorker == bob {
					target = alice
				}
				form := c.form(target, "mode", mode)
				if i == 0 {
					// The claim map is created by the first transfer ever.
					status, body := w.Post(w.Services[0], "/transfer", c.AgentToken, c.form(target, "mode", "cold"))
					require.Equal(b, http.StatusOK, status, "%v", body)
					w.cancelTask(b, body["taskSid"].(string))
					c = w.acceptedChat(fmt.Sprintf("+1555900%04d", i))
					c.AgentToken = token(c.AgentWorker)
					form = c.form(target, "mode", mode)
				}
				w.Faults(emulator.Fault{LatencyMs: benchLatencyMs})
				w.ClearRequests()
				b.StartTimer()
				start := time.Now()
				status, body := w.Post(w.Services[0], "/transfer", c.AgentToken, form)
				d := time.Since(start)
				b.StopTimer()
				w.Faults()
				require.Equal(b, http.StatusOK, status, "%v", body)
				cs := twilioCalls(w.World)
				total += d
				calls += len(cs)
				rounds = max(rounds, sequentialRoundTrips(cs))
				w.cancelTask(b, body["taskSid"].(string))
				if mode == "warm" {
					// Free the agent, who stayed: capacity would run out.
					_, err := w.Twilio.FlexV1.UpdateInteractionChannelParticipant(c.Interaction, c.Channel, c.AgentParticipant,
						(&flexapi.UpdateInteractionChannelParticipantParams{}).SetStatus("closed"))
					require.NoError(b, err)
				}
				b.StartTimer()
			}
			n := float64(b.N)
			b.ReportMetric(float64(total.Milliseconds())/n, "ms/transfer")
			b.ReportMetric(float64(calls)/n, "twilio-calls/op")
			b.ReportMetric(float64(rounds), "round-trips")
		})
	}
}

// cancelTask ends a transfer's task so that the workers' capacity does not
// fill up over the iterations (the cancel also ends a warm transfer).
func (w *transferWorld) cancelTask(b *testing.B, taskSid string) {
	_, err := w.Twilio.TaskrouterV1.UpdateTask(w.Seeded.WorkspaceSID, taskSid,
		(&taskrouterapi.UpdateTaskParams{}).SetAssignmentStatus("canceled"))
	require.NoError(b, err)
	w.Settle()
}
