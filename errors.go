package flexhooks

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Error codes. They are stable: plugins and operators may match on them.
const (
	EINVALID       = "invalid"        // 400: malformed or missing input
	EUNAUTHORIZED  = "unauthorized"   // 401: no credentials
	EFORBIDDEN     = "forbidden"      // 403: credentials that do not allow this
	ENOTFOUND      = "not_found"      // 404
	ECONFLICT      = "conflict"       // 409: the state of the conversation forbids it now
	EUNPROCESSABLE = "unprocessable"  // 422: well-formed, but a precondition is unmet
	EUPSTREAM      = "upstream_error" // 502: Twilio answered with an error we cannot fix by waiting
	EUNAVAILABLE   = "unavailable"    // 503: Twilio (or IAM) unreachable, throttled or too slow; retry later
	EINTERNAL      = "internal"       // 500: a bug; details are logged, never returned
)

// Error is the one error type of the service. Message is safe to show to the
// caller; Err (the cause) and TwilioCode are for logs.
type Error struct {
	Code       string
	Message    string
	TwilioCode int   // Twilio's error code when Twilio caused it (20404, 50377…), else 0
	Err        error // the underlying cause, never returned to callers
	// Fields names each invalid input field and what is wrong with it (EINVALID).
	Fields map[string]string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Code)
	b.WriteString(": ")
	b.WriteString(e.Message)
	if e.TwilioCode != 0 {
		fmt.Fprintf(&b, " (twilio %d)", e.TwilioCode)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an EINVALID error naming each bad field, in a stable order.
func Invalid(fields map[string]string) *Error {
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = k + ": " + fields[k]
	}
	return &Error{Code: EINVALID, Message: "invalid request: " + strings.Join(parts, "; "), Fields: fields}
}

// ErrorCode returns the code of err's *Error, EINTERNAL for any other error,
// and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the caller-safe message of err's *Error, and a generic
// text for any other error so that internals never leak.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
