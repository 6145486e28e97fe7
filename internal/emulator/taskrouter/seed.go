package taskrouter

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/flexhooks/flexhooks/internal/emulator/core"
)

// Seed is TaskRouter's starting world, written by hand in the emulator's seed
// file (EMULATOR_SEED) under "taskrouter". Every SID is derived from a name
// with core.SeedSID, so the same seed gives the same SIDs on every run:
// workspace SeedSID("WS", workspace name), activity ("WA", name), task channel
// ("TC", unique name), worker ("WK", friendly name), worker channel
// ("WC", worker + "/" + channel), queue ("WQ", name), workflow ("WW", name).
//
//	{
//	  "workspace": {"friendlyName": "Flex Task Assignment",
//	                "eventCallbackUrl": "http://127.0.0.1:8080/webhooks/reservation-accepted",
//	                "eventsFilter": "reservation.accepted,task.canceled",
//	                "defaultActivity": "Offline", "timeoutActivity": "Offline"},
//	  "activities": [{"friendlyName": "Available", "available": true}, {"friendlyName": "Offline"}],
//	  "taskChannels": [{"uniqueName": "chat", "friendlyName": "Programmable Chat", "capacity": 3}],
//	  "workers": [{"friendlyName": "alice", "activity": "Available",
//	               "attributes": {"contact_uri": "client:alice", "routing": {"skills": ["support"]}},
//	               "channels": {"chat": 5}}],
//	  "taskQueues": [{"friendlyName": "Support", "targetWorkers": "routing.skills HAS \"support\""}],
//	  "workflows": [{"friendlyName": "Assign to Anyone", "default": true, "taskReservationTimeout": 120,
//	                 "configuration": {"task_routing": {"filters": [],
//	                                   "default_filter": {"queue": "queue:Support"}}}}]
//	}
//
// Omitted lists take the defaults: activities Offline, Available, Unavailable
// and Break; task channels default, voice, chat, sms, email (capacity 1, 1, 3,
// 3, 1). In a workflow's configuration a queue may be named "queue:<friendly
// name>" instead of by SID; Load replaces it with the SID. A worker's
// "channels" overrides its capacity per task channel unique name.
type Seed struct {
	Workspace    SeedWorkspace     `json:"workspace"`
	Activities   []SeedActivity    `json:"activities,omitempty"`
	TaskChannels []SeedTaskChannel `json:"taskChannels,omitempty"`
	Workers      []SeedWorker      `json:"workers,omitempty"`
	TaskQueues   []SeedTaskQueue   `json:"taskQueues,omitempty"`
	Workflows    []SeedWorkflow    `json:"workflows,omitempty"`
}

// SeedWorkspace describes the workspace.
type SeedWorkspace struct {
	FriendlyName     string `json:"friendlyName"`
	EventCallbackURL string `json:"eventCallbackUrl,omitempty"`
	EventsFilter     string `json:"eventsFilter,omitempty"`
	// DefaultActivity (new workers) and TimeoutActivity (after a reservation
	// times out) name activities; both default to "Offline".
	DefaultActivity string `json:"defaultActivity,omitempty"`
	TimeoutActivity string `json:"timeoutActivity,omitempty"`
	// MultiTaskEnabled defaults to true, as in every Flex workspace.
	MultiTaskEnabled *bool `json:"multiTaskEnabled,omitempty"`
}

// SeedActivity is a worker state.
type SeedActivity struct {
	FriendlyName string `json:"friendlyName"`
	Available    bool   `json:"available,omitempty"`
}

// SeedTaskChannel is a task channel and the capacity workers get on it.
type SeedTaskChannel struct {
	UniqueName   string `json:"uniqueName"`
	FriendlyName string `json:"friendlyName,omitempty"`
	Capacity     int    `json:"capacity,omitempty"` // default 1
}

// SeedWorker is an agent.
type SeedWorker struct {
	FriendlyName string         `json:"friendlyName"`
	Attributes   map[string]any `json:"attributes,omitempty"`
	Activity     string         `json:"activity,omitempty"` // default: the workspace's default activity
	Channels     map[string]int `json:"channels,omitempty"` // capacity by task channel unique name
}

// SeedTaskQueue is a queue; TargetWorkers is a worker expression ("" = all).
type SeedTaskQueue struct {
	FriendlyName  string `json:"friendlyName"`
	TargetWorkers string `json:"targetWorkers,omitempty"`
	TaskOrder     string `json:"taskOrder,omitempty"` // FIFO (default) or LIFO
}

// SeedWorkflow is a workflow; Configuration is Twilio's workflow JSON.
type SeedWorkflow struct {
	FriendlyName           string         `json:"friendlyName"`
	Configuration          map[string]any `json:"configuration"`
	TaskReservationTimeout int            `json:"taskReservationTimeout,omitempty"` // seconds, default 120
	// Default marks the workflow tasks use when created without WorkflowSid.
	Default bool `json:"default,omitempty"`
}

