package emutest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// specFiles maps each emulated Twilio host to its OpenAPI spec in shared/twilio-oai.
var specFiles = map[string]string{
	"conversations.twilio.com": "twilio_conversations_v1.json",
	"flex-api.twilio.com":      "twilio_flex_v1.json",
	"taskrouter.twilio.com":    "twilio_taskrouter_v1.json",
	"sync.twilio.com":          "twilio_sync_v1.json",
	"iam.twilio.com":           "twilio_iam_v1.json",
}

// Schemas validates emulator responses against Twilio's OpenAPI specs.
type Schemas struct {
	routers map[string]routers.Router
	mu      sync.Mutex
	checked map[string]int // "METHOD /path-template status" → count, for coverage reports
}

var (
	schemasOnce sync.Once
	schemas     *Schemas
	schemasErr  error
)

// SpecDir finds Twilio's OpenAPI specs: $TWILIO_OAI_DIR, else shared/twilio-oai
// beside the repository (where CI puts it). "" when absent.
func SpecDir() string {
	if d := os.Getenv("TWILIO_OAI_DIR"); d != "" {
		return d
	}
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			d := filepath.Join(dir, "..", "shared", "twilio-oai")
			if _, err := os.Stat(filepath.Join(d, specFiles["conversations.twilio.com"])); err == nil {
				return d
			}
			return ""
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// LoadSchemas loads the specs once per test binary. It skips the test, with a
// message saying where they were looked for, when they are absent.
func LoadSchemas(t testing.TB) *Schemas {
	t.Helper()
	dir := SpecDir()
	if dir == "" {
		t.Skip("Twilio OpenAPI specs not found: set TWILIO_OAI_DIR or put shared/twilio-oai beside the repository (CI does); schema checks skipped")
	}
	schemasOnce.Do(func() { schemas, schemasErr = loadSchemas(dir) })
	if schemasErr != nil {
		t.Fatalf("loading Twilio OpenAPI specs from %s: %v", dir, schemasErr)
	}
	return schemas
}

func loadSchemas(dir string) (*Schemas, error) {
	s := &Schemas{routers: map[string]routers.Router{}, checked: map[string]int{}}
	for host, file := range specFiles {
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromFile(filepath.Join(dir, file))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		r, err := gorillamux.NewRouter(doc)
		if err != nil {
			return nil, fmt.Errorf("%s: router: %w", file, err)
		}
		s.routers[host] = r
	}
	return s, nil
}

// twilioError is the body of every Twilio error response.
type twilioError struct {
	Code     *int    `json:"code"`
	Message  *string `json:"message"`
	MoreInfo *string `json:"more_info"`
	Status   *int    `json:"status"`
}

// ErrNotInSpec marks a call the specs do not describe (IAM token validation is
// one): nothing to validate it against.
var ErrNotInSpec = errors.New("operation not in Twilio's OpenAPI specs")

// Check validates one response: a success against the operation's response
// schema, an error against Twilio's error shape.
func (s *Schemas) Check(req *http.Request, status int, header http.Header, body []byte) error {
	host := req.URL.Host
	r, ok := s.routers[host]
	if !ok {
		return fmt.Errorf("no spec for host %q", host)
	}
	if status >= 400 {
		var e twilioError
		if err := json.Unmarshal(body, &e); err != nil {
			return fmt.Errorf("error body is not JSON: %v: %s", err, body)
		}
		if e.Code == nil || e.Message == nil || e.MoreInfo == nil || e.Status == nil || *e.Status != status {
			return fmt.Errorf("error body lacks Twilio's {code,message,more_info,status} or status differs from %d: %s", status, body)
		}
		return nil
	}
	route, params, err := r.FindRoute(req)
	if err != nil {
		return ErrNotInSpec
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request:    req,
			PathParams: params,
			Route:      route,
			Options:    &openapi3filter.Options{ExcludeRequestBody: true, ExcludeRequestQueryParams: true},
		},
		Status: status,
		Header: header,
		Options: &openapi3filter.Options{
			IncludeResponseStatus: true,
			MultiError:            true,
		},
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return fmt.Errorf("%s %s → %d does not match Twilio's schema: %v", req.Method, route.Path, status, err)
	}
	s.mu.Lock()
	s.checked[fmt.Sprintf("%s %s %d", req.Method, route.Path, status)]++
	s.mu.Unlock()
	return nil
}

// Checked lists the operations validated so far with their counts.
func (s *Schemas) Checked() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.checked))
	for k, v := range s.checked {
		out[k] = v
	}
	return out
}

// CheckingTransport validates every response that passes through it and
// reports mismatches as test errors. Calls the specs do not describe pass.
type CheckingTransport struct {
	T       testing.TB
	Schemas *Schemas
	Base    http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (c *CheckingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.Base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err := c.Schemas.Check(req, resp.StatusCode, resp.Header, body); err != nil && !errors.Is(err, ErrNotInSpec) {
		c.T.Errorf("emulator response fails Twilio's OpenAPI spec: %v", err)
	}
	return resp, nil
}
