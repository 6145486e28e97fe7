package emulator

import (
	"context"
	"encoding/json"
	"github.com/flexhooks/flexhooks/internal/isoduration"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/flexhooks/flexhooks/internal/emulator/core"
	"github.com/flexhooks/flexhooks/internal/emulator/flex"
	"github.com/flexhooks/flexhooks/internal/emulator/iam"
)

// settleTimeout bounds how long a control call waits for the webhooks it caused.
const settleTimeout = 30 * time.Second

// controlRoutes is the JSON control API of DESIGN.md ("The emulator's control
// API"); docs/emulator.md documents it. Calls that cause webhooks (inbound,
// clock) wait until those webhooks and their consequences are delivered,
// unless ?wait=false: that is how tests observe results without sleeping.
func (e *Emulator) controlRoutes() http.Handler {
	r := chi.NewRouter()
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		controlError(w, http.StatusNotFound, "no such control call: "+r.Method+" "+r.URL.Path)
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		controlError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed on "+r.URL.Path)
	})
	r.Route("/emulator", func(r chi.Router) {
		r.Post("/inbound", e.postInbound)
		r.Post("/conversations/{conversation}/messages", e.postAgentMessage)
		r.Post("/workers/{worker}/token", e.postWorkerToken)
		r.Get("/clock", e.getClock)
		r.Post("/clock", e.postClock)
		r.Get("/state", e.getState)
		r.Get("/requests", e.getRequests)
		r.Delete("/requests", e.deleteRequests)
		r.Get("/faults", e.getFaults)
		r.Put("/faults", e.putFaults)
		r.Delete("/faults", e.deleteFaults)
		r.Get("/webhooks", e.getWebhooks)
		r.Delete("/webhooks", e.deleteWebhooks)
		r.Post("/webhooks/{id}/replay", e.replayWebhook)
		r.Post("/settle", e.postSettle)
		r.Get("/seed", e.getSeeded)
		r.Get("/behaviour", e.getBehaviour)
		r.Patch("/behaviour", e.patchBehaviour)
		r.Put("/behaviour", e.putBehaviour)
		r.Get("/sync/usage", e.getSyncUsage)
	})
	return r
}

type controlErrorBody struct {
	Error string `json:"error"`
}

func controlError(w http.ResponseWriter, status int, msg string) {
	core.WriteJSON(w, status, controlErrorBody{Error: msg})
}

// decodeControl reads a small JSON body strictly; an empty body leaves v as is.
func decodeControl(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		controlError(w, http.StatusBadRequest, "reading body: "+err.Error())
		return false
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return true
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		controlError(w, http.StatusBadRequest, "malformed JSON body: "+err.Error())
		return false
	}
	return true
}

// settle waits for webhooks unless the caller asked not to.
func (e *Emulator) settle(w http.ResponseWriter, r *http.Request) bool {
	if r.URL.Query().Get("wait") == "false" {
		return true
	}
	ctx, cancel := context.WithTimeout(r.Context(), settleTimeout)
	defer cancel()
	if err := e.Settle(ctx); err != nil {
		controlError(w, http.StatusGatewayTimeout, "webhooks still in flight after "+settleTimeout.String()+": "+err.Error())
		return false
	}
	return true
}

type inboundBody struct {
	From    string `json:"from"`
	To      string `json:"to"`
	Channel string `json:"channel"`
	Body    string `json:"body"`
}

func (e *Emulator) postInbound(w http.ResponseWriter, r *http.Request) {
	var in inboundBody
	if !decodeControl(w, r, &in) {
		return
	}
	var missing []string
	for name, v := range map[string]string{"from": in.From, "channel": in.Channel, "body": in.Body} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		controlError(w, http.StatusBadRequest, "missing fields: "+strings.Join(missing, ", "))
		return
	}
	switch in.Channel {
	case "sms", "whatsapp", "chat", "messenger":
	default:
		controlError(w, http.StatusBadRequest, `channel must be one of "sms", "whatsapp", "chat", "messenger"`)
		return
	}
	if in.To == "" && in.Channel != "chat" {
		controlError(w, http.StatusBadRequest, "missing fields: to (the contact centre's address) is required for "+in.Channel)
		return
	}
	e.env.Lock()
	res, terr := e.flex.Inbound(flex.InboundRequest{From: in.From, To: in.To, Channel: in.Channel, Body: in.Body})
	e.env.Unlock()
	if terr != nil {
		controlError(w, terr.Status, terr.Message)
		return
	}
	if !e.settle(w, r) {
		return
	}
	core.WriteJSON(w, http.StatusOK, res)
}

