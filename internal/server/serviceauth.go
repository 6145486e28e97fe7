package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net/http"

	"github.com/flexhooks/flexhooks"
)

// ServiceCredential is a username and password that a trusted backend (a
// customer-facing web chat server, say) presents with HTTP Basic
// authentication on AuthFlexTokenOrService routes (Options.ServiceCredentials).
type ServiceCredential struct {
	Username, Password string
}

// serviceAuth authenticates AuthFlexTokenOrService routes. A request
// carries either
//
//   - a valid Flex token, checked exactly as on AuthFlexToken routes (same
//     cache): the flexhooks.Caller it names goes on the context; or
//   - HTTP Basic credentials equal to one of the service's (compared in
//     constant time): a backend acting with the service's own authority.
//     Such a request carries no flexhooks.Caller, so the operation applies
//     no agent restriction, as for the service's own calls.
//
// Basic credentials that match none are 403 (they were presented and
// refused), no credentials at all 401 with both challenges. Pairs with an
// empty username or password are ignored, so an unconfigured API key never
// admits an empty password.
type serviceAuth struct {
	tokens *tokenAuth
	known  []credentialDigest
}

type credentialDigest struct{ user, pass [sha256.Size]byte }

func newServiceAuth(tokens *tokenAuth, creds []ServiceCredential) *serviceAuth {
	a := &serviceAuth{tokens: tokens}
	for _, c := range creds {
		if c.Username != "" && c.Password != "" {
			a.known = append(a.known, credentialDigest{sha256.Sum256([]byte(c.Username)), sha256.Sum256([]byte(c.Password))})
		}
	}
	return a
}

// matches compares digests, whose length is fixed, and always looks at
// every pair: neither a credential's length nor which pair matched shows in
// the time taken.
func (a *serviceAuth) matches(user, pass string) bool {
	u, p := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(pass))
	ok := 0
	for _, k := range a.known {
		ok |= subtle.ConstantTimeCompare(u[:], k.user[:]) & subtle.ConstantTimeCompare(p[:], k.pass[:])
	}
	return ok == 1
}

func (a *serviceAuth) middleware(next http.Handler) http.Handler {
	withToken := a.tokens.middleware(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, basic := r.BasicAuth()
		if !basic {
			token, err := flexToken(r)
			if err == nil && token == "" {
				w.Header().Set("WWW-Authenticate", `Bearer realm="flexhooks", Basic realm="flexhooks"`)
				WriteError(w, r, flexhooks.Errorf(flexhooks.EUNAUTHORIZED,
					"a Flex token (Token field or Authorization: Bearer) or the service's credentials (Authorization: Basic) are required"))
				return
			}
			withToken.ServeHTTP(w, r)
			return
		}
		if !a.matches(user, pass) {
			WriteError(w, r, flexhooks.Errorf(flexhooks.EFORBIDDEN, "these are not the service's credentials"))
			return
		}
		flexhooks.LogAttrs(r.Context(), slog.String("caller", "service"))
		next.ServeHTTP(w, r)
	})
}
