package taskrouter

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/flexhooks/flexhooks/internal/emulator/core"
)

// TaskParams are the parameters of a new task, as POST Tasks takes them.
// Empty WorkflowSid uses the workspace's default workflow (the seed's
// "default" one, else the first); empty TaskChannel is "default".
type TaskParams struct {
	WorkspaceSid, WorkflowSid, TaskChannel string
	Attributes                             map[string]any
	Priority, Timeout                      *int
	// WorkerSid routes the task to that worker only, without evaluating a
	// workflow (Twilio's RoutingTarget; Flex's routing.properties.worker_sid).
	// The task sits in QueueSid, else the first queue whose TargetWorkers
	// match the worker, and waits for that worker if it is busy.
	WorkerSid string
	// QueueSid alone puts the task straight in that queue (Twilio's
	// TaskQueueSid), without evaluating a workflow.
	QueueSid string
	// CancelOnReject cancels the task when its worker rejects it, instead of
	// putting it back to waiting: what Flex does to an invite naming a
	// worker SID (see flex.createInviteTask).
	CancelOnReject bool
}

const (
	maxTaskTimeout = 2592000 // 30 days, Twilio's limit
	maxPriority    = 1<<31 - 1
	ttlReason      = "Task TTL Exceeded"
)

// CreateTask creates a task as POST Tasks does: it sends task.created,
// routes the task at once (so it may come back reserved) and arms its
// timeout.
func (s *Store) CreateTask(p TaskParams) (*Task, *core.Error) {
	ws := s.workspace(p.WorkspaceSid)
	if ws == nil {
		return nil, core.Errf(http.StatusNotFound, core.CodeNotFound, "The requested resource /v1/Workspaces/%s was not found", p.WorkspaceSid)
	}
	var wf *Workflow
	direct := p.WorkerSid != "" || p.QueueSid != ""
	if p.WorkflowSid != "" {
		if wf = ws.workflow(p.WorkflowSid); wf == nil {
			return nil, core.BadParam("WorkflowSid", "no Workflow "+p.WorkflowSid+" in this workspace")
		}
	} else if !direct && len(ws.Workflows) > 0 {
		wf = ws.Workflows[0]
	} else if !direct {
		return nil, core.Required("WorkflowSid")
	}
	var worker *Worker
	if p.WorkerSid != "" {
		if worker = ws.worker(p.WorkerSid); worker == nil {
			return nil, core.BadParam("RoutingTarget", "no Worker "+p.WorkerSid+" in this workspace")
		}
	}
	queueSid := p.QueueSid
	if queueSid != "" && ws.queue(queueSid) == nil {
		return nil, core.BadParam("TaskQueueSid", "no TaskQueue "+queueSid+" in this workspace")
	}
	if worker != nil && queueSid == "" {
		for _, q := range ws.TaskQueues {
			if match(q.target, workerEnv(worker)) {
				queueSid = q.Sid
				break
			}
		}
	}
	chName := p.TaskChannel
	if chName == "" {
		chName = "default"
	}
	ch := ws.taskChannel(chName)
	if ch == nil {
		return nil, core.BadParam("TaskChannel", "no TaskChannel "+chName+" in this workspace")
	}
	timeout := defaultTaskTimeout
	if p.Timeout != nil {
		timeout = *p.Timeout
	}
	if timeout < 1 || timeout > maxTaskTimeout {
		return nil, core.BadParam("Timeout", "must be between 1 and 2592000 seconds")
	}
	priority := 0
	if p.Priority != nil {
		priority = *p.Priority
	}
	if priority < 0 || priority > maxPriority {
		return nil, core.BadParam("Priority", "must be between 0 and 2147483647")
	}
	attrs, err := normalizeJSON(p.Attributes)
	if err != nil {
		return nil, core.BadParam("Attributes", "must be a JSON object")
	}
	now := s.env.Now()
	wfSid := ""
	if wf != nil {
		wfSid = wf.Sid
	}
	t := &Task{
		Sid: core.NewSID("WT"), WorkspaceSid: ws.Sid, WorkflowSid: wfSid,
		TaskChannelSid: ch.Sid, TaskChannelUniqueName: ch.UniqueName,
		AssignmentStatus: StatusPending, Attributes: attrs, Priority: priority, Timeout: timeout,
		DateCreated: now, DateUpdated: now, QueueEnteredAt: now, Version: 1,
	}
	ws.taskSeq++
	t.seq = ws.taskSeq
	ws.Tasks = append(ws.Tasks, t)
	t.route.ttl = s.env.Schedule(now.Add(time.Duration(timeout)*time.Second), func() {
		if isWaiting(t) {
			_ = s.cancelTask(ws, t, ttlReason)
		}
	})
	t.route.cancelOnReject = p.CancelOnReject
	if direct {
		t.route.direct, t.route.filterName = true, "Direct"
		t.route.directWorker = p.WorkerSid
		t.QueueSid = queueSid
	}
	s.emit(ws, "task.created", "Task "+t.Sid+" created", eventRefs{task: t})
	s.startRouting(ws, t)
	s.dispatch(ws)
	return t, nil
}

