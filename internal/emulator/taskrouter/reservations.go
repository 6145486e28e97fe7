package taskrouter

import (
	"net/http"
	"time"

	"github.com/flexhooks/flexhooks/internal/emulator/core"
)

// reserve offers the task to the worker and arms the workflow's
// TaskReservationTimeout.
func (s *Store) reserve(ws *Workspace, t *Task, w *Worker, wf *Workflow) {
	now := s.env.Now()
	r := &Reservation{Sid: core.NewSID("WR"), TaskSid: t.Sid, WorkerSid: w.Sid, WorkspaceSid: ws.Sid,
		Status: ResPending, WorkerName: w.FriendlyName, DateCreated: now, DateUpdated: now, Version: 1}
	ws.Reservations = append(ws.Reservations, r)
	t.AssignmentStatus, t.WorkerSid = StatusReserved, w.Sid
	s.touch(t)
	ws.reserveSeq++
	w.lastReserved = ws.reserveSeq
	timeout := defaultReservationTimeout
	if wf != nil && wf.TaskReservationTimeout > 0 {
		timeout = wf.TaskReservationTimeout
	}
	r.timer = s.env.Schedule(now.Add(time.Duration(timeout)*time.Second), func() {
		if r.Status == ResPending {
			s.endReservation(ws, r, ResTimeout)
		}
	})
	s.emit(ws, "reservation.created", "Reservation "+r.Sid+" created for Worker "+w.FriendlyName, eventRefs{task: t, worker: w, reservation: r})
	if q := ws.queue(t.QueueSid); q != nil && q.ReservationActivitySid != "" {
		if a := ws.activity(q.ReservationActivitySid); a != nil {
			s.setActivity(ws, w, a, false)
		}
	}
}

// endReservation closes a pending reservation that was not accepted:
// rejected, timeout, canceled (its task was canceled) or rescinded (its
// worker was deleted). A rejected or timed-out task goes back to waiting
// and on to the next worker; a timed-out worker moves to the workspace's
// timeout activity, as TaskRouter does.
func (s *Store) endReservation(ws *Workspace, r *Reservation, status string) {
	if r.Status != ResPending {
		return
	}
	r.Status = status
	r.timer.Stop()
	r.DateUpdated = s.env.Now()
	r.Version++
	t, w := ws.task(r.TaskSid), ws.worker(r.WorkerSid)
	desc := "Reservation " + r.Sid + " " + status
	s.emit(ws, "reservation."+status, desc, eventRefs{task: t, worker: w, reservation: r})
	if t == nil || status == ResCanceled {
		return
	}
	if status == ResRejected && t.route.cancelOnReject {
		_ = s.cancelTask(ws, t, "Reservation rejected by the invited worker")
		return
	}
	// A worker who rejected the task is not offered it again. One whose
	// reservation timed out moves to the timeout activity instead, and is
	// offered the task again once available: TaskRouter's docs say only that
	// the task "will be available for other workers"
	// (https://www.twilio.com/docs/taskrouter/api/reservations); keeping the
	// worker out for good would strand a task when every worker timed out.
	if status == ResRejected {
		if t.route.excluded == nil {
			t.route.excluded = map[string]bool{}
		}
		t.route.excluded[r.WorkerSid] = true
	}
	if t.AssignmentStatus == StatusReserved {
		t.AssignmentStatus, t.WorkerSid = StatusPending, ""
		s.touch(t)
	}
	if status == ResTimeout && w != nil {
		if a := ws.activity(ws.TimeoutActivitySid); a != nil {
			s.setActivity(ws, w, a, false)
		}
	}
	if t.route.targetExpired {
		s.advanceTarget(ws, t)
	}
	s.dispatch(ws)
}

