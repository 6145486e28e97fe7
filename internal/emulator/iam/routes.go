package iam

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/flexhooks/flexhooks/internal/emulator/core"
)

// Routes serves IAM's token validation (paths start at /v1/).
func (s *Store) Routes() http.Handler {
	r := chi.NewRouter()
	r.NotFound(func(w http.ResponseWriter, r *http.Request) { core.WriteError(w, core.NotFound(r)) })
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		core.WriteError(w, core.Errf(http.StatusMethodNotAllowed, core.CodeMethodNotAllowed, "Method %s not allowed on %s", r.Method, r.URL.Path))
	})
	r.Post("/v1/Accounts/{AccountSid}/Tokens/validate", s.validate)
	return r
}

// codeForbidden is Twilio's 20403: authenticated, but not for this account.
const codeForbidden = 20403

// maxBody bounds the request body; a token is a few kilobytes at most.
const maxBody = 64 << 10

func (s *Store) validate(w http.ResponseWriter, r *http.Request) {
	// The top level has checked the basic-auth credentials; a path naming
	// another account is then a permission problem, as Twilio reports it.
	if chi.URLParam(r, "AccountSid") != s.env.AccountSID {
		core.WriteError(w, core.Errf(http.StatusForbidden, codeForbidden,
			"Forbidden: the credentials do not give access to account %s", chi.URLParam(r, "AccountSid")))
		return
	}
	token, err := readToken(r)
	if err != nil {
		core.WriteError(w, err)
		return
	}
	core.WriteJSON(w, http.StatusOK, s.Validate(token))
}

// readToken takes {"token":"…"} as the validator sends it, and also a
// form-encoded token/Token field, which costs nothing and helps curl users.
func readToken(r *http.Request) (string, *core.Error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		return "", core.Errf(http.StatusBadRequest, core.CodeInvalidParameter, "Malformed request body")
	}
	var token string
	// Decide by the body, not the Content-Type header: twilio-go's low-level
	// client sends form bodies without one.
	if trimmed := strings.TrimSpace(string(body)); strings.HasPrefix(trimmed, "{") {
		var in struct {
			Token string `json:"token"`
		}
		if err := json.Unmarshal(body, &in); err != nil {
			return "", core.Errf(http.StatusBadRequest, core.CodeInvalidParameter, "Malformed JSON body: %v", err)
		}
		token = in.Token
	} else {
		form, err := url.ParseQuery(trimmed)
		if err != nil {
			return "", core.Errf(http.StatusBadRequest, core.CodeInvalidParameter, "Malformed request body: %v", err)
		}
		token = form.Get("token")
		if token == "" {
			token = form.Get("Token")
		}
	}
	if token == "" {
		return "", core.Required("token")
	}
	return token, nil
}
