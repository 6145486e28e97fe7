package taskrouter

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/flexhooks/flexhooks/internal/emulator/core"
	"github.com/flexhooks/flexhooks/internal/emulator/taskrouter/expr"
)

// workflowConfig is a parsed workflow Configuration:
//
//	{"task_routing": {"filters": [{"filter_friendly_name", "expression", "targets": [
//	    {"queue", "known_worker_sid", "known_worker_friendly_name", "expression", "timeout", "priority", "order_by"}]}],
//	  "default_filter": {"queue"}}}
//
// skip_if is evaluated with "workers.available" (eligible workers the
// target reaches now) and "workers.count" (all it reaches); order_by is
// accepted and ignored (see the package doc for how workers are chosen).
type workflowConfig struct {
	filters      []wfFilter
	defaultQueue string // "" when the configuration has no default_filter
}

type wfFilter struct {
	name    string
	match   *expr.Expr
	targets []wfTarget
}

type wfTarget struct {
	queue string // SID, "" for a known-worker target without a queue
	// knownSid / knownName hold a literal, or an expression over the task
	// (knownSidExpr / knownNameExpr) such as task.originalRouting.workerSid.
	knownSid, knownName         string
	knownSidExpr, knownNameExpr *expr.Expr
	match                       *expr.Expr // nil: every worker of the queue
	timeout                     int        // seconds; 0 waits until the task's own timeout
	priority                    *int
	skipIf                      *expr.Expr
}

type rawWorkflow struct {
	TaskRouting *struct {
		Filters []struct {
			FriendlyName string      `json:"filter_friendly_name"`
			Expression   string      `json:"expression"`
			Targets      []rawTarget `json:"targets"`
		} `json:"filters"`
		DefaultFilter *struct {
			Queue string `json:"queue"`
		} `json:"default_filter"`
	} `json:"task_routing"`
}

type rawTarget struct {
	Queue                   string `json:"queue"`
	KnownWorkerSid          string `json:"known_worker_sid"`
	KnownWorkerFriendlyName string `json:"known_worker_friendly_name"`
	Expression              string `json:"expression"`
	Timeout                 *int   `json:"timeout"`
	Priority                *int   `json:"priority"`
	OrderBy                 any    `json:"order_by"`
	SkipIf                  string `json:"skip_if"`
}

// parseWorkflowConfig validates a Configuration as TaskRouter does on create
// and update: valid JSON, task_routing present, every queue existing, every
// expression parsing.
func parseWorkflowConfig(ws *Workspace, text string) (*workflowConfig, *core.Error) {
	bad := func(why string) *core.Error { return core.BadParam("Configuration", why) }
	var raw rawWorkflow
	dec := json.NewDecoder(bytes.NewReader([]byte(text)))
	if err := dec.Decode(&raw); err != nil {
		return nil, bad("must be the workflow's JSON document: " + err.Error())
	}
	if raw.TaskRouting == nil {
		return nil, bad("task_routing is required")
	}
	cfg := &workflowConfig{}
	checkQueue := func(sid string) *core.Error {
		if ws.queue(sid) == nil {
			return bad("no TaskQueue " + sid + " in this workspace")
		}
		return nil
	}
	if d := raw.TaskRouting.DefaultFilter; d != nil && d.Queue != "" {
		if err := checkQueue(d.Queue); err != nil {
			return nil, err
		}
		cfg.defaultQueue = d.Queue
	}
	for i, f := range raw.TaskRouting.Filters {
		name := f.FriendlyName
		if name == "" {
			name = "Filter " + core.Itoa(i+1)
		}
		m, err := parseExpr("Configuration", f.Expression)
		if err != nil {
			return nil, bad("filter " + name + ": " + err.Message)
		}
		if len(f.Targets) == 0 {
			return nil, bad("filter " + name + " has no targets")
		}
		wf := wfFilter{name: name, match: m}
		for j, t := range f.Targets {
			tg := wfTarget{queue: t.Queue, priority: t.Priority}
			if t.Timeout != nil {
				if *t.Timeout < 0 {
					return nil, bad("filter " + name + ": a target timeout must not be negative")
				}
				tg.timeout = *t.Timeout
			}
			if t.Queue != "" {
				if err := checkQueue(t.Queue); err != nil {
					return nil, err
				}
			} else {
				// A target without a queue keeps the task in the queue it is
				// in — the previous target's — and only drops that target's
				// worker expression, as the lifecycle doc's
				// [{queue, timeout, expression}, {timeout}] example shows
				// (docs/taskrouter/lifecycle-task-workflows-and-assignment).
				// A first target has no previous one: the default_filter's
				// queue stands in; without one there is nowhere to wait.
				tg.queue = cfg.defaultQueue
				if j > 0 {
					tg.queue = wf.targets[j-1].queue
				}
				if tg.queue == "" && t.KnownWorkerSid == "" && t.KnownWorkerFriendlyName == "" {
					return nil, bad("filter " + name + ": its first target has no queue and the workflow no default_filter to stand in")
				}
			}
			if strings.TrimSpace(t.Expression) != "" {
				if tg.match, err = parseExpr("Configuration", t.Expression); err != nil {
					return nil, bad("filter " + name + ": target expression: " + err.Message)
				}
			}
			if strings.TrimSpace(t.SkipIf) != "" {
				if tg.skipIf, err = parseExpr("Configuration", t.SkipIf); err != nil {
					return nil, bad("filter " + name + ": skip_if: " + err.Message)
				}
			}
			if k := strings.TrimSpace(t.KnownWorkerSid); k != "" {
				if core.ValidSID("WK", k) {
					tg.knownSid = k
				} else if tg.knownSidExpr, err = parseExpr("Configuration", k); err != nil {
					return nil, bad("filter " + name + ": known_worker_sid: " + err.Message)
				}
			}
			if k := strings.TrimSpace(t.KnownWorkerFriendlyName); k != "" {
				// A bare name is the worker's name; anything naming the task is an expression.
				if strings.HasPrefix(k, "task.") || strings.HasPrefix(k, "task[") {
					if tg.knownNameExpr, err = parseExpr("Configuration", k); err != nil {
						return nil, bad("filter " + name + ": known_worker_friendly_name: " + err.Message)
					}
				} else {
					tg.knownName = strings.Trim(k, `"'`)
				}
			}
			wf.targets = append(wf.targets, tg)
		}
		cfg.filters = append(cfg.filters, wf)
	}
	return cfg, nil
}

