package taskrouter

import (
	"net/http"
	"strconv"

	"github.com/flexhooks/flexhooks/internal/emulator/core"
)

// newWorker adds a worker with a channel per task channel, each with the
// capacity given for its unique name (1 when absent).
func (s *Store) newWorker(ws *Workspace, sid, name string, attrs map[string]any, act *Activity, capacity map[string]int) *Worker {
	now := s.env.Now()
	w := &Worker{Sid: sid, WorkspaceSid: ws.Sid, FriendlyName: name, Attributes: attrs,
		ActivitySid: act.Sid, ActivityName: act.FriendlyName, Available: act.Available,
		DateCreated: now, DateUpdated: now, DateStatusChanged: now, Version: 1}
	for _, c := range ws.TaskChannels {
		n := capacity[c.UniqueName]
		if n == 0 {
			n = 1
		}
		w.Channels = append(w.Channels, &WorkerChannel{Sid: core.NewSID("WC"), WorkerSid: sid, WorkspaceSid: ws.Sid,
			TaskChannelSid: c.Sid, TaskChannelUniqueName: c.UniqueName, Capacity: n, Available: true,
			DateCreated: now, DateUpdated: now})
	}
	ws.workerSeq++
	w.seq = ws.workerSeq
	ws.Workers = append(ws.Workers, w)
	return w
}

// setActivity moves a worker to an activity, sends worker.activity.update
// and, when the worker became available, routes waiting tasks to it.
// rejectPending rejects the worker's pending reservations first (Twilio's
// RejectPendingReservations, valid only towards an unavailable activity).
func (s *Store) setActivity(ws *Workspace, w *Worker, act *Activity, rejectPending bool) {
	if rejectPending && !act.Available {
		for _, r := range ws.Reservations {
			if r.WorkerSid == w.Sid && r.Status == ResPending {
				s.endReservation(ws, r, ResRejected)
			}
		}
	}
	if w.ActivitySid == act.Sid {
		return
	}
	prevSid, prevName, since := w.ActivitySid, w.ActivityName, w.DateStatusChanged
	now := s.env.Now()
	w.ActivitySid, w.ActivityName, w.Available = act.Sid, act.FriendlyName, act.Available
	w.DateStatusChanged, w.DateUpdated = now, now
	w.Version++
	s.emit(ws, "worker.activity.update", "Worker "+w.FriendlyName+" updated to "+act.FriendlyName+" Activity",
		eventRefs{worker: w, extra: map[string]string{
			"WorkerPreviousActivitySid":      prevSid,
			"WorkerPreviousActivityName":     prevName,
			"WorkerTimeInPreviousActivity":   strconv.Itoa(int(now.Sub(since).Seconds())),
			"WorkerTimeInPreviousActivityMs": strconv.FormatInt(now.Sub(since).Milliseconds(), 10),
		}})
	if act.Available {
		s.dispatch(ws)
	}
}

type workerJSON struct {
	AccountSid        string            `json:"account_sid"`
	ActivityName      string            `json:"activity_name"`
	ActivitySid       string            `json:"activity_sid"`
	Attributes        string            `json:"attributes"`
	Available         bool              `json:"available"`
	DateCreated       string            `json:"date_created"`
	DateStatusChanged string            `json:"date_status_changed"`
	DateUpdated       string            `json:"date_updated"`
	FriendlyName      string            `json:"friendly_name"`
	Sid               string            `json:"sid"`
	WorkspaceSid      string            `json:"workspace_sid"`
	URL               string            `json:"url"`
	Links             map[string]string `json:"links"`
}

