package taskrouter

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	twclient "github.com/twilio/twilio-go/client"
	trv1 "github.com/twilio/twilio-go/rest/taskrouter/v1"

	"github.com/flexhooks/flexhooks/internal/emulator/emutest"
)

// apiError extracts Twilio's error from a twilio-go call.
func apiError(t *testing.T, err error) *twclient.TwilioRestError {
	t.Helper()
	require.Error(t, err)
	var te *twclient.TwilioRestError
	require.True(t, errors.As(err, &te), "a Twilio REST error, got %T %v", err, err)
	return te
}

func TestWorkspaceFetchListUpdate(t *testing.T) {
	w := newWorld(t)
	ws, err := w.tr.FetchWorkspace(w.ws)
	require.NoError(t, err)
	assert.Equal(t, "Flex Task Assignment", *ws.FriendlyName)
	assert.Equal(t, "Offline", *ws.DefaultActivityName)
	assert.True(t, *ws.MultiTaskEnabled)
	assert.Nil(t, ws.EventCallbackUrl)

	list, err := w.tr.ListWorkspace(&trv1.ListWorkspaceParams{})
	require.NoError(t, err)
	require.Len(t, list, 1)

	updated, err := w.tr.UpdateWorkspace(w.ws, (&trv1.UpdateWorkspaceParams{}).
		SetEventCallbackUrl("https://example.com/events").SetEventsFilter("task.created,reservation.accepted").
		SetDefaultActivitySid(w.sid("WA", "Available")))
	require.NoError(t, err)
	assert.Equal(t, "https://example.com/events", *updated.EventCallbackUrl)
	assert.Equal(t, "task.created,reservation.accepted", *updated.EventsFilter)
	assert.Equal(t, "Available", *updated.DefaultActivityName)

	for _, p := range []*trv1.UpdateWorkspaceParams{
		(&trv1.UpdateWorkspaceParams{}).SetEventCallbackUrl("not a url"),
		(&trv1.UpdateWorkspaceParams{}).SetDefaultActivitySid("WA00000000000000000000000000000000"),
		(&trv1.UpdateWorkspaceParams{}).SetPrioritizeQueueOrder("RANDOM"),
	} {
		_, err := w.tr.UpdateWorkspace(w.ws, p)
		assert.Equal(t, 400, apiError(t, err).Status)
	}
	_, err = w.tr.FetchWorkspace("WS00000000000000000000000000000000")
	te := apiError(t, err)
	assert.Equal(t, 404, te.Status)
	assert.Equal(t, 20404, te.Code)

	created, err := w.tr.CreateWorkspace((&trv1.CreateWorkspaceParams{}).SetFriendlyName("Second"))
	require.NoError(t, err)
	acts, err := w.tr.ListActivity(*created.Sid, &trv1.ListActivityParams{})
	require.NoError(t, err)
	assert.Len(t, acts, 4, "a new workspace gets the stock activities")
	require.NoError(t, w.tr.DeleteWorkspace(*created.Sid))
}

func TestActivitiesAndTaskChannels(t *testing.T) {
	w := newWorld(t)
	acts, err := w.tr.ListActivity(w.ws, (&trv1.ListActivityParams{}).SetAvailable("true"))
	require.NoError(t, err)
	require.Len(t, acts, 1)
	assert.Equal(t, "Available", *acts[0].FriendlyName)

	a, err := w.tr.FetchActivity(w.ws, w.sid("WA", "Break"))
	require.NoError(t, err)
	assert.False(t, *a.Available)

	lunch, err := w.tr.CreateActivity(w.ws, (&trv1.CreateActivityParams{}).SetFriendlyName("Lunch").SetAvailable(false))
	require.NoError(t, err)
	_, err = w.tr.UpdateActivity(w.ws, *lunch.Sid, (&trv1.UpdateActivityParams{}).SetFriendlyName("Late lunch"))
	require.NoError(t, err)
	require.NoError(t, w.tr.DeleteActivity(w.ws, *lunch.Sid))
	_, err = w.tr.FetchActivity(w.ws, *lunch.Sid)
	assert.Equal(t, 404, apiError(t, err).Status)

	chans, err := w.tr.ListTaskChannel(w.ws, &trv1.ListTaskChannelParams{})
	require.NoError(t, err)
	var names []string
	for _, c := range chans {
		names = append(names, *c.UniqueName)
	}
	assert.Equal(t, []string{"default", "voice", "chat", "sms", "email"}, names)
	chat, err := w.tr.FetchTaskChannel(w.ws, "chat")
	require.NoError(t, err, "a task channel is found by unique name too")
	assert.Equal(t, w.sid("TC", "chat"), *chat.Sid)

	video, err := w.tr.CreateTaskChannel(w.ws, (&trv1.CreateTaskChannelParams{}).SetFriendlyName("Video").SetUniqueName("video"))
	require.NoError(t, err)
	wc, err := w.tr.FetchWorkerChannel(w.ws, w.sid("WK", "alice"), *video.Sid)
	require.NoError(t, err, "every worker gets a channel for a new task channel")
	assert.Equal(t, 1, wc.ConfiguredCapacity)
	_, err = w.tr.CreateTaskChannel(w.ws, (&trv1.CreateTaskChannelParams{}).SetFriendlyName("Video").SetUniqueName("video"))
	assert.Equal(t, 409, apiError(t, err).Status)
}

