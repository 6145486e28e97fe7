package taskrouter

import (
	"net/http"

	"github.com/flexhooks/flexhooks/internal/emulator/core"
)

type taskQueueJSON struct {
	AccountSid              string            `json:"account_sid"`
	AssignmentActivitySid   *string           `json:"assignment_activity_sid"`
	AssignmentActivityName  *string           `json:"assignment_activity_name"`
	DateCreated             string            `json:"date_created"`
	DateUpdated             string            `json:"date_updated"`
	FriendlyName            string            `json:"friendly_name"`
	MaxReservedWorkers      int               `json:"max_reserved_workers"`
	ReservationActivitySid  *string           `json:"reservation_activity_sid"`
	ReservationActivityName *string           `json:"reservation_activity_name"`
	Sid                     string            `json:"sid"`
	TargetWorkers           string            `json:"target_workers"`
	TaskOrder               string            `json:"task_order"`
	URL                     string            `json:"url"`
	WorkspaceSid            string            `json:"workspace_sid"`
	Links                   map[string]string `json:"links"`
}

func (s *Store) taskQueueJSON(r *http.Request, ws *Workspace, q *TaskQueue) taskQueueJSON {
	base := wsURL(r, q.WorkspaceSid)
	u := base + "/TaskQueues/" + q.Sid
	j := taskQueueJSON{
		AccountSid:         s.env.AccountSID,
		DateCreated:        core.ISO(q.DateCreated),
		DateUpdated:        core.ISO(q.DateUpdated),
		FriendlyName:       q.FriendlyName,
		MaxReservedWorkers: q.MaxReservedWorkers,
		Sid:                q.Sid,
		TargetWorkers:      q.TargetWorkers,
		TaskOrder:          q.TaskOrder,
		URL:                u,
		WorkspaceSid:       q.WorkspaceSid,
		Links: map[string]string{
			"workspace":                 base,
			"statistics":                u + "/Statistics",
			"real_time_statistics":      u + "/RealTimeStatistics",
			"cumulative_statistics":     u + "/CumulativeStatistics",
			"list_statistics":           base + "/TaskQueues/Statistics",
			"bulk_real_time_statistics": base + "/TaskQueues/RealTimeStatistics",
		},
	}
	if a := ws.activity(q.AssignmentActivitySid); a != nil {
		j.AssignmentActivitySid, j.AssignmentActivityName = &a.Sid, &a.FriendlyName
		j.Links["assignment_activity"] = base + "/Activities/" + a.Sid
	}
	if a := ws.activity(q.ReservationActivitySid); a != nil {
		j.ReservationActivitySid, j.ReservationActivityName = &a.Sid, &a.FriendlyName
		j.Links["reservation_activity"] = base + "/Activities/" + a.Sid
	}
	return j
}

func (s *Store) listTaskQueues(w http.ResponseWriter, r *http.Request, ws *Workspace) *core.Error {
	q := r.URL.Query()
	var worker *Worker
	if sid := q.Get("WorkerSid"); sid != "" {
		if worker = ws.worker(sid); worker == nil {
			return core.BadParam("WorkerSid", "no such Worker in this workspace")
		}
	}
	var attrs map[string]any
	if src := q.Get("EvaluateWorkerAttributes"); src != "" {
		m, err := decodeObject(src)
		if err != nil {
			return core.BadParam("EvaluateWorkerAttributes", "must be a JSON object")
		}
		attrs = m
	}
	out := []taskQueueJSON{}
	for _, tq := range ws.TaskQueues {
		switch {
		case q.Get("FriendlyName") != "" && tq.FriendlyName != q.Get("FriendlyName"),
			worker != nil && !match(tq.target, workerEnv(worker)),
			attrs != nil && !match(tq.target, workerEnv(&Worker{Attributes: attrs})):
			continue
		}
		out = append(out, s.taskQueueJSON(r, ws, tq))
	}
	core.WriteList(w, r, out, "task_queues")
	return nil
}

func (s *Store) fetchTaskQueue(w http.ResponseWriter, r *http.Request, ws *Workspace) *core.Error {
	q := ws.queue(param(r, "sid"))
	if q == nil {
		return core.NotFound(r)
	}
	core.WriteJSON(w, http.StatusOK, s.taskQueueJSON(r, ws, q))
	return nil
}