func (s *Store) workerJSON(r *http.Request, w *Worker) workerJSON {
	ws := wsURL(r, w.WorkspaceSid)
	u := ws + "/Workers/" + w.Sid
	return workerJSON{
		AccountSid:        s.env.AccountSID,
		ActivityName:      w.ActivityName,
		ActivitySid:       w.ActivitySid,
		Attributes:        encodeObject(w.Attributes),
		Available:         w.Available,
		DateCreated:       core.ISO(w.DateCreated),
		DateStatusChanged: core.ISO(w.DateStatusChanged),
		DateUpdated:       core.ISO(w.DateUpdated),
		FriendlyName:      w.FriendlyName,
		Sid:               w.Sid,
		WorkspaceSid:      w.WorkspaceSid,
		URL:               u,
		Links: map[string]string{
			"channels":              u + "/Channels",
			"activity":              ws + "/Activities/" + w.ActivitySid,
			"workspace":             ws,
			"statistics":            ws + "/Workers/Statistics",
			"real_time_statistics":  ws + "/Workers/RealTimeStatistics",
			"cumulative_statistics": ws + "/Workers/CumulativeStatistics",
			"worker_statistics":     u + "/Statistics",
			"worker_channels":       u + "/Channels",
			"reservations":          u + "/Reservations",
		},
	}
}

func (s *Store) listWorkers(w http.ResponseWriter, r *http.Request, ws *Workspace) *core.Error {
	q := r.URL.Query()
	avail := q.Get("Available")
	switch avail {
	case "", "true", "false", "1", "0":
	default:
		return core.BadParam("Available", "must be true or false")
	}
	var queue *TaskQueue
	if sid := q.Get("TaskQueueSid"); sid != "" {
		if queue = ws.queue(sid); queue == nil {
			return core.BadParam("TaskQueueSid", "no such TaskQueue in this workspace")
		}
	}
	if name := q.Get("TaskQueueName"); name != "" {
		if queue = ws.queueByName(name); queue == nil {
			return core.BadParam("TaskQueueName", "no such TaskQueue in this workspace")
		}
	}
	var target = queueMatchAll
	if src := q.Get("TargetWorkersExpression"); src != "" {
		e, err := parseExpr("TargetWorkersExpression", src)
		if err != nil {
			return err
		}
		target = func(w *Worker) bool { return match(e, targetEnv(w, nil)) }
	}
	out := []workerJSON{}
	for _, wk := range ws.Workers {
		switch {
		case q.Get("ActivityName") != "" && wk.ActivityName != q.Get("ActivityName"),
			q.Get("ActivitySid") != "" && wk.ActivitySid != q.Get("ActivitySid"),
			q.Get("FriendlyName") != "" && wk.FriendlyName != q.Get("FriendlyName"),
			avail != "" && wk.Available != (avail == "true" || avail == "1"),
			queue != nil && !match(queue.target, workerEnv(wk)),
			!target(wk):
			continue
		}
		out = append(out, s.workerJSON(r, wk))
	}
	if q.Get("Ordering") == "DateCreated:desc" {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	core.WriteList(w, r, out, "workers")
	return nil
}

func queueMatchAll(*Worker) bool { return true }

func (s *Store) findWorker(r *http.Request, ws *Workspace) (*Worker, *core.Error) {
	wk := ws.worker(param(r, "sid"))
	if wk == nil {
		return nil, core.NotFound(r)
	}
	return wk, nil
}

func setETag(w http.ResponseWriter, version int) {
	w.Header().Set("ETag", strconv.Itoa(version))
}

// ifMatch enforces If-Match against a version: Twilio answers 412 / 20412.
// Quotes and a weak W/ prefix are tolerated.
func ifMatch(r *http.Request, version int) *core.Error {
	v := r.Header.Get("If-Match")
	if v == "" || v == "*" {
		return nil
	}
	if len(v) > 2 && v[:2] == "W/" {
		v = v[2:]
	}
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
	}
	if v != strconv.Itoa(version) {
		return core.Errf(http.StatusPreconditionFailed, core.CodePreconditionFail,
			"The resource has been modified: its ETag is %d, the If-Match header gave %s", version, r.Header.Get("If-Match"))
	}
	return nil
}

func (s *Store) fetchWorker(w http.ResponseWriter, r *http.Request, ws *Workspace) *core.Error {
	wk, err := s.findWorker(r, ws)
	if err != nil {
		return err
	}
	setETag(w, wk.Version)
	core.WriteJSON(w, http.StatusOK, s.workerJSON(r, wk))
	return nil
}

