package emulator

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/flexhooks/flexhooks/internal/emulator/core"
)

// Fault is one rule of PUT /emulator/faults: matching Twilio calls get an
// error, latency, or both.
type Fault struct {
	Host      string  `json:"host,omitempty"`   // exact Twilio host, e.g. conversations.twilio.com; empty = any
	Method    string  `json:"method,omitempty"` // GET, POST, DELETE; empty = any
	Path      string  `json:"path,omitempty"`   // regular expression over the URL path; empty = any
	Status    int     `json:"status,omitempty"` // HTTP status to answer; 0 = no error (latency only)
	Code      int     `json:"code,omitempty"`   // Twilio error code in the body; default by status
	Rate      float64 `json:"rate,omitempty"`   // probability 0..1 that a match is hit; 0 means 1
	LatencyMs int     `json:"latencyMs,omitempty"`
	// Times limits how many matching calls are hit; 0 means every one. It makes
	// "a 429, then success" a one-line rule.
	Times int `json:"times,omitempty"`
	// After runs the real handler first and then answers with the error, as
	// when Twilio did the work but the answer was lost: the test for
	// "a create is never replayed when Twilio may have processed it".
	After bool `json:"after,omitempty"`
	// RetryAfter, in seconds, is sent as the Retry-After header with the error.
	RetryAfter int `json:"retryAfter,omitempty"`

	re   *regexp.Regexp
	hits int
}

// faultSet holds the rules; it has its own lock so latency never holds the world lock.
type faultSet struct {
	mu    sync.Mutex
	rules []*Fault
}

func (f *faultSet) set(rules []Fault) error {
	compiled := make([]*Fault, 0, len(rules))
	for i := range rules {
		r := rules[i]
		if r.Path != "" {
			re, err := regexp.Compile(r.Path)
			if err != nil {
				return fmt.Errorf("faults[%d].path: %v", i, err)
			}
			r.re = re
		}
		if r.Status != 0 && (r.Status < 400 || r.Status > 599) {
			return fmt.Errorf("faults[%d].status: must be 400-599 or absent, got %d", i, r.Status)
		}
		if r.Rate < 0 || r.Rate > 1 {
			return fmt.Errorf("faults[%d].rate: must be between 0 and 1", i)
		}
		if r.LatencyMs < 0 || r.Times < 0 || r.RetryAfter < 0 {
			return fmt.Errorf("faults[%d]: latencyMs, times and retryAfter must not be negative", i)
		}
		compiled = append(compiled, &r)
	}
	f.mu.Lock()
	f.rules = compiled
	f.mu.Unlock()
	return nil
}

func (f *faultSet) list() []Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Fault, len(f.rules))
	for i, r := range f.rules {
		out[i] = *r
	}
	return out
}

// match returns the first rule that hits this request (consuming one of its
// Times), or nil.
func (f *faultSet) match(host, method, path string) *Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.rules {
		if r.Host != "" && r.Host != host || r.Method != "" && r.Method != method {
			continue
		}
		if r.re != nil && !r.re.MatchString(path) {
			continue
		}
		if r.Times > 0 && r.hits >= r.Times {
			continue
		}
		if r.Rate > 0 && r.Rate < 1 && rand.Float64() >= r.Rate {
			continue
		}
		r.hits++
		hit := *r
		return &hit
	}
	return nil
}

// defaultFaultCode is the Twilio code answered for a status when the rule names none.
func defaultFaultCode(status int) int {
	switch status {
	case http.StatusTooManyRequests:
		return core.CodeTooManyRequests
	case http.StatusNotFound:
		return core.CodeNotFound
	case http.StatusServiceUnavailable:
		return core.CodeUnavailable
	default:
		if status >= 500 {
			return core.CodeInternal
		}
		return core.CodeInvalidParameter
	}
}

// withFaults applies the fault rules around a REST handler.
func (e *Emulator) withFaults(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fault := e.faults.match(hostOf(r), r.Method, r.URL.Path)
		if fault == nil {
			next.ServeHTTP(w, r)
			return
		}
		if fault.LatencyMs > 0 {
			select {
			case <-time.After(time.Duration(fault.LatencyMs) * time.Millisecond):
			case <-r.Context().Done():
				return
			}
		}
		if fault.Status == 0 {
			next.ServeHTTP(w, r)
			return
		}
		if fault.After {
			next.ServeHTTP(discardWriter{h: http.Header{}}, r)
		}
		if fault.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(fault.RetryAfter))
		}
		code := fault.Code
		if code == 0 {
			code = defaultFaultCode(fault.Status)
		}
		core.WriteError(w, core.Errf(fault.Status, code, "Injected fault (emulator): %d %s", fault.Status, http.StatusText(fault.Status)))
	})
}

// discardWriter swallows the real handler's answer for After faults.
type discardWriter struct{ h http.Header }

func (d discardWriter) Header() http.Header         { return d.h }
func (d discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d discardWriter) WriteHeader(int)             {}
