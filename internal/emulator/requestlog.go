package emulator

import (
	"net/http"
	"sync"
	"time"
)

// LoggedRequest is one Twilio REST call the emulator received, for
// GET /emulator/requests: tests and benchmarks count calls and measure
// sequential round trips from it.
type LoggedRequest struct {
	Method   string    `json:"method"`
	Host     string    `json:"host"`
	Path     string    `json:"path"`
	Query    string    `json:"query,omitempty"`
	Status   int       `json:"status"`
	Start    time.Time `json:"start"`
	Duration float64   `json:"durationMs"`
}

// maxLoggedRequests bounds the log so that a 100k-request run keeps flat memory;
// the oldest entries go first.
const maxLoggedRequests = 10000

type requestLog struct {
	mu      sync.Mutex
	entries []LoggedRequest
	next    int
	full    bool
}

func (l *requestLog) add(e LoggedRequest) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.entries == nil {
		l.entries = make([]LoggedRequest, maxLoggedRequests)
	}
	l.entries[l.next] = e
	l.next = (l.next + 1) % maxLoggedRequests
	if l.next == 0 {
		l.full = true
	}
}

// list returns the log, oldest first.
func (l *requestLog) list() []LoggedRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.full {
		return append([]LoggedRequest{}, l.entries[:l.next]...)
	}
	out := append([]LoggedRequest{}, l.entries[l.next:]...)
	return append(out, l.entries[:l.next]...)
}

func (l *requestLog) clear() {
	l.mu.Lock()
	l.next, l.full = 0, false
	l.mu.Unlock()
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// withRequestLog records every REST call, faults included.
func (e *Emulator) withRequestLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		e.requests.add(LoggedRequest{
			Method:   r.Method,
			Host:     hostOf(r),
			Path:     r.URL.Path,
			Query:    r.URL.RawQuery,
			Status:   rec.status,
			Start:    start,
			Duration: float64(time.Since(start).Microseconds()) / 1000,
		})
	})
}
