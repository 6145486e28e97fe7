// Package e2etest runs the whole service end to end for tests: a Twilio
// emulator with a manual clock and one or more flexhooks replicas assembled
// by internal/app (exactly as `flexhooks serve` assembles them) and wired to
// it over HTTP, plus the helpers a test needs to play customer, agent and
// Twilio: inbound messages, Flex tokens, reservation accepts, signed
// webhooks, the clock, faults and the emulator's request log.
package e2etest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	twilioapi "github.com/twilio/twilio-go"
	taskrouter "github.com/twilio/twilio-go/rest/taskrouter/v1"

	"github.com/flexhooks/flexhooks/internal/app"
	"github.com/flexhooks/flexhooks/internal/config"
	"github.com/flexhooks/flexhooks/internal/emulator"
	"github.com/flexhooks/flexhooks/internal/emulator/core"
	"github.com/flexhooks/flexhooks/internal/emulator/emutest"
	"github.com/flexhooks/flexhooks/internal/emulator/flex"
	"github.com/flexhooks/flexhooks/internal/isoduration"
	"github.com/flexhooks/flexhooks/webhooks"
)

// Options shape a World.
type Options struct {
	// Replicas is the number of service instances sharing the emulator (default 1).
	Replicas int
	// Configure adjusts every replica's configuration before it starts.
	Configure func(*config.Config)
	// Seed replaces the emulator's default world.
	Seed *emulator.Seed
}

// World is an emulator and the service replicas wired to it.
type World struct {
	T         testing.TB
	Emu       *emulator.Emulator
	EmuURL    string
	Seeded    emulator.Seeded
	AuthToken string
	// Services are the replicas' base URLs (also their PUBLIC_BASE_URL).
	Services []string
	// Apps are the replicas as internal/app assembled them, in the order
	// of Services: for what a benchmark measures in process (a sweep longer
	// than an HTTP request's deadline).
	Apps []*app.App
	// Twilio is a twilio-go client on the emulator for what a test does as
	// Twilio's other users would; its responses are checked against
	// Twilio's OpenAPI specs when they are present.
	Twilio *twilioapi.RestClient
	HTTP   *http.Client
}

// Start builds the world and tears it down when the test ends. Set
// E2E_LOG=1 to see the services' logs, E2E_LOG=debug to see them all
// (slower: a race that needs tight timing may then hide).
func Start(t testing.TB, opts Options) *World {
	t.Helper()
	emu, err := emulator.New(emulator.Options{
		AccountSID: emutest.AccountSID, AuthToken: emutest.AuthToken, ManualClock: true, Seed: opts.Seed,
		WebhookRetryDelays: []time.Duration{50 * time.Millisecond, 100 * time.Millisecond},
	})
	require.NoError(t, err)
	if os.Getenv("EMULATOR_BEHAVIOUR") == "worst-case" {
		// The variant matrix: every undocumented Twilio behaviour on its
		// less helpful side (core.WorstCaseBehaviour): EMULATOR_BEHAVIOUR=worst-case go test ./webhooks/...
		emu.SetBehaviour(core.WorstCaseBehaviour())
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	emuURL := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = emu.ListenAndServe(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done; emu.Close() })

	w := &World{
		T: t, Emu: emu, EmuURL: emuURL, Seeded: emu.SeededSIDs(), AuthToken: emutest.AuthToken,
		Twilio: emutest.Client(t, emuURL), HTTP: &http.Client{Timeout: 30 * time.Second},
	}
	for range max(opts.Replicas, 1) {
		base, a := w.startService(opts.Configure)
		w.Services, w.Apps = append(w.Services, base), append(w.Apps, a)
	}
	return w
}

func (w *World) startService(configure func(*config.Config)) (string, *app.App) {
	t := w.T
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	base := "http://" + ln.Addr().String()
	cfg := config.Config{
		AccountSID: emutest.AccountSID, AuthToken: emutest.AuthToken, EmulatorURL: w.EmuURL,
		WorkspaceSID: w.Seeded.WorkspaceSID, ChatServiceSID: w.Seeded.ChatServiceSID, SyncServiceSID: "default",
		TransferWorkflowSID: w.Seeded.TransferWorkflowSID,
		TwilioTimeout:       10 * time.Second, TwilioMaxAttempts: 3,
		PublicBaseURL: base, CORSAllowedOrigins: []string{"https://flex.twilio.com"},
		MaxRequestBodyBytes: 1 << 20, ParkedTTL: 24 * time.Hour,
		// The defaults of .env.example.
		ParkMaxAge: isoduration.Duration(14 * 24 * time.Hour), ParkExpiry: "close",
		ParkExpiredMessage: "We closed this conversation because it was waiting a long time. Write again any time and we will pick it up.",
		SweepGrace:         2 * time.Minute,
	}
	if configure != nil {
		configure(&cfg)
	}
	log := slog.New(slog.DiscardHandler)
	if v := os.Getenv("E2E_LOG"); v != "" {
		level := slog.LevelInfo
		if v == "debug" {
			level = slog.LevelDebug
		}
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})).With("service", base)
	}
	// The service tells time by the emulator's clock, as embedded mode
	// does: a park's age, a scheduled unpark and the sweeper's grace all
	// move when a test advances it.
	a, err := app.New(cfg, log, nil, app.WithClock(w.Emu.Now))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = a.Server.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	return base, a
}

