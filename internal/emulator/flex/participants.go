package flex

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/flexhooks/flexhooks/internal/emulator/conversations"
	"github.com/flexhooks/flexhooks/internal/emulator/core"
)

// participantTypes is Twilio's interaction_channel_participant_enum_type.
var participantTypes = map[string]bool{"agent": true, "customer": true, "supervisor": true, "external": true, "unknown": true}

// addParticipant records pt on ch with a fresh SID.
func (s *Store) addParticipant(ch *channel, pt *participant) *participant {
	now := s.env.Now()
	pt.Sid = core.NewSID("UT")
	pt.InteractionSid = ch.InteractionSid
	pt.ChannelSid = ch.Sid
	if pt.Status == "" {
		pt.Status = "active"
	}
	pt.DateCreated, pt.DateUpdated = now, now
	s.participants[pt.Sid] = pt
	ch.participants = append(ch.participants, pt)
	s.touchChannel(ch)
	if pt.TaskSid != "" {
		s.taskAgent[pt.TaskSid] = pt
	}
	return pt
}

// handleListParticipants lists the channel's participants. Whether one
// closed by an update (a parked or transferred agent) is still listed is
// undocumented (the list's schema has no status field): by default it has
// left and is not; Behaviour.ClosedParticipantsListed keeps it, so that code
// looking up "the agent" by worker meets the stale one too.
func (s *Store) handleListParticipants(w http.ResponseWriter, r *http.Request) {
	ch, err := s.lookupChannel(r, chi.URLParam(r, "isid"), chi.URLParam(r, "csid"))
	if err != nil {
		core.WriteError(w, err)
		return
	}
	out := make([]participantJSON, 0, len(ch.participants))
	for _, pt := range ch.participants {
		if pt.Status != "closed" || s.env.Behaviour.ClosedParticipantsListed {
			out = append(out, participantView(r, pt))
		}
	}
	core.WriteList(w, r, out, "participants")
}

// handleCreateParticipant adds a participant to the channel and, when its
// media properties name one, to the conversation: an identity (chat, agent)
// or an address with its proxy address (SMS, WhatsApp…). An agent named by
// routing_properties.worker_sid joins with the worker's identity.
func (s *Store) handleCreateParticipant(w http.ResponseWriter, r *http.Request) {
	ch, p, err := s.channelForm(r)
	if err != nil {
		core.WriteError(w, err)
		return
	}
	typ := p.Get("Type")
	switch {
	case typ == "":
		core.WriteError(w, core.Required("Type"))
		return
	case !participantTypes[typ]:
		core.WriteError(w, core.BadParam("Type", "must be agent, customer, supervisor, external or unknown"))
		return
	}
	media, err := p.JSONObject("MediaProperties")
	if err != nil {
		core.WriteError(w, err)
		return
	}
	if media == nil {
		core.WriteError(w, core.Required("MediaProperties"))
		return
	}
	routingProps, err := p.JSONObject("RoutingProperties")
	if err != nil {
		core.WriteError(w, err)
		return
	}
	if ch.Status == "closed" {
		core.WriteError(w, core.Errf(http.StatusBadRequest, core.CodeInvalidParameter, "Interaction channel %s is closed", ch.Sid))
		return
	}
	pt := &participant{Type: typ, MediaProperties: media, RoutingProperties: routingProps}
	pt.TaskSid, _ = routingProps["task_sid"].(string)
	pt.WorkerSid, _ = routingProps["worker_sid"].(string)
	pt.ReservationSid, _ = routingProps["reservation_sid"].(string)
	if pt.TaskSid != "" {
		if owner := s.taskChannel[pt.TaskSid]; owner != nil {
			pt.WorkspaceSid = s.inviteOf(owner, pt.TaskSid).WorkspaceSid
		}
	}
	pp := conversations.ParticipantParams{}
	pp.Identity, _ = media["identity"].(string)
	pp.Address, _ = media["address"].(string)
	pp.ProxyAddress, _ = media["proxy_address"].(string)
	if pp.Identity == "" && pt.WorkerSid != "" {
		if wk := s.tr.Worker(s.tr.WorkspaceSID(), pt.WorkerSid); wk != nil {
			pp.Identity = s.tr.Identity(wk)
		}
	}
	if pp.Identity != "" || (pp.Address != "" && pp.ProxyAddress != "") {
		if pp.Identity != "" {
			pp.Address, pp.ProxyAddress = "", ""
		}
		if _, err := s.conv.AddParticipant(ch.ConversationSid, pp); err != nil && err.Code != codeParticipantExists {
			core.WriteError(w, err)
			return
		}
		pt.Identity = pp.Identity
	}
	s.addParticipant(ch, pt)
	// The spec documents 200 (not 201) for this create, and responses are checked against it.
	core.WriteJSON(w, http.StatusOK, participantView(r, pt))
}

