package taskrouter

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flexhooks/flexhooks/internal/emulator/core"
)

func newStore(t *testing.T) *Store {
	t.Helper()
	env := core.NewEnv("AC00000000000000000000000000000000", "token", time.Unix(0, 0), nil, core.NewOutbox("token", nil))
	return New(env)
}

func TestDefaultSeedIsStable(t *testing.T) {
	a, b := newStore(t), newStore(t)
	require.NoError(t, a.Load(DefaultSeed()))
	require.NoError(t, b.Load(DefaultSeed()))
	assert.Equal(t, a.WorkspaceSID(), b.WorkspaceSID())
	assert.Equal(t, core.SeedSID("WS", "Flex Task Assignment"), a.WorkspaceSID())
	ws := a.WorkspaceSID()
	assert.Equal(t, core.SeedSID("WW", "Assign to Anyone"), a.WorkflowSID(ws, "Assign to Anyone"))
	assert.Equal(t, core.SeedSID("WW", "Chat Transfer"), a.WorkflowSID(ws, "Chat Transfer"))
	assert.Equal(t, core.SeedSID("WQ", "Sales"), a.QueueSID(ws, "Sales"))
	assert.Empty(t, a.WorkflowSID(ws, "nope"))
	for _, name := range []string{"alice", "bob", "carol"} {
		wk := a.Worker(ws, name)
		require.NotNil(t, wk, name)
		assert.Equal(t, core.SeedSID("WK", name), wk.Sid)
		assert.True(t, wk.Available)
		assert.Equal(t, name, a.Identity(wk))
		assert.Equal(t, b.Worker(ws, name).Channels[2].Sid, wk.Channels[2].Sid, "worker channel SIDs are stable too")
	}
	assert.Nil(t, a.Worker("WS00000000000000000000000000000000", "alice"))
	assert.Nil(t, a.Task(ws, "WT00000000000000000000000000000000"))

	snap, err := json.Marshal(a.Snapshot())
	require.NoError(t, err)
	assert.Contains(t, string(snap), `"friendlyName":"carol"`)
}

// A seed written by hand, decoded the way the emulator reads EMULATOR_SEED
// (unknown fields are errors).
func TestSeedFromJSON(t *testing.T) {
	const doc = `{
	  "workspace": {"friendlyName": "Acme", "eventCallbackUrl": "http://127.0.0.1:9/events", "timeoutActivity": "Away"},
	  "activities": [{"friendlyName": "Ready", "available": true}, {"friendlyName": "Away"}, {"friendlyName": "Offline"}],
	  "taskChannels": [{"uniqueName": "chat", "capacity": 2}],
	  "workers": [{"friendlyName": "zoe", "activity": "Ready", "attributes": {"contact_uri": "client:zoe.z", "skills": ["vip"]},
	               "channels": {"chat": 4}}],
	  "taskQueues": [{"friendlyName": "VIP", "targetWorkers": "skills HAS \"vip\"", "taskOrder": "LIFO"}],
	  "workflows": [{"friendlyName": "Other", "configuration": {"task_routing": {"default_filter": {"queue": "queue:VIP"}}}},
	                {"friendlyName": "Main", "default": true, "taskReservationTimeout": 30,
	                 "configuration": {"task_routing": {"filters": [], "default_filter": {"queue": "queue:VIP"}}}}]
	}`
	var seed Seed
	dec := json.NewDecoder(bytes.NewReader([]byte(doc)))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&seed))

	s := newStore(t)
	require.NoError(t, s.Load(seed))
	ws := s.workspace(s.WorkspaceSID())
	assert.Equal(t, "Acme", ws.FriendlyName)
	assert.Equal(t, core.SeedSID("WA", "Away"), ws.TimeoutActivitySid)
	assert.Equal(t, core.SeedSID("WA", "Offline"), ws.DefaultActivitySid)
	assert.Equal(t, "Main", ws.Workflows[0].FriendlyName, "the default workflow goes first")
	zoe := s.Worker(ws.Sid, "zoe")
	require.NotNil(t, zoe)
	assert.Equal(t, "zoe.z", s.Identity(zoe))
	require.Len(t, zoe.Channels, 1)
	assert.Equal(t, 4, zoe.Channels[0].Capacity)

	task, err := s.CreateTask(TaskParams{WorkspaceSid: ws.Sid, TaskChannel: "chat"})
	require.Nil(t, err)
	assert.Equal(t, ws.Workflows[0].Sid, task.WorkflowSid)
	assert.Equal(t, StatusReserved, task.AssignmentStatus)
	assert.Equal(t, zoe.Sid, task.WorkerSid)
}

