package flexhooks

import (
	"context"
	"slices"
)

// Caller is who a validated Flex token names.
type Caller struct {
	WorkerSid string
	Identity  string
	Roles     []string
}

// IsSupervisor reports whether the caller may act on other agents' conversations.
func (c Caller) IsSupervisor() bool {
	return slices.Contains(c.Roles, "supervisor") || slices.Contains(c.Roles, "admin")
}

// MayActFor reports whether the caller may act on the work of workerSid.
func (c Caller) MayActFor(workerSid string) bool {
	return c.IsSupervisor() || (c.WorkerSid != "" && c.WorkerSid == workerSid)
}

type callerKey struct{}

// WithCaller returns ctx carrying c.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller on ctx, if a Flex token was validated.
func CallerFrom(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	return c, ok
}