// codeParticipantExists is Conversations' 50433: the identity is already a
// participant, which for Flex means "already there", not a failure.
const codeParticipantExists = 50433

// inviteOf finds the invite of ch that made taskSid (a zero invite if none).
func (s *Store) inviteOf(ch *channel, taskSid string) *invite {
	for _, inv := range ch.invites {
		if inv.TaskSid == taskSid {
			return inv
		}
	}
	return &invite{WorkspaceSid: s.tr.WorkspaceSID()}
}

// handleUpdateParticipant takes a participant out of the channel:
// Status=closed completes the agent's task, Status=wrapup moves it to
// wrapping; either way the agent leaves the conversation, which stays active
// with the customer (this is how Flex parks an interaction).
func (s *Store) handleUpdateParticipant(w http.ResponseWriter, r *http.Request) {
	ch, err := s.lookupChannel(r, chi.URLParam(r, "isid"), chi.URLParam(r, "csid"))
	if err != nil {
		core.WriteError(w, err)
		return
	}
	pt := s.participants[chi.URLParam(r, "sid")]
	if pt == nil || pt.ChannelSid != ch.Sid {
		core.WriteError(w, core.NotFound(r))
		return
	}
	p, err := core.Form(r)
	if err != nil {
		core.WriteError(w, err)
		return
	}
	status := p.Get("Status")
	switch status {
	case "":
		core.WriteError(w, core.Required("Status"))
		return
	case "closed", "wrapup":
	default:
		core.WriteError(w, core.BadParam("Status", "must be closed or wrapup"))
		return
	}
	s.closeParticipant(ch, pt, status)
	core.WriteJSON(w, http.StatusOK, participantView(r, pt))
}

// closeParticipant moves pt to closed or wrapup. Repeating it, or asking for
// wrapup after closed, changes nothing, so a retried park is harmless.
func (s *Store) closeParticipant(ch *channel, pt *participant, status string) {
	if pt.Status == "closed" || pt.Status == status {
		return
	}
	// The status changes before the task does, so OnTaskEnded (which the task
	// update calls back synchronously) finds the participant already closed.
	pt.Status = status
	pt.DateUpdated = s.env.Now()
	if pt.TaskSid != "" {
		want := "completed"
		if status == "wrapup" {
			want = "wrapping"
		}
		ws := pt.WorkspaceSid
		if ws == "" {
			ws = s.tr.WorkspaceSID()
		}
		s.unexpected("ending a participant's task", s.endTask(ws, pt.TaskSid, want, "Interaction participant "+status))
	}
	if pt.Type != "customer" && pt.Identity != "" {
		s.unexpected("removing a participant from the conversation", s.conv.RemoveParticipantByIdentity(ch.ConversationSid, pt.Identity))
	}
}

// participantJSON is flex.v1.interaction.interaction_channel.interaction_channel_participant.
type participantJSON struct {
	Sid               string         `json:"sid"`
	Type              string         `json:"type"`
	InteractionSid    string         `json:"interaction_sid"`
	ChannelSid        string         `json:"channel_sid"`
	URL               string         `json:"url"`
	RoutingProperties map[string]any `json:"routing_properties"`
}

func participantView(r *http.Request, pt *participant) participantJSON {
	return participantJSON{
		Sid:               pt.Sid,
		Type:              pt.Type,
		InteractionSid:    pt.InteractionSid,
		ChannelSid:        pt.ChannelSid,
		URL:               core.ResourceURL(r, "/v1/Interactions/"+pt.InteractionSid+"/Channels/"+pt.ChannelSid+"/Participants/"+pt.Sid),
		RoutingProperties: pt.routingProperties(),
	}
}

// routingProperties is what Twilio shows: the create request's object, else
// the task, worker and reservation of an agent Flex added, else null.
func (pt *participant) routingProperties() map[string]any {
	if pt.RoutingProperties != nil {
		return pt.RoutingProperties
	}
	if pt.TaskSid == "" {
		return nil
	}
	return map[string]any{"task_sid": pt.TaskSid, "worker_sid": pt.WorkerSid, "reservation_sid": pt.ReservationSid}
}