func TestWorkersAndTheirChannels(t *testing.T) {
	w := newWorld(t)
	alice, err := w.tr.FetchWorker(w.ws, w.sid("WK", "alice"))
	require.NoError(t, err)
	var attrs map[string]any
	require.NoError(t, json.Unmarshal([]byte(*alice.Attributes), &attrs))
	assert.Equal(t, "client:alice", attrs["contact_uri"])
	assert.Equal(t, "Alice Anderson", attrs["full_name"])
	assert.True(t, *alice.Available)

	tests := []struct {
		name   string
		params *trv1.ListWorkerParams
		want   []string
	}{
		{"all", &trv1.ListWorkerParams{}, []string{"alice", "bob", "carol"}},
		{"by activity", (&trv1.ListWorkerParams{}).SetActivityName("Available"), []string{"alice", "bob", "carol"}},
		{"by queue", (&trv1.ListWorkerParams{}).SetTaskQueueName("Support"), []string{"alice", "bob"}},
		{"by expression", (&trv1.ListWorkerParams{}).SetTargetWorkersExpression(`routing.skills HAS "sales"`), []string{"carol"}},
		{"by worker expression", (&trv1.ListWorkerParams{}).SetTargetWorkersExpression(`worker.friendly_name == "bob"`), []string{"bob"}},
		{"unavailable", (&trv1.ListWorkerParams{}).SetAvailable("false"), nil},
		{"by name", (&trv1.ListWorkerParams{}).SetFriendlyName("carol"), []string{"carol"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, err := w.tr.ListWorker(w.ws, tt.params)
			require.NoError(t, err)
			var got []string
			for _, wk := range list {
				got = append(got, *wk.FriendlyName)
			}
			assert.Equal(t, tt.want, got)
		})
	}

	dave, err := w.tr.CreateWorker(w.ws, (&trv1.CreateWorkerParams{}).SetFriendlyName("dave").SetAttributes(`{"routing":{"skills":["sales"]}}`))
	require.NoError(t, err)
	assert.Equal(t, "Offline", *dave.ActivityName, "the workspace's default activity")
	updated, err := w.tr.UpdateWorker(w.ws, *dave.Sid, (&trv1.UpdateWorkerParams{}).
		SetAttributes(`{"contact_uri":"client:dave"}`).SetActivitySid(w.sid("WA", "Available")))
	require.NoError(t, err)
	assert.Equal(t, `{"contact_uri":"client:dave"}`, *updated.Attributes)
	assert.True(t, *updated.Available)

	w.locked(func() {
		assert.Equal(t, "dave", w.store.Identity(w.store.Worker(w.ws, "dave")))
		assert.Equal(t, "alice", w.store.Identity(w.store.Worker(w.ws, w.sid("WK", "alice"))))
		assert.Nil(t, w.store.Worker(w.ws, "nobody"))
	})

	chans, err := w.tr.ListWorkerChannel(w.ws, *dave.Sid, &trv1.ListWorkerChannelParams{})
	require.NoError(t, err)
	assert.Len(t, chans, 5)
	ch, err := w.tr.UpdateWorkerChannel(w.ws, *dave.Sid, "chat", (&trv1.UpdateWorkerChannelParams{}).SetCapacity(7))
	require.NoError(t, err)
	assert.Equal(t, 7, ch.ConfiguredCapacity)
	_, err = w.tr.UpdateWorkerChannel(w.ws, *dave.Sid, "chat", (&trv1.UpdateWorkerChannelParams{}).SetCapacity(-1))
	assert.Equal(t, 400, apiError(t, err).Status)

	for _, p := range []*trv1.UpdateWorkerParams{
		(&trv1.UpdateWorkerParams{}).SetAttributes("[1,2]"),
		(&trv1.UpdateWorkerParams{}).SetAttributes("{"),
		(&trv1.UpdateWorkerParams{}).SetActivitySid("WA00000000000000000000000000000000"),
	} {
		_, err := w.tr.UpdateWorker(w.ws, *dave.Sid, p)
		assert.Equal(t, 400, apiError(t, err).Status)
	}
	_, err = w.tr.CreateWorker(w.ws, (&trv1.CreateWorkerParams{}).SetFriendlyName("dave"))
	assert.Equal(t, 409, apiError(t, err).Status)
	_, err = w.tr.ListWorker(w.ws, (&trv1.ListWorkerParams{}).SetTargetWorkersExpression("a =="))
	assert.Equal(t, 400, apiError(t, err).Status)

	require.NoError(t, w.tr.DeleteWorker(w.ws, *dave.Sid, &trv1.DeleteWorkerParams{}))
	_, err = w.tr.FetchWorker(w.ws, *dave.Sid)
	assert.Equal(t, 404, apiError(t, err).Status)
}