func (s *Store) createWorker(w http.ResponseWriter, r *http.Request, ws *Workspace) *core.Error {
	p, err := core.Form(r)
	if err != nil {
		return err
	}
	name := p.Get("FriendlyName")
	if name == "" {
		return core.Required("FriendlyName")
	}
	if s.findWorkerByName(ws, name) != nil {
		return core.Errf(http.StatusConflict, core.CodeConflict, "Worker with friendly name %s already exists", name)
	}
	attrs, err := jsonObjectParam(p, "Attributes")
	if err != nil {
		return err
	}
	if attrs == nil {
		attrs = map[string]any{}
	}
	act := ws.activity(ws.DefaultActivitySid)
	if p.Has("ActivitySid") {
		if act = ws.activity(p.Get("ActivitySid")); act == nil {
			return core.BadParam("ActivitySid", "no such Activity in this workspace")
		}
	}
	if act == nil {
		return core.Errf(http.StatusBadRequest, core.CodeInvalidParameter, "The workspace has no default activity; give ActivitySid")
	}
	capacity := map[string]int{}
	for _, c := range ws.TaskChannels {
		capacity[c.UniqueName] = c.capacity
	}
	wk := s.newWorker(ws, core.NewSID("WK"), name, attrs, act, capacity)
	s.emit(ws, "worker.created", "Worker "+name+" created", eventRefs{worker: wk})
	setETag(w, wk.Version)
	core.WriteJSON(w, http.StatusCreated, s.workerJSON(r, wk))
	if wk.Available {
		s.dispatch(ws)
	}
	return nil
}

func (s *Store) updateWorker(w http.ResponseWriter, r *http.Request, ws *Workspace) *core.Error {
	wk, err := s.findWorker(r, ws)
	if err != nil {
		return err
	}
	if err := ifMatch(r, wk.Version); err != nil {
		return err
	}
	p, err := core.Form(r)
	if err != nil {
		return err
	}
	attrs, err := jsonObjectParam(p, "Attributes")
	if err != nil {
		return err
	}
	var act *Activity
	if p.Has("ActivitySid") {
		if act = ws.activity(p.Get("ActivitySid")); act == nil {
			return core.BadParam("ActivitySid", "no such Activity in this workspace")
		}
	}
	reject, err := p.Bool("RejectPendingReservations", false)
	if err != nil {
		return err
	}
	if p.Has("FriendlyName") {
		name := p.Get("FriendlyName")
		if name == "" {
			return core.BadParam("FriendlyName", "must not be empty")
		}
		if o := s.findWorkerByName(ws, name); o != nil && o != wk {
			return core.Errf(http.StatusConflict, core.CodeConflict, "Worker with friendly name %s already exists", name)
		}
		wk.FriendlyName = name
	}
	changed := false
	if attrs != nil {
		wk.Attributes = attrs
		changed = true
		s.emit(ws, "worker.attributes.update", "Worker "+wk.FriendlyName+" attributes updated", eventRefs{worker: wk})
	}
	if act != nil {
		s.setActivity(ws, wk, act, reject)
	}
	wk.DateUpdated = s.env.Now()
	wk.Version++
	setETag(w, wk.Version)
	core.WriteJSON(w, http.StatusOK, s.workerJSON(r, wk))
	if changed && wk.Available {
		// New attributes may put the worker in reach of waiting tasks.
		s.dispatch(ws)
	}
	return nil
}

func (s *Store) deleteWorker(w http.ResponseWriter, r *http.Request, ws *Workspace) *core.Error {
	wk, err := s.findWorker(r, ws)
	if err != nil {
		return err
	}
	if err := ifMatch(r, wk.Version); err != nil {
		return err
	}
	for _, res := range ws.Reservations {
		if res.WorkerSid == wk.Sid && (res.Status == ResAccepted || res.Status == ResWrapping) {
			return core.Errf(http.StatusBadRequest, core.CodeInvalidParameter, "Worker %s has assigned tasks and cannot be deleted", wk.Sid)
		}
	}
	// Gone from the workspace first, so its rescinded tasks are routed to others.
	ws.Workers = remove(ws.Workers, wk)
	s.emit(ws, "worker.deleted", "Worker "+wk.FriendlyName+" deleted", eventRefs{worker: wk})
	for _, res := range ws.Reservations {
		if res.WorkerSid == wk.Sid && res.Status == ResPending {
			s.endReservation(ws, res, ResRescinded)
		}
	}
	w.WriteHeader(http.StatusNoContent)
	s.dispatch(ws)
	return nil
}

