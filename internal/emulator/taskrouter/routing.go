package taskrouter

import (
	"sort"
	"time"

	"github.com/flexhooks/flexhooks/internal/emulator/core"
	"github.com/flexhooks/flexhooks/internal/emulator/taskrouter/expr"
)

// taskRoute is where a task stands in its workflow.
type taskRoute struct {
	filter     int // index of the matched filter; -1 is default_filter
	filterName string
	target     int // index into the filter's targets; len(targets) is default_filter's queue

	targetTimer *core.Timer
	// targetExpired: the target's timeout came while a reservation was
	// pending; the task moves on if that reservation is not accepted.
	targetExpired bool
	// excluded holds the workers that rejected the task: they are not
	// offered it again (endReservation).
	excluded map[string]bool
	ttl      *core.Timer

	// direct routing (TaskParams.WorkerSid / QueueSid) bypasses the workflow.
	direct         bool
	directWorker   string
	cancelOnReject bool
	// removal deletes a completed or canceled task (taskRetention).
	removal *core.Timer
}

func (r *taskRoute) stop() {
	r.targetTimer.Stop()
	r.ttl.Stop()
}

func (s *Store) targetsOf(wf *Workflow, t *Task) []wfTarget {
	if wf == nil || wf.config == nil || t.route.filter < 0 || t.route.filter >= len(wf.config.filters) {
		return nil
	}
	return wf.config.filters[t.route.filter].targets
}

// startRouting (re)evaluates the workflow's filters for a waiting task and
// puts it at the first target of the matching one.
func (s *Store) startRouting(ws *Workspace, t *Task) {
	if t.route.direct {
		return
	}
	wf := ws.workflow(t.WorkflowSid)
	t.route.filter, t.route.filterName = -1, "Default Filter"
	if wf != nil && wf.config != nil {
		env := taskEnv(t.Attributes)
		for i, f := range wf.config.filters {
			if match(f.match, env) {
				t.route.filter, t.route.filterName = i, f.name
				break
			}
		}
	}
	s.enterTarget(ws, t, 0)
}

// enterTarget moves the task to target idx of its filter: it takes the
// target's queue and priority and arms the target's timeout.
func (s *Store) enterTarget(ws *Workspace, t *Task, idx int) {
	t.route.targetTimer.Stop()
	t.route.targetTimer = nil
	t.route.targetExpired = false
	t.route.target = idx
	wf := ws.workflow(t.WorkflowSid)
	targets := s.targetsOf(wf, t)
	queue := ""
	if wf != nil && wf.config != nil {
		queue = wf.config.defaultQueue
	}
	if idx < len(targets) {
		tg := targets[idx]
		if tg.queue != "" {
			queue = tg.queue
		}
		if tg.priority != nil && *tg.priority != t.Priority {
			t.Priority = *tg.priority
			s.touch(t)
		}
		if tg.timeout > 0 {
			t.route.targetTimer = s.env.Schedule(s.env.Now().Add(time.Duration(tg.timeout)*time.Second), func() {
				s.targetTimedOut(ws, t, idx)
			})
		}
	}
	if queue != t.QueueSid {
		t.QueueSid = queue
		t.QueueEnteredAt = s.env.Now()
		s.touch(t)
		if queue != "" {
			s.emit(ws, "task-queue.entered", "Task "+t.Sid+" entered TaskQueue "+s.queueName(ws, queue), eventRefs{task: t})
		}
	}
}

// targetTimedOut moves a task still waiting at target idx to the next one.
func (s *Store) targetTimedOut(ws *Workspace, t *Task, idx int) {
	if t.route.target != idx || !isWaiting(t) {
		return
	}
	if t.AssignmentStatus == StatusReserved {
		t.route.targetExpired = true
		return
	}
	s.advanceTarget(ws, t)
	s.dispatch(ws)
}

// advanceTarget moves the task to its next target, or to default_filter's
// queue after the last one; without a default queue it stays where it is.
func (s *Store) advanceTarget(ws *Workspace, t *Task) {
	wf := ws.workflow(t.WorkflowSid)
	targets := s.targetsOf(wf, t)
	next := t.route.target + 1
	if next > len(targets) || (next == len(targets) && (wf == nil || wf.config == nil || wf.config.defaultQueue == "")) {
		return
	}
	s.emit(ws, "task-queue.timeout", "Task "+t.Sid+" timed out of TaskQueue "+s.queueName(ws, t.QueueSid), eventRefs{task: t})
	s.enterTarget(ws, t, next)
}

// dispatch offers every waiting task, highest priority and then oldest
// first, to the best eligible worker.
func (s *Store) dispatch(ws *Workspace) {
	if ws.routing {
		ws.routeAgain = true
		return
	}
	ws.routing = true
	defer func() { ws.routing = false }()
	for pass := 0; pass < 100; pass++ {
		ws.routeAgain = false
		var waiting []*Task
		for _, t := range ws.Tasks {
			if t.AssignmentStatus == StatusPending {
				waiting = append(waiting, t)
			}
		}
		sort.SliceStable(waiting, func(i, j int) bool {
			a, b := waiting[i], waiting[j]
			if a.Priority != b.Priority {
				return a.Priority > b.Priority
			}
			if a.QueueSid == b.QueueSid {
				if q := ws.queue(a.QueueSid); q != nil && q.TaskOrder == "LIFO" {
					return olderThan(b, a)
				}
			}
			return olderThan(a, b)
		})
		for _, t := range waiting {
			if t.AssignmentStatus == StatusPending && ws.pendingReservation(t.Sid) == nil {
				s.route(ws, t)
			}
		}
		if !ws.routeAgain {
			return
		}
	}
}

