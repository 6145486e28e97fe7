package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/flexhooks/flexhooks"
)

// reqState is the HTTP layer's own per-request record, put on the context
// once by requestID and filled in as the request goes down the stack: the
// route sets its pattern, authentication caches the body it had to read.
type reqState struct {
	id    string
	route string // the matched pattern; "" while unmatched
	name  string // Route.Name
	quiet bool   // operator endpoints: logged at debug level
	sw    *statusWriter

	bodyRead bool
	body     []byte
	bodyErr  error

	formParsed bool
	form       []param
	formErr    error
}

type stateKey struct{}

func stateFrom(ctx context.Context) *reqState {
	st, _ := ctx.Value(stateKey{}).(*reqState)
	return st
}

// requestID gives every request an id — the caller's X-Request-Id when it is
// a sane token (a load balancer's or a test's), otherwise a fresh one — and
// its deadline. The id is echoed in the response, is on every log line of
// the request, and is available below through flexhooks.RequestID.
func (s *Server) requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			id = s.newRequestID()
		}
		w.Header().Set("X-Request-Id", id)
		ctx := context.WithValue(r.Context(), stateKey{}, &reqState{id: id})
		ctx = flexhooks.WithRequestID(ctx, id)
		ctx = flexhooks.WithLogAttrs(ctx)
		// The request's deadline, which bounds all of its Twilio calls, is set
		// here rather than per route so that the request is copied once.
		ctx, cancel := context.WithTimeout(ctx, s.opts.RequestTimeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// validRequestID accepts short ids of URL-safe characters only, so that a
// caller cannot inject text into log lines or response headers.
func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}

// accessLog writes one structured line per request and records its metrics.
// Handlers add to the line with flexhooks.LogAttrs (conversation and task
// SIDs, error details); tokens and signatures are never part of it.
func (s *Server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		st := stateFrom(r.Context())
		if st != nil {
			st.sw = sw
		} else {
			st = &reqState{} // only when the stack is assembled differently (tests)
		}
		s.metrics.inflight.Inc()
		defer s.metrics.inflight.Dec()

		next.ServeHTTP(sw, r)

		dur := time.Since(start)
		status := sw.status
		if status == 0 {
			status = http.StatusOK // the handler wrote nothing at all
		}
		route := st.route
		if route == "" {
			route = routeUnmatched
		}
		s.metrics.observe(route, r.Method, status, dur)

		level := slog.LevelInfo
		switch {
		case status >= 500:
			level = slog.LevelError
		case st.quiet:
			level = slog.LevelDebug
		}
		ctx := r.Context()
		if !s.log.Enabled(ctx, level) {
			return
		}
		extra := flexhooks.LoggedAttrs(ctx)
		attrs := make([]slog.Attr, 0, 8+len(extra))
		attrs = append(attrs,
			slog.String("requestId", st.id),
			slog.String("method", r.Method),
			slog.String("route", route),
			slog.Int("status", status),
			slog.Duration("duration", dur),
			slog.Int64("bytes", sw.bytes),
		)
		if st.name != "" {
			attrs = append(attrs, slog.String("handler", st.name))
		}
		if st.route == "" {
			// Unmatched: the path says which misconfigured webhook it was.
			attrs = append(attrs, slog.String("path", r.URL.Path))
		}
		if t := r.Header.Get("I-Twilio-Idempotency-Token"); t != "" {
			// Twilio repeats it on retries: it ties deliveries of one event together.
			attrs = append(attrs, slog.String("twilioIdempotencyToken", t))
		}
		attrs = append(attrs, extra...)
		s.log.LogAttrs(ctx, level, "http request", attrs...)
	})
}

// routeUnmatched labels requests no route took (404, 405, preflights), so
// that scanners cannot blow up the metrics' cardinality with made-up paths.
const routeUnmatched = "unmatched"

// recoverPanic turns a handler panic into a 500 JSON answer and an error log
// line with the stack, instead of a dropped connection and a crash report on
// stderr.
func (s *Server) recoverPanic(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler { //nolint:errorlint // a sentinel compared as net/http does
				panic(v)
			}
			st := stateFrom(r.Context())
			id := ""
			if st != nil {
				id = st.id
			}
			s.log.LogAttrs(r.Context(), slog.LevelError, "panic serving request",
				slog.String("requestId", id),
				slog.Any("panic", v),
				slog.String("stack", string(debug.Stack())))
			if st != nil && st.sw != nil && st.sw.wroteHeader {
				// Too late for a clean answer: abort the connection so the
				// client does not take a truncated body for a success.
				panic(http.ErrAbortHandler)
			}
			WriteError(w, r, flexhooks.Errorf(flexhooks.EINTERNAL, "internal error"))
		}()
		next.ServeHTTP(w, r)
	})
}

// limitBody caps request bodies: a declared length over the limit is refused
// at once, an undeclared one fails when a reader crosses it (decoders turn
// the *http.MaxBytesError into 413).
func (s *Server) limitBody(next http.Handler) http.Handler {
	max := s.opts.MaxBodyBytes
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > max {
			WriteError(w, r, &http.MaxBytesError{Limit: max})
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = http.MaxBytesReader(w, r.Body, max)
		}
		next.ServeHTTP(w, r)
	})
}

// readBody returns the request body, reading it only once per request:
// authentication needs it before the handler does. r.Body is replaced by a
// reader over the same bytes so that plain http.Handlers can still read it.
func readBody(r *http.Request) ([]byte, error) {
	st := stateFrom(r.Context())
	if st != nil && st.bodyRead {
		return st.body, st.bodyErr
	}
	var body []byte
	var err error
	if r.Body != nil && r.Body != http.NoBody {
		if n := r.ContentLength; n > 0 {
			// The length is known (and already checked against the limit):
			// one allocation of the right size.
			body = make([]byte, n)
			_, err = io.ReadFull(r.Body, body)
		} else {
			body, err = io.ReadAll(r.Body)
		}
		_ = r.Body.Close()
		if err != nil {
			var tooLarge *http.MaxBytesError
			if !errors.As(err, &tooLarge) {
				err = &flexhooks.Error{Code: flexhooks.EINVALID, Message: "could not read the request body", Err: err}
			}
			body = nil
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	if st != nil {
		st.bodyRead, st.body, st.bodyErr = true, body, err
	}
	return body, err
}

// statusWriter records the status and size of the response for the access
// log, and whether the header went out (for panic recovery).
type statusWriter struct {
	http.ResponseWriter
	status      int
	bytes       int64
	wroteHeader bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wroteHeader && code >= 200 { // 1xx are interim: the real status follows
		w.status, w.wroteHeader = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection's writer
// (flush, deadlines).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush keeps the http.Flusher of the underlying writer visible to handlers
// that type-assert for it.
func (w *statusWriter) Flush() {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}
