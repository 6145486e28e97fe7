package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"reflect"

	"github.com/flexhooks/flexhooks"
)

// Endpoint adapts an operation to HTTP: decode → validate → act → respond.
//
//   - decode: the query string, then a form-encoded or JSON body, into a new
//     Req, by the same names (the fields' json tags) whatever the encoding;
//     use flexhooks.Bool and flexhooks.JSON for fields that arrive as strings
//     in forms;
//   - validate: Req's Validate() error, when it has one (a plain error
//     becomes EINVALID);
//   - act: fn, with the request's context (deadline, flexhooks.Caller);
//   - respond: 200 with Resp as JSON — never 201, which Twilio's debugger
//     reports as error 82005 — or 204 when Resp is flexhooks.NoContent; an
//     error becomes the JSON error its code maps to.
func Endpoint[Req any, Resp any](fn func(ctx context.Context, req *Req) (Resp, error)) http.Handler {
	dec := newFormDecoder(reflect.TypeFor[Req]())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := new(Req)
		if err := decodeRequest(r, req, dec); err != nil {
			WriteError(w, r, err)
			return
		}
		if v, ok := any(req).(interface{ Validate() error }); ok {
			if err := v.Validate(); err != nil {
				WriteError(w, r, asInvalid(err))
				return
			}
		}
		resp, err := fn(r.Context(), req)
		if err != nil {
			WriteError(w, r, err)
			return
		}
		respond(w, r, resp)
	})
}

// Handle is Endpoint for an operation that takes its request by value, as
// the feature services' methods do: route tables name the method
// (server.Handle(parks.Park)) instead of wrapping each one in a closure.
func Handle[Req any, Resp any](fn func(ctx context.Context, req Req) (Resp, error)) http.Handler {
	return Endpoint(func(ctx context.Context, req *Req) (Resp, error) { return fn(ctx, *req) })
}

// asInvalid keeps a Validate's *flexhooks.Error as it is and makes any
// other error an EINVALID whose message is the error's text.
func asInvalid(err error) error {
	var fe *flexhooks.Error
	if errors.As(err, &fe) {
		return err
	}
	return &flexhooks.Error{Code: flexhooks.EINVALID, Message: err.Error()}
}

func respond(w http.ResponseWriter, r *http.Request, resp any) {
	switch resp := resp.(type) {
	case flexhooks.NoContent, *flexhooks.NoContent:
		w.WriteHeader(http.StatusNoContent)
		return
	case nil:
		_ = WriteJSON(w, http.StatusOK, struct{}{})
		return
	default:
		if rv := reflect.ValueOf(resp); rv.Kind() == reflect.Pointer && rv.IsNil() {
			// A nil result is "nothing to report": an empty object, since
			// plugins parse the answer as one.
			_ = WriteJSON(w, http.StatusOK, struct{}{})
			return
		}
	}
	if err := WriteJSON(w, http.StatusOK, resp); err != nil {
		flexhooks.LogAttrs(r.Context(), slog.String("errorCode", flexhooks.EINTERNAL), slog.String("error", "encoding the response: "+err.Error()))
	}
}
