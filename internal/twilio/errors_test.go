package twilio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	twclient "github.com/twilio/twilio-go/client"

	"github.com/flexhooks/flexhooks"
)

func TestMapError(t *testing.T) {
	rest := func(status, code int) error {
		return &twclient.TwilioRestError{Status: status, Code: code, Message: "twilio says no"}
	}
	for _, tc := range []struct {
		name     string
		err      error
		want     string
		wantCode int
	}{
		{"not found", rest(404, 20404), flexhooks.ENOTFOUND, 20404},
		{"not found by status", rest(404, 0), flexhooks.ENOTFOUND, 0},
		{"conversation closed", rest(400, 50377), flexhooks.ECONFLICT, 50377},
		{"binding taken", rest(409, 50416), flexhooks.ECONFLICT, 50416},
		{"participant exists", rest(409, 50433), flexhooks.ECONFLICT, 50433},
		{"sync item exists", rest(409, 54208), flexhooks.ECONFLICT, 54208},
		{"conflict status", rest(409, 20409), flexhooks.ECONFLICT, 20409},
		{"precondition", rest(412, 20412), flexhooks.ECONFLICT, 20412},
		{"sync revision", rest(412, 54205), flexhooks.ECONFLICT, 54205},
		{"our bad request", rest(400, 20001), flexhooks.EUPSTREAM, 20001},
		{"credentials", rest(401, 20003), flexhooks.EUPSTREAM, 20003},
		{"forbidden", rest(403, 20403), flexhooks.EUPSTREAM, 20403},
		{"throttled", rest(429, 20429), flexhooks.EUNAVAILABLE, 20429},
		{"internal", rest(500, 20500), flexhooks.EUPSTREAM, 20500},
		{"bad gateway", rest(502, 0), flexhooks.EUPSTREAM, 0},
		{"unavailable", rest(503, 20503), flexhooks.EUNAVAILABLE, 20503},
		{"gateway timeout", rest(504, 0), flexhooks.EUNAVAILABLE, 0},
		{"v1 error", &twclient.RestErrorV1{HttpStatusCode: 404, Code: 20404, Message: "gone"}, flexhooks.ENOTFOUND, 20404},
		{"wrapped", fmt.Errorf("fetch: %w", rest(404, 20404)), flexhooks.ENOTFOUND, 20404},
		{"deadline", &url.Error{Op: "Get", URL: "x", Err: context.DeadlineExceeded}, flexhooks.EUNAVAILABLE, 0},
		{"canceled", context.Canceled, flexhooks.EUNAVAILABLE, 0},
		{"dial", &net.OpError{Op: "dial", Err: errors.New("refused")}, flexhooks.EUNAVAILABLE, 0},
		{"decode", &json.SyntaxError{}, flexhooks.EUPSTREAM, 0},
		{"already mapped", flexhooks.Errorf(flexhooks.EFORBIDDEN, "no"), flexhooks.EFORBIDDEN, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := MapError(tc.err)
			var fe *flexhooks.Error
			require.ErrorAs(t, got, &fe)
			assert.Equal(t, tc.want, fe.Code)
			assert.Equal(t, tc.wantCode, fe.TwilioCode)
			if tc.wantCode != 0 {
				assert.Contains(t, fe.Message, fmt.Sprint(tc.wantCode), "the message names Twilio's code")
			}
			if tc.want != flexhooks.EFORBIDDEN {
				assert.ErrorIs(t, got, tc.err, "the cause is kept for the log")
			}
		})
	}
	assert.NoError(t, MapError(nil))
}
