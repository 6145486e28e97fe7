package conversations

import (
	"net/http"
	"time"

	"github.com/flexhooks/flexhooks/internal/emulator/core"
)

// The Conversation Service resource, read only: GET /v1/Services and
// GET /v1/Services/{Sid}, as twilio_conversations_v1.json describes them
// (schema conversations.v1.service; the list's key is "services", its
// PageSize maximum 100, applied in pagelimits.go). Creating and deleting
// services is not emulated: the world has the seeded Flex Chat Service.

func (s *Store) serviceJSON(sv *service) map[string]any {
	u := apiBase + "/v1/Services/" + sv.Sid
	return map[string]any{
		"account_sid":   s.env.AccountSID,
		"sid":           sv.Sid,
		"friendly_name": nullable(sv.FriendlyName),
		"date_created":  core.ISO(sv.DateCreated),
		"date_updated":  core.ISO(sv.DateUpdated),
		"url":           u,
		"links": map[string]string{
			"conversations":                  u + "/Conversations",
			"users":                          u + "/Users",
			"roles":                          u + "/Roles",
			"bindings":                       u + "/Bindings",
			"configuration":                  u + "/Configuration",
			"participant_conversations":      u + "/ParticipantConversations",
			"conversation_with_participants": u + "/ConversationWithParticipants",
		},
	}
}

// handleListServices lists the services oldest first, so that pages are
// stable.
func (s *Store) handleListServices(w http.ResponseWriter, r *http.Request) *core.Error {
	core.WriteOldestFirst(w, r, "services", s.services,
		func(sv *service) time.Time { return sv.DateCreated },
		s.serviceJSON)
	return nil
}

func (s *Store) handleFetchService(w http.ResponseWriter, r *http.Request) *core.Error {
	sid, err := s.serviceOf(r)
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, s.serviceJSON(s.services[sid]))
	return nil
}