// usesQueue reports whether the configuration routes to the queue (a queue
// in use cannot be deleted).
func (c *workflowConfig) usesQueue(sid string) bool {
	if c.defaultQueue == sid {
		return true
	}
	for _, f := range c.filters {
		for _, t := range f.targets {
			if t.queue == sid {
				return true
			}
		}
	}
	return false
}

type workflowJSON struct {
	AccountSid                    string            `json:"account_sid"`
	AssignmentCallbackURL         *string           `json:"assignment_callback_url"`
	Configuration                 string            `json:"configuration"`
	DateCreated                   string            `json:"date_created"`
	DateUpdated                   string            `json:"date_updated"`
	DocumentContentType           string            `json:"document_content_type"`
	FallbackAssignmentCallbackURL *string           `json:"fallback_assignment_callback_url"`
	FriendlyName                  string            `json:"friendly_name"`
	Sid                           string            `json:"sid"`
	TaskReservationTimeout        int               `json:"task_reservation_timeout"`
	WorkspaceSid                  string            `json:"workspace_sid"`
	URL                           string            `json:"url"`
	Links                         map[string]string `json:"links"`
}

func (s *Store) workflowJSON(r *http.Request, wf *Workflow) workflowJSON {
	u := wsURL(r, wf.WorkspaceSid) + "/Workflows/" + wf.Sid
	return workflowJSON{
		AccountSid:                    s.env.AccountSID,
		AssignmentCallbackURL:         nullable(wf.AssignmentCallbackURL),
		Configuration:                 wf.Configuration,
		DateCreated:                   core.ISO(wf.DateCreated),
		DateUpdated:                   core.ISO(wf.DateUpdated),
		DocumentContentType:           "application/json",
		FallbackAssignmentCallbackURL: nullable(wf.FallbackAssignmentCallbackURL),
		FriendlyName:                  wf.FriendlyName,
		Sid:                           wf.Sid,
		TaskReservationTimeout:        wf.TaskReservationTimeout,
		WorkspaceSid:                  wf.WorkspaceSid,
		URL:                           u,
		Links: map[string]string{
			"statistics":            u + "/Statistics",
			"real_time_statistics":  u + "/RealTimeStatistics",
			"cumulative_statistics": u + "/CumulativeStatistics",
		},
	}
}

