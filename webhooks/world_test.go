package webhooks_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	conversations "github.com/twilio/twilio-go/rest/conversations/v1"
	syncv1 "github.com/twilio/twilio-go/rest/sync/v1"
	taskrouterapi "github.com/twilio/twilio-go/rest/taskrouter/v1"

	"github.com/flexhooks/flexhooks/internal/e2etest"
	"github.com/flexhooks/flexhooks/internal/emulator/flex"
)

// world is the end-to-end harness (an emulator with a manual clock and the
// service replicas internal/app assembles, over HTTP) with the helpers the
// park tests share.
type world struct {
	*e2etest.World
	t        testing.TB
	services []string
}

func newWorld(t testing.TB, replicas int) *world {
	t.Helper()
	ew := e2etest.Start(t, e2etest.Options{Replicas: replicas})
	return &world{World: ew, t: t, services: ew.Services}
}

func (w *world) inbound(from, channel, body string) flex.InboundResult {
	return w.Inbound(from, channel, body)
}

func (w *world) flexToken(worker string, roles ...string) (token, workerSid string) {
	return w.Token(worker, roles...)
}

func (w *world) settle() { w.Settle() }

func (w *world) control(method, path string, body, out any) { w.Control(method, path, body, out) }

// faults sets fault rules given as the control API's JSON (none clears).
func (w *world) faults(rules ...map[string]any) {
	if len(rules) == 0 {
		w.Control(http.MethodDelete, "/emulator/faults", nil, nil)
		return
	}
	w.Control(http.MethodPut, "/emulator/faults", rules, nil)
}

func (w *world) requests() []call {
	var out []call
	for _, r := range w.Requests() {
		out = append(out, call{Method: r.Method, Host: r.Host, Path: r.Path, Status: r.Status, Start: r.Start, Duration: r.Duration})
	}
	return out
}

func (w *world) clearRequests() { w.ClearRequests() }

func (w *world) acceptReservation(taskSid string) string { return w.AcceptReservation(taskSid) }

func (w *world) post(service, path, token string, body any) (int, map[string]any) {
	return w.Post(service, path, token, body)
}

func (w *world) get(service, pathAndQuery, token string) (int, map[string]any) {
	return w.Get(service, pathAndQuery, token)
}

func (w *world) signedPost(fullURL string, form map[string][]string) (int, map[string]any) {
	return w.SignedPost(fullURL, form)
}

// state is the part of GET /emulator/state the tests read.
type state struct {
	TaskRouter struct {
		Workspaces []workspaceState `json:"workspaces"`
	} `json:"taskrouter"`
	Conversations struct {
		Conversations []struct {
			Sid        string `json:"sid"`
			State      string `json:"state"`
			Attributes string `json:"attributes"`
			Webhooks   []struct {
				Sid     string   `json:"sid"`
				URL     string   `json:"url"`
				Method  string   `json:"method"`
				Filters []string `json:"filters"`
			} `json:"webhooks"`
		} `json:"conversations"`
	} `json:"conversations"`
	Flex struct {
		Interactions []struct {
			Sid     string `json:"sid"`
			Channel struct {
				Sid             string `json:"sid"`
				Type            string `json:"type"`
				Status          string `json:"status"`
				ConversationSid string `json:"conversationSid"`
				Participants    []struct {
					Sid       string `json:"sid"`
					Type      string `json:"type"`
					Status    string `json:"status"`
					TaskSid   string `json:"taskSid"`
					WorkerSid string `json:"workerSid"`
				} `json:"participants"`
			} `json:"channel"`
		} `json:"interactions"`
	} `json:"flex"`
	Sync struct {
		Services []struct {
			Maps []struct {
				UniqueName *string `json:"uniqueName"`
				Items      []struct {
					Key  string         `json:"key"`
					Data map[string]any `json:"data"`
				} `json:"items"`
			} `json:"maps"`
		} `json:"services"`
	} `json:"sync"`
}

type workspaceState struct {
	Tasks []struct {
		Sid              string         `json:"sid"`
		AssignmentStatus string         `json:"assignmentStatus"`
		Attributes       map[string]any `json:"attributes"`
		TaskChannel      string         `json:"taskChannel"`
		WorkflowSid      string         `json:"workflowSid"`
		QueueSid         string         `json:"queueSid"`
		Queue            string         `json:"queue"`
		WorkerSid        string         `json:"workerSid"`
	} `json:"tasks"`
}

func (w *world) state() state {
	var s state
	w.State(&s)
	return s
}

// systemMessage adds a message through the REST API, as a system or the
// service itself would, firing the conversation's webhooks.
func (w *world) systemMessage(csid, author, body string) {
	w.t.Helper()
	_, err := w.Twilio.ConversationsV1.CreateConversationMessage(csid, (&conversations.CreateConversationMessageParams{}).
		SetAuthor(author).SetBody(body).SetXTwilioWebhookEnabled("true"))
	require.NoError(w.t, err)
}

func (w *world) closeConversation(csid string) {
	w.t.Helper()
	_, err := w.Twilio.ConversationsV1.UpdateConversation(csid, (&conversations.UpdateConversationParams{}).SetState("closed"))
	require.NoError(w.t, err)
}

// createSyncMap creates a map in the default Sync service.
func (w *world) createSyncMap(name string) {
	w.t.Helper()
	_, err := w.Twilio.SyncV1.CreateSyncMap("default", (&syncv1.CreateSyncMapParams{}).SetUniqueName(name))
	require.NoError(w.t, err)
}

// setActivity moves a worker to the named activity (Available, Offline…)
// through the TaskRouter API, as the agent's Flex UI does.
func setActivity(t testing.TB, w *e2etest.World, workerSid, activity string) {
	t.Helper()
	acts, err := w.Twilio.TaskrouterV1.ListActivity(w.Seeded.WorkspaceSID,
		(&taskrouterapi.ListActivityParams{}).SetFriendlyName(activity))
	require.NoError(t, err)
	require.Len(t, acts, 1, "activity %s", activity)
	_, err = w.Twilio.TaskrouterV1.UpdateWorker(w.Seeded.WorkspaceSID, workerSid,
		(&taskrouterapi.UpdateWorkerParams{}).SetActivitySid(*acts[0].Sid))
	require.NoError(t, err)
	w.Settle()
}

// queueSid is the SID of the seeded task queue of that name.
func queueSid(t testing.TB, w *e2etest.World, name string) string {
	t.Helper()
	qs, err := w.Twilio.TaskrouterV1.ListTaskQueue(w.Seeded.WorkspaceSID,
		(&taskrouterapi.ListTaskQueueParams{}).SetFriendlyName(name))
	require.NoError(t, err)
	require.Len(t, qs, 1, "queue %s", name)
	return *qs[0].Sid
}
