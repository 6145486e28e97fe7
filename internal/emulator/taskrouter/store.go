// Package taskrouter emulates Twilio TaskRouter (host taskrouter.twilio.com,
// paths /v1/Workspaces/...): workspaces, activities, task channels, workers
// and their channels, task queues, workflows, tasks and reservations, with a
// routing engine that evaluates workflows the way TaskRouter does and sends
// the workspace's event callbacks.
//
// Every exported method and every REST handler runs with the world lock held
// (see package core); nothing here locks.
//
// # Routing, as emulated
//
// A task is routed when it is created, when its attributes change while it
// waits, when a worker or a worker channel becomes available, when capacity
// frees up, when a reservation is rejected or times out, and when a target's
// timeout moves it on. The workflow's first filter whose expression matches
// the task (else default_filter) gives the targets, tried in order. A target
// offers the task to the workers that are in its queue (the queue's
// TargetWorkers expression), pass its known_worker_sid /
// known_worker_friendly_name and its expression, are available, have spare
// capacity on the task's channel and have not rejected or let time out a
// reservation for this task. As in TaskRouter, a task waits at a target
// until a worker fits or the target's timeout moves it on (a target whose
// skip_if holds, e.g. "workers.available == 0", is passed at once); after
// the last target it waits in default_filter's queue.
//
// Among eligible workers the one idle longest wins (the one whose last
// reservation is oldest, never-reserved workers first), ties going to the
// worker created first — for the seed, alice, then bob, then carol. Waiting
// tasks are offered in priority order (highest first), then oldest first.
// One reservation at a time per task (max_reserved_workers is reported as 1).
//
// A reservation that is not answered within the workflow's
// TaskReservationTimeout (default 120 s of virtual time) times out: the worker
// moves to the workspace's timeout activity (Offline by default), as
// TaskRouter does, and the task is routed on. A task that stays pending or
// reserved longer than its Timeout (default 86400 s) is canceled with reason
// "Task TTL Exceeded".
//
// A task created with TaskParams.WorkerSid (REST: RoutingTarget) or
// QueueSid (REST: TaskQueueSid) skips the workflow: it is offered to that
// worker only, or to the queue's workers.
//
// A task's ETag is its version, a decimal number that grows with every
// change; If-Match on update or delete answers 412 / 20412 when it differs.
// Workers and reservations carry an ETag the same way.
//
// # Events
//
// With an EventCallbackUrl on the workspace, these callbacks are sent
// (filtered by EventsFilter): task.created, task.updated, task.canceled,
// task.wrapup, task.completed, task.deleted, task-queue.entered,
// task-queue.timeout, reservation.created, reservation.accepted,
// reservation.rejected, reservation.timeout, reservation.canceled,
// reservation.rescinded, reservation.wrapup, reservation.completed,
// worker.created, worker.deleted, worker.activity.update,
// worker.attributes.update. Their fields follow
// TaskRouter's event reference: the common EventType, EventDescription,
// ResourceType, ResourceSid, Timestamp (Unix seconds), AccountSid,
// WorkspaceSid, WorkspaceName, Sid; then Task* (TaskSid, TaskAttributes,
// TaskAge, TaskPriority, TaskAssignmentStatus, TaskChannelUniqueName,
// TaskQueueSid, TaskQueueName, WorkflowSid, WorkflowName, TaskCanceledReason /
// TaskCompletedReason…), Worker* (WorkerSid, WorkerName, WorkerAttributes,
// WorkerActivitySid, WorkerActivityName…) and ReservationSid when the event
// concerns them.
//
// What is not modelled: statistics endpoints, the Events list resource,
// voice call control on reservations (Instruction, conference…),
// max_reserved_workers above 1, order_by in targets, assignment callback
// URLs (they are stored and shown, never called). New attributes on a
// reserved task keep its reservation (only a pending task is re-routed).
package taskrouter

import (
	"time"

	"github.com/flexhooks/flexhooks/internal/emulator/core"
	"github.com/flexhooks/flexhooks/internal/emulator/taskrouter/expr"
)

// Store is the emulated TaskRouter. Its methods run with env's lock held.
type Store struct {
	env        *core.Env
	workspaces []*Workspace

	// OnReservationAccepted, set by the flex store at wiring, runs right after
	// a reservation becomes accepted and before reservation.accepted is sent.
	OnReservationAccepted func(t *Task, r *Reservation, w *Worker)
	// OnTaskEnded runs after a task reaches completed or canceled by any path.
	OnTaskEnded func(t *Task)
}

// New returns a store with no workspace; Load seeds it.
func New(env *core.Env) *Store { return &Store{env: env} }

// Workspace is a TaskRouter workspace and everything in it.
type Workspace struct {
	Sid                  string
	FriendlyName         string
	EventCallbackURL     string
	EventsFilter         string
	DefaultActivitySid   string
	TimeoutActivitySid   string
	MultiTaskEnabled     bool
	PrioritizeQueueOrder string
	DateCreated          time.Time
	DateUpdated          time.Time

	Activities   []*Activity
	TaskChannels []*TaskChannel
	Workers      []*Worker
	TaskQueues   []*TaskQueue
	Workflows    []*Workflow
	Tasks        []*Task
	Reservations []*Reservation

	workerSeq, taskSeq, reserveSeq int
	// routing guards against re-entrant dispatch: a change made while a
	// dispatch runs (a worker moved to a reservation activity) asks for
	// another pass instead of nesting one.
	routing, routeAgain bool
}