func TestTaskQueues(t *testing.T) {
	w := newWorld(t)
	list, err := w.tr.ListTaskQueue(w.ws, (&trv1.ListTaskQueueParams{}).SetWorkerSid(w.sid("WK", "carol")))
	require.NoError(t, err)
	var names []string
	for _, q := range list {
		names = append(names, *q.FriendlyName)
	}
	assert.Equal(t, []string{"Everyone", "Sales"}, names)

	q, err := w.tr.CreateTaskQueue(w.ws, (&trv1.CreateTaskQueueParams{}).SetFriendlyName("VIP").SetTargetWorkers(`email == "bob@example.com"`))
	require.NoError(t, err)
	assert.Equal(t, "FIFO", string(*q.TaskOrder))
	q, err = w.tr.UpdateTaskQueue(w.ws, *q.Sid, (&trv1.UpdateTaskQueueParams{}).SetTaskOrder("LIFO"))
	require.NoError(t, err)
	assert.Equal(t, "LIFO", string(*q.TaskOrder))
	got, err := w.tr.FetchTaskQueue(w.ws, *q.Sid)
	require.NoError(t, err)
	assert.Equal(t, `email == "bob@example.com"`, *got.TargetWorkers)

	_, err = w.tr.CreateTaskQueue(w.ws, (&trv1.CreateTaskQueueParams{}).SetFriendlyName("Bad").SetTargetWorkers("skills HAS"))
	assert.Equal(t, 400, apiError(t, err).Status)
	_, err = w.tr.CreateTaskQueue(w.ws, &trv1.CreateTaskQueueParams{})
	assert.Equal(t, 400, apiError(t, err).Status)
	err = w.tr.DeleteTaskQueue(w.ws, w.sid("WQ", "Everyone"))
	assert.Equal(t, 400, apiError(t, err).Status, "a queue a workflow routes to cannot go")
	require.NoError(t, w.tr.DeleteTaskQueue(w.ws, *q.Sid))
}