// UpdateTaskStatus moves a task to wrapping, completed or canceled, as
// POST Tasks/{Sid} with AssignmentStatus does.
func (s *Store) UpdateTaskStatus(workspaceSid, taskSid, status, reason string) *core.Error {
	ws := s.workspace(workspaceSid)
	if ws == nil {
		return core.Errf(http.StatusNotFound, core.CodeNotFound, "The requested resource /v1/Workspaces/%s was not found", workspaceSid)
	}
	t := ws.task(taskSid)
	if t == nil {
		return core.Errf(http.StatusNotFound, core.CodeNotFound, "The requested resource /v1/Workspaces/%s/Tasks/%s was not found", workspaceSid, taskSid)
	}
	return s.setTaskStatus(ws, t, status, reason)
}

func (s *Store) setTaskStatus(ws *Workspace, t *Task, status, reason string) *core.Error {
	switch status {
	case StatusCanceled:
		return s.cancelTask(ws, t, reason)
	case StatusWrapping:
		return s.wrapTask(ws, t, reason)
	case StatusCompleted:
		return s.completeTask(ws, t, reason)
	case StatusPending, StatusReserved, StatusAssigned:
		return core.BadParam("AssignmentStatus", status+" is set by TaskRouter; a request may set canceled, wrapping or completed")
	}
	return core.BadParam("AssignmentStatus", "must be canceled, wrapping or completed")
}

type taskJSON struct {
	AccountSid            string            `json:"account_sid"`
	Age                   int               `json:"age"`
	AssignmentStatus      string            `json:"assignment_status"`
	Attributes            *string           `json:"attributes"`
	Addons                string            `json:"addons"`
	DateCreated           string            `json:"date_created"`
	DateUpdated           string            `json:"date_updated"`
	TaskQueueEnteredDate  *string           `json:"task_queue_entered_date"`
	Priority              int               `json:"priority"`
	Reason                *string           `json:"reason"`
	Sid                   string            `json:"sid"`
	TaskQueueSid          *string           `json:"task_queue_sid"`
	TaskQueueFriendlyName *string           `json:"task_queue_friendly_name"`
	TaskChannelSid        string            `json:"task_channel_sid"`
	TaskChannelUniqueName string            `json:"task_channel_unique_name"`
	Timeout               int               `json:"timeout"`
	WorkflowSid           *string           `json:"workflow_sid"`
	WorkflowFriendlyName  *string           `json:"workflow_friendly_name"`
	WorkspaceSid          string            `json:"workspace_sid"`
	URL                   string            `json:"url"`
	Links                 map[string]string `json:"links"`
	VirtualStartTime      string            `json:"virtual_start_time"`
	IgnoreCapacity        bool              `json:"ignore_capacity"`
	RoutingTarget         *string           `json:"routing_target"`
}

func (s *Store) taskJSON(r *http.Request, ws *Workspace, t *Task) taskJSON {
	base := wsURL(r, t.WorkspaceSid)
	u := base + "/Tasks/" + t.Sid
	j := taskJSON{
		AccountSid:            s.env.AccountSID,
		Age:                   int(s.env.Now().Sub(t.DateCreated).Seconds()),
		AssignmentStatus:      t.AssignmentStatus,
		Attributes:            nullable(encodeObject(t.Attributes)),
		Addons:                "{}",
		DateCreated:           core.ISO(t.DateCreated),
		DateUpdated:           core.ISO(t.DateUpdated),
		Priority:              t.Priority,
		Reason:                nullable(t.Reason),
		Sid:                   t.Sid,
		TaskQueueSid:          nullable(t.QueueSid),
		TaskChannelSid:        t.TaskChannelSid,
		TaskChannelUniqueName: t.TaskChannelUniqueName,
		Timeout:               t.Timeout,
		WorkflowSid:           nullable(t.WorkflowSid),
		WorkspaceSid:          t.WorkspaceSid,
		RoutingTarget:         nullable(t.route.directWorker),
		URL:                   u,
		VirtualStartTime:      core.ISO(t.DateCreated),
		Links: map[string]string{
			"workspace":    base,
			"reservations": u + "/Reservations",
		},
	}
	if t.WorkflowSid != "" {
		j.Links["workflow"] = base + "/Workflows/" + t.WorkflowSid
	}
	if q := ws.queue(t.QueueSid); q != nil {
		j.TaskQueueFriendlyName = &q.FriendlyName
		j.TaskQueueEnteredDate = core.ISOPtr(t.QueueEnteredAt)
		j.Links["task_queue"] = base + "/TaskQueues/" + q.Sid
	}
	if wf := ws.workflow(t.WorkflowSid); wf != nil {
		j.WorkflowFriendlyName = &wf.FriendlyName
	}
	return j
}

