package taskrouter

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/flexhooks/flexhooks/internal/emulator/core"
)

type workspaceJSON struct {
	AccountSid           string            `json:"account_sid"`
	DateCreated          string            `json:"date_created"`
	DateUpdated          string            `json:"date_updated"`
	DefaultActivityName  *string           `json:"default_activity_name"`
	DefaultActivitySid   *string           `json:"default_activity_sid"`
	EventCallbackURL     *string           `json:"event_callback_url"`
	EventsFilter         *string           `json:"events_filter"`
	FriendlyName         string            `json:"friendly_name"`
	MultiTaskEnabled     bool              `json:"multi_task_enabled"`
	Sid                  string            `json:"sid"`
	TimeoutActivityName  *string           `json:"timeout_activity_name"`
	TimeoutActivitySid   *string           `json:"timeout_activity_sid"`
	PrioritizeQueueOrder string            `json:"prioritize_queue_order"`
	URL                  string            `json:"url"`
	Links                map[string]string `json:"links"`
}

func (s *Store) workspaceJSON(r *http.Request, ws *Workspace) workspaceJSON {
	u := wsURL(r, ws.Sid)
	j := workspaceJSON{
		AccountSid:           s.env.AccountSID,
		DateCreated:          core.ISO(ws.DateCreated),
		DateUpdated:          core.ISO(ws.DateUpdated),
		EventCallbackURL:     nullable(ws.EventCallbackURL),
		EventsFilter:         nullable(ws.EventsFilter),
		FriendlyName:         ws.FriendlyName,
		MultiTaskEnabled:     ws.MultiTaskEnabled,
		Sid:                  ws.Sid,
		PrioritizeQueueOrder: ws.PrioritizeQueueOrder,
		URL:                  u,
		Links: map[string]string{
			"activities":            u + "/Activities",
			"statistics":            u + "/Statistics",
			"real_time_statistics":  u + "/RealTimeStatistics",
			"cumulative_statistics": u + "/CumulativeStatistics",
			"task_queues":           u + "/TaskQueues",
			"tasks":                 u + "/Tasks",
			"workers":               u + "/Workers",
			"workflows":             u + "/Workflows",
			"task_channels":         u + "/TaskChannels",
			"events":                u + "/Events",
		},
	}
	if a := ws.activity(ws.DefaultActivitySid); a != nil {
		j.DefaultActivitySid, j.DefaultActivityName = &a.Sid, &a.FriendlyName
	}
	if a := ws.activity(ws.TimeoutActivitySid); a != nil {
		j.TimeoutActivitySid, j.TimeoutActivityName = &a.Sid, &a.FriendlyName
	}
	return j
}

func (s *Store) listWorkspaces(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("FriendlyName")
	out := []workspaceJSON{}
	for _, ws := range s.workspaces {
		if name == "" || ws.FriendlyName == name {
			out = append(out, s.workspaceJSON(r, ws))
		}
	}
	core.WriteList(w, r, out, "workspaces")
}

func (s *Store) fetchWorkspace(w http.ResponseWriter, r *http.Request, ws *Workspace) *core.Error {
	core.WriteJSON(w, http.StatusOK, s.workspaceJSON(r, ws))
	return nil
}

// createWorkspace makes a workspace with TaskRouter's stock activities and
// task channels, as Twilio does.
func (s *Store) createWorkspace(w http.ResponseWriter, r *http.Request) {
	p, err := core.Form(r)
	if err != nil {
		core.WriteError(w, err)
		return
	}
	name := p.Get("FriendlyName")
	if name == "" {
		core.WriteError(w, core.Required("FriendlyName"))
		return
	}
	ws, berr := s.build(Seed{Workspace: SeedWorkspace{FriendlyName: name}})
	if berr != nil {
		core.WriteError(w, core.BadParam("FriendlyName", berr.Error()))
		return
	}
	// Seeded SIDs derive from names; an API-created workspace gets fresh ones.
	ws.Sid = core.NewSID("WS")
	for _, a := range ws.Activities {
		old := a.Sid
		a.Sid, a.WorkspaceSid = core.NewSID("WA"), ws.Sid
		if ws.DefaultActivitySid == old {
			ws.DefaultActivitySid = a.Sid
		}
		if ws.TimeoutActivitySid == old {
			ws.TimeoutActivitySid = a.Sid
		}
	}
	for _, c := range ws.TaskChannels {
		c.Sid, c.WorkspaceSid = core.NewSID("TC"), ws.Sid
	}
	if err := s.applyWorkspace(ws, p); err != nil {
		core.WriteError(w, err)
		return
	}
	s.workspaces = append(s.workspaces, ws)
	core.WriteJSON(w, http.StatusCreated, s.workspaceJSON(r, ws))
}

func (s *Store) updateWorkspace(w http.ResponseWriter, r *http.Request, ws *Workspace) *core.Error {
	p, err := core.Form(r)
	if err != nil {
		return err
	}
	if err := s.applyWorkspace(ws, p); err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, s.workspaceJSON(r, ws))
	return nil
}

// applyWorkspace validates all parameters first so a bad request changes nothing.
func (s *Store) applyWorkspace(ws *Workspace, p core.Params) *core.Error {
	if p.Has("EventCallbackUrl") && p.Get("EventCallbackUrl") != "" {
		u, err := url.Parse(p.Get("EventCallbackUrl"))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return core.BadParam("EventCallbackUrl", "must be an absolute http(s) URL")
		}
	}
	for _, name := range []string{"DefaultActivitySid", "TimeoutActivitySid"} {
		if p.Has(name) && ws.activity(p.Get(name)) == nil {
			return core.BadParam(name, "no such Activity in this workspace")
		}
	}
	multi, err := p.Bool("MultiTaskEnabled", ws.MultiTaskEnabled)
	if err != nil {
		return err
	}
	order := ws.PrioritizeQueueOrder
	if p.Has("PrioritizeQueueOrder") {
		order = p.Get("PrioritizeQueueOrder")
		if order != "FIFO" && order != "LIFO" {
			return core.BadParam("PrioritizeQueueOrder", "must be FIFO or LIFO")
		}
	}
	if p.Has("FriendlyName") {
		if p.Get("FriendlyName") == "" {
			return core.BadParam("FriendlyName", "must not be empty")
		}
		ws.FriendlyName = p.Get("FriendlyName")
	}
	if p.Has("EventCallbackUrl") {
		ws.EventCallbackURL = p.Get("EventCallbackUrl")
	}
	if p.Has("EventsFilter") {
		ws.EventsFilter = strings.TrimSpace(p.Get("EventsFilter"))
	}
	if p.Has("DefaultActivitySid") {
		ws.DefaultActivitySid = p.Get("DefaultActivitySid")
	}
	if p.Has("TimeoutActivitySid") {
		ws.TimeoutActivitySid = p.Get("TimeoutActivitySid")
	}
	ws.MultiTaskEnabled = multi
	ws.PrioritizeQueueOrder = order
	ws.DateUpdated = s.env.Now()
	return nil
}

func (s *Store) deleteWorkspace(w http.ResponseWriter, r *http.Request, ws *Workspace) *core.Error {
	stopTimers(ws)
	s.workspaces = remove(s.workspaces, ws)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