func TestWorkflows(t *testing.T) {
	w := newWorld(t)
	list, err := w.tr.ListWorkflow(w.ws, &trv1.ListWorkflowParams{})
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, "Assign to Anyone", *list[0].FriendlyName)
	assert.Equal(t, 120, list[0].TaskReservationTimeout)
	assert.Contains(t, *list[1].Configuration, w.sid("WQ", "Sales"), "queue names in the seed became SIDs")

	everyone := w.sid("WQ", "Everyone")
	good := `{"task_routing":{"default_filter":{"queue":"` + everyone + `"}}}`
	wf, err := w.tr.CreateWorkflow(w.ws, (&trv1.CreateWorkflowParams{}).SetFriendlyName("Simple").SetConfiguration(good).SetTaskReservationTimeout(30))
	require.NoError(t, err)
	assert.Equal(t, 30, wf.TaskReservationTimeout)
	wf, err = w.tr.UpdateWorkflow(w.ws, *wf.Sid, (&trv1.UpdateWorkflowParams{}).SetFriendlyName("Renamed"))
	require.NoError(t, err)
	assert.Equal(t, good, *wf.Configuration)

	bad := map[string]string{
		"not json":                              `{`,
		"no routing":                            `{}`,
		"unknown queue":                         `{"task_routing":{"default_filter":{"queue":"WQ00000000000000000000000000000000"}}}`,
		"bad expression":                        `{"task_routing":{"filters":[{"expression":"a ==","targets":[{"queue":"` + everyone + `"}]}]}}`,
		"no targets":                            `{"task_routing":{"filters":[{"expression":"1==1","targets":[]}]}}`,
		"bad target":                            `{"task_routing":{"filters":[{"expression":"1==1","targets":[{"queue":"` + everyone + `","expression":"NOT"}]}]}}`,
		"null literal":                          `{"task_routing":{"filters":[{"expression":"x == null","targets":[{"queue":"` + everyone + `"}]}]}}`,
		"first target without queue or default": `{"task_routing":{"filters":[{"expression":"1==1","targets":[{"timeout":5}]}]}}`,
	}
	for name, cfg := range bad {
		t.Run(name, func(t *testing.T) {
			_, err := w.tr.CreateWorkflow(w.ws, (&trv1.CreateWorkflowParams{}).SetFriendlyName("x").SetConfiguration(cfg))
			te := apiError(t, err)
			assert.Equal(t, 400, te.Status)
			assert.Equal(t, 20001, te.Code)
		})
	}
	_, err = w.tr.UpdateWorkflow(w.ws, *wf.Sid, (&trv1.UpdateWorkflowParams{}).SetTaskReservationTimeout(0))
	assert.Equal(t, 400, apiError(t, err).Status)
	require.NoError(t, w.tr.DeleteWorkflow(w.ws, *wf.Sid))
}

