package setup_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	conversations "github.com/twilio/twilio-go/rest/conversations/v1"
	taskrouter "github.com/twilio/twilio-go/rest/taskrouter/v1"

	"github.com/flexhooks/flexhooks/internal/e2etest"
	"github.com/flexhooks/flexhooks/internal/emulator"
	"github.com/flexhooks/flexhooks/internal/emulator/emutest"
	"github.com/flexhooks/flexhooks/internal/setup"
	"github.com/flexhooks/flexhooks/internal/twilio"
)

func client(t *testing.T, w *e2etest.World) *twilio.Client {
	t.Helper()
	tw, err := twilio.New(twilio.Options{AccountSID: emutest.AccountSID, AuthToken: emutest.AuthToken, EmulatorURL: w.EmuURL, Timeout: 5 * time.Second})
	require.NoError(t, err)
	return tw
}

func runSetup(t *testing.T, w *e2etest.World, dryRun bool) ([]setup.Result, string) {
	t.Helper()
	var out bytes.Buffer
	res, err := setup.Run(context.Background(), client(t, w), setup.Steps(setup.Config{
		WorkspaceSID: w.Seeded.WorkspaceSID, ChatServiceSID: w.Seeded.ChatServiceSID, PublicBaseURL: w.Services[0],
	}), dryRun, &out)
	require.NoError(t, err, out.String())
	return res, out.String()
}

// writes are the REST calls that changed something.
func writes(w *e2etest.World) []string {
	var out []string
	for _, r := range w.Requests() {
		if r.Method != http.MethodGet {
			out = append(out, r.Method+" "+r.Host+r.Path)
		}
	}
	return out
}

func changed(res []setup.Result) (n int) {
	for _, r := range res {
		n += len(r.Changes)
	}
	return n
}

// A seed without the Chat Transfer workflow, with event types and
// Conversations filters already configured by someone else.
func TestSetupIsIdempotentAndMerges(t *testing.T) {
	seed := emulator.DefaultSeed()
	seed.TaskRouter.Workflows = seed.TaskRouter.Workflows[:1]
	w := e2etest.Start(t, e2etest.Options{Seed: &seed})
	_, err := w.Twilio.TaskrouterV1.UpdateWorkspace(w.Seeded.WorkspaceSID, (&taskrouter.UpdateWorkspaceParams{}).
		SetEventCallbackUrl("https://old.example.com/events").SetEventsFilter("task.created,worker.activity.update"))
	require.NoError(t, err)
	_, err = w.Twilio.ConversationsV1.UpdateServiceWebhookConfiguration(w.Seeded.ChatServiceSID,
		(&conversations.UpdateServiceWebhookConfigurationParams{}).SetFilters([]string{"onParticipantAdded"}).SetMethod("POST"))
	require.NoError(t, err)

	// A dry run says what it would do and writes nothing.
	w.ClearRequests()
	res, out := runSetup(t, w, true)
	assert.Positive(t, changed(res))
	assert.Contains(t, out, "would change")
	assert.Contains(t, out, `create workflow "Chat Transfer"`)
	assert.Empty(t, writes(w), "a dry run changes nothing")

	res, out = runSetup(t, w, false)
	assert.Positive(t, changed(res))
	sid := regexp.MustCompile(`TWILIO_FLEX_CHAT_TRANSFER_WORKFLOW_SID=(WW[0-9a-f]{32})`).FindStringSubmatch(out)
	require.Len(t, sid, 2, out)

	ws, err := w.Twilio.TaskrouterV1.FetchWorkspace(w.Seeded.WorkspaceSID)
	require.NoError(t, err)
	assert.Equal(t, w.Services[0]+"/webhooks/reservation-accepted", *ws.EventCallbackUrl)
	filter := strings.Split(*ws.EventsFilter, ",")
	assert.Subset(t, filter, []string{"task.created", "worker.activity.update"}, "event types already configured are kept")
	assert.Subset(t, filter, setup.TaskRouterEventTypes())

	hook, err := w.Twilio.ConversationsV1.FetchServiceWebhookConfiguration(w.Seeded.ChatServiceSID)
	require.NoError(t, err)
	assert.Equal(t, w.Services[0]+"/webhooks/conversation-state-updated", *hook.PostWebhookUrl)
	assert.Equal(t, "POST", *hook.Method)
	assert.ElementsMatch(t, []string{"onParticipantAdded", "onConversationStateUpdated", "onMessageAdded"}, *hook.Filters)

	wf, err := w.Twilio.TaskrouterV1.FetchWorkflow(w.Seeded.WorkspaceSID, sid[1])
	require.NoError(t, err)
	assert.Equal(t, setup.TransferWorkflowName, *wf.FriendlyName)
	var cfg struct {
		TaskRouting struct {
			Filters []struct {
				Targets []map[string]any `json:"targets"`
			} `json:"filters"`
		} `json:"task_routing"`
	}
	require.NoError(t, json.Unmarshal([]byte(*wf.Configuration), &cfg))
	require.Len(t, cfg.TaskRouting.Filters, 4, "a worker filter and one per queue (Everyone, Support, Sales)")
	assert.Equal(t, "task.transferTargetSid", cfg.TaskRouting.Filters[0].Targets[0]["known_worker_sid"])
	assert.Contains(t, cfg.TaskRouting.Filters[3].Targets[0]["expression"], "NOT IN task.workerSidsInConversation")
	for _, f := range cfg.TaskRouting.Filters {
		for _, tg := range f.Targets {
			// TaskRouter has no null constant; the emulator refuses it as Twilio would.
			if e, ok := tg["expression"].(string); ok {
				assert.NotContains(t, e, "null")
			}
		}
	}

	// The second run changes nothing, and still prints the SID.
	w.ClearRequests()
	res, out = runSetup(t, w, false)
	assert.Zero(t, changed(res), out)
	assert.Empty(t, writes(w), "the second run changes nothing")
	assert.Contains(t, out, "TWILIO_FLEX_CHAT_TRANSFER_WORKFLOW_SID="+sid[1])
}

// The seeded Chat Transfer workflow is brought to setup's configuration
// once, then left alone.
func TestSetupUpdatesAnExistingWorkflow(t *testing.T) {
	w := e2etest.Start(t, e2etest.Options{})
	runSetup(t, w, false)
	w.ClearRequests()
	res, out := runSetup(t, w, false)
	assert.Zero(t, changed(res), out)
	assert.Contains(t, out, "TWILIO_FLEX_CHAT_TRANSFER_WORKFLOW_SID="+w.Seeded.TransferWorkflowSID)
	assert.Empty(t, writes(w))
}
