package syncapi

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/flexhooks/flexhooks/internal/emulator/core"
)

// Sync's error codes (https://www.twilio.com/docs/api/errors/<code>).
const (
	codeInvalidIfMatch   = 54003 // If-Match is not a revision at all
	codeRequestTooLarge  = 54006 // Data over 16 KiB
	codeInvalidJSON      = 54008 // Data is not JSON (or not an object)
	codeMapNotFound      = 54200
	codeItemNotFound     = 54201
	codeItemRevision     = 54205 // If-Match does not match the item's revision
	codeItemExists       = 54208
	codeInvalidItemKey   = 54209
	codeUniqueNameExists = 54301
	codeInvalidName      = 54302
)

// Routes serves Sync's REST API (paths start at /v1/).
func (s *Store) Routes() http.Handler {
	r := chi.NewRouter()
	r.NotFound(func(w http.ResponseWriter, r *http.Request) { core.WriteError(w, core.NotFound(r)) })
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		core.WriteError(w, core.Errf(http.StatusMethodNotAllowed, core.CodeMethodNotAllowed, "Method %s not allowed on %s", r.Method, r.URL.Path))
	})
	r.Get("/v1/Services", s.listServices)
	r.Post("/v1/Services", s.createService)
	r.Route("/v1/Services/{svc}", func(r chi.Router) {
		r.Get("/", s.inService(s.fetchService))
		r.Post("/", s.inService(s.updateService))
		r.Delete("/", s.inService(s.deleteService))

		r.Get("/Maps", s.inService(s.listMaps))
		r.Post("/Maps", s.inService(s.createMap))
		r.Get("/Maps/{map}", s.inMap(s.fetchMap))
		r.Post("/Maps/{map}", s.inMap(s.updateMap))
		r.Delete("/Maps/{map}", s.inMap(s.deleteMap))

		r.Get("/Maps/{map}/Items", s.inMap(s.listItems))
		r.Post("/Maps/{map}/Items", s.inMap(s.createItem))
		r.Get("/Maps/{map}/Items/{key}", s.inMap(s.fetchItem))
		r.Post("/Maps/{map}/Items/{key}", s.inMap(s.updateItem))
		r.Delete("/Maps/{map}/Items/{key}", s.inMap(s.deleteItem))
	})
	return r
}

// param returns a path parameter decoded: chi hands out the escaped form
// when the request path needed escaping (a key with spaces, say).
func param(r *http.Request, name string) string {
	v := chi.URLParam(r, name)
	if r.URL.RawPath != "" {
		if u, err := url.PathUnescape(v); err == nil {
			return u
		}
	}
	return v
}

// inService resolves the path's service and writes the handler's error.
func (s *Store) inService(h func(http.ResponseWriter, *http.Request, *service) *core.Error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		svc := s.service(param(r, "svc"))
		if svc == nil {
			core.WriteError(w, core.NotFound(r))
			return
		}
		if err := h(w, r, svc); err != nil {
			core.WriteError(w, err)
		}
	}
}

// inMap resolves the path's service and map (SID or unique name).
func (s *Store) inMap(h func(http.ResponseWriter, *http.Request, *syncMap) *core.Error) http.HandlerFunc {
	return s.inService(func(w http.ResponseWriter, r *http.Request, svc *service) *core.Error {
		m := svc.lookupMap(param(r, "map"))
		if m == nil {
			return core.Errf(http.StatusNotFound, codeMapNotFound, "The requested resource %s was not found", r.URL.Path)
		}
		if err := s.charge(r, m); err != nil {
			return err
		}
		return h(w, r, m)
	})
}

// ifMatch returns the If-Match header as a bare revision: quotes and a weak
// marker are dropped, so an ETag echoed verbatim works too.
func ifMatch(r *http.Request) (string, bool) {
	v := strings.TrimSpace(r.Header.Get("If-Match"))
	if v == "" {
		return "", false
	}
	v = strings.TrimPrefix(v, "W/")
	return strings.Trim(v, `"`), true
}