type tokenBody struct {
	Roles []string `json:"roles"`
	TTL   string   `json:"ttl"` // ISO-8601, default PT1H
}

type tokenAnswer struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expiresAt"`
	WorkerSid string    `json:"workerSid"`
	Identity  string    `json:"identity"`
}

func (e *Emulator) postWorkerToken(w http.ResponseWriter, r *http.Request) {
	body := tokenBody{Roles: []string{"agent"}, TTL: "PT1H"}
	if !decodeControl(w, r, &body) {
		return
	}
	ttl, err := isoduration.Parse(body.TTL)
	if err != nil || ttl <= 0 {
		controlError(w, http.StatusBadRequest, "ttl must be a positive ISO-8601 duration such as PT1H")
		return
	}
	e.env.Lock()
	defer e.env.Unlock()
	worker := e.tr.Worker(e.tr.WorkspaceSID(), chi.URLParam(r, "worker"))
	if worker == nil {
		controlError(w, http.StatusNotFound, "no worker "+chi.URLParam(r, "worker")+" in the workspace (give its SID or friendly name)")
		return
	}
	identity := e.tr.Identity(worker)
	token, exp := e.iam.Issue(iam.Identity{WorkerSid: worker.Sid, Identity: identity, Roles: body.Roles}, ttl)
	core.WriteJSON(w, http.StatusOK, tokenAnswer{Token: token, ExpiresAt: exp, WorkerSid: worker.Sid, Identity: identity})
}

type clockBody struct {
	Advance string `json:"advance"`
}

type clockAnswer struct {
	Now time.Time `json:"now"`
}

func (e *Emulator) getClock(w http.ResponseWriter, r *http.Request) {
	e.env.Lock()
	now := e.env.Now()
	e.env.Unlock()
	core.WriteJSON(w, http.StatusOK, clockAnswer{Now: now})
}

func (e *Emulator) postClock(w http.ResponseWriter, r *http.Request) {
	var body clockBody
	if !decodeControl(w, r, &body) {
		return
	}
	d, err := isoduration.Parse(body.Advance)
	if err != nil || d < 0 {
		controlError(w, http.StatusBadRequest, `advance must be a non-negative ISO-8601 duration such as "PT5M"`)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), settleTimeout)
	defer cancel()
	now, err := e.advance(ctx, d, r.URL.Query().Get("wait") != "false")
	if err != nil {
		controlError(w, http.StatusGatewayTimeout, "webhooks still in flight at "+now.Format(time.RFC3339)+": "+err.Error())
		return
	}
	if !e.settle(w, r) {
		return
	}
	core.WriteJSON(w, http.StatusOK, clockAnswer{Now: now})
}

// State is the whole emulated world, for GET /emulator/state.
type State struct {
	Now           time.Time `json:"now"`
	AccountSid    string    `json:"accountSid"`
	Seeded        Seeded    `json:"seeded"`
	TaskRouter    any       `json:"taskrouter"`
	Conversations any       `json:"conversations"`
	Flex          any       `json:"flex"`
	Sync          any       `json:"sync"`
	IAM           any       `json:"iam"`
}

func (e *Emulator) getState(w http.ResponseWriter, r *http.Request) {
	seeded := e.SeededSIDs()
	e.env.Lock()
	st := State{
		Now:           e.env.Now(),
		AccountSid:    e.env.AccountSID,
		Seeded:        seeded,
		TaskRouter:    e.tr.Snapshot(),
		Conversations: e.conv.Snapshot(),
		Flex:          e.flex.Snapshot(),
		Sync:          e.sync.Snapshot(),
		IAM:           e.iam.Snapshot(),
	}
	// Encode under the lock: snapshots may share maps with the live world.
	defer e.env.Unlock()
	core.WriteJSON(w, http.StatusOK, st)
}