// accept assigns the task to the reservation's worker.
func (s *Store) accept(ws *Workspace, r *Reservation) *core.Error {
	if r.Status != ResPending {
		return core.Errf(http.StatusBadRequest, core.CodeInvalidParameter, "Reservation %s is %s, not pending: it cannot be accepted", r.Sid, r.Status)
	}
	t, w := ws.task(r.TaskSid), ws.worker(r.WorkerSid)
	if t == nil || w == nil {
		return core.Errf(http.StatusBadRequest, core.CodeInvalidParameter, "Reservation %s lost its task or worker", r.Sid)
	}
	r.Status = ResAccepted
	r.timer.Stop()
	r.DateUpdated = s.env.Now()
	r.Version++
	t.AssignmentStatus, t.WorkerSid = StatusAssigned, w.Sid
	t.route.stop()
	s.touch(t)
	if q := ws.queue(t.QueueSid); q != nil && q.AssignmentActivitySid != "" {
		if a := ws.activity(q.AssignmentActivitySid); a != nil {
			s.setActivity(ws, w, a, false)
		}
	}
	if s.OnReservationAccepted != nil {
		s.OnReservationAccepted(t, r, w)
	}
	s.emit(ws, "reservation.accepted", "Reservation "+r.Sid+" accepted by Worker "+w.FriendlyName, eventRefs{task: t, worker: w, reservation: r})
	return nil
}

// wrapTask moves an assigned task and its reservation to wrapping.
func (s *Store) wrapTask(ws *Workspace, t *Task, reason string) *core.Error {
	if t.AssignmentStatus != StatusAssigned {
		return core.Errf(http.StatusBadRequest, core.CodeInvalidParameter, "Task %s is %s: only an assigned task can move to wrapping", t.Sid, t.AssignmentStatus)
	}
	t.AssignmentStatus = StatusWrapping
	if reason != "" {
		t.Reason = reason
	}
	s.touch(t)
	r := ws.activeReservation(t.Sid)
	var w *Worker
	if r != nil {
		r.Status, r.DateUpdated = ResWrapping, s.env.Now()
		r.Version++
		w = ws.worker(r.WorkerSid)
		s.emit(ws, "reservation.wrapup", "Reservation "+r.Sid+" wrapping", eventRefs{task: t, worker: w, reservation: r})
	}
	s.emit(ws, "task.wrapup", "Task "+t.Sid+" wrapping", eventRefs{task: t, worker: w})
	return nil
}

// completeTask completes an assigned or wrapping task and its reservation.
func (s *Store) completeTask(ws *Workspace, t *Task, reason string) *core.Error {
	if t.AssignmentStatus != StatusAssigned && t.AssignmentStatus != StatusWrapping {
		return core.Errf(http.StatusBadRequest, core.CodeInvalidParameter, "Task %s is %s: only an assigned or wrapping task can be completed", t.Sid, t.AssignmentStatus)
	}
	t.AssignmentStatus = StatusCompleted
	if reason != "" {
		t.Reason = reason
	}
	t.route.stop()
	s.touch(t)
	r := ws.activeReservation(t.Sid)
	var w *Worker
	if r != nil {
		r.Status, r.DateUpdated = ResCompleted, s.env.Now()
		r.Version++
		w = ws.worker(r.WorkerSid)
		s.emit(ws, "reservation.completed", "Reservation "+r.Sid+" completed", eventRefs{task: t, worker: w, reservation: r})
	}
	s.emit(ws, "task.completed", "Task "+t.Sid+" completed", eventRefs{task: t, worker: w,
		extra: map[string]string{"TaskCompletedReason": t.Reason}})
	s.ended(ws, t)
	return nil
}

// cancelTask cancels a pending or reserved task (its pending reservation is canceled too).
func (s *Store) cancelTask(ws *Workspace, t *Task, reason string) *core.Error {
	if !isWaiting(t) {
		return core.Errf(http.StatusBadRequest, core.CodeInvalidParameter, "Task %s is %s: only a pending or reserved task can be canceled", t.Sid, t.AssignmentStatus)
	}
	if r := ws.pendingReservation(t.Sid); r != nil {
		s.endReservation(ws, r, ResCanceled)
	}
	t.AssignmentStatus, t.WorkerSid = StatusCanceled, ""
	if reason != "" {
		t.Reason = reason
	}
	t.route.stop()
	s.touch(t)
	s.emit(ws, "task.canceled", "Task "+t.Sid+" canceled", eventRefs{task: t,
		extra: map[string]string{"TaskCanceledReason": t.Reason}})
	s.ended(ws, t)
	return nil
}

// taskRetention is how long a completed or canceled task stays: "canceled
// is one of two terminal states for a Task (the other is completed), and the
// Task is deleted five minutes after moving into this state"
// (https://www.twilio.com/docs/taskrouter/lifecycle-task-state). The doc
// says it of canceled; the emulator applies it to completed too, the worst
// case for code that reads a task back after it ended.
const taskRetention = 5 * time.Minute

