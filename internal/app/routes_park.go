package app

import (
	"net/http"

	"github.com/flexhooks/flexhooks/internal/server"
	"github.com/flexhooks/flexhooks/webhooks"
)

// parkRoutes mounts park, unpark and the parked list: the native paths and
// flex-project-template's, which take the same fields, so that its plugin
// works by pointing it at flexhooks.
func parkRoutes(p *webhooks.Parks) []server.Route {
	park := server.Handle(p.Park)
	unpark := server.Handle(p.Unpark)
	unparkHook := server.Handle(p.UnparkWebhook)
	list := server.Handle(p.ParkedList)
	return []server.Route{
		{Method: http.MethodPost, Pattern: "/park-interaction", Name: "park", Auth: server.AuthFlexToken, Handler: park},
		{Method: http.MethodPost, Pattern: "/features/park-interaction/flex/park-interaction", Name: "park", Auth: server.AuthFlexToken, Handler: park},
		{Method: http.MethodPost, Pattern: "/unpark-interaction", Name: "unpark", Auth: server.AuthFlexToken, Handler: unpark},
		{Method: http.MethodPost, Pattern: "/features/park-interaction/flex/unpark-interaction", Name: "unpark", Auth: server.AuthFlexToken, Handler: unpark},
		{Method: http.MethodPost, Pattern: webhooks.UnparkWebhookPath, Name: "unpark-webhook", Auth: server.AuthSignature, Handler: unparkHook},
		{Method: http.MethodPost, Pattern: "/features/park-interaction/common/unpark-interaction", Name: "unpark-webhook", Auth: server.AuthSignature, Handler: unparkHook},
		{Method: http.MethodGet, Pattern: "/parked-interactions", Name: "parked-list", Auth: server.AuthFlexToken, Handler: list},
	}
}