func (s *Store) createTaskQueue(w http.ResponseWriter, r *http.Request, ws *Workspace) *core.Error {
	p, err := core.Form(r)
	if err != nil {
		return err
	}
	if p.Get("FriendlyName") == "" {
		return core.Required("FriendlyName")
	}
	now := s.env.Now()
	q := &TaskQueue{Sid: core.NewSID("WQ"), WorkspaceSid: ws.Sid, TargetWorkers: "1==1", TaskOrder: "FIFO",
		MaxReservedWorkers: 1, DateCreated: now}
	if err := s.applyTaskQueue(ws, q, p); err != nil {
		return err
	}
	ws.TaskQueues = append(ws.TaskQueues, q)
	core.WriteJSON(w, http.StatusCreated, s.taskQueueJSON(r, ws, q))
	return nil
}

func (s *Store) updateTaskQueue(w http.ResponseWriter, r *http.Request, ws *Workspace) *core.Error {
	q := ws.queue(param(r, "sid"))
	if q == nil {
		return core.NotFound(r)
	}
	p, err := core.Form(r)
	if err != nil {
		return err
	}
	if err := s.applyTaskQueue(ws, q, p); err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, s.taskQueueJSON(r, ws, q))
	if p.Has("TargetWorkers") {
		s.dispatch(ws)
	}
	return nil
}

// applyTaskQueue validates every parameter before changing anything.
func (s *Store) applyTaskQueue(ws *Workspace, q *TaskQueue, p core.Params) *core.Error {
	name := q.FriendlyName
	if p.Has("FriendlyName") {
		name = p.Get("FriendlyName")
		if name == "" {
			return core.BadParam("FriendlyName", "must not be empty")
		}
		if o := ws.queueByName(name); o != nil && o != q {
			return core.Errf(http.StatusConflict, core.CodeConflict, "TaskQueue with friendly name %s already exists", name)
		}
	}
	target, targetSrc := q.target, q.TargetWorkers
	if p.Has("TargetWorkers") {
		targetSrc = p.Get("TargetWorkers")
		if targetSrc == "" {
			targetSrc = "1==1"
		}
		e, err := parseExpr("TargetWorkers", targetSrc)
		if err != nil {
			return err
		}
		target = e
	}
	if target == nil {
		target, _ = parseExpr("TargetWorkers", targetSrc)
	}
	order := q.TaskOrder
	if p.Has("TaskOrder") {
		order = p.Get("TaskOrder")
		if order != "FIFO" && order != "LIFO" {
			return core.BadParam("TaskOrder", "must be FIFO or LIFO")
		}
	}
	maxReserved, err := p.Int("MaxReservedWorkers", q.MaxReservedWorkers)
	if err != nil {
		return err
	}
	if maxReserved < 1 || maxReserved > 50 {
		return core.BadParam("MaxReservedWorkers", "must be between 1 and 50")
	}
	for _, name := range []string{"AssignmentActivitySid", "ReservationActivitySid"} {
		if p.Get(name) != "" && ws.activity(p.Get(name)) == nil {
			return core.BadParam(name, "no such Activity in this workspace")
		}
	}
	q.FriendlyName, q.TargetWorkers, q.target, q.TaskOrder, q.MaxReservedWorkers = name, targetSrc, target, order, maxReserved
	if p.Has("AssignmentActivitySid") {
		q.AssignmentActivitySid = p.Get("AssignmentActivitySid")
	}
	if p.Has("ReservationActivitySid") {
		q.ReservationActivitySid = p.Get("ReservationActivitySid")
	}
	q.DateUpdated = s.env.Now()
	return nil
}

func (s *Store) deleteTaskQueue(w http.ResponseWriter, r *http.Request, ws *Workspace) *core.Error {
	q := ws.queue(param(r, "sid"))
	if q == nil {
		return core.NotFound(r)
	}
	for _, wf := range ws.Workflows {
		if wf.config != nil && wf.config.usesQueue(q.Sid) {
			return core.Errf(http.StatusBadRequest, core.CodeInvalidParameter, "TaskQueue %s is used by workflow %s", q.Sid, wf.Sid)
		}
	}
	for _, t := range ws.Tasks {
		if t.QueueSid == q.Sid && isActive(t) {
			return core.Errf(http.StatusBadRequest, core.CodeInvalidParameter, "TaskQueue %s has active tasks", q.Sid)
		}
	}
	ws.TaskQueues = remove(ws.TaskQueues, q)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
