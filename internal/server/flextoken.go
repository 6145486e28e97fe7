package server

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/flexhooks/flexhooks"
)

// tokenAuth admits Flex plugin calls carrying a valid Flex token and puts the
// flexhooks.Caller it names on the context. Validation is a Twilio IAM round
// trip, so valid tokens are remembered until they expire: an agent's clicks
// during one shift cost one IAM call.
type tokenAuth struct {
	validator TokenValidator
	// The key is the token's SHA-256: the cache never holds a usable token.
	cache  *lru.Cache[[sha256.Size]byte, tokenEntry]
	maxAge time.Duration
	now    func() time.Time
}

type tokenEntry struct {
	caller flexhooks.Caller
	until  time.Time
}

// noExpiryTTL is how long a validation whose expiry the validator did not
// report is trusted.
const noExpiryTTL = time.Minute

func newTokenAuth(v TokenValidator, size int, maxAge time.Duration, now func() time.Time) *tokenAuth {
	c, err := lru.New[[sha256.Size]byte, tokenEntry](size)
	if err != nil { // only for a size ≤ 0, which setDefaults rules out
		panic(err)
	}
	return &tokenAuth{validator: v, cache: c, maxAge: maxAge, now: now}
}

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

func (a *tokenAuth) validate(ctx context.Context, token string) (flexhooks.Caller, error) {
	if a.validator == nil {
		return flexhooks.Caller{}, flexhooks.Errorf(flexhooks.EUNAVAILABLE, "Flex token validation is not configured")
	}
	key := sha256.Sum256([]byte(token))
	now := a.now()
	if e, ok := a.cache.Get(key); ok {
		if now.Before(e.until) {
			return cloneCaller(e.caller), nil
		}
		a.cache.Remove(key)
	}
	caller, expires, err := a.validator.ValidateFlexToken(ctx, token)
	if err != nil {
		switch flexhooks.ErrorCode(err) {
		case flexhooks.EFORBIDDEN, flexhooks.EUNAVAILABLE:
			return flexhooks.Caller{}, err
		case flexhooks.EUNAUTHORIZED:
			// A token was presented: refusing it is 403, not "no credentials".
			return flexhooks.Caller{}, &flexhooks.Error{Code: flexhooks.EFORBIDDEN, Message: flexhooks.ErrorMessage(err), Err: err}
		default:
			// Anything unexpected from IAM: fail closed, but as retryable.
			return flexhooks.Caller{}, &flexhooks.Error{Code: flexhooks.EUNAVAILABLE, Message: "could not validate the Flex token, retry later", Err: err}
		}
	}
	if !expires.IsZero() && !now.Before(expires) {
		return flexhooks.Caller{}, flexhooks.Errorf(flexhooks.EFORBIDDEN, "the Flex token has expired")
	}
	until := expires
	if until.IsZero() {
		until = now.Add(noExpiryTTL)
	}
	if a.maxAge > 0 && until.After(now.Add(a.maxAge)) {
		until = now.Add(a.maxAge)
	}
	a.cache.Add(key, tokenEntry{caller: caller, until: until})
	return cloneCaller(caller), nil
}

// cloneCaller keeps handlers from sharing (and racing on) the cached Roles.
func cloneCaller(c flexhooks.Caller) flexhooks.Caller {
	c.Roles = slices.Clone(c.Roles)
	return c
}