func (s *Store) createTaskHTTP(w http.ResponseWriter, r *http.Request, ws *Workspace) *core.Error {
	p, err := core.Form(r)
	if err != nil {
		return err
	}
	tp := TaskParams{WorkspaceSid: ws.Sid, WorkflowSid: p.Get("WorkflowSid"), TaskChannel: p.Get("TaskChannel"),
		WorkerSid: p.Get("RoutingTarget"), QueueSid: p.Get("TaskQueueSid")}
	if tp.Attributes, err = jsonObjectParam(p, "Attributes"); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		dst  **int
	}{{"Priority", &tp.Priority}, {"Timeout", &tp.Timeout}} {
		if p.Has(f.name) {
			n, err := p.Int(f.name, 0)
			if err != nil {
				return err
			}
			*f.dst = &n
		}
	}
	t, err := s.CreateTask(tp)
	if err != nil {
		return err
	}
	setETag(w, t.Version)
	core.WriteJSON(w, http.StatusCreated, s.taskJSON(r, ws, t))
	return nil
}

func (s *Store) findTask(r *http.Request, ws *Workspace) (*Task, *core.Error) {
	t := ws.task(param(r, "sid"))
	if t == nil {
		return nil, core.NotFound(r)
	}
	return t, nil
}

func (s *Store) fetchTask(w http.ResponseWriter, r *http.Request, ws *Workspace) *core.Error {
	t, err := s.findTask(r, ws)
	if err != nil {
		return err
	}
	setETag(w, t.Version)
	core.WriteJSON(w, http.StatusOK, s.taskJSON(r, ws, t))
	return nil
}

