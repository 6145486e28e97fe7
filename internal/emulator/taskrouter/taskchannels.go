package taskrouter

import (
	"net/http"

	"github.com/flexhooks/flexhooks/internal/emulator/core"
)

type taskChannelJSON struct {
	AccountSid              string            `json:"account_sid"`
	DateCreated             string            `json:"date_created"`
	DateUpdated             string            `json:"date_updated"`
	FriendlyName            string            `json:"friendly_name"`
	Sid                     string            `json:"sid"`
	UniqueName              string            `json:"unique_name"`
	WorkspaceSid            string            `json:"workspace_sid"`
	ChannelOptimizedRouting bool              `json:"channel_optimized_routing"`
	URL                     string            `json:"url"`
	Links                   map[string]string `json:"links"`
}

func (s *Store) taskChannelJSON(r *http.Request, c *TaskChannel) taskChannelJSON {
	return taskChannelJSON{
		AccountSid:              s.env.AccountSID,
		DateCreated:             core.ISO(c.DateCreated),
		DateUpdated:             core.ISO(c.DateUpdated),
		FriendlyName:            c.FriendlyName,
		Sid:                     c.Sid,
		UniqueName:              c.UniqueName,
		WorkspaceSid:            c.WorkspaceSid,
		ChannelOptimizedRouting: c.ChannelOptimizedRouting,
		URL:                     wsURL(r, c.WorkspaceSid) + "/TaskChannels/" + c.Sid,
		Links:                   map[string]string{"workspace": wsURL(r, c.WorkspaceSid)},
	}
}

func (s *Store) listTaskChannels(w http.ResponseWriter, r *http.Request, ws *Workspace) *core.Error {
	out := make([]taskChannelJSON, 0, len(ws.TaskChannels))
	for _, c := range ws.TaskChannels {
		out = append(out, s.taskChannelJSON(r, c))
	}
	core.WriteList(w, r, out, "channels")
	return nil
}

// fetchTaskChannel accepts the SID or the unique name, as Twilio does.
func (s *Store) fetchTaskChannel(w http.ResponseWriter, r *http.Request, ws *Workspace) *core.Error {
	c := ws.taskChannel(param(r, "sid"))
	if c == nil {
		return core.NotFound(r)
	}
	core.WriteJSON(w, http.StatusOK, s.taskChannelJSON(r, c))
	return nil
}

func (s *Store) createTaskChannel(w http.ResponseWriter, r *http.Request, ws *Workspace) *core.Error {
	p, err := core.Form(r)
	if err != nil {
		return err
	}
	name, unique := p.Get("FriendlyName"), p.Get("UniqueName")
	if name == "" {
		return core.Required("FriendlyName")
	}
	if unique == "" {
		return core.Required("UniqueName")
	}
	if ws.taskChannel(unique) != nil {
		return core.Errf(http.StatusConflict, core.CodeConflict, "TaskChannel with unique name %s already exists", unique)
	}
	cor, err := p.Bool("ChannelOptimizedRouting", false)
	if err != nil {
		return err
	}
	now := s.env.Now()
	c := &TaskChannel{Sid: core.NewSID("TC"), WorkspaceSid: ws.Sid, FriendlyName: name, UniqueName: unique,
		ChannelOptimizedRouting: cor, DateCreated: now, DateUpdated: now, capacity: 1}
	ws.TaskChannels = append(ws.TaskChannels, c)
	// Every worker gets a channel for it, as in TaskRouter (capacity 1).
	for _, wk := range ws.Workers {
		wk.Channels = append(wk.Channels, &WorkerChannel{Sid: core.NewSID("WC"), WorkerSid: wk.Sid, WorkspaceSid: ws.Sid,
			TaskChannelSid: c.Sid, TaskChannelUniqueName: c.UniqueName, Capacity: 1, Available: true, DateCreated: now, DateUpdated: now})
	}
	core.WriteJSON(w, http.StatusCreated, s.taskChannelJSON(r, c))
	return nil
}

func (s *Store) updateTaskChannel(w http.ResponseWriter, r *http.Request, ws *Workspace) *core.Error {
	c := ws.taskChannel(param(r, "sid"))
	if c == nil {
		return core.NotFound(r)
	}
	p, err := core.Form(r)
	if err != nil {
		return err
	}
	cor, err := p.Bool("ChannelOptimizedRouting", c.ChannelOptimizedRouting)
	if err != nil {
		return err
	}
	if p.Has("FriendlyName") {
		if p.Get("FriendlyName") == "" {
			return core.BadParam("FriendlyName", "must not be empty")
		}
		c.FriendlyName = p.Get("FriendlyName")
	}
	c.ChannelOptimizedRouting = cor
	c.DateUpdated = s.env.Now()
	core.WriteJSON(w, http.StatusOK, s.taskChannelJSON(r, c))
	return nil
}

func (s *Store) deleteTaskChannel(w http.ResponseWriter, r *http.Request, ws *Workspace) *core.Error {
	c := ws.taskChannel(param(r, "sid"))
	if c == nil {
		return core.NotFound(r)
	}
	for _, t := range ws.Tasks {
		if t.TaskChannelSid == c.Sid && isActive(t) {
			return core.Errf(http.StatusBadRequest, core.CodeInvalidParameter, "TaskChannel %s has active tasks", c.Sid)
		}
	}
	ws.TaskChannels = remove(ws.TaskChannels, c)
	for _, wk := range ws.Workers {
		if wc := wk.channel(c.Sid); wc != nil {
			wk.Channels = remove(wk.Channels, wc)
		}
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
