package core

import (
	"bytes"
	"io"
	"net/http"
)

// maxPrereadBody is how much of a request body Locked reads before taking
// the world lock: every body the Twilio APIs take (form parameters, an IAM
// token) fits; a larger one is read on, under the lock, as before.
const maxPrereadBody = 1 << 20

// Locked serves h with the world lock held, then releases it (which starts
// delivering the webhooks h queued). Every REST handler runs inside it.
//
// The request body is read first, outside the lock, so that a client that
// sends its body slowly holds up only itself, not the whole emulator.
func Locked(env *Env, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody {
			body, err := io.ReadAll(io.LimitReader(r.Body, maxPrereadBody))
			if err != nil {
				WriteError(w, Errf(http.StatusBadRequest, CodeInvalidParameter, "Reading the request body: %v", err))
				return
			}
			rest := r.Body
			r.Body = struct {
				io.Reader
				io.Closer
			}{io.MultiReader(bytes.NewReader(body), rest), rest}
		}
		env.Lock()
		defer env.Unlock()
		h.ServeHTTP(w, r)
	})
}