func TestTaskCreateFetchListDelete(t *testing.T) {
	w := newWorld(t)
	task, err := w.tr.CreateTask(w.ws, (&trv1.CreateTaskParams{}).SetAttributes(`{"type":"support","n":12345678901234567}`).
		SetTaskChannel("sms").SetPriority(7).SetWorkflowSid(w.workflow("Assign to Anyone")))
	require.NoError(t, err)
	assert.Equal(t, `{"n":12345678901234567,"type":"support"}`, *task.Attributes, "numbers keep their digits")
	assert.Equal(t, 7, task.Priority)
	assert.Equal(t, "sms", *task.TaskChannelUniqueName)
	assert.Equal(t, 86400, task.Timeout)
	assert.Equal(t, "Everyone", *task.TaskQueueFriendlyName)
	assert.Equal(t, "Assign to Anyone", *task.WorkflowFriendlyName)

	second := w.createTask(t, w.workflow("Chat Transfer"), map[string]any{"type": "sales"})

	tests := []struct {
		name   string
		params *trv1.ListTaskParams
		want   []string
	}{
		{"all, oldest first", &trv1.ListTaskParams{}, []string{*task.Sid, *second.Sid}},
		{"newest first", (&trv1.ListTaskParams{}).SetOrdering("DateCreated:desc"), []string{*second.Sid, *task.Sid}},
		{"by priority", (&trv1.ListTaskParams{}).SetOrdering("Priority:asc"), []string{*second.Sid, *task.Sid}},
		{"by workflow", (&trv1.ListTaskParams{}).SetWorkflowSid(w.workflow("Chat Transfer")), []string{*second.Sid}},
		{"by workflow name", (&trv1.ListTaskParams{}).SetWorkflowName("Assign to Anyone"), []string{*task.Sid}},
		{"by status", (&trv1.ListTaskParams{}).SetAssignmentStatus([]string{"reserved"}), []string{*task.Sid, *second.Sid}},
		{"no match", (&trv1.ListTaskParams{}).SetAssignmentStatus([]string{"pending", "assigned"}), nil},
		{"by attributes", (&trv1.ListTaskParams{}).SetEvaluateTaskAttributes(`type == "sales"`), []string{*second.Sid}},
		{"by queue", (&trv1.ListTaskParams{}).SetTaskQueueSid(w.sid("WQ", "Everyone")), []string{*task.Sid, *second.Sid}},
		{"by queue name", (&trv1.ListTaskParams{}).SetTaskQueueName("Sales"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, err := w.tr.ListTask(w.ws, tt.params)
			require.NoError(t, err)
			var got []string
			for _, tk := range list {
				got = append(got, *tk.Sid)
			}
			assert.Equal(t, tt.want, got)
		})
	}

	for name, p := range map[string]*trv1.CreateTaskParams{
		"attributes not an object": (&trv1.CreateTaskParams{}).SetAttributes(`"x"`),
		"unknown workflow":         (&trv1.CreateTaskParams{}).SetWorkflowSid("WW00000000000000000000000000000000"),
		"unknown channel":          (&trv1.CreateTaskParams{}).SetTaskChannel("fax"),
		"negative priority":        (&trv1.CreateTaskParams{}).SetPriority(-1),
		"zero timeout":             (&trv1.CreateTaskParams{}).SetTimeout(0),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := w.tr.CreateTask(w.ws, p)
			assert.Equal(t, 400, apiError(t, err).Status)
		})
	}
	_, err = w.tr.ListTask(w.ws, (&trv1.ListTaskParams{}).SetOrdering("Sid:asc"))
	assert.Equal(t, 400, apiError(t, err).Status)

	require.NoError(t, w.tr.DeleteTask(w.ws, *task.Sid, &trv1.DeleteTaskParams{}))
	_, err = w.tr.FetchTask(w.ws, *task.Sid)
	assert.Equal(t, 404, apiError(t, err).Status)
	_, err = w.tr.FetchTaskReservation(w.ws, *second.Sid, "WR00000000000000000000000000000000")
	assert.Equal(t, 404, apiError(t, err).Status)
}

func TestTaskETagAndIfMatch(t *testing.T) {
	w := newWorld(t)
	task := w.createTask(t, "", nil)
	meta, err := w.tr.FetchTaskWithMetadata(w.ws, *task.Sid)
	require.NoError(t, err)
	etag := meta.GetHeaders().Get("ETag")
	require.NotEmpty(t, etag)

	_, err = w.tr.UpdateTask(w.ws, *task.Sid, (&trv1.UpdateTaskParams{}).SetIfMatch("999").SetAttributes(`{"a":1}`))
	te := apiError(t, err)
	assert.Equal(t, http.StatusPreconditionFailed, te.Status)
	assert.Equal(t, 20412, te.Code)

	// N concurrent updates carry the same ETag: exactly one wins.
	const n = 8
	var wg sync.WaitGroup
	codes := make([]int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := w.tr.UpdateTask(w.ws, *task.Sid, (&trv1.UpdateTaskParams{}).SetIfMatch(etag).SetAttributes(`{"winner":`+string(rune('0'+i))+`}`))
			if err == nil {
				codes[i] = 200
				return
			}
			var te *twclient.TwilioRestError
			if errors.As(err, &te) {
				codes[i] = te.Status
			}
		}()
	}
	wg.Wait()
	wins := 0
	for _, c := range codes {
		switch c {
		case 200:
			wins++
		case 412:
		default:
			t.Errorf("unexpected status %d", c)
		}
	}
	assert.Equal(t, 1, wins, "codes %v", codes)

	after, err := w.tr.FetchTaskWithMetadata(w.ws, *task.Sid)
	require.NoError(t, err)
	newTag := after.GetHeaders().Get("ETag")
	assert.NotEqual(t, etag, newTag)
	assert.True(t, strings.HasPrefix(*after.GetResource().Attributes, `{"winner":`))
	err = w.tr.DeleteTask(w.ws, *task.Sid, (&trv1.DeleteTaskParams{}).SetIfMatch(etag))
	assert.Equal(t, 412, apiError(t, err).Status)
	require.NoError(t, w.tr.DeleteTask(w.ws, *task.Sid, (&trv1.DeleteTaskParams{}).SetIfMatch(`"`+newTag+`"`)))
}

