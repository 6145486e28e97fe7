package conformance

import (
	"errors"
	"fmt"

	twclient "github.com/twilio/twilio-go/client"
)

// twilioError reports the HTTP status and Twilio error code of an error
// answer; ok is false for nil and for failures that are not Twilio's answer
// (the network, a timeout), which mean the probe could not run.
func twilioError(err error) (status, code int, ok bool) {
	var re *twclient.TwilioRestError
	if errors.As(err, &re) {
		return re.Status, re.Code, true
	}
	var v1 *twclient.RestErrorV1
	if errors.As(err, &v1) {
		return v1.HttpStatusCode, v1.Code, true
	}
	return 0, 0, false
}

// answer describes what Twilio answered a call, in the words of Expected:
// "success", or "HTTP 409, error 54208". A failure that is not an answer
// comes back as the error: the probe could not run.
func answer(err error) (string, error) {
	if err == nil {
		return "success", nil
	}
	status, code, ok := twilioError(err)
	if !ok {
		return "", err
	}
	return fmt.Sprintf("HTTP %d, error %d", status, code), nil
}

// refusedWith is the usual check: the call was refused with that Twilio
// error code and that HTTP status (0: any code, or any status).
func refusedWith(err error, status, code int) (observed string, agree bool, _ error) {
	observed, failed := answer(err)
	if failed != nil {
		return "", false, failed
	}
	gotStatus, gotCode, _ := twilioError(err)
	return observed, err != nil && (code == 0 || gotCode == code) && (status == 0 || gotStatus == status), nil
}
