package app

import (
	"net/http"

	"github.com/flexhooks/flexhooks/internal/server"
	"github.com/flexhooks/flexhooks/webhooks"
)

// taskRouterEventRoutes mounts the workspace event callback: the native path
// and the inactivity-timeout tutorial's, both Twilio-signed.
func taskRouterEventRoutes(events *webhooks.TaskEvents) []server.Route {
	h := server.Endpoint(events.Handle)
	return []server.Route{
		{Method: http.MethodPost, Pattern: webhooks.TaskRouterEventPath, Name: "taskrouter-events", Auth: server.AuthSignature, Handler: h},
		{Method: http.MethodPost, Pattern: "/on_reservation_accepted", Name: "taskrouter-events", Auth: server.AuthSignature, Handler: h},
	}
}
