package webhooks_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	twclient "github.com/twilio/twilio-go/client"
	taskrouter "github.com/twilio/twilio-go/rest/taskrouter/v1"

	"github.com/flexhooks/flexhooks/internal/emulator"
	"github.com/flexhooks/flexhooks/internal/server"
	"github.com/flexhooks/flexhooks/internal/twilio"
	"github.com/flexhooks/flexhooks/webhooks"
)

// world is an emulator (manual clock) and one or more flexhooks service
// instances wired to it over HTTP, as `flexhooks serve` with EMULATOR_URL
// runs them.
type world struct {
	t        testing.TB
	emu      *emulator.Emulator
	emuURL   string
	seeded   emulator.Seeded
	token    string // auth token
	services []string
	http     *http.Client
}

func newWorld(t testing.TB, replicas int) *world {
	t.Helper()
	emu, err := emulator.New(emulator.Options{ManualClock: true, WebhookRetryDelays: []time.Duration{50 * time.Millisecond, 100 * time.Millisecond}})
	require.NoError(t, err)
	emuSrv := httptest.NewServer(emu)
	t.Cleanup(func() { emuSrv.Close(); emu.Close() })
	sid, tok := emu.Credentials()
	w := &world{t: t, emu: emu, emuURL: emuSrv.URL, seeded: emu.SeededSIDs(), token: tok, http: &http.Client{Timeout: 30 * time.Second}}
	for range max(replicas, 1) {
		w.services = append(w.services, w.startService(sid, tok))
	}
	return w
}