func (e *Emulator) getRequests(w http.ResponseWriter, r *http.Request) {
	core.WriteJSON(w, http.StatusOK, map[string]any{"requests": e.requests.list()})
}

func (e *Emulator) deleteRequests(w http.ResponseWriter, r *http.Request) {
	e.requests.clear()
	w.WriteHeader(http.StatusNoContent)
}

func (e *Emulator) getFaults(w http.ResponseWriter, r *http.Request) {
	core.WriteJSON(w, http.StatusOK, map[string]any{"faults": e.faults.list()})
}

func (e *Emulator) putFaults(w http.ResponseWriter, r *http.Request) {
	var rules []Fault
	if !decodeControl(w, r, &rules) {
		return
	}
	if err := e.faults.set(rules); err != nil {
		controlError(w, http.StatusBadRequest, err.Error())
		return
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"faults": e.faults.list()})
}

func (e *Emulator) deleteFaults(w http.ResponseWriter, r *http.Request) {
	_ = e.faults.set(nil)
	w.WriteHeader(http.StatusNoContent)
}

func (e *Emulator) getWebhooks(w http.ResponseWriter, r *http.Request) {
	core.WriteJSON(w, http.StatusOK, map[string]any{"webhooks": e.env.Outbox.Deliveries()})
}

func (e *Emulator) deleteWebhooks(w http.ResponseWriter, r *http.Request) {
	e.env.Outbox.ClearDeliveries()
	w.WriteHeader(http.StatusNoContent)
}

// replayWebhook delivers a logged webhook once more and answers when it,
// and whatever its receiver caused, is done (unless ?wait=false).
func (e *Emulator) replayWebhook(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(chi.URLParam(r, "id"))
	if err != nil || id <= 0 {
		controlError(w, http.StatusBadRequest, "the delivery id is a positive integer, as GET /emulator/webhooks lists it")
		return
	}
	d, ok := e.env.Outbox.Replay(id)
	if !ok {
		controlError(w, http.StatusNotFound, "no delivery "+chi.URLParam(r, "id")+" in the webhook log (it keeps the last 1,000)")
		return
	}
	if !e.settle(w, r) {
		return
	}
	core.WriteJSON(w, http.StatusOK, d)
}

func (e *Emulator) postSettle(w http.ResponseWriter, r *http.Request) {
	if e.settle(w, r) {
		core.WriteJSON(w, http.StatusOK, map[string]bool{"settled": true})
	}
}

func (e *Emulator) getSeeded(w http.ResponseWriter, r *http.Request) {
	core.WriteJSON(w, http.StatusOK, e.SeededSIDs())
}

func (e *Emulator) getBehaviour(w http.ResponseWriter, r *http.Request) {
	core.WriteJSON(w, http.StatusOK, e.Behaviour())
}

// patchBehaviour changes the switches the body names and keeps the others.
func (e *Emulator) patchBehaviour(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	if err != nil {
		controlError(w, http.StatusBadRequest, "reading body: "+err.Error())
		return
	}
	e.env.Lock()
	b := e.env.Behaviour
	err = b.Patch(body)
	if err == nil {
		e.env.Behaviour = b
	}
	e.env.Unlock()
	if err != nil {
		controlError(w, http.StatusBadRequest, err.Error())
		return
	}
	core.WriteJSON(w, http.StatusOK, b)
}

// putBehaviour sets every switch: {"preset":"default"|"worst-case"} picks a
// preset, any other body is a whole Behaviour (missing fields are false).
func (e *Emulator) putBehaviour(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Preset string `json:"preset"`
		core.Behaviour
	}
	if !decodeControl(w, r, &body) {
		return
	}
	b := body.Behaviour
	switch body.Preset {
	case "":
	case "default":
		b = core.DefaultBehaviour()
	case "worst-case":
		b = core.WorstCaseBehaviour()
	default:
		controlError(w, http.StatusBadRequest, `preset must be "default" or "worst-case"`)
		return
	}
	e.SetBehaviour(b)
	core.WriteJSON(w, http.StatusOK, b)
}

func (e *Emulator) getSyncUsage(w http.ResponseWriter, r *http.Request) {
	e.env.Lock()
	u := e.sync.Usage()
	e.env.Unlock()
	core.WriteJSON(w, http.StatusOK, u)
}
