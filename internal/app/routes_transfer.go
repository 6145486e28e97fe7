package app

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/flexhooks/flexhooks/internal/config"
	"github.com/flexhooks/flexhooks/internal/server"
	"github.com/flexhooks/flexhooks/internal/twilio"
	"github.com/flexhooks/flexhooks/webhooks"
)

// newTransfers builds transfers from the configuration and registers their
// TaskRouter event handlers (warm transfers finish on the target's accept).
func newTransfers(cfg config.Config, ops *twilio.Operations, events *webhooks.TaskEvents, log *slog.Logger) *webhooks.Transfers {
	t := webhooks.NewTransfers(ops, webhooks.TransferConfig{
		WorkspaceSid: cfg.WorkspaceSID,
		WorkflowSid:  cfg.TransferWorkflowSID,
	}, log)
	t.RegisterEvents(events)
	return t
}

// transferRoutes mounts transfers: the native paths, flex-project-template's
// conversation-transfer feature and the flex-conversations-transfer plugin's
// function, all with the agent's Flex token.
func transferRoutes(t *webhooks.Transfers) []server.Route {
	transfer := server.Handle(t.Transfer)
	invite := server.Endpoint(func(ctx context.Context, req *webhooks.TransferRequest) (*webhooks.TransferResponse, error) {
		req.AsTemplate()
		return t.Transfer(ctx, *req)
	})
	plugin := server.Handle(t.TransferConversation)
	remove := server.Handle(t.RemoveParticipant)
	cancel := server.Handle(t.Cancel)
	return []server.Route{
		{Method: http.MethodPost, Pattern: "/transfer", Name: "transfer", Auth: server.AuthFlexToken, Handler: transfer},
		{Method: http.MethodPost, Pattern: "/transfer/cancel", Name: "transfer-cancel", Auth: server.AuthFlexToken, Handler: cancel},
		{Method: http.MethodPost, Pattern: "/features/conversation-transfer/flex/invite-participant", Name: "transfer", Auth: server.AuthFlexToken, Handler: invite},
		{Method: http.MethodPost, Pattern: "/features/conversation-transfer/flex/remove-participant", Name: "transfer-remove-participant", Auth: server.AuthFlexToken, Handler: remove},
		{Method: http.MethodPost, Pattern: "/transferConversation", Name: "transfer", Auth: server.AuthFlexToken, Handler: plugin},
	}
}