// ended runs the OnTaskEnded hook, gives the freed capacity to waiting
// tasks, and schedules the task's deletion.
func (s *Store) ended(ws *Workspace, t *Task) {
	if s.OnTaskEnded != nil {
		s.OnTaskEnded(t)
	}
	t.route.removal.Stop()
	t.route.removal = s.env.Schedule(s.env.Now().Add(taskRetention), func() { s.removeTask(ws, t) })
	s.dispatch(ws)
}

// removeTask forgets a task and its reservations, as the retention period
// and DELETE do. It is a no-op for a task already gone.
func (s *Store) removeTask(ws *Workspace, t *Task) {
	if ws.task(t.Sid) != t {
		return
	}
	t.route.stop()
	t.route.removal.Stop()
	kept := ws.Reservations[:0:0]
	for _, res := range ws.Reservations {
		if res.TaskSid == t.Sid {
			res.timer.Stop()
			continue
		}
		kept = append(kept, res)
	}
	ws.Reservations = kept
	ws.Tasks = remove(ws.Tasks, t)
}

type reservationJSON struct {
	AccountSid        string            `json:"account_sid"`
	DateCreated       string            `json:"date_created"`
	DateUpdated       string            `json:"date_updated"`
	ReservationStatus string            `json:"reservation_status"`
	Sid               string            `json:"sid"`
	TaskSid           string            `json:"task_sid"`
	WorkerName        string            `json:"worker_name"`
	WorkerSid         string            `json:"worker_sid"`
	WorkspaceSid      string            `json:"workspace_sid"`
	URL               string            `json:"url"`
	Links             map[string]string `json:"links"`
}

// reservationJSON renders a reservation; byWorker picks the worker-scoped URL.
func (s *Store) reservationJSON(r *http.Request, res *Reservation, byWorker bool) reservationJSON {
	base := wsURL(r, res.WorkspaceSid)
	u := base + "/Tasks/" + res.TaskSid + "/Reservations/" + res.Sid
	if byWorker {
		u = base + "/Workers/" + res.WorkerSid + "/Reservations/" + res.Sid
	}
	return reservationJSON{
		AccountSid:        s.env.AccountSID,
		DateCreated:       core.ISO(res.DateCreated),
		DateUpdated:       core.ISO(res.DateUpdated),
		ReservationStatus: res.Status,
		Sid:               res.Sid,
		TaskSid:           res.TaskSid,
		WorkerName:        res.WorkerName,
		WorkerSid:         res.WorkerSid,
		WorkspaceSid:      res.WorkspaceSid,
		URL:               u,
		Links: map[string]string{
			"task":      base + "/Tasks/" + res.TaskSid,
			"worker":    base + "/Workers/" + res.WorkerSid,
			"workspace": base,
		},
	}
}

func (s *Store) listReservations(w http.ResponseWriter, r *http.Request, ws *Workspace, taskSid, workerSid string) *core.Error {
	q := r.URL.Query()
	status := q.Get("ReservationStatus")
	if workerSid == "" {
		workerSid = q.Get("WorkerSid")
	}
	out := []reservationJSON{}
	for _, res := range ws.Reservations {
		if (taskSid == "" || res.TaskSid == taskSid) && (workerSid == "" || res.WorkerSid == workerSid) &&
			(status == "" || res.Status == status) {
			out = append(out, s.reservationJSON(r, res, taskSid == ""))
		}
	}
	core.WriteList(w, r, out, "reservations")
	return nil
}

func (s *Store) listTaskReservations(w http.ResponseWriter, r *http.Request, ws *Workspace) *core.Error {
	t := ws.task(param(r, "sid"))
	if t == nil {
		return core.NotFound(r)
	}
	return s.listReservations(w, r, ws, t.Sid, "")
}

func (s *Store) listWorkerReservations(w http.ResponseWriter, r *http.Request, ws *Workspace) *core.Error {
	wk := ws.worker(param(r, "sid"))
	if wk == nil {
		return core.NotFound(r)
	}
	return s.listReservations(w, r, ws, "", wk.Sid)
}

