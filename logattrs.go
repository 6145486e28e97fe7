package flexhooks

import (
	"context"
	"log/slog"
	"sync"
)

// The HTTP layer writes one access-log line per request. Handlers know things
// the HTTP layer does not (the conversation, task or interaction a request is
// about), so they add them to that line through the context rather than
// logging lines of their own. The bag lives here, not in internal/server,
// because feature packages must not import the HTTP layer.

type logAttrsKey struct{}

// logBag is mutable and shared by everything below the request's context:
// handlers fan out to goroutines (errgroup), hence the mutex.
type logBag struct {
	mu    sync.Mutex
	attrs []slog.Attr
}

// WithLogAttrs returns ctx carrying an empty attribute bag for LogAttrs to
// fill. The HTTP layer calls it once per request.
func WithLogAttrs(ctx context.Context) context.Context {
	return context.WithValue(ctx, logAttrsKey{}, &logBag{})
}

// LogAttrs adds attributes to the access-log line of the request ctx belongs
// to. An attribute with a key already present replaces it. Without a bag on
// ctx (a test calling a handler directly) it does nothing. Never pass secrets:
// tokens, signatures, message bodies.
func LogAttrs(ctx context.Context, attrs ...slog.Attr) {
	bag, _ := ctx.Value(logAttrsKey{}).(*logBag)
	if bag == nil {
		return
	}
	bag.mu.Lock()
	defer bag.mu.Unlock()
next:
	for _, a := range attrs {
		for i := range bag.attrs {
			if bag.attrs[i].Key == a.Key {
				bag.attrs[i] = a
				continue next
			}
		}
		bag.attrs = append(bag.attrs, a)
	}
}

// LoggedAttrs returns a copy of the attributes added to ctx's bag so far.
func LoggedAttrs(ctx context.Context) []slog.Attr {
	bag, _ := ctx.Value(logAttrsKey{}).(*logBag)
	if bag == nil {
		return nil
	}
	bag.mu.Lock()
	defer bag.mu.Unlock()
	if len(bag.attrs) == 0 {
		return nil
	}
	return append([]slog.Attr(nil), bag.attrs...)
}

type requestIDKey struct{}

// WithRequestID returns ctx carrying the request id the HTTP layer assigned,
// so that code below it can put the id on its own log lines and outgoing calls.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the id of the request ctx belongs to, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}
