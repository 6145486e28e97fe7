package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/flexhooks/flexhooks"
)

// Codes of the HTTP layer itself, beside flexhooks' domain codes: no domain
// operation can produce them, so they are not in the root package.
const (
	CodeMethodNotAllowed = "method_not_allowed" // 405
	CodeTooLarge         = "too_large"          // 413
)

// HTTPStatus is the one mapping from an error code to an HTTP status.
func HTTPStatus(code string) int {
	switch code {
	case flexhooks.EINVALID:
		return http.StatusBadRequest
	case flexhooks.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case flexhooks.EFORBIDDEN:
		return http.StatusForbidden
	case flexhooks.ENOTFOUND:
		return http.StatusNotFound
	case flexhooks.ECONFLICT:
		return http.StatusConflict
	case flexhooks.EUNPROCESSABLE:
		return http.StatusUnprocessableEntity
	case flexhooks.EUPSTREAM:
		return http.StatusBadGateway
	case flexhooks.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	case CodeMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusInternalServerError
}

type errorResponse struct {
	Error errorBody `json:"error"`
}

type errorBody struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
}

// normalize turns the errors that are not *flexhooks.Error but have a clear
// meaning into one, so that the mapping below stays a single switch.
func normalize(err error) error {
	var fe *flexhooks.Error
	if errors.As(err, &fe) {
		return err
	}
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return &flexhooks.Error{Code: CodeTooLarge, Message: "request body larger than " + strconv.FormatInt(tooLarge.Limit, 10) + " bytes", Err: err}
	case errors.Is(err, context.DeadlineExceeded):
		// The request's deadline ran out, almost always waiting for Twilio:
		// the caller may retry.
		return &flexhooks.Error{Code: flexhooks.EUNAVAILABLE, Message: "timed out, retry later", Err: err}
	case errors.Is(err, context.Canceled):
		// The client went away; nobody reads this answer, but the log shows why.
		return &flexhooks.Error{Code: flexhooks.EUNAVAILABLE, Message: "request cancelled", Err: err}
	}
	return err
}

// WriteError answers err as JSON with the status its code maps to. Only the
// code, the caller-safe message and (for EINVALID and EUNPROCESSABLE) the
// fields go out; the
// cause and Twilio's code go to the request's access-log line, next to its
// request id.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	err = normalize(err)
	writeErrorStatus(w, r, HTTPStatus(flexhooks.ErrorCode(err)), err)
}

func writeErrorStatus(w http.ResponseWriter, r *http.Request, status int, err error) {
	body := errorResponse{Error: errorBody{Code: flexhooks.ErrorCode(err), Message: flexhooks.ErrorMessage(err)}}
	var fe *flexhooks.Error
	if errors.As(err, &fe) {
		if fe.Code == flexhooks.EINVALID || fe.Code == flexhooks.EUNPROCESSABLE {
			body.Error.Fields = fe.Fields // a missing field (422) is named like an invalid one
		}
		attrs := []slog.Attr{slog.String("errorCode", fe.Code)}
		if fe.TwilioCode != 0 {
			attrs = append(attrs, slog.Int("twilioCode", fe.TwilioCode))
		}
		if fe.Err != nil {
			attrs = append(attrs, slog.String("error", fe.Err.Error()))
		}
		flexhooks.LogAttrs(r.Context(), attrs...)
	} else {
		flexhooks.LogAttrs(r.Context(), slog.String("errorCode", flexhooks.EINTERNAL), slog.String("error", err.Error()))
	}
	_ = WriteJSON(w, status, body) // an errorResponse always encodes
}

// WriteJSON renders v into a buffer first, so that an encoding failure can
// still become a clean 500 instead of a half-written 200; it returns that
// failure for the caller to log.
func WriteJSON(w http.ResponseWriter, status int, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	if err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"error":{"code":"internal","message":"internal error"}}` + "\n")
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
	return err
}
