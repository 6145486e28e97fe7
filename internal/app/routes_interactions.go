package app

import (
	"log/slog"
	"net/http"

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
		return nil
	}
	get := server.Handle(in.Interaction)
	patch := server.Handle(in.PatchInteraction)
	closeRecord := server.Handle(in.CloseInteraction)
	list := server.Handle(in.ListInteractions)
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
