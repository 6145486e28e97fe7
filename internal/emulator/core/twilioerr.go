package core

import (
	"fmt"
	"net/http"
)

// Error is a Twilio REST error, written as Twilio writes it:
// {"code":20404,"message":"…","more_info":"https://www.twilio.com/docs/errors/20404","status":404}.
// Product code returns *Error from its operations; handlers write it with WriteError.
type Error struct {
	Status  int    `json:"status"`
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return fmt.Sprintf("%d %d: %s", e.Status, e.Code, e.Message) }

// Errf builds an *Error.
func Errf(status, code int, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Common Twilio error codes the emulator answers with.
const (
	CodeInvalidParameter = 20001 // "Invalid parameter"
	CodeAuthenticate     = 20003 // "Authentication Error"
	CodeNotFound         = 20404 // "The requested resource was not found"
	CodeConflict         = 20409 // generic conflict
	CodePreconditionFail = 20412 // ETag / If-Match mismatch (TaskRouter answers 412)
	CodeMethodNotAllowed = 20004 // "Method not allowed"
	CodeTooManyRequests  = 20429 // "Too many requests"
	CodeInternal         = 20500 // "Internal server error"
	CodeUnavailable      = 20503 // "Service unavailable"
)

// NotFound is Twilio's 20404 for the request's path.
func NotFound(r *http.Request) *Error {
	return Errf(http.StatusNotFound, CodeNotFound, "The requested resource %s was not found", r.URL.Path)
}

// BadParam is a 400 / 20001 naming the parameter.
func BadParam(name, why string) *Error {
	return Errf(http.StatusBadRequest, CodeInvalidParameter, "Invalid parameter %s: %s", name, why)
}

// Required is Twilio's 400 / 20001 for a missing required parameter.
func Required(name string) *Error {
	return Errf(http.StatusBadRequest, CodeInvalidParameter, "Missing required parameter %s in the post body", name)
}

type errorBody struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

// WriteError writes e as Twilio's error JSON.
func WriteError(w http.ResponseWriter, e *Error) {
	WriteJSON(w, e.Status, errorBody{
		Code:     e.Code,
		Message:  e.Message,
		MoreInfo: fmt.Sprintf("https://www.twilio.com/docs/errors/%d", e.Code),
		Status:   e.Status,
	})
}