// Control calls the emulator's control API; a non-2xx answer fails the test.
func (w *World) Control(method, path string, body, out any) {
	w.T.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(w.T, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, w.EmuURL+path, rd)
	require.NoError(w.T, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.HTTP.Do(req)
	require.NoError(w.T, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(w.T, err)
	require.Less(w.T, resp.StatusCode, 300, "%s %s: %s", method, path, b)
	if out != nil {
		require.NoError(w.T, json.Unmarshal(b, out), "%.300s", b)
	}
}

// ContactCentreAddress is the "to" of inbound messages.
const ContactCentreAddress = "+15550000000"

// Inbound makes a customer write in, and waits for the webhooks it causes.
func (w *World) Inbound(from, channel, body string) flex.InboundResult {
	var out flex.InboundResult
	w.Control(http.MethodPost, "/emulator/inbound", map[string]string{"from": from, "to": ContactCentreAddress, "channel": channel, "body": body}, &out)
	return out
}

// Token returns a Flex token for a worker (friendly name or SID) and its SID.
func (w *World) Token(worker string, roles ...string) (token, workerSid string) {
	if len(roles) == 0 {
		roles = []string{"agent"}
	}
	var out struct{ Token, WorkerSid string }
	w.Control(http.MethodPost, "/emulator/workers/"+worker+"/token", map[string]any{"roles": roles}, &out)
	return out.Token, out.WorkerSid
}

// Settle waits until every webhook in flight, and what it caused, is delivered.
func (w *World) Settle() { w.Control(http.MethodPost, "/emulator/settle", nil, nil) }

// Advance moves the virtual clock by an ISO-8601 duration and waits for the webhooks it fires.
func (w *World) Advance(iso string) {
	w.Control(http.MethodPost, "/emulator/clock", map[string]string{"advance": iso}, nil)
}

// Faults replaces the emulator's fault rules; none clears them.
func (w *World) Faults(rules ...emulator.Fault) {
	if len(rules) == 0 {
		w.Control(http.MethodDelete, "/emulator/faults", nil, nil)
		return
	}
	w.Control(http.MethodPut, "/emulator/faults", rules, nil)
}

// ReplayFailedWebhooks delivers again, once, every webhook whose last
// delivery failed (a 5xx, a timeout, no connection) and answers how many it
// replayed. Twilio does not deliver a webhook again after a 5xx on its own:
// a test that plays "Twilio delivered it twice" says so with this call.
func (w *World) ReplayFailedWebhooks() int {
	w.T.Helper()
	var log struct {
		Webhooks []core.Delivery `json:"webhooks"`
	}
	w.Control(http.MethodGet, "/emulator/webhooks", nil, &log)
	n := 0
	for _, d := range log.Webhooks {
		if d.Status >= 500 || (d.Status == 0 && d.Error != "") {
			w.Control(http.MethodPost, "/emulator/webhooks/"+strconv.Itoa(d.ID)+"/replay", nil, nil)
			n++
		}
	}
	return n
}

// Requests is the emulator's log of Twilio REST calls.
func (w *World) Requests() []emulator.LoggedRequest {
	var out struct{ Requests []emulator.LoggedRequest }
	w.Control(http.MethodGet, "/emulator/requests", nil, &out)
	return out.Requests
}

// ClearRequests empties the request log.
func (w *World) ClearRequests() { w.Control(http.MethodDelete, "/emulator/requests", nil, nil) }

// State is GET /emulator/state, decoded into out (a struct with the parts the test reads).
func (w *World) State(out any) { w.Control(http.MethodGet, "/emulator/state", nil, out) }

// AcceptReservation accepts the task's pending reservation through the real
// TaskRouter API, as the agent's Flex UI does, waits for the webhooks it
// fires, and returns the worker it went to.
func (w *World) AcceptReservation(taskSid string) string {
	w.T.Helper()
	return w.answerReservation(taskSid, "accepted")
}

// answerReservation sets the task's pending reservation to status (accepted,
// rejected) through TaskRouter, waits for the webhooks, and returns its worker.
func (w *World) answerReservation(taskSid, status string) string {
	w.T.Helper()
	res, err := w.Twilio.TaskrouterV1.ListTaskReservation(w.Seeded.WorkspaceSID, taskSid,
		(&taskrouter.ListTaskReservationParams{}).SetReservationStatus("pending"))
	require.NoError(w.T, err)
	require.NotEmpty(w.T, res, "no pending reservation for task %s", taskSid)
	_, err = w.Twilio.TaskrouterV1.UpdateTaskReservation(w.Seeded.WorkspaceSID, taskSid, *res[0].Sid,
		(&taskrouter.UpdateTaskReservationParams{}).SetReservationStatus(status))
	require.NoError(w.T, err)
	w.Settle()
	return *res[0].WorkerSid
}

// Post sends a plugin call with a Flex token: a form when body is url.Values
// (the token in its Token field, as flex-project-template sends it), JSON
// otherwise (the token as a Bearer header).
func (w *World) Post(service, path, token string, body any) (int, map[string]any) {
	w.T.Helper()
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
		require.NoError(w.T, err)
		rd = bytes.NewReader(js)
	}
	req, err := http.NewRequest(http.MethodPost, service+path, rd)
	require.NoError(w.T, err)
	req.Header.Set("Content-Type", ct)
	if _, isForm := body.(url.Values); token != "" && !isForm {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return w.do(req)
}

// Get sends a plugin GET with the token as a Bearer header.
func (w *World) Get(service, pathAndQuery, token string) (int, map[string]any) {
	w.T.Helper()
	return w.Send(http.MethodGet, service, pathAndQuery, token, nil)
}

// Send is a plugin call with any method (PATCH…): the token as a Bearer
// header and body as JSON, none when body is nil.
func (w *World) Send(method, service, path, token string, body any) (int, map[string]any) {
	w.T.Helper()
	var rd io.Reader
	if body != nil {
		js, err := json.Marshal(body)
		require.NoError(w.T, err)
		rd = bytes.NewReader(js)
	}
	req, err := http.NewRequest(method, service+path, rd)
	require.NoError(w.T, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return w.do(req)
}

// SignedPost posts a form webhook signed as Twilio signs it.
func (w *World) SignedPost(fullURL string, form url.Values) (int, map[string]any) {
	req, err := http.NewRequest(http.MethodPost, fullURL, strings.NewReader(form.Encode()))
	require.NoError(w.T, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", core.Signature(w.AuthToken, fullURL, form))
	return w.do(req)
}

func (w *World) do(req *http.Request) (int, map[string]any) {
	w.T.Helper()
	resp, err := w.HTTP.Do(req)
	require.NoError(w.T, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(w.T, err)
	w.checkAPI(req, resp.StatusCode, resp.Header, b)
	var out map[string]any
	if len(b) > 0 {
		require.NoError(w.T, json.Unmarshal(b, &out), "answer is not JSON: %.300s", b)
	}
	return resp.StatusCode, out
}

// Sweep runs one sweep on the replica at index replica, as an operator
// would (POST /admin/sweep with the service's credentials), and returns
// its report; the test fails unless it answers 200.
func (w *World) Sweep(replica int, dryRun bool) webhooks.SweepReport {
	w.T.Helper()
	u := w.Services[replica] + app.SweepPath
	if dryRun {
		u += "?dryRun=true"
	}
	req, err := http.NewRequest(http.MethodPost, u, nil)
	require.NoError(w.T, err)
	req.SetBasicAuth(emutest.AccountSID, w.AuthToken)
	resp, err := w.HTTP.Do(req)
	require.NoError(w.T, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(w.T, err)
	require.Equal(w.T, http.StatusOK, resp.StatusCode, "sweep: %s", b)
	w.checkAPI(req, resp.StatusCode, resp.Header, b)
	var rep webhooks.SweepReport
	require.NoError(w.T, json.Unmarshal(b, &rep))
	return rep
}

// Repaired lists the kinds a sweep repaired, in order, once each time.
func Repaired(rep webhooks.SweepReport) []string {
	var kinds []string
	for _, r := range rep.Repairs {
		if r.Outcome == webhooks.OutcomeRepaired {
			kinds = append(kinds, r.Kind)
		}
	}
	return kinds
}
