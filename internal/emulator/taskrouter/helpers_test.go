package taskrouter

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twilio/twilio-go"
	trv1 "github.com/twilio/twilio-go/rest/taskrouter/v1"

	"github.com/flexhooks/flexhooks/internal/emulator/core"
	"github.com/flexhooks/flexhooks/internal/emulator/emutest"
)

var start = time.Date(2026, 1, 2, 9, 0, 0, 0, time.UTC)

// world is the default seed served over HTTP to the real twilio-go client.
type world struct {
	env   *core.Env
	store *Store
	srv   *httptest.Server
	c     *twilio.RestClient
	tr    *trv1.ApiService
	ws    string
}

func newWorld(t *testing.T) *world {
	return newWorldWith(t, DefaultSeed())
}

func newWorldWith(t *testing.T, seed Seed) *world {
	t.Helper()
	outbox := core.NewOutbox(emutest.AuthToken, nil)
	outbox.RetryDelays = nil
	env := core.NewEnv(emutest.AccountSID, emutest.AuthToken, start, nil, outbox)
	s := New(env)
	require.NoError(t, s.Load(seed))
	srv := emutest.Serve(t, core.Locked(env, s.Routes()))
	c := emutest.Client(t, srv.URL)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = env.Outbox.Settle(ctx)
	})
	return &world{env: env, store: s, srv: srv, c: c, tr: c.TaskrouterV1, ws: s.WorkspaceSID()}
}

// locked runs fn with the world lock held, as the emulator's HTTP layer would.
func (w *world) locked(fn func()) {
	w.env.Lock()
	defer w.env.Unlock()
	fn()
}

// advance moves the virtual clock, firing due timers.
func (w *world) advance(d time.Duration) {
	w.locked(func() { w.env.AdvanceTo(w.env.Now().Add(d)) })
}

func (w *world) sid(prefix, name string) string { return core.SeedSID(prefix, name) }

func (w *world) workflow(name string) string { return w.sid("WW", name) }

func (w *world) createTask(t *testing.T, workflow string, attrs map[string]any) *trv1.TaskrouterV1Task {
	t.Helper()
	if attrs == nil {
		attrs = map[string]any{}
	}
	b, err := json.Marshal(attrs)
	require.NoError(t, err)
	p := (&trv1.CreateTaskParams{}).SetAttributes(string(b)).SetTaskChannel("chat")
	if workflow != "" {
		p.SetWorkflowSid(workflow)
	}
	task, err := w.tr.CreateTask(w.ws, p)
	require.NoError(t, err)
	return task
}

// reservations lists a task's reservations, optionally by status.
func (w *world) reservations(t *testing.T, taskSid, status string) []trv1.TaskrouterV1TaskReservation {
	t.Helper()
	p := &trv1.ListTaskReservationParams{}
	if status != "" {
		p.SetReservationStatus(status)
	}
	list, err := w.tr.ListTaskReservation(w.ws, taskSid, p)
	require.NoError(t, err)
	return list
}

// pending is the task's one pending reservation.
func (w *world) pending(t *testing.T, taskSid string) trv1.TaskrouterV1TaskReservation {
	t.Helper()
	list := w.reservations(t, taskSid, "pending")
	require.Len(t, list, 1, "one pending reservation")
	return list[0]
}

func (w *world) setReservation(t *testing.T, taskSid, resSid, status string) (*trv1.TaskrouterV1TaskReservation, error) {
	t.Helper()
	return w.tr.UpdateTaskReservation(w.ws, taskSid, resSid, (&trv1.UpdateTaskReservationParams{}).SetReservationStatus(status))
}

func (w *world) fetchTask(t *testing.T, sid string) *trv1.TaskrouterV1Task {
	t.Helper()
	task, err := w.tr.FetchTask(w.ws, sid)
	require.NoError(t, err)
	return task
}

func (w *world) settle(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, w.env.Outbox.Settle(ctx))
}

// receiver records the callbacks it gets and checks their signatures.
type receiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []url.Values
	bad int
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		want := core.Signature(emutest.AuthToken, rc.srv.URL+r.URL.RequestURI(), r.PostForm)
		rc.mu.Lock()
		if r.Header.Get("X-Twilio-Signature") != want {
			rc.bad++
		}
		rc.got = append(rc.got, r.PostForm)
		rc.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) events() []url.Values {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]url.Values(nil), rc.got...)
}

func (rc *receiver) types() []string {
	var out []string
	for _, e := range rc.events() {
		out = append(out, e.Get("EventType"))
	}
	return out
}

func (rc *receiver) find(eventType string) []url.Values {
	var out []url.Values
	for _, e := range rc.events() {
		if e.Get("EventType") == eventType {
			out = append(out, e)
		}
	}
	return out
}