func TestTaskUpdateRules(t *testing.T) {
	w := newWorld(t)
	task := w.createTask(t, "", nil)
	tests := []struct {
		name   string
		params *trv1.UpdateTaskParams
		status int
	}{
		{"wrapping a reserved task", (&trv1.UpdateTaskParams{}).SetAssignmentStatus("wrapping"), 400},
		{"completing a reserved task", (&trv1.UpdateTaskParams{}).SetAssignmentStatus("completed"), 400},
		{"setting assigned", (&trv1.UpdateTaskParams{}).SetAssignmentStatus("assigned"), 400},
		{"unknown status", (&trv1.UpdateTaskParams{}).SetAssignmentStatus("done"), 400},
		{"bad attributes", (&trv1.UpdateTaskParams{}).SetAttributes("nope"), 400},
		{"bad priority", (&trv1.UpdateTaskParams{}).SetPriority(-5), 400},
		{"priority", (&trv1.UpdateTaskParams{}).SetPriority(3), 200},
		{"cancel", (&trv1.UpdateTaskParams{}).SetAssignmentStatus("canceled").SetReason("customer left"), 200},
		{"after cancel", (&trv1.UpdateTaskParams{}).SetAttributes(`{}`), 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := w.tr.UpdateTask(w.ws, *task.Sid, tt.params)
			if tt.status == 200 {
				require.NoError(t, err)
				return
			}
			assert.Equal(t, tt.status, apiError(t, err).Status)
		})
	}
	got := w.fetchTask(t, *task.Sid)
	assert.Equal(t, "canceled", string(*got.AssignmentStatus))
	assert.Equal(t, "customer left", *got.Reason)
	res := w.reservations(t, *task.Sid, "")
	require.Len(t, res, 1)
	assert.Equal(t, "canceled", string(*res[0].ReservationStatus), "canceling a reserved task cancels its reservation")
}

func TestWorkerScopedReservations(t *testing.T) {
	w := newWorld(t)
	task := w.createTask(t, "", nil)
	alice := w.sid("WK", "alice")
	list, err := w.tr.ListWorkerReservation(w.ws, alice, (&trv1.ListWorkerReservationParams{}).SetReservationStatus("pending"))
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, *task.Sid, *list[0].TaskSid)
	assert.Equal(t, "alice", *list[0].WorkerName)

	_, err = w.tr.FetchWorkerReservation(w.ws, w.sid("WK", "bob"), *list[0].Sid)
	assert.Equal(t, 404, apiError(t, err).Status, "a reservation is found under its own worker only")

	res, err := w.tr.UpdateWorkerReservation(w.ws, alice, *list[0].Sid, (&trv1.UpdateWorkerReservationParams{}).SetReservationStatus("accepted"))
	require.NoError(t, err)
	assert.Equal(t, "accepted", string(*res.ReservationStatus))
	_, err = w.tr.UpdateWorkerReservation(w.ws, alice, *list[0].Sid, (&trv1.UpdateWorkerReservationParams{}).SetReservationStatus("accepted"))
	assert.Equal(t, 400, apiError(t, err).Status, "accepting twice")
	_, err = w.tr.UpdateWorkerReservation(w.ws, alice, *list[0].Sid, (&trv1.UpdateWorkerReservationParams{}).SetReservationStatus("bogus"))
	assert.Equal(t, 400, apiError(t, err).Status)
	res, err = w.tr.UpdateWorkerReservation(w.ws, alice, *list[0].Sid, (&trv1.UpdateWorkerReservationParams{}).SetReservationStatus("completed"))
	require.NoError(t, err)
	assert.Equal(t, "completed", string(*res.ReservationStatus))
	assert.Equal(t, "completed", string(*w.fetchTask(t, *task.Sid).AssignmentStatus))
}

