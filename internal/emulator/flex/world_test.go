package flex

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twilio/twilio-go"

	"github.com/flexhooks/flexhooks/internal/emulator/conversations"
	"github.com/flexhooks/flexhooks/internal/emulator/core"
	"github.com/flexhooks/flexhooks/internal/emulator/emutest"
	"github.com/flexhooks/flexhooks/internal/emulator/taskrouter"
)

// byHost serves each Twilio host with its product's handler, as the
// emulator's top level does, so one test server speaks all three APIs.
type byHost map[string]http.Handler

func (b byHost) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if h, ok := b[host]; ok {
		h.ServeHTTP(w, r)
		return
	}
	core.WriteError(w, core.NotFound(r))
}

// world is conversations + taskrouter (default seed) + flex behind one
// locked handler, and a real twilio-go client talking to it.
type world struct {
	env  *core.Env
	conv *conversations.Store
	tr   *taskrouter.Store
	flex *Store
	c    *twilio.RestClient
	ws   string
}

var testStart = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func newWorld(t *testing.T) *world {
	t.Helper()
	env := emutest.NewEnv(testStart)
	conv := conversations.New(env)
	tr := taskrouter.New(env)
	require.NoError(t, tr.Load(taskrouter.DefaultSeed()))
	f := New(env, conv, tr)
	h := byHost{
		"conversations.twilio.com": conv.Routes(),
		"taskrouter.twilio.com":    tr.Routes(),
		"flex-api.twilio.com":      f.Routes(),
	}
	srv := emutest.Serve(t, core.Locked(env, h))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = env.Outbox.Settle(ctx)
	})
	return &world{env: env, conv: conv, tr: tr, flex: f, c: emutest.Client(t, srv.URL), ws: tr.WorkspaceSID()}
}

// locked runs fn with the world lock held, as the control API does.
func (w *world) locked(fn func()) {
	w.env.Lock()
	defer w.env.Unlock()
	fn()
}

func (w *world) inbound(t *testing.T, req InboundRequest) InboundResult {
	t.Helper()
	var res InboundResult
	var err *core.Error
	w.locked(func() { res, err = w.flex.Inbound(req) })
	require.Nil(t, err)
	return res
}

// task reads a task's state under the lock (a copy, so the test does not race the world).
func (w *world) task(t *testing.T, sid string) taskrouter.Task {
	t.Helper()
	var out taskrouter.Task
	w.locked(func() {
		tk := w.tr.Task(w.ws, sid)
		require.NotNil(t, tk, "task %s", sid)
		out = *tk
	})
	return out
}

func (w *world) workerSid(t *testing.T, name string) string {
	t.Helper()
	var sid string
	w.locked(func() {
		wk := w.tr.Worker(w.ws, name)
		require.NotNil(t, wk, "worker %s", name)
		sid = wk.Sid
	})
	return sid
}

func (w *world) workflowSid(t *testing.T, name string) string {
	t.Helper()
	var sid string
	w.locked(func() { sid = w.tr.WorkflowSID(w.ws, name) })
	require.NotEmpty(t, sid, "workflow %s", name)
	return sid
}

func (w *world) queueSid(t *testing.T, name string) string {
	t.Helper()
	var sid string
	w.locked(func() { sid = w.tr.QueueSID(w.ws, name) })
	require.NotEmpty(t, sid, "queue %s", name)
	return sid
}
