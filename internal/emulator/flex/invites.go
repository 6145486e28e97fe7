package flex

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/flexhooks/flexhooks/internal/emulator/core"
)

// handleCreateInvite routes the channel to someone new: a task made from
// Routing.properties (workflow, or straight to worker_sid / queue_sid), whose
// acceptance adds the agent to the conversation. The response's
// routing.properties.sid is the new task's SID.
func (s *Store) handleCreateInvite(w http.ResponseWriter, r *http.Request) {
	ch, p, err := s.channelForm(r)
	if err != nil {
		core.WriteError(w, err)
		return
	}
	routing, err := p.JSONObject("Routing")
	if err != nil {
		core.WriteError(w, err)
		return
	}
	if routing == nil {
		core.WriteError(w, core.Required("Routing"))
		return
	}
	rt, err := parseRouting("Routing", routing)
	if err != nil {
		core.WriteError(w, err)
		return
	}
	if ch.Status == "closed" {
		// Flex cannot route a channel whose conversation is over.
		core.WriteError(w, core.Errf(http.StatusBadRequest, core.CodeInvalidParameter, "Interaction channel %s is closed", ch.Sid))
		return
	}
	inv, err := s.createInviteTask(ch, rt, routing, false)
	if err != nil {
		core.WriteError(w, err)
		return
	}
	if ch.Status == "inactive" {
		// A new invite is the way back from inactive (unpark): the channel is live again.
		ch.Status = "active"
	}
	// The spec documents 200 (not 201) for this create, and responses are checked against it.
	core.WriteJSON(w, http.StatusOK, s.inviteJSON(r, inv))
}

func (s *Store) handleListInvites(w http.ResponseWriter, r *http.Request) {
	ch, err := s.lookupChannel(r, chi.URLParam(r, "isid"), chi.URLParam(r, "csid"))
	if err != nil {
		core.WriteError(w, err)
		return
	}
	out := make([]inviteJSON, 0, len(ch.invites))
	for _, inv := range ch.invites {
		out = append(out, s.inviteJSON(r, inv))
	}
	core.WriteList(w, r, out, "invites")
}

// inviteJSON is flex.v1.interaction.interaction_channel.interaction_channel_invite.
type inviteJSON struct {
	Sid            string         `json:"sid"`
	InteractionSid string         `json:"interaction_sid"`
	ChannelSid     string         `json:"channel_sid"`
	Routing        map[string]any `json:"routing"`
	URL            string         `json:"url"`
}

func (s *Store) inviteJSON(r *http.Request, inv *invite) inviteJSON {
	return inviteJSON{
		Sid:            inv.Sid,
		InteractionSid: inv.InteractionSid,
		ChannelSid:     inv.ChannelSid,
		Routing:        s.routingJSON(inv),
		URL:            core.ResourceURL(r, "/v1/Interactions/"+inv.InteractionSid+"/Channels/"+inv.ChannelSid+"/Invites/"+inv.Sid),
	}
}
