package app

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/flexhooks/flexhooks"

	"github.com/flexhooks/flexhooks/internal/server"
	"github.com/flexhooks/flexhooks/webhooks"
)

// taskRouterEventRoutes mounts the workspace event callback: the native path
// and the inactivity-timeout tutorial's, both Twilio-signed.
func taskRouterEventRoutes(events *webhooks.TaskEvents) []server.Route {
	// Every event type arrives on one route: the access log line names it.
	h := server.Endpoint(func(ctx context.Context, ev *webhooks.TaskRouterEvent) (flexhooks.NoContent, error) {
		flexhooks.LogAttrs(ctx, slog.String("eventType", ev.EventType))
		return events.Handle(ctx, ev)
	})
	return []server.Route{
		{Method: http.MethodPost, Pattern: webhooks.TaskRouterEventPath, Name: "taskrouter-events", Auth: server.AuthSignature, Handler: h},
		{Method: http.MethodPost, Pattern: "/on_reservation_accepted", Name: "taskrouter-events", Auth: server.AuthSignature, Handler: h},
	}
}