// route tries to reserve a worker for one waiting task at its current
// target, moving past targets whose skip_if holds.
func (s *Store) route(ws *Workspace, t *Task) {
	if t.route.direct {
		var tg *wfTarget
		if t.route.directWorker != "" {
			// Only that worker; the queue is where the task sits, not a filter.
			tg = &wfTarget{knownSid: t.route.directWorker}
		}
		queue := t.QueueSid
		if tg != nil {
			queue = ""
		}
		if best := s.best(ws, t, s.candidates(ws, t, tg, queue)); best != nil {
			s.reserve(ws, t, best, ws.workflow(t.WorkflowSid))
		}
		return
	}
	for range 1000 {
		wf := ws.workflow(t.WorkflowSid)
		if wf == nil || wf.config == nil {
			return
		}
		targets := s.targetsOf(wf, t)
		idx := t.route.target
		var tg *wfTarget
		queue := wf.config.defaultQueue
		if idx < len(targets) {
			tg = &targets[idx]
			queue = tg.queue
		} else if queue == "" {
			return
		}
		cands := s.candidates(ws, t, tg, queue)
		if tg != nil && tg.skipIf != nil && (idx+1 < len(targets) || wf.config.defaultQueue != "") {
			avail := 0
			for _, w := range cands {
				if s.eligible(ws, t, w) {
					avail++
				}
			}
			env := map[string]any{"workers": map[string]any{"available": avail, "count": len(cands)}, "task": t.Attributes}
			if match(tg.skipIf, env) {
				s.enterTarget(ws, t, idx+1)
				continue
			}
		}
		if best := s.best(ws, t, cands); best != nil {
			s.reserve(ws, t, best, wf)
		}
		return
	}
}

// best is the eligible candidate idle longest (never-reserved first), ties
// to the worker created first.
func (s *Store) best(ws *Workspace, t *Task, cands []*Worker) *Worker {
	var best *Worker
	for _, w := range cands {
		if !s.eligible(ws, t, w) {
			continue
		}
		if best == nil || w.lastReserved < best.lastReserved ||
			(w.lastReserved == best.lastReserved && w.seq < best.seq) {
			best = w
		}
	}
	return best
}

// candidates are the workers a target reaches, available or not: in the
// queue, passing known_worker_* and the target expression, and not
// excluded for this task.
func (s *Store) candidates(ws *Workspace, t *Task, tg *wfTarget, queueSid string) []*Worker {
	q := ws.queue(queueSid)
	knownSid, knownName := "", ""
	if tg != nil {
		var ok bool
		if knownSid, ok = s.known(tg.knownSid, tg.knownSidExpr, t); !ok {
			return nil
		}
		if knownName, ok = s.known(tg.knownName, tg.knownNameExpr, t); !ok {
			return nil
		}
	}
	var out []*Worker
	for _, w := range ws.Workers {
		switch {
		case t.route.excluded[w.Sid],
			knownSid != "" && w.Sid != knownSid,
			knownName != "" && w.FriendlyName != knownName,
			q != nil && !match(q.target, workerEnv(w)),
			tg != nil && tg.match != nil && !match(tg.match, targetEnv(w, t)):
			continue
		}
		out = append(out, w)
	}
	return out
}

// known resolves a known_worker_* setting; ok is false when it names an
// expression that gives no string for this task (the target then matches
// no worker).
func (s *Store) known(literal string, e *expr.Expr, t *Task) (string, bool) {
	if literal != "" {
		return literal, true
	}
	if e == nil {
		return "", true
	}
	v, err := e.Value(taskEnv(t.Attributes))
	str, isStr := v.(string)
	if err != nil || !isStr || str == "" {
		return "", false
	}
	return str, true
}

// eligible: available, with the task's channel available and spare
// capacity on it (any capacity at all when multitasking is off).
func (s *Store) eligible(ws *Workspace, t *Task, w *Worker) bool {
	if !w.Available {
		return false
	}
	ch := w.channel(t.TaskChannelSid)
	if ch == nil || !ch.Available || ws.assignedTasks(w.Sid, ch.TaskChannelSid) >= ch.Capacity {
		return false
	}
	if !ws.MultiTaskEnabled {
		for _, c := range w.Channels {
			if ws.assignedTasks(w.Sid, c.TaskChannelSid) > 0 {
				return false
			}
		}
	}
	return true
}

func (s *Store) queueName(ws *Workspace, sid string) string {
	if q := ws.queue(sid); q != nil {
		return q.FriendlyName
	}
	return ""
}

// isWaiting: pending or reserved, the states a task's timeout applies to.
func isWaiting(t *Task) bool {
	return t.AssignmentStatus == StatusPending || t.AssignmentStatus == StatusReserved
}

// isActive: not yet completed or canceled.
func isActive(t *Task) bool {
	return t.AssignmentStatus != StatusCompleted && t.AssignmentStatus != StatusCanceled
}

// touch records a change to the task: a new version (ETag) and date_updated.
func (s *Store) touch(t *Task) {
	t.Version++
	t.DateUpdated = s.env.Now()
}