// updateTask applies Attributes, Priority and Reason, then AssignmentStatus;
// everything is validated first, so a refused request changes nothing.
func (s *Store) updateTask(w http.ResponseWriter, r *http.Request, ws *Workspace) *core.Error {
	t, err := s.findTask(r, ws)
	if err != nil {
		return err
	}
	if err := ifMatch(r, t.Version); err != nil {
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
	priority, err := p.Int("Priority", t.Priority)
	if err != nil {
		return err
	}
	if priority < 0 || priority > maxPriority {
		return core.BadParam("Priority", "must be between 0 and 2147483647")
	}
	if p.Has("TaskChannel") && ws.taskChannel(p.Get("TaskChannel")) == nil {
		return core.BadParam("TaskChannel", "no such TaskChannel in this workspace")
	}
	status, reason := p.Get("AssignmentStatus"), p.Get("Reason")
	if status != "" {
		if err := s.checkTransition(t, status); err != nil {
			return err
		}
	}
	if !isActive(t) && (attrs != nil || p.Has("Priority")) {
		return core.Errf(http.StatusBadRequest, core.CodeInvalidParameter, "Task %s is %s and can no longer be updated", t.Sid, t.AssignmentStatus)
	}
	changed := false
	if attrs != nil {
		t.Attributes = attrs
		changed = true
	}
	if p.Has("Priority") && priority != t.Priority {
		t.Priority = priority
		changed = true
	}
	if changed {
		s.touch(t)
		s.emit(ws, "task.updated", "Task "+t.Sid+" updated", eventRefs{task: t})
		if t.AssignmentStatus == StatusPending {
			// TaskRouter re-evaluates the workflow when a waiting task changes.
			s.startRouting(ws, t)
		}
	}
	if status != "" {
		if err := s.setTaskStatus(ws, t, status, reason); err != nil {
			return err
		}
	} else if reason != "" {
		t.Reason = reason
		s.touch(t)
	}
	if changed {
		s.dispatch(ws)
	}
	setETag(w, t.Version)
	core.WriteJSON(w, http.StatusOK, s.taskJSON(r, ws, t))
	return nil
}

// checkTransition is setTaskStatus's precondition, checked before the
// request changes anything else.
func (s *Store) checkTransition(t *Task, status string) *core.Error {
	ok := false
	switch status {
	case StatusCanceled:
		ok = isWaiting(t)
	case StatusWrapping:
		ok = t.AssignmentStatus == StatusAssigned
	case StatusCompleted:
		ok = t.AssignmentStatus == StatusAssigned || t.AssignmentStatus == StatusWrapping
	case StatusPending, StatusReserved, StatusAssigned:
		return core.BadParam("AssignmentStatus", status+" is set by TaskRouter; a request may set canceled, wrapping or completed")
	default:
		return core.BadParam("AssignmentStatus", "must be canceled, wrapping or completed")
	}
	if !ok {
		return core.Errf(http.StatusBadRequest, core.CodeInvalidParameter, "Task %s is %s and cannot move to %s", t.Sid, t.AssignmentStatus, status)
	}
	return nil
}

func (s *Store) deleteTask(w http.ResponseWriter, r *http.Request, ws *Workspace) *core.Error {
	t, err := s.findTask(r, ws)
	if err != nil {
		return err
	}
	if err := ifMatch(r, t.Version); err != nil {
		return err
	}
	s.removeTask(ws, t)
	s.emit(ws, "task.deleted", "Task "+t.Sid+" deleted", eventRefs{task: t})
	w.WriteHeader(http.StatusNoContent)
	s.dispatch(ws)
	return nil
}

func (s *Store) listTasks(w http.ResponseWriter, r *http.Request, ws *Workspace) *core.Error {
	q := r.URL.Query()
	statuses := map[string]bool{}
	for _, v := range q["AssignmentStatus"] {
		for _, st := range strings.Split(v, ",") {
			if st = strings.TrimSpace(st); st != "" {
				statuses[st] = true
			}
		}
	}
	var priority *int
	if q.Get("Priority") != "" {
		n, err := strconv.Atoi(q.Get("Priority"))
		if err != nil {
			return core.BadParam("Priority", "must be an integer")
		}
		priority = &n
	}
	var eval = func(*Task) bool { return true }
	if src := q.Get("EvaluateTaskAttributes"); src != "" {
		e, err := parseExpr("EvaluateTaskAttributes", src)
		if err != nil {
			return err
		}
		eval = func(t *Task) bool { return match(e, taskEnv(t.Attributes)) }
	}
	queueSid := q.Get("TaskQueueSid")
	if name := q.Get("TaskQueueName"); name != "" {
		queueSid = "-"
		if tq := ws.queueByName(name); tq != nil {
			queueSid = tq.Sid
		}
	}
	workflowSid := q.Get("WorkflowSid")
	if name := q.Get("WorkflowName"); name != "" {
		workflowSid = "-"
		if sid := s.workflowSIDIn(ws, name); sid != "" {
			workflowSid = sid
		}
	}
	var tasks []*Task
	for _, t := range ws.Tasks {
		switch {
		case len(statuses) > 0 && !statuses[t.AssignmentStatus],
			priority != nil && t.Priority != *priority,
			workflowSid != "" && t.WorkflowSid != workflowSid,
			queueSid != "" && t.QueueSid != queueSid,
			!eval(t):
			continue
		}
		tasks = append(tasks, t)
	}
	if err := orderTasks(tasks, q.Get("Ordering")); err != nil {
		return err
	}
	out := make([]taskJSON, 0, len(tasks))
	for _, t := range tasks {
		j := s.taskJSON(r, ws, t)
		if !s.env.Behaviour.TaskListAttributes {
			j.Attributes = nil // the spec: shown only when one task is fetched
		}
		out = append(out, j)
	}
	core.WriteList(w, r, out, "tasks")
	return nil
}

// orderTasks applies Twilio's Ordering, e.g. "DateCreated:asc" or
// "Priority:desc,DateCreated:asc". Without it, oldest first.
func orderTasks(tasks []*Task, ordering string) *core.Error {
	type key struct {
		field string
		desc  bool
	}
	var keys []key
	for _, part := range strings.Split(ordering, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		field, dir, _ := strings.Cut(part, ":")
		if field != "DateCreated" && field != "Priority" {
			return core.BadParam("Ordering", "fields are DateCreated and Priority")
		}
		if dir != "" && dir != "asc" && dir != "desc" {
			return core.BadParam("Ordering", "directions are asc and desc")
		}
		keys = append(keys, key{field, dir == "desc"})
	}
	keys = append(keys, key{"DateCreated", false})
	sort.SliceStable(tasks, func(i, j int) bool {
		a, b := tasks[i], tasks[j]
		for _, k := range keys {
			var less, greater bool
			switch k.field {
			case "Priority":
				less, greater = a.Priority < b.Priority, a.Priority > b.Priority
			default:
				less, greater = olderThan(a, b), olderThan(b, a)
			}
			if k.desc {
				less, greater = greater, less
			}
			if less {
				return true
			}
			if greater {
				return false
			}
		}
		return false
	})
	return nil
}

// olderThan orders tasks by creation: date, then creation order.
func olderThan(a, b *Task) bool {
	if !a.DateCreated.Equal(b.DateCreated) {
		return a.DateCreated.Before(b.DateCreated)
	}
	return a.seq < b.seq
}