func (s *Store) listWorkflows(w http.ResponseWriter, r *http.Request, ws *Workspace) *core.Error {
	name := r.URL.Query().Get("FriendlyName")
	out := []workflowJSON{}
	for _, wf := range ws.Workflows {
		if name == "" || wf.FriendlyName == name {
			out = append(out, s.workflowJSON(r, wf))
		}
	}
	core.WriteList(w, r, out, "workflows")
	return nil
}

func (s *Store) findWorkflow(r *http.Request, ws *Workspace) (*Workflow, *core.Error) {
	wf := ws.workflow(param(r, "sid"))
	if wf == nil {
		return nil, core.NotFound(r)
	}
	return wf, nil
}

func (s *Store) fetchWorkflow(w http.ResponseWriter, r *http.Request, ws *Workspace) *core.Error {
	wf, err := s.findWorkflow(r, ws)
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, s.workflowJSON(r, wf))
	return nil
}

func (s *Store) createWorkflow(w http.ResponseWriter, r *http.Request, ws *Workspace) *core.Error {
	p, err := core.Form(r)
	if err != nil {
		return err
	}
	wf := &Workflow{Sid: core.NewSID("WW"), WorkspaceSid: ws.Sid, TaskReservationTimeout: defaultReservationTimeout,
		DateCreated: s.env.Now()}
	if p.Get("FriendlyName") == "" {
		return core.Required("FriendlyName")
	}
	if p.Get("Configuration") == "" {
		return core.Required("Configuration")
	}
	if err := s.applyWorkflow(ws, wf, p); err != nil {
		return err
	}
	ws.Workflows = append(ws.Workflows, wf)
	core.WriteJSON(w, http.StatusCreated, s.workflowJSON(r, wf))
	return nil
}

func (s *Store) updateWorkflow(w http.ResponseWriter, r *http.Request, ws *Workspace) *core.Error {
	wf, err := s.findWorkflow(r, ws)
	if err != nil {
		return err
	}
	p, err := core.Form(r)
	if err != nil {
		return err
	}
	if err := s.applyWorkflow(ws, wf, p); err != nil {
		return err
	}
	reEvaluate, err := p.Bool("ReEvaluateTasks", false)
	if err != nil {
		return err
	}
	if reEvaluate || p.Has("Configuration") {
		// TaskRouter re-evaluates pending tasks against a changed configuration.
		for _, t := range ws.Tasks {
			if t.WorkflowSid == wf.Sid && t.AssignmentStatus == StatusPending {
				s.startRouting(ws, t)
			}
		}
		s.dispatch(ws)
	}
	core.WriteJSON(w, http.StatusOK, s.workflowJSON(r, wf))
	return nil
}

// applyWorkflow validates every parameter before changing anything, so a
// bad request leaves the workflow as it was.
func (s *Store) applyWorkflow(ws *Workspace, wf *Workflow, p core.Params) *core.Error {
	timeout, err := p.Int("TaskReservationTimeout", wf.TaskReservationTimeout)
	if err != nil {
		return err
	}
	if timeout < 1 || timeout > maxReservationTimeout {
		return core.BadParam("TaskReservationTimeout", "must be between 1 and 86400")
	}
	var cfg *workflowConfig
	if p.Has("Configuration") {
		if cfg, err = parseWorkflowConfig(ws, p.Get("Configuration")); err != nil {
			return err
		}
	}
	if p.Has("FriendlyName") {
		if p.Get("FriendlyName") == "" {
			return core.BadParam("FriendlyName", "must not be empty")
		}
		wf.FriendlyName = p.Get("FriendlyName")
	}
	if cfg != nil {
		wf.Configuration = p.Get("Configuration")
		wf.config = cfg
	}
	wf.TaskReservationTimeout = timeout
	if p.Has("AssignmentCallbackUrl") {
		wf.AssignmentCallbackURL = p.Get("AssignmentCallbackUrl")
	}
	if p.Has("FallbackAssignmentCallbackUrl") {
		wf.FallbackAssignmentCallbackURL = p.Get("FallbackAssignmentCallbackUrl")
	}
	wf.DateUpdated = s.env.Now()
	return nil
}

func (s *Store) deleteWorkflow(w http.ResponseWriter, r *http.Request, ws *Workspace) *core.Error {
	wf, err := s.findWorkflow(r, ws)
	if err != nil {
		return err
	}
	for _, t := range ws.Tasks {
		if t.WorkflowSid == wf.Sid && isActive(t) {
			return core.Errf(http.StatusBadRequest, core.CodeInvalidParameter, "Workflow %s has active tasks and cannot be deleted", wf.Sid)
		}
	}
	ws.Workflows = remove(ws.Workflows, wf)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