var (
	defaultActivities = []SeedActivity{
		{FriendlyName: "Offline"},
		{FriendlyName: "Available", Available: true},
		{FriendlyName: "Unavailable"},
		{FriendlyName: "Break"},
	}
	defaultTaskChannels = []SeedTaskChannel{
		{UniqueName: "default", FriendlyName: "Default", Capacity: 1},
		{UniqueName: "voice", FriendlyName: "Voice", Capacity: 1},
		{UniqueName: "chat", FriendlyName: "Programmable Chat", Capacity: 3},
		{UniqueName: "sms", FriendlyName: "SMS", Capacity: 3},
		{UniqueName: "email", FriendlyName: "Email", Capacity: 1},
	}
)

// DefaultSeed is the world of DESIGN.md: workspace "Flex Task Assignment";
// queues Everyone (every worker), Support and Sales (by routing.skills);
// available workers alice and bob (support) and carol (sales); workflows
// "Assign to Anyone" (default: back to the worker in
// task.originalRouting.workerSid when set and available within 60 s, else
// Everyone) and "Chat Transfer" (to the worker in task.transferTargetSid when
// transferTargetType is "worker", else to the queue named by
// transferQueueName, skipping workers already in the conversation).
func DefaultSeed() Seed {
	worker := func(name, fullName, skill string) SeedWorker {
		return SeedWorker{
			FriendlyName: name,
			Activity:     "Available",
			Attributes: map[string]any{
				"full_name":   fullName,
				"contact_uri": "client:" + name,
				"email":       name + "@example.com",
				"routing":     map[string]any{"skills": []any{skill}, "levels": map[string]any{skill: 1}},
			},
		}
	}
	// As flex-project-template's Chat Transfer workflow: the list is always
	// set on a transfer's task (TaskRouter's expressions have no null to test
	// its absence with, and NOT IN an absent list is false).
	notInConversation := "worker.sid NOT IN task.workerSidsInConversation"
	queueFilter := func(q string) map[string]any {
		return map[string]any{
			"filter_friendly_name": "Transfer to " + q,
			"expression":           `transferTargetType == "queue" AND transferQueueName == "` + q + `"`,
			"targets":              []any{map[string]any{"queue": "queue:" + q, "expression": notInConversation}},
		}
	}
	return Seed{
		Workspace: SeedWorkspace{FriendlyName: "Flex Task Assignment"},
		Workers: []SeedWorker{
			worker("alice", "Alice Anderson", "support"),
			worker("bob", "Bob Brown", "support"),
			worker("carol", "Carol Clark", "sales"),
		},
		TaskQueues: []SeedTaskQueue{
			{FriendlyName: "Everyone", TargetWorkers: "1==1"},
			{FriendlyName: "Support", TargetWorkers: `routing.skills HAS "support"`},
			{FriendlyName: "Sales", TargetWorkers: `routing.skills HAS "sales"`},
		},
		Workflows: []SeedWorkflow{
			{
				FriendlyName: "Assign to Anyone",
				Default:      true,
				Configuration: map[string]any{"task_routing": map[string]any{
					"filters": []any{map[string]any{
						"filter_friendly_name": "Back to the original worker",
						"expression":           `originalRouting.workerSid CONTAINS "WK"`,
						"targets": []any{
							map[string]any{"queue": "queue:Everyone", "known_worker_sid": "task.originalRouting.workerSid", "timeout": 60},
							map[string]any{"queue": "queue:Everyone"},
						},
					}},
					"default_filter": map[string]any{"queue": "queue:Everyone"},
				}},
			},
			{
				FriendlyName: "Chat Transfer",
				Configuration: map[string]any{"task_routing": map[string]any{
					"filters": []any{
						map[string]any{
							"filter_friendly_name": "Transfer to a worker",
							"expression":           `transferTargetType == "worker"`,
							"targets":              []any{map[string]any{"queue": "queue:Everyone", "known_worker_sid": "task.transferTargetSid"}},
						},
						queueFilter("Support"),
						queueFilter("Sales"),
						queueFilter("Everyone"),
					},
					"default_filter": map[string]any{"queue": "queue:Everyone"},
				}},
			},
		},
	}
}

// Load replaces the whole TaskRouter world with seed. Nothing changes when
// it fails.
func (s *Store) Load(seed Seed) error {
	ws, err := s.build(seed)
	if err != nil {
		return err
	}
	for _, old := range s.workspaces {
		stopTimers(old)
	}
	s.workspaces = []*Workspace{ws}
	return nil
}

func stopTimers(ws *Workspace) {
	for _, t := range ws.Tasks {
		t.route.stop()
	}
	for _, r := range ws.Reservations {
		r.timer.Stop()
	}
}