// Activity is a worker state such as Available or Offline.
type Activity struct {
	Sid, WorkspaceSid, FriendlyName string
	Available                       bool
	DateCreated, DateUpdated        time.Time
}

// TaskChannel is a kind of work (voice, chat, sms…) with its own capacity.
type TaskChannel struct {
	Sid, WorkspaceSid, FriendlyName, UniqueName string
	ChannelOptimizedRouting                     bool
	DateCreated, DateUpdated                    time.Time

	capacity int // a new worker's capacity on this channel
}

// Worker is an agent.
type Worker struct {
	Sid, WorkspaceSid, FriendlyName string
	Attributes                      map[string]any
	ActivitySid, ActivityName       string
	Available                       bool
	Channels                        []*WorkerChannel
	DateCreated, DateUpdated        time.Time
	DateStatusChanged               time.Time
	// Version is the worker's ETag.
	Version int

	// lastReserved orders workers by idleness (longest idle gets the next
	// task): the workspace's reservation count when it was last reserved, so
	// the order holds even when the virtual clock has not moved; 0 = never.
	lastReserved int
	seq          int
}

// WorkerChannel is a worker's capacity on one task channel.
type WorkerChannel struct {
	Sid, WorkerSid, WorkspaceSid, TaskChannelSid, TaskChannelUniqueName string
	Capacity                                                            int
	Available                                                           bool
	DateCreated, DateUpdated                                            time.Time
}

// TaskQueue holds tasks waiting for the workers its TargetWorkers expression selects.
type TaskQueue struct {
	Sid, WorkspaceSid, FriendlyName string
	TargetWorkers                   string
	TaskOrder                       string
	MaxReservedWorkers              int
	ReservationActivitySid          string
	AssignmentActivitySid           string
	DateCreated, DateUpdated        time.Time

	target *expr.Expr
}

// Workflow routes tasks to queues and workers; Configuration is Twilio's JSON text.
type Workflow struct {
	Sid, WorkspaceSid, FriendlyName string
	Configuration                   string
	TaskReservationTimeout          int
	AssignmentCallbackURL           string
	FallbackAssignmentCallbackURL   string
	DateCreated, DateUpdated        time.Time

	config *workflowConfig
}

// Task is a unit of work routed by a workflow. WorkerSid is the worker it is
// reserved for (reserved) or assigned to (assigned, wrapping, completed);
// QueueSid the queue of its current workflow target.
type Task struct {
	Sid, WorkspaceSid, WorkflowSid, QueueSid, WorkerSid string
	TaskChannelSid, TaskChannelUniqueName               string
	AssignmentStatus, Reason                            string
	Attributes                                          map[string]any
	Priority, Timeout                                   int
	DateCreated, DateUpdated, QueueEnteredAt            time.Time
	// Version is the task's ETag; it grows with every change.
	Version int

	route taskRoute
	seq   int // creation order: tasks created in the same virtual second stay ordered
}

// Reservation offers a task to a worker.
type Reservation struct {
	Sid, TaskSid, WorkerSid, WorkspaceSid, Status string
	WorkerName                                    string
	DateCreated, DateUpdated                      time.Time
	// Version is the reservation's ETag.
	Version int

	timer *core.Timer
}

// Task statuses.
const (
	StatusPending   = "pending"
	StatusReserved  = "reserved"
	StatusAssigned  = "assigned"
	StatusWrapping  = "wrapping"
	StatusCompleted = "completed"
	StatusCanceled  = "canceled"
)

// Reservation statuses.
const (
	ResPending   = "pending"
	ResAccepted  = "accepted"
	ResRejected  = "rejected"
	ResTimeout   = "timeout"
	ResCanceled  = "canceled"
	ResRescinded = "rescinded"
	ResWrapping  = "wrapping"
	ResCompleted = "completed"
)

// Defaults Twilio applies.
const (
	defaultTaskTimeout        = 86400
	defaultReservationTimeout = 120
	maxReservationTimeout     = 86400
)

// WorkspaceSID returns the first (seeded) workspace's SID, "" when none.
func (s *Store) WorkspaceSID() string {
	if len(s.workspaces) == 0 {
		return ""
	}
	return s.workspaces[0].Sid
}

// WorkflowSID returns the SID of the workflow with that friendly name, "" when none.
func (s *Store) WorkflowSID(workspaceSid, friendlyName string) string {
	ws := s.workspace(workspaceSid)
	if ws == nil {
		return ""
	}
	for _, wf := range ws.Workflows {
		if wf.FriendlyName == friendlyName {
			return wf.Sid
		}
	}
	return ""
}

// QueueSID returns the SID of the task queue with that friendly name, "" when none.
func (s *Store) QueueSID(workspaceSid, friendlyName string) string {
	ws := s.workspace(workspaceSid)
	if ws == nil {
		return ""
	}
	if q := ws.queueByName(friendlyName); q != nil {
		return q.Sid
	}
	return ""
}

