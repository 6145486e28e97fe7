package server

import (
	"net/http"
	"strings"
)

// cors lets the Flex UI, served from another origin (https://flex.twilio.com
// or a self-hosted one), call the plugin endpoints from the browser. Nothing
// uses cookies, so credentials are never allowed and "*" is safe to offer.
type cors struct {
	anyOrigin bool
	origins   map[string]bool // lower case, no trailing slash
}

func newCORS(allowed []string) *cors {
	c := &cors{origins: map[string]bool{}}
	for _, o := range allowed {
		o = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(o)), "/")
		switch o {
		case "":
		case "*":
			c.anyOrigin = true
		default:
			c.origins[o] = true
		}
	}
	return c
}

func (c *cors) enabled() bool { return c.anyOrigin || len(c.origins) > 0 }

func (c *cors) allowed(origin string) bool {
	if c.anyOrigin {
		return true
	}
	if c.origins[origin] {
		return true
	}
	return c.origins[strings.ToLower(origin)]
}

const (
	corsAllowMethods = "GET, POST, PATCH, OPTIONS"
	corsAllowHeaders = "Authorization, Content-Type, X-Request-Id"
	corsMaxAge       = "600" // seconds browsers may reuse a preflight answer
)

func (c *cors) middleware(next http.Handler) http.Handler {
	if !c.enabled() {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			// Not a browser's cross-origin call (Twilio webhooks, curl).
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Add("Vary", "Origin")
		ok := c.allowed(origin)
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			// Preflight: answered here, before routing, whatever the path.
			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
			if ok {
				h.Set("Access-Control-Allow-Origin", c.allowOrigin(origin))
				h.Set("Access-Control-Allow-Methods", corsAllowMethods)
				h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
				h.Set("Access-Control-Max-Age", corsMaxAge)
			}
			// A refused origin gets the same 204 without the allow headers:
			// the browser then blocks the call, which is the refusal.
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if ok {
			h.Set("Access-Control-Allow-Origin", c.allowOrigin(origin))
			h.Set("Access-Control-Expose-Headers", "X-Request-Id")
		}
		next.ServeHTTP(w, r)
	})
}

func (c *cors) allowOrigin(origin string) string {
	if c.anyOrigin {
		return "*"
	}
	return origin
}
