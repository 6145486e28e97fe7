package app

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/flexhooks/flexhooks"

	"github.com/flexhooks/flexhooks/internal/config"
	"github.com/flexhooks/flexhooks/internal/server"
	"github.com/flexhooks/flexhooks/internal/twilio"
	"github.com/flexhooks/flexhooks/webhooks"
)

// newInteractions builds interaction records when they are on
// (INTERACTION_RECORDS, or persistent chat, whose contact chains live in
// the records) and registers their TaskRouter event handlers; nil when off.
func newInteractions(cfg config.Config, ops *twilio.Operations, events *webhooks.TaskEvents, gap webhooks.GapFunc, log *slog.Logger) *webhooks.Interactions {
	// An unset PersistentChat is off too: config.Load says "off", but a
	// Config built in code (the end-to-end harness) leaves it empty, and
	// records must then be on only when asked for.
	persistentChat := cfg.PersistentChat != "" && cfg.PersistentChat != config.PersistentChatOff
	if !cfg.InteractionRecords && !persistentChat {
		return nil
	}
	in := webhooks.NewInteractions(ops, webhooks.InteractionsConfig{Gap: gap, WorkspaceSid: cfg.WorkspaceSID}, log)
	in.RegisterEvents(events)
	return in
}

// interactionRoutes mounts the records' read and write API and the
// profiles, all with the agent's Flex token; none when records are off.
func interactionRoutes(in *webhooks.Interactions) []server.Route {
	if in == nil {
		return featureOff("interaction records", "INTERACTION_RECORDS=true (or PERSISTENT_CHAT=ENTIRE_PAST_SESSION)",
			"/interactions", "/interactions/{conversationSid}", "/interactions/{conversationSid}/close",
			"/profiles/{profileId}", "/profiles/{profileId}/interactions")
	}
	get := server.Handle(in.Interaction)
	patch := server.Handle(in.PatchInteraction)
	closeRecord := server.Handle(in.CloseInteraction)
	list := plusInAddress(server.Handle(in.ListInteractions))
	profile := server.Handle(in.GetProfile)
	patchProfile := server.Handle(in.PatchProfile)
	return []server.Route{
		{Method: http.MethodGet, Pattern: "/interactions", Name: "interactions-list", Auth: server.AuthFlexToken, Handler: list},
		{Method: http.MethodGet, Pattern: "/interactions/{conversationSid}", Name: "interaction", Auth: server.AuthFlexToken, Handler: get},
		{Method: http.MethodPatch, Pattern: "/interactions/{conversationSid}", Name: "interaction-patch", Auth: server.AuthFlexToken, Handler: patch},
		{Method: http.MethodPost, Pattern: "/interactions/{conversationSid}/close", Name: "interaction-close", Auth: server.AuthFlexToken, Handler: closeRecord},
		{Method: http.MethodGet, Pattern: "/profiles/{profileId}", Name: "profile", Auth: server.AuthFlexToken, Handler: profile},
		{Method: http.MethodPatch, Pattern: "/profiles/{profileId}", Name: "profile-patch", Auth: server.AuthFlexTokenOrService, Handler: patchProfile},
		{Method: http.MethodGet, Pattern: "/profiles/{profileId}/interactions", Name: "interactions-list", Auth: server.AuthFlexToken, Handler: list},
	}
}

// featureOff answers every method on a capability's paths, while it is off,
// with a 404 that names the variable turning it on, rather than the
// router's bare "no route".
func featureOff(capability, turnOn string, patterns ...string) []server.Route {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		server.WriteError(w, r, flexhooks.Errorf(flexhooks.ENOTFOUND,
			"%s are off on this service: %s %s is served with %s", capability, r.Method, r.URL.Path, turnOn))
	})
	var routes []server.Route
	for _, p := range patterns {
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPatch} {
			routes = append(routes, server.Route{Method: m, Pattern: p, Name: "off", Auth: server.AuthNone, Handler: h})
		}
	}
	return routes
}

// plusInAddress reads ?address=+15551234567 as sent. In a query string an
// unencoded "+" means a space (it should be %2B), so the number would arrive
// as " 15551234567" and match nobody; no address starts with a space, so a
// leading "+" in the raw query can only be the number's own.
func plusInAddress(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.RawQuery
		if strings.HasPrefix(q, "address=+") || strings.Contains(q, "&address=+") {
			r2 := r.Clone(r.Context())
			q = strings.Replace(q, "address=+", "address=%2B", 1)
			r2.URL.RawQuery = q
			r = r2
		}
		next.ServeHTTP(w, r)
	})
}
