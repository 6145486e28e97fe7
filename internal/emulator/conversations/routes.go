package conversations

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/flexhooks/flexhooks/internal/emulator/core"
)

// Routes serves conversations.twilio.com/v1: the Conversation Services
// (read only), every conversation resource both under the default service
// (/v1/Conversations…) and under an explicit one (/v1/Services/IS…/Conversations…),
// and the webhook configuration.
func (s *Store) Routes() http.Handler {
	r := chi.NewRouter()
	r.NotFound(func(w http.ResponseWriter, r *http.Request) { core.WriteError(w, core.NotFound(r)) })
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		core.WriteError(w, core.Errf(http.StatusMethodNotAllowed, core.CodeMethodNotAllowed, "Method %s not allowed on %s", r.Method, r.URL.Path))
	})
	h := func(fn func(http.ResponseWriter, *http.Request) *core.Error) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if err := fn(w, r); err != nil {
				core.WriteError(w, err)
			}
		}
	}

	r.Get("/v1/Services", h(s.handleListServices))
	r.Get("/v1/Services/{ServiceSid}", h(s.handleFetchService))

	r.Get("/v1/Configuration/Webhooks", h(s.handleAccountWebhooks))
	r.Post("/v1/Configuration/Webhooks", h(s.handleAccountWebhooks))
	r.Get("/v1/Services/{ServiceSid}/Configuration/Webhooks", h(s.handleServiceWebhooks))
	r.Post("/v1/Services/{ServiceSid}/Configuration/Webhooks", h(s.handleServiceWebhooks))

	conversations := func(r chi.Router) {
		r.Post("/", h(s.handleCreateConversation))
		r.Get("/", h(s.handleListConversations))
		r.Route("/{Sid}", func(r chi.Router) {
			r.Get("/", h(s.handleFetchConversation))
			r.Post("/", h(s.handleUpdateConversation))
			r.Delete("/", h(s.handleDeleteConversation))

			r.Post("/Messages", h(s.handleCreateMessage))
			r.Get("/Messages", h(s.handleListMessages))
			r.Get("/Messages/{ItemSid}", h(s.handleFetchMessage))
			r.Post("/Messages/{ItemSid}", h(s.handleUpdateMessage))
			r.Delete("/Messages/{ItemSid}", h(s.handleDeleteMessage))

			r.Post("/Participants", h(s.handleCreateParticipant))
			r.Get("/Participants", h(s.handleListParticipants))
			r.Get("/Participants/{ItemSid}", h(s.handleFetchParticipant))
			r.Post("/Participants/{ItemSid}", h(s.handleUpdateParticipant))
			r.Delete("/Participants/{ItemSid}", h(s.handleDeleteParticipant))

			r.Post("/Webhooks", h(s.handleCreateWebhook))
			r.Get("/Webhooks", h(s.handleListWebhooks))
			r.Get("/Webhooks/{ItemSid}", h(s.handleFetchWebhook))
			r.Post("/Webhooks/{ItemSid}", h(s.handleUpdateWebhook))
			r.Delete("/Webhooks/{ItemSid}", h(s.handleDeleteWebhook))
		})
	}
	r.Route("/v1/Conversations", conversations)
	r.Route("/v1/Services/{ServiceSid}/Conversations", conversations)
	return r
}

// serviceOf is the request's Conversation Service: {ServiceSid} when the
// path names one (404 when unknown), else the default service.
func (s *Store) serviceOf(r *http.Request) (string, *core.Error) {
	sid := chi.URLParam(r, "ServiceSid")
	if sid == "" {
		return s.defaultService, nil
	}
	if s.services[sid] == nil {
		return "", notFound("Services", sid)
	}
	return sid, nil
}

// conversationOf resolves {Sid} (SID or unique name) within the request's service.
func (s *Store) conversationOf(r *http.Request) (*Conversation, *core.Error) {
	svc, err := s.serviceOf(r)
	if err != nil {
		return nil, err
	}
	id := chi.URLParam(r, "Sid")
	c := s.conversation(svc, id)
	if c == nil {
		return nil, notFound("Conversations", id)
	}
	return c, nil
}