func (w *world) startService(accountSID, authToken string) string {
	t := w.t
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	base := "http://" + ln.Addr().String()
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("WORLD_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	tw, err := twilio.New(twilio.Options{AccountSID: accountSID, AuthToken: authToken, EmulatorURL: w.emuURL, WorkspaceSID: w.seeded.WorkspaceSID, Logger: log})
	require.NoError(t, err)
	parks := webhooks.NewParks(tw.Operations("default"), webhooks.ParkConfig{
		PublicBaseURL: base, WorkspaceSid: w.seeded.WorkspaceSID, ParkedTTL: 24 * time.Hour,
	}, log)
	srv := server.New(server.Options{
		Logger: log, AuthToken: authToken, PublicBaseURL: base, Tokens: tw,
		Routes: parkRoutes(parks), RequestTimeout: 20 * time.Second,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	return base
}

// parkRoutes mirrors cmd/flexhooks/routes.go (a main package cannot be imported).
func parkRoutes(p *webhooks.Parks) []server.Route {
	park := server.Endpoint(func(ctx context.Context, req *webhooks.ParkRequest) (*webhooks.ParkResponse, error) {
		return p.Park(ctx, *req)
	})
	unpark := server.Endpoint(func(ctx context.Context, req *webhooks.UnparkRequest) (*webhooks.UnparkResponse, error) {
		return p.Unpark(ctx, *req)
	})
	hook := server.Endpoint(func(ctx context.Context, ev *webhooks.MessageAddedEvent) (*webhooks.UnparkResponse, error) {
		return p.UnparkWebhook(ctx, *ev)
	})
	list := server.Endpoint(func(ctx context.Context, req *webhooks.ParkedListRequest) (*webhooks.ParkedListResponse, error) {
		return p.ParkedList(ctx, *req)
	})
	return []server.Route{
		{Method: http.MethodPost, Pattern: "/park-interaction", Auth: server.AuthFlexToken, Handler: park},
		{Method: http.MethodPost, Pattern: "/features/park-interaction/flex/park-interaction", Auth: server.AuthFlexToken, Handler: park},
		{Method: http.MethodPost, Pattern: "/unpark-interaction", Auth: server.AuthFlexToken, Handler: unpark},
		{Method: http.MethodPost, Pattern: "/features/park-interaction/flex/unpark-interaction", Auth: server.AuthFlexToken, Handler: unpark},
		{Method: http.MethodPost, Pattern: webhooks.UnparkWebhookPath, Auth: server.AuthSignature, Handler: hook},
		{Method: http.MethodPost, Pattern: "/features/park-interaction/common/unpark-interaction", Auth: server.AuthSignature, Handler: hook},
		{Method: http.MethodGet, Pattern: "/parked-interactions", Auth: server.AuthFlexToken, Handler: list},
	}
}

// control calls the emulator's control API.
func (w *world) control(method, path string, body any, out any) {
	w.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(w.t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, w.emuURL+path, rd)
	require.NoError(w.t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.http.Do(req)
	require.NoError(w.t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	require.Less(w.t, resp.StatusCode, 300, "%s %s: %s", method, path, b)
	if out != nil {
		require.NoError(w.t, json.Unmarshal(b, out), "%.300s", b)
	}
}

type inboundResult struct {
	ConversationSid string `json:"conversationSid"`
	MessageSid      string `json:"messageSid"`
	InteractionSid  string `json:"interactionSid"`
	TaskSid         string `json:"taskSid"`
}

func (w *world) inbound(from, channel, body string) inboundResult {
	var out inboundResult
	w.control(http.MethodPost, "/emulator/inbound", map[string]string{"from": from, "to": "+15550000000", "channel": channel, "body": body}, &out)
	return out
}

// flexToken returns a Flex token for a worker (friendly name or SID).
func (w *world) flexToken(worker string, roles ...string) (token, workerSid string) {
	if len(roles) == 0 {
		roles = []string{"agent"}
	}
	var out struct {
		Token     string `json:"token"`
		WorkerSid string `json:"workerSid"`
	}
	w.control(http.MethodPost, "/emulator/workers/"+worker+"/token", map[string]any{"roles": roles}, &out)
	return out.Token, out.WorkerSid
}

func (w *world) settle() { w.control(http.MethodPost, "/emulator/settle", nil, nil) }

func (w *world) faults(rules ...map[string]any) {
	if len(rules) == 0 {
		w.control(http.MethodDelete, "/emulator/faults", nil, nil)
		return
	}
	w.control(http.MethodPut, "/emulator/faults", rules, nil)
}

func (w *world) requests() []call {
	var out struct {
		Requests []call `json:"requests"`
	}
	w.control(http.MethodGet, "/emulator/requests", nil, &out)
	return out.Requests
}

func (w *world) clearRequests() { w.control(http.MethodDelete, "/emulator/requests", nil, nil) }

// state is the part of GET /emulator/state the tests read.
type state struct {
	TaskRouter struct {
		Workspaces []workspaceState `json:"workspaces"`
	} `json:"taskrouter"`
	Conversations struct {
		Conversations []struct {
			Sid          string `json:"sid"`
			State        string `json:"state"`
			Attributes   string `json:"attributes"`
			Participants []struct {
				Sid      string `json:"sid"`
				Identity string `json:"identity"`
				Address  string `json:"address"`
			} `json:"participants"`
			Webhooks []struct {
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
				Invites []struct {
					Sid     string         `json:"sid"`
					TaskSid string         `json:"taskSid"`
					Routing map[string]any `json:"routing"`
				} `json:"invites"`
			} `json:"channel"`
		} `json:"interactions"`
	} `json:"flex"`
	Sync json.RawMessage `json:"sync"`
}

func (w *world) state() state {
	var s state
	w.control(http.MethodGet, "/emulator/state", nil, &s)
	return s
}

// restClient is a twilio-go client on the emulator, for what the tests do
// as Twilio's other users would (accepting a reservation as Flex does).
func (w *world) restClient() *twclient.RequestHandler {
	sid, tok := w.emu.Credentials()
	u, _ := url.Parse(w.emuURL)
	c := &twclient.Client{Credentials: twclient.NewCredentials(sid, tok), HTTPClient: &http.Client{Transport: &hostKeeper{target: u}}}
	c.SetAccountSid(sid)
	return twclient.NewRequestHandler(c)
}

type hostKeeper struct{ target *url.URL }

func (h *hostKeeper) RoundTrip(r *http.Request) (*http.Response, error) {
	out := r.Clone(r.Context())
	out.Host = r.URL.Host
	out.URL.Scheme, out.URL.Host = h.target.Scheme, h.target.Host
	return http.DefaultTransport.RoundTrip(out)
}

// acceptReservation accepts the pending reservation of a task, as the agent's
// Flex UI does, and returns the worker it went to.
func (w *world) acceptReservation(taskSid string) string {
	w.t.Helper()
	for _, ws := range w.state().TaskRouter.Workspaces {
		for _, r := range ws.Reservations {
			if r.TaskSid == taskSid && r.Status == "pending" {
				tr := taskrouter.NewApiService(w.restClient())
				_, err := tr.UpdateTaskReservation(w.seeded.WorkspaceSID, taskSid, r.Sid, (&taskrouter.UpdateTaskReservationParams{}).SetReservationStatus("accepted"))
				require.NoError(w.t, err)
				w.settle()
				return r.WorkerSid
			}
		}
	}
	w.t.Fatalf("no pending reservation for task %s", taskSid)
	return ""
}

// post sends a plugin call with a Flex token: form when body is url.Values,
// JSON otherwise.
func (w *world) post(service, path, token string, body any) (int, map[string]any) {
	w.t.Helper()
	var rd io.Reader
	ct := "application/json"
	switch b := body.(type) {
	case url.Values:
		if token != "" {
			b.Set("Token", token)
		}
		rd, ct = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	default:
		js, err := json.Marshal(body)
		require.NoError(w.t, err)
		rd = bytes.NewReader(js)
	}
	req, err := http.NewRequest(http.MethodPost, service+path, rd)
	require.NoError(w.t, err)
	req.Header.Set("Content-Type", ct)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return w.do(req)
}

func (w *world) get(service, pathAndQuery, token string) (int, map[string]any) {
	req, err := http.NewRequest(http.MethodGet, service+pathAndQuery, nil)
	require.NoError(w.t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	return w.do(req)
}

func (w *world) do(req *http.Request) (int, map[string]any) {
	resp, err := w.http.Do(req)
	require.NoError(w.t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

// signedPost posts a Twilio-signed webhook (form) to fullURL.
func (w *world) signedPost(fullURL string, form url.Values) (int, map[string]any) {
	req, err := http.NewRequest(http.MethodPost, fullURL, strings.NewReader(form.Encode()))
	require.NoError(w.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twilioSignature(w.token, fullURL, form))
	return w.do(req)
}

// twilioSignature is X-Twilio-Signature: base64 HMAC-SHA1 over the URL and
// the sorted form parameters, each name followed by its value.
func twilioSignature(authToken, fullURL string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(fullURL)
	for _, k := range keys {
		for _, v := range form[k] {
			b.WriteString(k)
			b.WriteString(v)
		}
	}
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
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
	Reservations []struct {
		Sid       string `json:"sid"`
		TaskSid   string `json:"taskSid"`
		WorkerSid string `json:"workerSid"`
		Status    string `json:"status"`
	} `json:"reservations"`
}

// createSyncMap creates a map in the default Sync service.
func (w *world) createSyncMap(name string) {
	w.t.Helper()
	form := url.Values{"UniqueName": {name}}
	req, err := http.NewRequest(http.MethodPost, w.emuURL+"/v1/Services/default/Maps", strings.NewReader(form.Encode()))
	require.NoError(w.t, err)
	req.Host = "sync.twilio.com"
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	sid, tok := w.emu.Credentials()
	req.SetBasicAuth(sid, tok)
	resp, err := w.http.Do(req)
	require.NoError(w.t, err)
	resp.Body.Close()
	require.Less(w.t, resp.StatusCode, 300)
}
