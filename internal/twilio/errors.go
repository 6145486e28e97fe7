package twilio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	twclient "github.com/twilio/twilio-go/client"

	"github.com/flexhooks/flexhooks"
)

// Twilio error codes the service acts on.
const (
	CodeNotFound           = 20404 // the resource does not exist
	CodeAuthenticate       = 20003 // credentials refused
	CodeTooManyRequests    = 20429
	CodeConversationClosed = 50377 // Conversations: the conversation is closed, it cannot change
	CodeBindingTaken       = 50416 // Conversations: an open conversation already has this address binding
	CodeParticipantExists  = 50433 // Conversations: this identity is already a participant
	CodeSyncRevision       = 54205 // Sync: If-Match revision mismatch
	CodeSyncItemExists     = 54208 // Sync: an item with this key already exists
)

// MapError turns an error from a twilio-go call into a *flexhooks.Error:
// what the caller may see (code, message with Twilio's code) and the cause
// for the log. nil stays nil; a *flexhooks.Error passes through.
//
// A 400 from Twilio means the service sent something Twilio refuses: the
// caller's input was already validated, so it is our bug or Twilio's
// change, reported as EUPSTREAM rather than blamed on the caller.
func MapError(err error) error {
	if err == nil {
		return nil
	}
	var fe *flexhooks.Error
	var ue *url.Error
	if errors.As(err, &ue) && errors.As(ue.Err, &fe) {
		// Refused inside the transport (the path gate): the URL http.Client
		// wraps it in may carry a huge crafted value, which stays out.
		return fe
	}
	if errors.As(err, &fe) {
		return err
	}
	status, code, msg, ok := restError(err)
	if !ok {
		return mapTransportError(err)
	}
	e := &flexhooks.Error{TwilioCode: code, Err: err}
	detail := fmt.Sprintf("Twilio error %d: %s", code, msg)
	switch {
	case code == CodeNotFound || status == http.StatusNotFound:
		e.Code, e.Message = flexhooks.ENOTFOUND, detail
	case code == CodeConversationClosed || code == CodeBindingTaken || code == CodeParticipantExists || code == CodeSyncItemExists || status == http.StatusConflict:
		e.Code, e.Message = flexhooks.ECONFLICT, detail
	case code == CodeSyncRevision || status == http.StatusPreconditionFailed:
		e.Code, e.Message = flexhooks.ECONFLICT, "changed concurrently, try again ("+detail+")"
	case status == http.StatusTooManyRequests || code == CodeTooManyRequests:
		e.Code, e.Message = flexhooks.EUNAVAILABLE, fmt.Sprintf("Twilio is throttling requests, try again later (Twilio error %d)", code)
	case status == http.StatusUnauthorized || status == http.StatusForbidden || code == CodeAuthenticate:
		e.Code, e.Message = flexhooks.EUPSTREAM, fmt.Sprintf("Twilio refused the service's credentials (Twilio error %d)", code)
	case status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout:
		e.Code, e.Message = flexhooks.EUNAVAILABLE, fmt.Sprintf("Twilio is unavailable, try again later (HTTP %d, Twilio error %d)", status, code)
	default: // 400, other 4xx, 500, 502
		e.Code, e.Message = flexhooks.EUPSTREAM, fmt.Sprintf("Twilio refused the request (HTTP %d, Twilio error %d)", status, code)
	}
	return e
}

// restError reads Twilio's error from either of twilio-go's error types.
func restError(err error) (status, code int, msg string, ok bool) {
	var re *twclient.TwilioRestError
	if errors.As(err, &re) {
		return re.Status, re.Code, re.Message, true
	}
	var v1 *twclient.RestErrorV1
	if errors.As(err, &v1) {
		return v1.HttpStatusCode, v1.Code, v1.Message, true
	}
	return 0, 0, "", false
}

func mapTransportError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	if errors.As(err, &se) || errors.As(err, &te) {
		// A success response twilio-go could not decode: Twilio (or the
		// emulator) answered something unexpected.
		return &flexhooks.Error{Code: flexhooks.EUPSTREAM, Message: "unexpected response from Twilio", Err: err}
	}
	msg := "Twilio is unreachable, try again later"
	if errors.Is(err, context.DeadlineExceeded) {
		msg = "Twilio did not answer in time, try again later"
	} else if errors.Is(err, context.Canceled) {
		msg = "the request was canceled"
	}
	return &flexhooks.Error{Code: flexhooks.EUNAVAILABLE, Message: msg, Err: err}
}