func TestBadSeeds(t *testing.T) {
	base := func(edit func(*Seed)) Seed {
		s := DefaultSeed()
		edit(&s)
		return s
	}
	tests := map[string]Seed{
		"unknown worker activity": base(func(s *Seed) { s.Workers[0].Activity = "Dancing" }),
		"worker twice":            base(func(s *Seed) { s.Workers = append(s.Workers, s.Workers[0]) }),
		"unknown channel":         base(func(s *Seed) { s.Workers[0].Channels = map[string]int{"fax": 1} }),
		"bad queue expression":    base(func(s *Seed) { s.TaskQueues[0].TargetWorkers = "skills HAS" }),
		"bad task order":          base(func(s *Seed) { s.TaskQueues[0].TaskOrder = "RANDOM" }),
		"unknown queue name": base(func(s *Seed) {
			s.Workflows[0].Configuration = map[string]any{"task_routing": map[string]any{"default_filter": map[string]any{"queue": "queue:Nope"}}}
		}),
		"workflow without routing": base(func(s *Seed) { s.Workflows[0].Configuration = map[string]any{} }),
		"reservation timeout":      base(func(s *Seed) { s.Workflows[0].TaskReservationTimeout = -1 }),
		"nameless worker":          base(func(s *Seed) { s.Workers[0].FriendlyName = "" }),
	}
	for name, seed := range tests {
		t.Run(name, func(t *testing.T) {
			s := newStore(t)
			require.NoError(t, s.Load(DefaultSeed()))
			before := s.WorkspaceSID()
			assert.Error(t, s.Load(seed))
			assert.Equal(t, before, s.WorkspaceSID(), "a failed Load changes nothing")
		})
	}
}

func TestLoadReplacesTheWorldAndItsTimers(t *testing.T) {
	s := newStore(t)
	require.NoError(t, s.Load(DefaultSeed()))
	ws := s.WorkspaceSID()
	task, err := s.CreateTask(TaskParams{WorkspaceSid: ws})
	require.Nil(t, err)
	require.NoError(t, s.Load(DefaultSeed()))
	assert.Nil(t, s.Task(ws, task.Sid), "the old tasks are gone")
	s.env.AdvanceTo(s.env.Now().Add(48 * time.Hour)) // old timers must not touch the new world
	assert.True(t, s.Worker(ws, "alice").Available)
}

func TestWorkflowConfigTargets(t *testing.T) {
	s := newStore(t)
	require.NoError(t, s.Load(DefaultSeed()))
	ws := s.workspace(s.WorkspaceSID())
	q := core.SeedSID("WQ", "Everyone")
	cfg, err := parseWorkflowConfig(ws, `{"task_routing":{"filters":[{"filter_friendly_name":"f","expression":"a == 1","targets":[
		{"queue":"`+q+`","known_worker_sid":"WK0123456789abcdef0123456789abcdef","timeout":30,"priority":4,"order_by":[{"sort":"x"}]},
		{"queue":"`+q+`","known_worker_friendly_name":"alice"},
		{"queue":"`+q+`","known_worker_friendly_name":"task.agent","expression":"worker.sid != task.x"}]}]}}`)
	require.Nil(t, err)
	require.Len(t, cfg.filters, 1)
	tg := cfg.filters[0].targets
	assert.Equal(t, "WK0123456789abcdef0123456789abcdef", tg[0].knownSid, "a literal SID")
	assert.Nil(t, tg[0].knownSidExpr)
	assert.Equal(t, 30, tg[0].timeout)
	assert.Equal(t, 4, *tg[0].priority)
	assert.Equal(t, "alice", tg[1].knownName, "a bare name is literal")
	assert.NotNil(t, tg[2].knownNameExpr, "task.… is an expression")
	assert.NotNil(t, tg[2].match)
	assert.Empty(t, cfg.defaultQueue)
	assert.True(t, cfg.usesQueue(q))
}
