package server

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"

	"github.com/flexhooks/flexhooks"
)

// The Flex token middleware: find the token, refuse what cannot be a Flex
// token without asking anyone, then let the cache (flextoken_cache.go)
// decide, at most one IAM call per token and revalidation period.

// maxFlexTokenBytes is the longest token sent to IAM. A Flex token is a JWE
// in compact form (https://www.twilio.com/docs/iam/access-tokens: a JWT,
// header.payload.signature, which Flex encrypts) of one to two KB. 8 KiB is
// also the longest header line common proxies pass (nginx's
// large_client_header_buffers, Apache's LimitRequestFieldSize), so a longer
// bearer could not have come from the Flex UI through them. Anything longer
// is refused before IAM sees it.
const maxFlexTokenBytes = 8 << 10

func (a *tokenAuth) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, err := flexToken(r)
		if err != nil {
			WriteError(w, r, err)
			return
		}
		if token == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="flexhooks"`)
			WriteError(w, r, flexhooks.Errorf(flexhooks.EUNAUTHORIZED, "a Flex token is required (Token field or Authorization: Bearer)"))
			return
		}
		caller, err := a.validate(r.Context(), token)
		if err != nil {
			if flexhooks.ErrorCode(err) == flexhooks.EUNAVAILABLE {
				// IAM is throttled or down: the plugin should try again soon.
				w.Header().Set("Retry-After", "1")
			}
			WriteError(w, r, err)
			return
		}
		flexhooks.LogAttrs(r.Context(), slog.String("workerSid", caller.WorkerSid))
		next.ServeHTTP(w, r.WithContext(flexhooks.WithCaller(r.Context(), caller)))
	})
}

// flexToken finds the token where Flex plugins put it: an Authorization
// bearer header, else the Token field of a JSON or form body.
func flexToken(r *http.Request) (string, error) {
	if h := r.Header.Get("Authorization"); len(h) > len("Bearer ") && strings.EqualFold(h[:len("Bearer ")], "Bearer ") {
		return strings.TrimSpace(h[len("Bearer "):]), nil
	}
	body, err := readBody(r)
	if err != nil || len(body) == 0 {
		return "", err
	}
	if bodyKind(r, body) == kindJSON {
		var t struct {
			Token string `json:"Token"`
		}
		if err := json.Unmarshal(body, &t); err != nil {
			return "", jsonError(err)
		}
		return t.Token, nil
	}
	form, err := requestForm(r) // parsed once: the handler's decoder reuses it
	if err != nil {
		return "", err
	}
	token, _ := formValue(form, "Token")
	return token, nil
}

// checkTokenShape refuses, without an IAM call, a token that no Flex UI
// sends: longer than maxFlexTokenBytes, or with a character that has no
// place in a JOSE compact serialization (base64url parts joined by dots,
// RFC 7515 §7.1 and RFC 7516 §7.1; standard base64's + / = are let through
// too, to be lenient). The message never repeats the token.
func checkTokenShape(token string) error {
	if len(token) > maxFlexTokenBytes {
		return flexhooks.Errorf(flexhooks.EINVALID, "the Flex token is %d bytes long; a Flex token is at most %d", len(token), maxFlexTokenBytes)
	}
	for i := 0; i < len(token); i++ {
		switch c := token[i]; {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-', c == '_', c == '.', c == '+', c == '/', c == '=':
		default:
			return flexhooks.Errorf(flexhooks.EINVALID, "the Flex token is malformed: a Flex token is base64url parts joined by dots")
		}
	}
	return nil
}
