package app

import (
	"log/slog"
	"net/http"

	"github.com/flexhooks/flexhooks/internal/config"
	"github.com/flexhooks/flexhooks/internal/server"
	"github.com/flexhooks/flexhooks/internal/twilio"
	"github.com/flexhooks/flexhooks/webhooks"
)

// persistentChatRoutes builds persistent chat over the interaction records
// (none when records are off), turns automatic linking on when
// PERSISTENT_CHAT asks for it, and mounts the linking API and the
// transcript. POST /persistent-chat takes an agent's Flex token or, for a
// customer-facing backend, the service's own Twilio credentials with HTTP
// Basic (account SID and auth token, or API key and secret).
func persistentChatRoutes(cfg config.Config, ops *twilio.Operations, records *webhooks.Interactions, gap webhooks.GapFunc, log *slog.Logger) []server.Route {
	if records == nil {
		return featureOff("persistent chat and interaction records", "PERSISTENT_CHAT=ENTIRE_PAST_SESSION or INTERACTION_RECORDS=true",
			"/persistent-chat", webhooks.TranscriptPath("{conversationSid}"))
	}
	pc := webhooks.NewPersistentChat(records, ops, webhooks.PersistentChatConfig{
		Automatic:     cfg.PersistentChat,
		Window:        cfg.PersistentChatWindow.D(),
		PublicBaseURL: cfg.PublicBaseURL,
		WorkspaceSid:  cfg.WorkspaceSID,
		Gap:           gap,
	}, log)
	pc.RegisterAutomatic()
	rehydrate := server.Handle(pc.Rehydrate)
	transcript := server.Handle(pc.Transcript)
	return []server.Route{
		{Method: http.MethodPost, Pattern: "/persistent-chat", Name: "persistent-chat", Auth: server.AuthFlexTokenOrService, Handler: rehydrate},
		{Method: http.MethodGet, Pattern: webhooks.TranscriptPath("{conversationSid}"), Name: "transcript", Auth: server.AuthFlexToken, Handler: transcript},
	}
}