// Task returns the task, nil if none.
func (s *Store) Task(workspaceSid, taskSid string) *Task {
	ws := s.workspace(workspaceSid)
	if ws == nil {
		return nil
	}
	return ws.task(taskSid)
}

// Worker finds a worker by SID or friendly name, nil if none.
func (s *Store) Worker(workspaceSid, sidOrFriendlyName string) *Worker {
	ws := s.workspace(workspaceSid)
	if ws == nil {
		return nil
	}
	if w := ws.worker(sidOrFriendlyName); w != nil {
		return w
	}
	for _, w := range ws.Workers {
		if w.FriendlyName == sidOrFriendlyName {
			return w
		}
	}
	return nil
}

// Reservation returns a reservation by SID, nil if none.
func (s *Store) Reservation(workspaceSid, reservationSid string) *Reservation {
	ws := s.workspace(workspaceSid)
	if ws == nil {
		return nil
	}
	return ws.reservation(reservationSid)
}

// Identity is the worker's Conversations identity, as Flex makes it: the
// contact_uri attribute without "client:", else the friendly name.
func (s *Store) Identity(w *Worker) string {
	if w == nil {
		return ""
	}
	if uri, ok := w.Attributes["contact_uri"].(string); ok && uri != "" {
		if len(uri) > 7 && uri[:7] == "client:" {
			return uri[7:]
		}
		return uri
	}
	return w.FriendlyName
}

func (s *Store) workspace(sid string) *Workspace {
	for _, ws := range s.workspaces {
		if ws.Sid == sid {
			return ws
		}
	}
	return nil
}

func (ws *Workspace) activity(sid string) *Activity {
	for _, a := range ws.Activities {
		if a.Sid == sid {
			return a
		}
	}
	return nil
}

func (ws *Workspace) activityByName(name string) *Activity {
	for _, a := range ws.Activities {
		if a.FriendlyName == name {
			return a
		}
	}
	return nil
}

// taskChannel finds a task channel by SID or unique name, as Twilio's
// TaskChannel parameters accept either.
func (ws *Workspace) taskChannel(sidOrName string) *TaskChannel {
	for _, c := range ws.TaskChannels {
		if c.Sid == sidOrName || c.UniqueName == sidOrName {
			return c
		}
	}
	return nil
}

func (ws *Workspace) worker(sid string) *Worker {
	for _, w := range ws.Workers {
		if w.Sid == sid {
			return w
		}
	}
	return nil
}

func (ws *Workspace) queue(sid string) *TaskQueue {
	for _, q := range ws.TaskQueues {
		if q.Sid == sid {
			return q
		}
	}
	return nil
}

func (ws *Workspace) queueByName(name string) *TaskQueue {
	for _, q := range ws.TaskQueues {
		if q.FriendlyName == name {
			return q
		}
	}
	return nil
}

func (ws *Workspace) workflow(sid string) *Workflow {
	for _, wf := range ws.Workflows {
		if wf.Sid == sid {
			return wf
		}
	}
	return nil
}

func (ws *Workspace) task(sid string) *Task {
	for _, t := range ws.Tasks {
		if t.Sid == sid {
			return t
		}
	}
	return nil
}

func (ws *Workspace) reservation(sid string) *Reservation {
	for _, r := range ws.Reservations {
		if r.Sid == sid {
			return r
		}
	}
	return nil
}

// pendingReservation is the task's reservation waiting for an answer, if any.
func (ws *Workspace) pendingReservation(taskSid string) *Reservation {
	for _, r := range ws.Reservations {
		if r.TaskSid == taskSid && r.Status == ResPending {
			return r
		}
	}
	return nil
}

// activeReservation is the task's accepted (or wrapping) reservation, if any.
func (ws *Workspace) activeReservation(taskSid string) *Reservation {
	for _, r := range ws.Reservations {
		if r.TaskSid == taskSid && (r.Status == ResAccepted || r.Status == ResWrapping) {
			return r
		}
	}
	return nil
}

func (w *Worker) channel(taskChannelSid string) *WorkerChannel {
	for _, c := range w.Channels {
		if c.TaskChannelSid == taskChannelSid {
			return c
		}
	}
	return nil
}

// assignedTasks counts the tasks that hold the worker's capacity on a
// channel: reserved, assigned or wrapping, as in TaskRouter.
func (ws *Workspace) assignedTasks(workerSid, taskChannelSid string) int {
	n := 0
	for _, r := range ws.Reservations {
		if r.WorkerSid != workerSid {
			continue
		}
		switch r.Status {
		case ResPending, ResAccepted, ResWrapping:
		default:
			continue
		}
		if t := ws.task(r.TaskSid); t != nil && t.TaskChannelSid == taskChannelSid {
			n++
		}
	}
	return n
}

// copyMap deep-copies JSON-like data so callers cannot alias the store's maps.
func copyMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = copyValue(v)
	}
	return out
}

func copyValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return copyMap(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = copyValue(e)
		}
		return out
	default:
		return v
	}
}
