package twilio

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	twclient "github.com/twilio/twilio-go/client"

	"github.com/flexhooks/flexhooks"
)

// iamBaseURL is Twilio IAM; the emulator answers it too (Host: iam.twilio.com).
const iamBaseURL = "https://iam.twilio.com"

// tokenValidation is IAM's answer to Tokens/validate.
type tokenValidation struct {
	Valid       bool     `json:"valid"`
	Code        int      `json:"code"`
	Message     string   `json:"message"`
	Expiration  string   `json:"expiration"`
	RealmUserID string   `json:"realm_user_id"`
	Identity    string   `json:"identity"`
	Roles       []string `json:"roles"`
	WorkerSid   string   `json:"worker_sid"`
}

// ValidateFlexToken asks Twilio IAM whether an agent's Flex token is valid
// and returns who it names and when it expires (zero when IAM did not say:
// do not cache such an answer). An empty token is EUNAUTHORIZED, an invalid
// or expired one EFORBIDDEN with IAM's reason; IAM unreachable, throttled,
// too slow or failing is EUNAVAILABLE. The token is never logged.
//
// IAM authenticates this call with the account SID and auth token even when
// an API key makes the REST calls: that is what Tokens/validate accepts.
//
// A 429 is returned at once, never retried: the call is made for a caller
// who has not proved anything yet, and a 429 is account-wide, so retries
// would multiply an unauthenticated caller's cost and deepen the throttling
// that every agent's calls share. The caller (the server's token cache)
// answers 503 with Retry-After and pauses IAM calls briefly. Connection
// failures and 503s are retried as any idempotent call.
func (c *Client) ValidateFlexToken(ctx context.Context, token string) (flexhooks.Caller, time.Time, error) {
	if token == "" {
		return flexhooks.Caller{}, time.Time{}, flexhooks.Errorf(flexhooks.EUNAUTHORIZED, "a Flex token is required")
	}
	body, err := json.Marshal(map[string]string{"token": token})
	if err != nil {
		return flexhooks.Caller{}, time.Time{}, err
	}
	var (
		cc twclient.Client
		hc http.Client
		rt ctxTransport
	)
	base := c.baseClient(ctx, c.account, c.iam, &cc, &hc, &rt)
	resp, err := base.SendRequest(http.MethodPost, iamBaseURL+"/v1/Accounts/"+c.accountSID+"/Tokens/validate", nil,
		map[string]any{"Content-Type": "application/json"}, body...)
	if err != nil {
		return flexhooks.Caller{}, time.Time{}, mapIAMError(err)
	}
	defer resp.Body.Close()
	var v tokenValidation
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&v); err != nil {
		return flexhooks.Caller{}, time.Time{}, &flexhooks.Error{Code: flexhooks.EUPSTREAM, Message: "unexpected answer from Twilio IAM", Err: err}
	}
	if !v.Valid {
		msg := v.Message
		if msg == "" {
			msg = "rejected by Twilio"
		}
		return flexhooks.Caller{}, time.Time{}, &flexhooks.Error{Code: flexhooks.EFORBIDDEN, Message: "invalid Flex token: " + msg, TwilioCode: v.Code}
	}
	var expires time.Time
	if v.Expiration != "" {
		if expires, err = time.Parse(time.RFC3339Nano, v.Expiration); err != nil {
			c.log.LogAttrs(ctx, slog.LevelDebug, "unreadable Flex token expiration", slog.String("expiration", v.Expiration))
			expires = time.Time{}
		}
	}
	return flexhooks.Caller{WorkerSid: v.WorkerSid, Identity: v.Identity, Roles: v.Roles}, expires, nil
}

// mapIAMError is MapError, except that a 400 or 403 from Tokens/validate is
// about the agent's token (malformed, foreign account), not a bug of ours,
// and any 5xx is EUNAVAILABLE: the agent can only retry later.
func mapIAMError(err error) error {
	status, code, msg, ok := restError(err)
	switch {
	case ok && (status == http.StatusBadRequest || status == http.StatusForbidden):
		return &flexhooks.Error{Code: flexhooks.EFORBIDDEN, Message: fmt.Sprintf("invalid Flex token: %s", msg), TwilioCode: code, Err: err}
	case ok && status >= 500:
		return &flexhooks.Error{Code: flexhooks.EUNAVAILABLE, Message: fmt.Sprintf("Twilio IAM is unavailable, try again later (HTTP %d, Twilio error %d)", status, code), TwilioCode: code, Err: err}
	}
	return MapError(err)
}