func (s *Store) build(seed Seed) (*Workspace, error) {
	now := s.env.Now()
	name := seed.Workspace.FriendlyName
	if name == "" {
		name = "Flex Task Assignment"
	}
	ws := &Workspace{
		Sid:                  core.SeedSID("WS", name),
		FriendlyName:         name,
		EventCallbackURL:     seed.Workspace.EventCallbackURL,
		EventsFilter:         seed.Workspace.EventsFilter,
		MultiTaskEnabled:     true,
		PrioritizeQueueOrder: "FIFO",
		DateCreated:          now,
		DateUpdated:          now,
	}
	if seed.Workspace.MultiTaskEnabled != nil {
		ws.MultiTaskEnabled = *seed.Workspace.MultiTaskEnabled
	}
	acts := seed.Activities
	if len(acts) == 0 {
		acts = defaultActivities
	}
	for _, a := range acts {
		if a.FriendlyName == "" {
			return nil, fmt.Errorf("taskrouter seed: an activity has no friendlyName")
		}
		if ws.activityByName(a.FriendlyName) != nil {
			return nil, fmt.Errorf("taskrouter seed: activity %q twice", a.FriendlyName)
		}
		ws.Activities = append(ws.Activities, &Activity{Sid: core.SeedSID("WA", a.FriendlyName), WorkspaceSid: ws.Sid,
			FriendlyName: a.FriendlyName, Available: a.Available, DateCreated: now, DateUpdated: now})
	}
	pickActivity := func(name, what string) (*Activity, error) {
		if name == "" {
			name = "Offline"
		}
		if a := ws.activityByName(name); a != nil {
			return a, nil
		}
		if what == "worker" {
			return nil, fmt.Errorf("taskrouter seed: no activity %q", name)
		}
		// The default names may be absent from a custom activity list: use the first unavailable one.
		for _, a := range ws.Activities {
			if !a.Available {
				return a, nil
			}
		}
		return ws.Activities[0], nil
	}
	def, err := pickActivity(seed.Workspace.DefaultActivity, "workspace")
	if err != nil {
		return nil, err
	}
	ws.DefaultActivitySid = def.Sid
	to, err := pickActivity(seed.Workspace.TimeoutActivity, "workspace")
	if err != nil {
		return nil, err
	}
	ws.TimeoutActivitySid = to.Sid

	chans := seed.TaskChannels
	if len(chans) == 0 {
		chans = defaultTaskChannels
	}
	capacity := map[string]int{}
	for _, c := range chans {
		if c.UniqueName == "" {
			return nil, fmt.Errorf("taskrouter seed: a task channel has no uniqueName")
		}
		if ws.taskChannel(c.UniqueName) != nil {
			return nil, fmt.Errorf("taskrouter seed: task channel %q twice", c.UniqueName)
		}
		fn := c.FriendlyName
		if fn == "" {
			fn = c.UniqueName
		}
		capacity[c.UniqueName] = max(c.Capacity, 1)
		ws.TaskChannels = append(ws.TaskChannels, &TaskChannel{Sid: core.SeedSID("TC", c.UniqueName), WorkspaceSid: ws.Sid,
			FriendlyName: fn, UniqueName: c.UniqueName, DateCreated: now, DateUpdated: now, capacity: max(c.Capacity, 1)})
	}

	for _, sw := range seed.Workers {
		if sw.FriendlyName == "" {
			return nil, fmt.Errorf("taskrouter seed: a worker has no friendlyName")
		}
		if s.findWorkerByName(ws, sw.FriendlyName) != nil {
			return nil, fmt.Errorf("taskrouter seed: worker %q twice", sw.FriendlyName)
		}
		act := def
		if sw.Activity != "" {
			if act, err = pickActivity(sw.Activity, "worker"); err != nil {
				return nil, err
			}
		}
		attrs, err := normalizeJSON(sw.Attributes)
		if err != nil {
			return nil, fmt.Errorf("taskrouter seed: worker %q attributes: %w", sw.FriendlyName, err)
		}
		for ch := range sw.Channels {
			if ws.taskChannel(ch) == nil {
				return nil, fmt.Errorf("taskrouter seed: worker %q: no task channel %q", sw.FriendlyName, ch)
			}
		}
		w := s.newWorker(ws, core.SeedSID("WK", sw.FriendlyName), sw.FriendlyName, attrs, act, capacity)
		for _, c := range w.Channels {
			c.Sid = core.SeedSID("WC", sw.FriendlyName+"/"+c.TaskChannelUniqueName)
			if n, ok := sw.Channels[c.TaskChannelUniqueName]; ok {
				c.Capacity = n
			}
		}
	}

	for _, sq := range seed.TaskQueues {
		if sq.FriendlyName == "" {
			return nil, fmt.Errorf("taskrouter seed: a task queue has no friendlyName")
		}
		if ws.queueByName(sq.FriendlyName) != nil {
			return nil, fmt.Errorf("taskrouter seed: task queue %q twice", sq.FriendlyName)
		}
		e, cerr := parseExpr("targetWorkers", sq.TargetWorkers)
		if cerr != nil {
			return nil, fmt.Errorf("taskrouter seed: task queue %q: %s", sq.FriendlyName, cerr.Message)
		}
		order := sq.TaskOrder
		if order == "" {
			order = "FIFO"
		}
		if order != "FIFO" && order != "LIFO" {
			return nil, fmt.Errorf("taskrouter seed: task queue %q: taskOrder must be FIFO or LIFO", sq.FriendlyName)
		}
		target := sq.TargetWorkers
		if target == "" {
			target = "1==1"
		}
		ws.TaskQueues = append(ws.TaskQueues, &TaskQueue{Sid: core.SeedSID("WQ", sq.FriendlyName), WorkspaceSid: ws.Sid,
			FriendlyName: sq.FriendlyName, TargetWorkers: target, TaskOrder: order, MaxReservedWorkers: 1,
			DateCreated: now, DateUpdated: now, target: e})
	}

	var defaultWF *Workflow
	for _, sf := range seed.Workflows {
		if sf.FriendlyName == "" {
			return nil, fmt.Errorf("taskrouter seed: a workflow has no friendlyName")
		}
		if s.workflowSIDIn(ws, sf.FriendlyName) != "" {
			return nil, fmt.Errorf("taskrouter seed: workflow %q twice", sf.FriendlyName)
		}
		resolved, err := resolveQueueNames(ws, sf.Configuration)
		if err != nil {
			return nil, fmt.Errorf("taskrouter seed: workflow %q: %w", sf.FriendlyName, err)
		}
		text, _ := json.Marshal(resolved)
		cfg, cerr := parseWorkflowConfig(ws, string(text))
		if cerr != nil {
			return nil, fmt.Errorf("taskrouter seed: workflow %q: %s", sf.FriendlyName, cerr.Message)
		}
		timeout := sf.TaskReservationTimeout
		if timeout == 0 {
			timeout = defaultReservationTimeout
		}
		if timeout < 1 || timeout > maxReservationTimeout {
			return nil, fmt.Errorf("taskrouter seed: workflow %q: taskReservationTimeout must be 1..%d", sf.FriendlyName, maxReservationTimeout)
		}
		wf := &Workflow{Sid: core.SeedSID("WW", sf.FriendlyName), WorkspaceSid: ws.Sid, FriendlyName: sf.FriendlyName,
			Configuration: string(text), TaskReservationTimeout: timeout, DateCreated: now, DateUpdated: now, config: cfg}
		ws.Workflows = append(ws.Workflows, wf)
		if sf.Default && defaultWF == nil {
			defaultWF = wf
		}
	}
	if defaultWF != nil && ws.Workflows[0] != defaultWF {
		// The default workflow goes first: tasks created without WorkflowSid use the first.
		for i, wf := range ws.Workflows {
			if wf == defaultWF {
				copy(ws.Workflows[1:i+1], ws.Workflows[:i])
				ws.Workflows[0] = defaultWF
				break
			}
		}
	}
	return ws, nil
}

