// Package console is the emulator's web console: a page, served at the
// emulator's root from files embedded in the binary, that shows the emulated
// world live and lets a person play the customer, the agents, the clock and
// Twilio's failures. It owns the page's assets, GET /emulator/console/config
// (the flexhooks address the page calls by default) and the relay through
// which the page reaches Twilio's REST API on the emulator, which a browser
// cannot address itself because it may not set the Host header.
//
// The page is a client of flexhooks exactly as a Flex plugin is: every agent
// action goes to the service's real endpoints with that worker's Flex token.
// This package imports nothing of the emulator; the emulator mounts it.
package console

import (
	"context"
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

//go:embed static
var static embed.FS

// Paths the console answers; the emulator sends them here (see Owns).
const (
	assetsPrefix = "/console/"
	configPath   = "/emulator/console/config"
	relayPrefix  = "/emulator/console/twilio/"
)

// Options connect the console to the emulator that mounts it.
type Options struct {
	// Twilio serves Twilio's REST API, dispatched by the Host header: the
	// emulator itself. The relay sends the page's Twilio calls through it,
	// so they are logged, faulted and authenticated like any other.
	Twilio http.Handler
	// AccountSID and AuthToken are the emulator's credentials, which the
	// relay presents as twilio-go would.
	AccountSID, AuthToken string
	// Settle waits for the webhooks a relayed call caused, as the control
	// API's calls do, so the page shows their consequences at once.
	Settle func(context.Context) error
}

// Console is the web console's HTTP handler.
type Console struct {
	opts   Options
	assets http.Handler
	mu     sync.Mutex
	svcURL string // flexhooks' base URL offered to the page; "" = the page asks
}

// New builds the console.
func New(opts Options) *Console {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return &Console{opts: opts, assets: http.StripPrefix(assetsPrefix, http.FileServerFS(sub))}
}

// SetServiceURL sets the flexhooks base URL the page calls unless the person
// using it chose another: `flexhooks serve` sets its own address, `flexhooks
// emulator` the replicas' PUBLIC_BASE_URL.
func (c *Console) SetServiceURL(u string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.svcURL = strings.TrimRight(u, "/")
}

func (c *Console) serviceURL() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.svcURL
}

// Owns reports whether a request path (on the emulator's own host, not a
// Twilio host) is the console's.
func Owns(path string) bool {
	return path == "/" || strings.HasPrefix(path, assetsPrefix) ||
		path == configPath || strings.HasPrefix(path, relayPrefix)
}

// ServeHTTP implements http.Handler.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch p := r.URL.Path; {
	case p == "/":
		c.serveIndex(w, r)
	case strings.HasPrefix(p, assetsPrefix):
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			writeError(w, http.StatusMethodNotAllowed, "the console's files are read with GET")
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		c.assets.ServeHTTP(w, r)
	case p == configPath:
		c.serveConfig(w, r)
	case strings.HasPrefix(p, relayPrefix):
		c.relay(w, r)
	default:
		writeError(w, http.StatusNotFound, "no such console path: "+p)
	}
}

func (c *Console) serveIndex(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeError(w, http.StatusMethodNotAllowed, "the console is read with GET")
		return
	}
	page, err := static.ReadFile("static/index.html")
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	// The page loads only its own files; it may call any flexhooks origin.
	h.Set("Content-Security-Policy", "default-src 'self'; connect-src *; img-src 'self' data:; base-uri 'none'; form-action 'none'")
	_, _ = w.Write(page)
}

// Config is GET /emulator/console/config.
type Config struct {
	// ServiceURL is flexhooks' base URL, "" when the emulator does not know it.
	ServiceURL string `json:"serviceUrl"`
}

func (c *Console) serveConfig(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed on "+configPath)
		return
	}
	writeJSON(w, http.StatusOK, Config{ServiceURL: c.serviceURL()})
}

// Origins are the browser origins the console is served from when the
// emulator listens at emulatorURL: a service talking to that emulator allows
// them in CORS so the page can call it. 127.0.0.1 and localhost are the same
// place to a person but different origins to a browser, so both are given.
func Origins(emulatorURL string) []string {
	u, err := url.Parse(emulatorURL)
	if err != nil || u.Host == "" {
		return nil
	}
	origins := []string{u.Scheme + "://" + u.Host}
	port := u.Port()
	if port == "" {
		return origins
	}
	switch u.Hostname() {
	case "127.0.0.1":
		origins = append(origins, u.Scheme+"://localhost:"+port)
	case "localhost":
		origins = append(origins, u.Scheme+"://127.0.0.1:"+port)
	}
	return origins
}

type errorBody struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Error: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