// findReservation finds the reservation of the path under its task or worker.
func (s *Store) findReservation(r *http.Request, ws *Workspace, byWorker bool) (*Reservation, *core.Error) {
	res := ws.reservation(param(r, "res"))
	if res == nil || (!byWorker && res.TaskSid != param(r, "sid")) || (byWorker && res.WorkerSid != param(r, "sid")) {
		return nil, core.NotFound(r)
	}
	return res, nil
}

func (s *Store) fetchTaskReservation(w http.ResponseWriter, r *http.Request, ws *Workspace) *core.Error {
	return s.fetchReservation(w, r, ws, false)
}

func (s *Store) fetchWorkerReservation(w http.ResponseWriter, r *http.Request, ws *Workspace) *core.Error {
	return s.fetchReservation(w, r, ws, true)
}

func (s *Store) fetchReservation(w http.ResponseWriter, r *http.Request, ws *Workspace, byWorker bool) *core.Error {
	res, err := s.findReservation(r, ws, byWorker)
	if err != nil {
		return err
	}
	setETag(w, res.Version)
	core.WriteJSON(w, http.StatusOK, s.reservationJSON(r, res, byWorker))
	return nil
}

func (s *Store) updateTaskReservation(w http.ResponseWriter, r *http.Request, ws *Workspace) *core.Error {
	return s.updateReservation(w, r, ws, false)
}

func (s *Store) updateWorkerReservation(w http.ResponseWriter, r *http.Request, ws *Workspace) *core.Error {
	return s.updateReservation(w, r, ws, true)
}

// updateReservation applies ReservationStatus (accepted, rejected, timeout,
// wrapping — "wrapup" is taken too — and completed) and, on rejection,
// WorkerActivitySid. The call-control parameters (Instruction=conference…)
// are voice features the emulator does not model; they are ignored.
func (s *Store) updateReservation(w http.ResponseWriter, r *http.Request, ws *Workspace, byWorker bool) *core.Error {
	res, err := s.findReservation(r, ws, byWorker)
	if err != nil {
		return err
	}
	if err := ifMatch(r, res.Version); err != nil {
		return err
	}
	p, err := core.Form(r)
	if err != nil {
		return err
	}
	var act *Activity
	if sid := p.Get("WorkerActivitySid"); sid != "" {
		if act = ws.activity(sid); act == nil {
			return core.BadParam("WorkerActivitySid", "no such Activity in this workspace")
		}
	}
	t := ws.task(res.TaskSid)
	switch status := p.Get("ReservationStatus"); status {
	case "":
	case ResAccepted:
		if err := s.accept(ws, res); err != nil {
			return err
		}
	case ResRejected, ResTimeout:
		if res.Status != ResPending {
			return core.Errf(http.StatusBadRequest, core.CodeInvalidParameter, "Reservation %s is %s, not pending: it cannot be %s", res.Sid, res.Status, status)
		}
		if act != nil && status == ResRejected {
			// The worker's new activity applies before the task is routed on.
			if wk := ws.worker(res.WorkerSid); wk != nil {
				s.setActivity(ws, wk, act, false)
			}
			act = nil
		}
		s.endReservation(ws, res, status)
	case ResWrapping, "wrapup":
		if res.Status != ResAccepted || t == nil {
			return core.Errf(http.StatusBadRequest, core.CodeInvalidParameter, "Reservation %s is %s, not accepted: it cannot move to wrapping", res.Sid, res.Status)
		}
		if err := s.wrapTask(ws, t, ""); err != nil {
			return err
		}
	case ResCompleted:
		if (res.Status != ResAccepted && res.Status != ResWrapping) || t == nil {
			return core.Errf(http.StatusBadRequest, core.CodeInvalidParameter, "Reservation %s is %s: only an accepted or wrapping reservation can be completed", res.Sid, res.Status)
		}
		if err := s.completeTask(ws, t, ""); err != nil {
			return err
		}
	case ResCanceled, ResRescinded, ResPending:
		return core.BadParam("ReservationStatus", status+" is set by TaskRouter, not by a request")
	default:
		return core.BadParam("ReservationStatus", "must be one of accepted, rejected, wrapping, completed")
	}
	if act != nil {
		if wk := ws.worker(res.WorkerSid); wk != nil {
			s.setActivity(ws, wk, act, false)
		}
	}
	setETag(w, res.Version)
	core.WriteJSON(w, http.StatusOK, s.reservationJSON(r, res, byWorker))
	return nil
}