// workflowSIDIn is WorkflowSID for a workspace in hand.
func (s *Store) workflowSIDIn(ws *Workspace, friendlyName string) string {
	for _, wf := range ws.Workflows {
		if wf.FriendlyName == friendlyName {
			return wf.Sid
		}
	}
	return ""
}

func (s *Store) findWorkerByName(ws *Workspace, name string) *Worker {
	for _, w := range ws.Workers {
		if w.FriendlyName == name {
			return w
		}
	}
	return nil
}

// resolveQueueNames replaces "queue:<friendly name>" references in a seeded
// workflow configuration with the queues' SIDs.
func resolveQueueNames(ws *Workspace, v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if s, ok := e.(string); ok && k == "queue" && strings.HasPrefix(s, "queue:") {
				q := ws.queueByName(strings.TrimPrefix(s, "queue:"))
				if q == nil {
					return nil, fmt.Errorf("no task queue named %q", strings.TrimPrefix(s, "queue:"))
				}
				out[k] = q.Sid
				continue
			}
			r, err := resolveQueueNames(ws, e)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			r, err := resolveQueueNames(ws, e)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	}
	return v, nil
}

// normalizeJSON round-trips attributes through JSON so that seeded Go values
// ([]string, int…) look exactly like attributes posted over the API.
func normalizeJSON(m map[string]any) (map[string]any, error) {
	if m == nil {
		return map[string]any{}, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return decodeObject(string(b))
}