func TestUnknownPathsAndMethods(t *testing.T) {
	w := newWorld(t)
	base := emutest.BaseClient(t, w.srv.URL)
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/v1/Nope", 404},
		{"GET", "/v1/Workspaces/" + w.ws + "/Workers/WK00000000000000000000000000000000/Channels", 404},
		{"GET", "/v1/Workspaces/" + w.ws + "/Tasks/WT0/Reservations", 404},
		{"PUT", "/v1/Workspaces/" + w.ws + "/Tasks", 405},
		{"GET", "/v1/Workspaces/" + w.ws + "/Tasks?PageSize=zero", 400},
	} {
		resp, err := base.SendRequest(tc.method, "https://taskrouter.twilio.com"+tc.path, nil, nil)
		if resp != nil {
			assert.Equal(t, tc.status, resp.StatusCode, tc.path)
			_ = resp.Body.Close()
			continue
		}
		te := apiError(t, err)
		assert.Equal(t, tc.status, te.Status, tc.path)
	}
}

// Garbage in every parameter of every write must give a 4xx or a success, never a 5xx.
func TestGarbageNeverGives5xx(t *testing.T) {
	w := newWorld(t)
	task := w.createTask(t, "", nil)
	rsv := w.pending(t, *task.Sid)
	alice := w.sid("WK", "alice")
	ws := "/v1/Workspaces/" + w.ws
	paths := []string{
		"/v1/Workspaces", ws, ws + "/Activities", ws + "/Activities/" + w.sid("WA", "Break"),
		ws + "/TaskChannels", ws + "/TaskChannels/chat", ws + "/Workers", ws + "/Workers/" + alice,
		ws + "/Workers/" + alice + "/Channels/chat", ws + "/TaskQueues", ws + "/TaskQueues/" + w.sid("WQ", "Sales"),
		ws + "/Workflows", ws + "/Workflows/" + w.workflow("Chat Transfer"), ws + "/Tasks", ws + "/Tasks/" + *task.Sid,
		ws + "/Tasks/" + *task.Sid + "/Reservations/" + *rsv.Sid, ws + "/Workers/" + alice + "/Reservations/" + *rsv.Sid,
	}
	names := []string{"FriendlyName", "Attributes", "ActivitySid", "Available", "Capacity", "TargetWorkers", "TaskOrder",
		"MaxReservedWorkers", "Configuration", "TaskReservationTimeout", "AssignmentStatus", "Priority", "Timeout",
		"TaskChannel", "WorkflowSid", "ReservationStatus", "WorkerActivitySid", "EventCallbackUrl", "UniqueName",
		"ReEvaluateTasks", "RejectPendingReservations", "MultiTaskEnabled", "RoutingTarget", "TaskQueueSid"}
	values := []string{"", "x", "-1", "99999999999999999999", "{", "[]", "null", `{"task_routing":{"filters":[{"targets":[{}]}]}}`, "\x00"}
	base := emutest.BaseClient(t, w.srv.URL)
	for _, path := range paths {
		for _, v := range values {
			form := map[string][]string{}
			for _, n := range names {
				form[n] = []string{v}
			}
			for _, method := range []string{"POST", "GET"} {
				resp, err := base.SendRequest(method, "https://taskrouter.twilio.com"+path, form, nil)
				status := 0
				if resp != nil {
					status = resp.StatusCode
					_ = resp.Body.Close()
				} else {
					var te *twclient.TwilioRestError
					if errors.As(err, &te) {
						status = te.Status
					}
				}
				assert.True(t, status > 0 && status < 500, "%s %s with %q → %d (%v)", method, path, v, status, err)
			}
		}
	}
}

func TestDeleteTaskChannel(t *testing.T) {
	w := newWorld(t)
	task := w.createTask(t, "", nil)
	err := w.tr.DeleteTaskChannel(w.ws, "chat")
	assert.Equal(t, 400, apiError(t, err).Status, "a channel with active tasks stays")
	_, err = w.tr.UpdateTask(w.ws, *task.Sid, (&trv1.UpdateTaskParams{}).SetAssignmentStatus("canceled"))
	require.NoError(t, err)
	require.NoError(t, w.tr.DeleteTaskChannel(w.ws, "chat"))
	_, err = w.tr.FetchWorkerChannel(w.ws, w.sid("WK", "alice"), "chat")
	assert.Equal(t, 404, apiError(t, err).Status, "workers lose the channel with it")
}
