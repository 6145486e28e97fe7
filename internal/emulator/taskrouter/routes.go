package taskrouter

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/flexhooks/flexhooks/internal/emulator/core"
)

// Routes serves TaskRouter's REST API (paths start at /v1/).
func (s *Store) Routes() http.Handler {
	r := chi.NewRouter()
	r.NotFound(func(w http.ResponseWriter, r *http.Request) { core.WriteError(w, core.NotFound(r)) })
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		core.WriteError(w, core.Errf(http.StatusMethodNotAllowed, core.CodeMethodNotAllowed, "Method %s not allowed on %s", r.Method, r.URL.Path))
	})
	r.Get("/v1/Workspaces", s.listWorkspaces)
	r.Post("/v1/Workspaces", s.createWorkspace)
	r.Route("/v1/Workspaces/{ws}", func(r chi.Router) {
		r.Get("/", s.in(s.fetchWorkspace))
		r.Post("/", s.in(s.updateWorkspace))
		r.Delete("/", s.in(s.deleteWorkspace))

		r.Get("/Activities", s.in(s.listActivities))
		r.Post("/Activities", s.in(s.createActivity))
		r.Get("/Activities/{sid}", s.in(s.fetchActivity))
		r.Post("/Activities/{sid}", s.in(s.updateActivity))
		r.Delete("/Activities/{sid}", s.in(s.deleteActivity))

		r.Get("/TaskChannels", s.in(s.listTaskChannels))
		r.Post("/TaskChannels", s.in(s.createTaskChannel))
		r.Get("/TaskChannels/{sid}", s.in(s.fetchTaskChannel))
		r.Post("/TaskChannels/{sid}", s.in(s.updateTaskChannel))
		r.Delete("/TaskChannels/{sid}", s.in(s.deleteTaskChannel))

		r.Get("/Workers", s.in(s.listWorkers))
		r.Post("/Workers", s.in(s.createWorker))
		r.Get("/Workers/{sid}", s.in(s.fetchWorker))
		r.Post("/Workers/{sid}", s.in(s.updateWorker))
		r.Delete("/Workers/{sid}", s.in(s.deleteWorker))
		r.Get("/Workers/{sid}/Channels", s.in(s.listWorkerChannels))
		r.Get("/Workers/{sid}/Channels/{ch}", s.in(s.fetchWorkerChannel))
		r.Post("/Workers/{sid}/Channels/{ch}", s.in(s.updateWorkerChannel))
		r.Get("/Workers/{sid}/Reservations", s.in(s.listWorkerReservations))
		r.Get("/Workers/{sid}/Reservations/{res}", s.in(s.fetchWorkerReservation))
		r.Post("/Workers/{sid}/Reservations/{res}", s.in(s.updateWorkerReservation))

		r.Get("/TaskQueues", s.in(s.listTaskQueues))
		r.Post("/TaskQueues", s.in(s.createTaskQueue))
		r.Get("/TaskQueues/{sid}", s.in(s.fetchTaskQueue))
		r.Post("/TaskQueues/{sid}", s.in(s.updateTaskQueue))
		r.Delete("/TaskQueues/{sid}", s.in(s.deleteTaskQueue))

		r.Get("/Workflows", s.in(s.listWorkflows))
		r.Post("/Workflows", s.in(s.createWorkflow))
		r.Get("/Workflows/{sid}", s.in(s.fetchWorkflow))
		r.Post("/Workflows/{sid}", s.in(s.updateWorkflow))
		r.Delete("/Workflows/{sid}", s.in(s.deleteWorkflow))

		r.Get("/Tasks", s.in(s.listTasks))
		r.Post("/Tasks", s.in(s.createTaskHTTP))
		r.Get("/Tasks/{sid}", s.in(s.fetchTask))
		r.Post("/Tasks/{sid}", s.in(s.updateTask))
		r.Delete("/Tasks/{sid}", s.in(s.deleteTask))
		r.Get("/Tasks/{sid}/Reservations", s.in(s.listTaskReservations))
		r.Get("/Tasks/{sid}/Reservations/{res}", s.in(s.fetchTaskReservation))
		r.Post("/Tasks/{sid}/Reservations/{res}", s.in(s.updateTaskReservation))
	})
	return r
}

// in resolves the workspace of the path and writes the handler's error.
func (s *Store) in(h func(http.ResponseWriter, *http.Request, *Workspace) *core.Error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ws := s.workspace(chi.URLParam(r, "ws"))
		if ws == nil {
			core.WriteError(w, core.NotFound(r))
			return
		}
		if err := h(w, r, ws); err != nil {
			core.WriteError(w, err)
		}
	}
}

func param(r *http.Request, name string) string { return chi.URLParam(r, name) }

// wsURL is the workspace's absolute URL on the Twilio host the request named.
func wsURL(r *http.Request, wsSid string) string {
	return core.ResourceURL(r, "/v1/Workspaces/"+wsSid)
}

// nullable renders "" as JSON null, as Twilio does for unset optional fields.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func remove[T comparable](list []T, x T) []T {
	for i, e := range list {
		if e == x {
			return append(list[:i:i], list[i+1:]...)
		}
	}
	return list
}

// decodeObject parses a JSON object, keeping numbers exact (json.Number).
func decodeObject(s string) (map[string]any, error) {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errors.New("not a JSON object")
	}
	if dec.More() {
		return nil, errors.New("trailing data after the JSON object")
	}
	return m, nil
}

// encodeObject renders attributes as the JSON text Twilio returns.
func encodeObject(m map[string]any) string {
	if m == nil {
		return "{}"
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "{}"
	}
	return string(b)
}

// jsonObjectParam reads an Attributes-like parameter: absent → nil, nil;
// present, it must be a JSON object.
func jsonObjectParam(p core.Params, name string) (map[string]any, *core.Error) {
	if !p.Has(name) {
		return nil, nil
	}
	m, err := decodeObject(p.Get(name))
	if err != nil {
		return nil, core.BadParam(name, "must be a JSON object")
	}
	return m, nil
}
