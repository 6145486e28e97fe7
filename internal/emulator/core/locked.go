package core

import "net/http"

// Locked serves h with the world lock held, then releases it (which starts
// delivering the webhooks h queued). Every REST handler runs inside it.
func Locked(env *Env, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		env.Lock()
		defer env.Unlock()
		h.ServeHTTP(w, r)
	})
}
