package taskrouter

import "github.com/flexhooks/flexhooks/internal/emulator/core"

// Snapshot is TaskRouter's part of GET /emulator/state: every workspace with
// its workers (activity, availability, channels), queues, workflows, tasks
// (attributes, status, worker, queue) and reservations. It copies what it
// shows, so it stays valid after the lock is released.
func (s *Store) Snapshot() any {
	type activity struct {
		Sid          string `json:"sid"`
		FriendlyName string `json:"friendlyName"`
		Available    bool   `json:"available"`
	}
	type channel struct {
		TaskChannel   string `json:"taskChannel"`
		Capacity      int    `json:"capacity"`
		AssignedTasks int    `json:"assignedTasks"`
		Available     bool   `json:"available"`
	}
	type worker struct {
		Sid          string         `json:"sid"`
		FriendlyName string         `json:"friendlyName"`
		Activity     string         `json:"activity"`
		ActivitySid  string         `json:"activitySid"`
		Available    bool           `json:"available"`
		Attributes   map[string]any `json:"attributes"`
		Channels     []channel      `json:"channels"`
	}
	type queue struct {
		Sid           string `json:"sid"`
		FriendlyName  string `json:"friendlyName"`
		TargetWorkers string `json:"targetWorkers"`
		TaskOrder     string `json:"taskOrder"`
	}
	type workflow struct {
		Sid                    string `json:"sid"`
		FriendlyName           string `json:"friendlyName"`
		Configuration          string `json:"configuration"`
		TaskReservationTimeout int    `json:"taskReservationTimeout"`
	}
	type task struct {
		Sid              string         `json:"sid"`
		AssignmentStatus string         `json:"assignmentStatus"`
		Reason           string         `json:"reason,omitempty"`
		Attributes       map[string]any `json:"attributes"`
		Priority         int            `json:"priority"`
		TaskChannel      string         `json:"taskChannel"`
		WorkflowSid      string         `json:"workflowSid"`
		Workflow         string         `json:"workflow,omitempty"`
		Filter           string         `json:"filter,omitempty"`
		QueueSid         string         `json:"queueSid,omitempty"`
		Queue            string         `json:"queue,omitempty"`
		WorkerSid        string         `json:"workerSid,omitempty"`
		Worker           string         `json:"worker,omitempty"`
		Version          int            `json:"version"`
		DateCreated      string         `json:"dateCreated"`
		DateUpdated      string         `json:"dateUpdated"`
	}
	type reservation struct {
		Sid         string `json:"sid"`
		TaskSid     string `json:"taskSid"`
		WorkerSid   string `json:"workerSid"`
		Worker      string `json:"worker"`
		Status      string `json:"status"`
		DateCreated string `json:"dateCreated"`
		DateUpdated string `json:"dateUpdated"`
		TimeoutAt   string `json:"timeoutAt,omitempty"`
	}
	type workspace struct {
		Sid              string        `json:"sid"`
		FriendlyName     string        `json:"friendlyName"`
		EventCallbackURL string        `json:"eventCallbackUrl"`
		EventsFilter     string        `json:"eventsFilter"`
		Activities       []activity    `json:"activities"`
		TaskChannels     []string      `json:"taskChannels"`
		Workers          []worker      `json:"workers"`
		TaskQueues       []queue       `json:"taskQueues"`
		Workflows        []workflow    `json:"workflows"`
		Tasks            []task        `json:"tasks"`
		Reservations     []reservation `json:"reservations"`
	}
	out := []workspace{}
	for _, ws := range s.workspaces {
		v := workspace{Sid: ws.Sid, FriendlyName: ws.FriendlyName, EventCallbackURL: ws.EventCallbackURL, EventsFilter: ws.EventsFilter,
			Activities: []activity{}, TaskChannels: []string{}, Workers: []worker{}, TaskQueues: []queue{}, Workflows: []workflow{},
			Tasks: []task{}, Reservations: []reservation{}}
		for _, a := range ws.Activities {
			v.Activities = append(v.Activities, activity{a.Sid, a.FriendlyName, a.Available})
		}
		for _, c := range ws.TaskChannels {
			v.TaskChannels = append(v.TaskChannels, c.UniqueName)
		}
		for _, w := range ws.Workers {
			wv := worker{Sid: w.Sid, FriendlyName: w.FriendlyName, Activity: w.ActivityName, ActivitySid: w.ActivitySid,
				Available: w.Available, Attributes: copyMap(w.Attributes), Channels: []channel{}}
			for _, c := range w.Channels {
				wv.Channels = append(wv.Channels, channel{c.TaskChannelUniqueName, c.Capacity, ws.assignedTasks(w.Sid, c.TaskChannelSid), c.Available})
			}
			v.Workers = append(v.Workers, wv)
		}
		for _, q := range ws.TaskQueues {
			v.TaskQueues = append(v.TaskQueues, queue{q.Sid, q.FriendlyName, q.TargetWorkers, q.TaskOrder})
		}
		for _, wf := range ws.Workflows {
			v.Workflows = append(v.Workflows, workflow{wf.Sid, wf.FriendlyName, wf.Configuration, wf.TaskReservationTimeout})
		}
		for _, t := range ws.Tasks {
			tv := task{Sid: t.Sid, AssignmentStatus: t.AssignmentStatus, Reason: t.Reason, Attributes: copyMap(t.Attributes),
				Priority: t.Priority, TaskChannel: t.TaskChannelUniqueName, WorkflowSid: t.WorkflowSid, Filter: t.route.filterName,
				QueueSid: t.QueueSid, Queue: s.queueName(ws, t.QueueSid), WorkerSid: t.WorkerSid, Version: t.Version,
				DateCreated: core.ISO(t.DateCreated), DateUpdated: core.ISO(t.DateUpdated)}
			if wf := ws.workflow(t.WorkflowSid); wf != nil {
				tv.Workflow = wf.FriendlyName
			}
			if w := ws.worker(t.WorkerSid); w != nil {
				tv.Worker = w.FriendlyName
			}
			v.Tasks = append(v.Tasks, tv)
		}
		for _, r := range ws.Reservations {
			rv := reservation{Sid: r.Sid, TaskSid: r.TaskSid, WorkerSid: r.WorkerSid, Worker: r.WorkerName, Status: r.Status,
				DateCreated: core.ISO(r.DateCreated), DateUpdated: core.ISO(r.DateUpdated)}
			if r.Status == ResPending && r.timer != nil {
				rv.TimeoutAt = core.ISO(r.timer.At())
			}
			v.Reservations = append(v.Reservations, rv)
		}
		out = append(out, v)
	}
	return map[string]any{"workspaces": out}
}