type workerChannelJSON struct {
	AccountSid                  string `json:"account_sid"`
	AssignedTasks               int    `json:"assigned_tasks"`
	Available                   bool   `json:"available"`
	AvailableCapacityPercentage int    `json:"available_capacity_percentage"`
	ConfiguredCapacity          int    `json:"configured_capacity"`
	DateCreated                 string `json:"date_created"`
	DateUpdated                 string `json:"date_updated"`
	Sid                         string `json:"sid"`
	TaskChannelSid              string `json:"task_channel_sid"`
	TaskChannelUniqueName       string `json:"task_channel_unique_name"`
	WorkerSid                   string `json:"worker_sid"`
	WorkspaceSid                string `json:"workspace_sid"`
	URL                         string `json:"url"`
}

func (s *Store) workerChannelJSON(r *http.Request, ws *Workspace, c *WorkerChannel) workerChannelJSON {
	assigned := ws.assignedTasks(c.WorkerSid, c.TaskChannelSid)
	pct := 0
	if c.Capacity > 0 && c.Available {
		pct = max(0, (c.Capacity-assigned)*100/c.Capacity)
	}
	return workerChannelJSON{
		AccountSid:                  s.env.AccountSID,
		AssignedTasks:               assigned,
		Available:                   c.Available,
		AvailableCapacityPercentage: pct,
		ConfiguredCapacity:          c.Capacity,
		DateCreated:                 core.ISO(c.DateCreated),
		DateUpdated:                 core.ISO(c.DateUpdated),
		Sid:                         c.Sid,
		TaskChannelSid:              c.TaskChannelSid,
		TaskChannelUniqueName:       c.TaskChannelUniqueName,
		WorkerSid:                   c.WorkerSid,
		WorkspaceSid:                c.WorkspaceSid,
		URL:                         wsURL(r, c.WorkspaceSid) + "/Workers/" + c.WorkerSid + "/Channels/" + c.Sid,
	}
}

func (s *Store) listWorkerChannels(w http.ResponseWriter, r *http.Request, ws *Workspace) *core.Error {
	wk, err := s.findWorker(r, ws)
	if err != nil {
		return err
	}
	out := make([]workerChannelJSON, 0, len(wk.Channels))
	for _, c := range wk.Channels {
		out = append(out, s.workerChannelJSON(r, ws, c))
	}
	core.WriteList(w, r, out, "channels")
	return nil
}

// findWorkerChannel accepts the WC SID, the task channel's SID or its unique
// name, as Twilio does.
func (s *Store) findWorkerChannel(r *http.Request, ws *Workspace) (*Worker, *WorkerChannel, *core.Error) {
	wk, err := s.findWorker(r, ws)
	if err != nil {
		return nil, nil, err
	}
	id := param(r, "ch")
	for _, c := range wk.Channels {
		if c.Sid == id || c.TaskChannelSid == id || c.TaskChannelUniqueName == id {
			return wk, c, nil
		}
	}
	return nil, nil, core.NotFound(r)
}

func (s *Store) fetchWorkerChannel(w http.ResponseWriter, r *http.Request, ws *Workspace) *core.Error {
	_, c, err := s.findWorkerChannel(r, ws)
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, s.workerChannelJSON(r, ws, c))
	return nil
}

func (s *Store) updateWorkerChannel(w http.ResponseWriter, r *http.Request, ws *Workspace) *core.Error {
	_, c, err := s.findWorkerChannel(r, ws)
	if err != nil {
		return err
	}
	p, err := core.Form(r)
	if err != nil {
		return err
	}
	capacity, err := p.Int("Capacity", c.Capacity)
	if err != nil {
		return err
	}
	if capacity < 0 || capacity > 50 {
		return core.BadParam("Capacity", "must be between 0 and 50")
	}
	avail, err := p.Bool("Available", c.Available)
	if err != nil {
		return err
	}
	c.Capacity, c.Available = capacity, avail
	c.DateUpdated = s.env.Now()
	core.WriteJSON(w, http.StatusOK, s.workerChannelJSON(r, ws, c))
	s.dispatch(ws)
	return nil
}
