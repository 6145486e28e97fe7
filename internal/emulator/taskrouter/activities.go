package taskrouter

import (
	"net/http"

	"github.com/flexhooks/flexhooks/internal/emulator/core"
)

type activityJSON struct {
	AccountSid   string            `json:"account_sid"`
	Available    bool              `json:"available"`
	DateCreated  string            `json:"date_created"`
	DateUpdated  string            `json:"date_updated"`
	FriendlyName string            `json:"friendly_name"`
	Sid          string            `json:"sid"`
	WorkspaceSid string            `json:"workspace_sid"`
	URL          string            `json:"url"`
	Links        map[string]string `json:"links"`
}

func (s *Store) activityJSON(r *http.Request, a *Activity) activityJSON {
	return activityJSON{
		AccountSid:   s.env.AccountSID,
		Available:    a.Available,
		DateCreated:  core.ISO(a.DateCreated),
		DateUpdated:  core.ISO(a.DateUpdated),
		FriendlyName: a.FriendlyName,
		Sid:          a.Sid,
		WorkspaceSid: a.WorkspaceSid,
		URL:          wsURL(r, a.WorkspaceSid) + "/Activities/" + a.Sid,
		Links:        map[string]string{"workspace": wsURL(r, a.WorkspaceSid)},
	}
}

func (s *Store) listActivities(w http.ResponseWriter, r *http.Request, ws *Workspace) *core.Error {
	q := r.URL.Query()
	name, avail := q.Get("FriendlyName"), q.Get("Available")
	if avail != "" && avail != "true" && avail != "false" {
		return core.BadParam("Available", "must be true or false")
	}
	out := []activityJSON{}
	for _, a := range ws.Activities {
		if (name == "" || a.FriendlyName == name) && (avail == "" || (avail == "true") == a.Available) {
			out = append(out, s.activityJSON(r, a))
		}
	}
	core.WriteList(w, r, out, "activities")
	return nil
}

func (s *Store) fetchActivity(w http.ResponseWriter, r *http.Request, ws *Workspace) *core.Error {
	a := ws.activity(param(r, "sid"))
	if a == nil {
		return core.NotFound(r)
	}
	core.WriteJSON(w, http.StatusOK, s.activityJSON(r, a))
	return nil
}

func (s *Store) createActivity(w http.ResponseWriter, r *http.Request, ws *Workspace) *core.Error {
	p, err := core.Form(r)
	if err != nil {
		return err
	}
	name := p.Get("FriendlyName")
	if name == "" {
		return core.Required("FriendlyName")
	}
	if ws.activityByName(name) != nil {
		return core.Errf(http.StatusConflict, core.CodeConflict, "Activity with friendly name %s already exists", name)
	}
	avail, err := p.Bool("Available", true)
	if err != nil {
		return err
	}
	now := s.env.Now()
	a := &Activity{Sid: core.NewSID("WA"), WorkspaceSid: ws.Sid, FriendlyName: name, Available: avail, DateCreated: now, DateUpdated: now}
	ws.Activities = append(ws.Activities, a)
	core.WriteJSON(w, http.StatusCreated, s.activityJSON(r, a))
	return nil
}

func (s *Store) updateActivity(w http.ResponseWriter, r *http.Request, ws *Workspace) *core.Error {
	a := ws.activity(param(r, "sid"))
	if a == nil {
		return core.NotFound(r)
	}
	p, err := core.Form(r)
	if err != nil {
		return err
	}
	if p.Has("FriendlyName") {
		name := p.Get("FriendlyName")
		if name == "" {
			return core.BadParam("FriendlyName", "must not be empty")
		}
		if o := ws.activityByName(name); o != nil && o != a {
			return core.Errf(http.StatusConflict, core.CodeConflict, "Activity with friendly name %s already exists", name)
		}
		a.FriendlyName = name
		for _, wk := range ws.Workers {
			if wk.ActivitySid == a.Sid {
				wk.ActivityName = name
			}
		}
		a.DateUpdated = s.env.Now()
	}
	core.WriteJSON(w, http.StatusOK, s.activityJSON(r, a))
	return nil
}

func (s *Store) deleteActivity(w http.ResponseWriter, r *http.Request, ws *Workspace) *core.Error {
	a := ws.activity(param(r, "sid"))
	if a == nil {
		return core.NotFound(r)
	}
	if a.Sid == ws.DefaultActivitySid || a.Sid == ws.TimeoutActivitySid {
		return core.Errf(http.StatusBadRequest, core.CodeInvalidParameter, "Activity %s is the workspace's default or timeout activity", a.Sid)
	}
	for _, wk := range ws.Workers {
		if wk.ActivitySid == a.Sid {
			return core.Errf(http.StatusBadRequest, core.CodeInvalidParameter, "Activity %s is in use by worker %s", a.Sid, wk.Sid)
		}
	}
	ws.Activities = remove(ws.Activities, a)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
