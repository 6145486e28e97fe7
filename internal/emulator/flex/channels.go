package flex

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/flexhooks/flexhooks/internal/emulator/core"
)

func (s *Store) handleListChannels(w http.ResponseWriter, r *http.Request) {
	in := s.interactions[chi.URLParam(r, "isid")]
	if in == nil {
		core.WriteError(w, core.NotFound(r))
		return
	}
	var out []channelJSON
	if ch := s.channels[in.ChannelSid]; ch != nil {
		out = append(out, channelView(r, ch))
	}
	core.WriteList(w, r, out, "channels")
}

func (s *Store) handleFetchChannel(w http.ResponseWriter, r *http.Request) {
	ch, err := s.lookupChannel(r, chi.URLParam(r, "isid"), chi.URLParam(r, "sid"))
	if err != nil {
		core.WriteError(w, err)
		return
	}
	core.WriteJSON(w, http.StatusOK, channelView(r, ch))
}

// handleUpdateChannel closes a channel (Status=closed) or makes it inactive
// (Status=inactive, which Twilio accepts only with Routing {"status":"closed"}).
//
// Routing.status says what happens to the channel's tasks: "closed" completes
// them; without it, Twilio's documented default for Status=closed is that the
// assigned tasks go to wrapping (the agent still has to complete them).
func (s *Store) handleUpdateChannel(w http.ResponseWriter, r *http.Request) {
	ch, err := s.lookupChannel(r, chi.URLParam(r, "isid"), chi.URLParam(r, "sid"))
	if err != nil {
		core.WriteError(w, err)
		return
	}
	p, err := core.Form(r)
	if err != nil {
		core.WriteError(w, err)
		return
	}
	status := p.Get("Status")
	routing, err := p.JSONObject("Routing")
	if err != nil {
		core.WriteError(w, err)
		return
	}
	routingStatus := ""
	if routing != nil {
		v, ok := routing["status"].(string)
		if !ok || (v != "closed" && v != "wrapup") {
			core.WriteError(w, core.BadParam("Routing", `status must be "closed" or "wrapup"`))
			return
		}
		routingStatus = v
	}
	switch status {
	case "":
		core.WriteError(w, core.Required("Status"))
		return
	case "closed":
	case "inactive":
		if routingStatus != "closed" {
			core.WriteError(w, core.BadParam("Routing", `is required with Status=inactive and must be {"status":"closed"}`))
			return
		}
	default:
		core.WriteError(w, core.BadParam("Status", "must be closed or inactive"))
		return
	}
	if err := s.updateChannelStatus(ch, status, routingStatus); err != nil {
		core.WriteError(w, err)
		return
	}
	core.WriteJSON(w, http.StatusOK, channelView(r, ch))
}

// updateChannelStatus applies a channel status change. Closing a closed
// channel again changes nothing (retries are safe); a closed channel cannot
// become inactive.
func (s *Store) updateChannelStatus(ch *channel, status, routingStatus string) *core.Error {
	if ch.Status == "closed" {
		if status == "closed" {
			return nil
		}
		return core.Errf(http.StatusBadRequest, core.CodeInvalidParameter, "Interaction channel %s is closed", ch.Sid)
	}
	want := "wrapping"
	if routingStatus == "closed" || status == "inactive" {
		want = "completed"
	}
	// The status changes first, so the hooks that the task updates and the
	// conversation close trigger see a channel already being closed.
	ch.Status = status
	s.touchChannel(ch)
	s.endChannelTasks(ch, want, "Interaction channel "+status)
	if status == "closed" {
		if c := s.conv.Conversation(ch.ConversationSid); c != nil && c.State != "closed" {
			s.unexpected("closing the conversation of a closed channel", s.conv.Close(ch.ConversationSid))
		}
		return nil
	}
	// inactive: the agents leave and the conversation stays for the customer
	// to come back to, as after a park.
	for _, pt := range ch.participants {
		if pt.Type != "customer" && pt.Identity != "" {
			s.unexpected("removing an agent from the conversation", s.conv.RemoveParticipantByIdentity(ch.ConversationSid, pt.Identity))
		}
	}
	return nil
}

// endChannelTasks takes every live task of the channel to want (completed or
// wrapping) and its agent participant to closed or wrapup accordingly.
func (s *Store) endChannelTasks(ch *channel, want, reason string) {
	for _, inv := range ch.invites {
		if pt := s.taskAgent[inv.TaskSid]; pt != nil && pt.Status != "closed" {
			if want == "completed" {
				pt.Status = "closed"
			} else {
				pt.Status = "wrapup"
			}
			pt.DateUpdated = s.env.Now()
		}
		s.unexpected("ending a task of the channel", s.endTask(inv.WorkspaceSid, inv.TaskSid, want, reason))
	}
}

// channelJSON is flex.v1.interaction.interaction_channel.
type channelJSON struct {
	Sid            string            `json:"sid"`
	InteractionSid string            `json:"interaction_sid"`
	Type           string            `json:"type"`
	Status         string            `json:"status"`
	ErrorCode      *int              `json:"error_code"`
	ErrorMessage   *string           `json:"error_message"`
	URL            string            `json:"url"`
	Links          map[string]string `json:"links"`
}

func channelView(r *http.Request, ch *channel) channelJSON {
	u := core.ResourceURL(r, "/v1/Interactions/"+ch.InteractionSid+"/Channels/"+ch.Sid)
	return channelJSON{
		Sid:            ch.Sid,
		InteractionSid: ch.InteractionSid,
		Type:           ch.Type,
		Status:         ch.Status,
		URL:            u,
		Links: map[string]string{
			"participants": u + "/Participants",
			"invites":      u + "/Invites",
			"transfers":    u + "/Transfers",
		},
	}
}
