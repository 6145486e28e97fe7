package server

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/flexhooks/flexhooks"
)

// healthz says the process is up and serving: nothing else, so that a Twilio
// outage never gets the pods restarted.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	_ = WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz says whether this replica should get traffic: not while it shuts
// down, not while Twilio is unreachable with our credentials.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		WriteError(w, r, flexhooks.Errorf(flexhooks.EUNAVAILABLE, "shutting down"))
		return
	}
	if err := s.ready.check(r.Context()); err != nil {
		WriteError(w, r, &flexhooks.Error{Code: flexhooks.EUNAVAILABLE, Message: "not ready", Err: err})
		flexhooks.LogAttrs(r.Context(), slog.Bool("ready", false))
		return
	}
	_ = WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// readiness caches the checker's answer for ttl: probes from every load
// balancer and the orchestrator would otherwise each cost a Twilio call.
type readiness struct {
	checker ReadyChecker
	ttl     time.Duration
	timeout time.Duration
	now     func() time.Time

	mu        sync.Mutex // held during a check: concurrent probes share it
	checked   bool
	checkedAt time.Time
	err       error
}

func (rd *readiness) check(ctx context.Context) error {
	if rd.checker == nil {
		return nil
	}
	rd.mu.Lock()
	defer rd.mu.Unlock()
	if rd.checked && rd.now().Sub(rd.checkedAt) < rd.ttl {
		return rd.err
	}
	// The answer is shared: a probe that gives up must not cache its own
	// cancellation as everyone's result.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rd.timeout)
	err := rd.checker.Ready(cctx)
	cancel()
	rd.checked, rd.checkedAt, rd.err = true, rd.now(), err
	return err
}
