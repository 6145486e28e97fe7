package emulator

import (
	"fmt"
	"hash/fnv"
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
	// Seed makes Rate's draws reproducible: with a seed, whether a call is
	// hit depends only on the seed, the rule, the call's shape (method, host,
	// path with its SIDs and shard suffixes blanked) and how many calls of
	// that shape the rule has seen. A randomized test that logs its seed
	// then replays the same faults on the same operations, although every
	// run makes new SIDs.
	Seed uint64 `json:"seed,omitempty"`

	re     *regexp.Regexp
	hits   int
	index  int            // the rule's place in the list, part of its draws
	shapes map[string]int // calls seen per shape, for seeded draws
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
		r.index = i
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
		if r.Rate > 0 && r.Rate < 1 && r.draw(host, method, path) >= r.Rate {
			continue
		}
		r.hits++
		hit := *r
		return &hit
	}
	return nil
}

// draw returns the rule's next number in [0, 1) for a matching call: random,
// or derived from the seed and the call's shape when the rule has a seed.
func (r *Fault) draw(host, method, path string) float64 {
	if r.Seed == 0 {
		return rand.Float64()
	}
	shape := method + " " + host + callShape(path)
	if r.shapes == nil {
		r.shapes = map[string]int{}
	}
	n := r.shapes[shape]
	r.shapes[shape]++
	h := fnv.New64a()
	fmt.Fprintf(h, "%d|%d|%s|%d", r.Seed, r.index, shape, n)
	return float64(mix(h.Sum64())>>11) / (1 << 53)
}

// mix is splitmix64's finalizer: FNV alone leaves inputs that differ in
// their last byte (the call count) with close high bits.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// sidOrShard matches what differs between two runs of the same operations:
// SIDs (two capitals and 32 hex digits) and the hex shard suffix of a Sync
// object's name (flexhooks_parks_a, flexhooks_inactivity_3f).
var sidOrShard = regexp.MustCompile(`[A-Z]{2}[0-9a-f]{32}|_[0-9a-f]{1,2}\b`)

// callShape is the path with what differs between runs blanked.
func callShape(path string) string { return sidOrShard.ReplaceAllString(path, "*") }

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
