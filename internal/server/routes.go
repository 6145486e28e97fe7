package server

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/flexhooks/flexhooks"
)

// Auth says how a route authenticates its caller.
type Auth int

const (
	// AuthNone: anyone may call (health, metrics).
	AuthNone Auth = iota
	// AuthSignature: Twilio webhooks, signed with X-Twilio-Signature.
	AuthSignature
	// AuthFlexToken: Flex plugin calls, carrying the agent's Flex token.
	AuthFlexToken
	// AuthFlexTokenOrService: an agent's Flex token, or the service's own
	// Twilio credentials with HTTP Basic (a customer-facing backend).
	AuthFlexTokenOrService
)

func (a Auth) String() string {
	switch a {
	case AuthNone:
		return "none"
	case AuthSignature:
		return "signature"
	case AuthFlexToken:
		return "flex-token"
	case AuthFlexTokenOrService:
		return "flex-token-or-service"
	}
	return fmt.Sprintf("Auth(%d)", int(a))
}

// Route is one endpoint cmd or feature code mounts on the server.
type Route struct {
	Method  string // GET, POST…
	Pattern string // chi pattern: /park-interaction, /features/{feature}/…
	// Name identifies the handler in the access log ("park"); optional.
	Name    string
	Auth    Auth
	Handler http.Handler
}

func hasAuth(routes []Route, a Auth) bool {
	for _, r := range routes {
		if r.Auth == a {
			return true
		}
	}
	return false
}

// routes assembles the middleware stack and the router. The order matters:
// the request id comes first so everything can log it; the access log and
// metrics wrap panic recovery so a panic is logged and counted as the 500 it
// becomes; CORS answers preflights before routing (a preflight is an OPTIONS
// the router would refuse with 405); the body limit applies to everything
// that reads a body, authentication included.
func (s *Server) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(s.requestID, s.accessLog, s.recoverPanic, s.cors.middleware, s.limitBody)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, r, flexhooks.Errorf(flexhooks.ENOTFOUND, "no route for %s %s", r.Method, r.URL.Path))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, req *http.Request) {
		// chi drops its Allow header when the 405 handler is ours; rebuild it.
		var allowed []string
		for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			if r.Match(chi.NewRouteContext(), m, req.URL.Path) {
				allowed = append(allowed, m)
			}
		}
		if len(allowed) > 0 {
			w.Header().Set("Allow", strings.Join(allowed, ", "))
		}
		writeErrorStatus(w, req, http.StatusMethodNotAllowed,
			flexhooks.Errorf(CodeMethodNotAllowed, "%s is not allowed on %s", req.Method, req.URL.Path))
	})

	// Operator endpoints: probes log at debug level so they do not drown the
	// access log.
	for _, m := range []string{http.MethodGet, http.MethodHead} {
		s.mount(r, Route{Method: m, Pattern: "/healthz", Name: "healthz", Handler: http.HandlerFunc(s.healthz)}, true)
		s.mount(r, Route{Method: m, Pattern: "/readyz", Name: "readyz", Handler: http.HandlerFunc(s.readyz)}, true)
	}
	s.mount(r, Route{Method: http.MethodGet, Pattern: "/metrics", Name: "metrics", Handler: s.metrics.handler(s.opts.Gatherer, s.log)}, true)

	for _, rt := range s.opts.Routes {
		if rt.Handler == nil || rt.Method == "" || rt.Pattern == "" {
			// A wiring bug in cmd: fail at start-up, not on the first request.
			panic(fmt.Sprintf("server: route %q %s %s: method, pattern and handler are required", rt.Name, rt.Method, rt.Pattern))
		}
		s.mount(r, rt, false)
	}
	return r
}

// mount registers rt behind its authentication, tagging each request with
// the route for the access log and metrics.
func (s *Server) mount(r chi.Router, rt Route, quiet bool) {
	h := rt.Handler
	switch rt.Auth {
	case AuthNone:
	case AuthSignature:
		h = s.sig.middleware(h)
	case AuthFlexToken:
		h = s.tokens.middleware(h)
	case AuthFlexTokenOrService:
		h = s.service.middleware(h)
	default:
		panic(fmt.Sprintf("server: route %s %s: unknown auth %v", rt.Method, rt.Pattern, rt.Auth))
	}
	pattern, name := rt.Pattern, rt.Name
	s.metrics.addRoute(pattern)
	r.Method(rt.Method, rt.Pattern, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if st := stateFrom(req.Context()); st != nil {
			st.route, st.name, st.quiet = pattern, name, quiet
		}
		h.ServeHTTP(w, req)
	}))
}
