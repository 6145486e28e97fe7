package conversations

import (
	"net/http"
	"slices"
	"time"

	"github.com/flexhooks/flexhooks/internal/emulator/core"
)

// ParticipantParams adds a participant from another product: a chat
// Identity, or a messaging binding Address + ProxyAddress.
type ParticipantParams struct {
	Identity     string
	Address      string
	ProxyAddress string
	Attributes   string
}

// AddParticipant adds a participant to a conversation with Twilio's checks
// (50377 closed, 50433 identity taken, 50416 binding in another open
// conversation). Like a REST create without X-Twilio-Webhook-Enabled, it
// sends no webhook.
func (s *Store) AddParticipant(conversationSid string, p ParticipantParams) (*Participant, *core.Error) {
	c := s.convs[conversationSid]
	if c == nil {
		return nil, notFound("Conversations", conversationSid)
	}
	return s.addParticipant(c, newParticipant{ParticipantParams: p})
}

// RemoveParticipantByIdentity removes the participant with that identity;
// it does nothing when there is none.
func (s *Store) RemoveParticipantByIdentity(conversationSid, identity string) *core.Error {
	c := s.convs[conversationSid]
	if c == nil {
		return notFound("Conversations", conversationSid)
	}
	if pt := participantByIdentity(c, identity); pt != nil {
		s.removeParticipant(c, pt, false)
	}
	return nil
}

// OpenConversationFor returns the non-closed conversation holding the binding
// address+proxyAddress, or, when proxyAddress is "", the chat identity
// address; nil if none. Twilio allows at most one such conversation per
// binding, which is what makes this well defined.
func (s *Store) OpenConversationFor(address, proxyAddress string) *Conversation {
	for i := len(s.order) - 1; i >= 0; i-- {
		c := s.order[i]
		if c.State == "closed" {
			continue
		}
		for _, pt := range c.participants {
			if proxyAddress == "" && pt.Identity == address && address != "" ||
				proxyAddress != "" && pt.Address == address && pt.ProxyAddress == proxyAddress {
				return c
			}
		}
	}
	return nil
}

type newParticipant struct {
	ParticipantParams
	RoleSid     string
	DateCreated time.Time
	DateUpdated time.Time
}

func (s *Store) addParticipant(c *Conversation, n newParticipant) (*Participant, *core.Error) {
	if c.State == "closed" {
		return nil, errClosed(c.Sid)
	}
	if n.Identity == "" && n.Address == "" {
		return nil, core.Errf(http.StatusBadRequest, core.CodeInvalidParameter, "Either Identity or MessagingBinding.Address must be specified")
	}
	if n.Address != "" && n.ProxyAddress == "" {
		return nil, core.Required("MessagingBinding.ProxyAddress")
	}
	if err := validAttributes("Attributes", n.Attributes); err != nil {
		return nil, err
	}
	if n.RoleSid != "" && !core.ValidSID("RL", n.RoleSid) {
		return nil, core.BadParam("RoleSid", "must be a Role SID (RL…)")
	}
	if n.Identity != "" && participantByIdentity(c, n.Identity) != nil {
		return nil, core.Errf(http.StatusConflict, codeIdentityTaken, "Participant already exists")
	}
	if n.Address != "" {
		if other := s.OpenConversationFor(n.Address, n.ProxyAddress); other != nil {
			return nil, core.Errf(http.StatusConflict, codeBindingTaken,
				"A binding for this participant and proxy address already exists in Conversation %s", other.Sid)
		}
	}
	if n.Attributes == "" {
		n.Attributes = "{}"
	}
	now := s.env.Now()
	pt := &Participant{
		Sid:             core.NewSID("MB"),
		ConversationSid: c.Sid,
		Identity:        n.Identity,
		Address:         n.Address,
		ProxyAddress:    n.ProxyAddress,
		Attributes:      n.Attributes,
		RoleSid:         n.RoleSid,
		DateCreated:     now,
		DateUpdated:     now,
	}
	if !n.DateCreated.IsZero() {
		pt.DateCreated = n.DateCreated
	}
	if !n.DateUpdated.IsZero() {
		pt.DateUpdated = n.DateUpdated
	}
	c.participants = append(c.participants, pt)
	return pt, nil
}

func (s *Store) removeParticipant(c *Conversation, pt *Participant, notify bool) {
	c.participants = slices.DeleteFunc(c.participants, func(x *Participant) bool { return x == pt })
	if notify {
		s.emit(c, evParticipantRemoved, participantParams(pt, "API"), nil)
	}
}

func participantByIdentity(c *Conversation, identity string) *Participant {
	if identity == "" {
		return nil
	}
	for _, pt := range c.participants {
		if pt.Identity == identity {
			return pt
		}
	}
	return nil
}

// participantOf resolves {ItemSid}, which Twilio accepts as SID or identity.
func (s *Store) participantOf(r *http.Request) (*Conversation, *Participant, *core.Error) {
	return itemOf(s, r, "Participants", func(c *Conversation, id string) *Participant {
		if pt := bySid(c.participants, id); pt != nil {
			return pt
		}
		return participantByIdentity(c, id)
	})
}

// --- REST handlers ---

func (s *Store) handleCreateParticipant(w http.ResponseWriter, r *http.Request) *core.Error {
	c, f, err := s.conversationForm(r)
	if err != nil {
		return err
	}
	n := newParticipant{
		ParticipantParams: ParticipantParams{
			Identity:     f.Get("Identity"),
			Address:      f.Get("MessagingBinding.Address"),
			ProxyAddress: f.Get("MessagingBinding.ProxyAddress"),
			Attributes:   f.Get("Attributes"),
		},
		RoleSid: f.Get("RoleSid"),
	}
	// A projected address makes a chat participant of a group MMS: it is
	// recorded as the participant's proxy address.
	if pa := f.Get("MessagingBinding.ProjectedAddress"); pa != "" && n.Address == "" {
		if n.Identity == "" {
			return core.Required("Identity")
		}
		n.ProxyAddress = pa
	}
	if n.DateCreated, n.DateUpdated, err = parseDates(f); err != nil {
		return err
	}
	pt, err := s.addParticipant(c, n)
	if err != nil {
		return err
	}
	if webhookEnabled(r) {
		s.emit(c, evParticipantAdded, participantParams(pt, "API"), nil)
	}
	core.WriteJSON(w, http.StatusCreated, s.participantJSON(c, pt))
	return nil
}

func (s *Store) handleListParticipants(w http.ResponseWriter, r *http.Request) *core.Error {
	return listItems(s, w, r, "participants", func(c *Conversation) []*Participant { return c.participants }, s.participantJSON)
}

func (s *Store) handleFetchParticipant(w http.ResponseWriter, r *http.Request) *core.Error {
	return fetchItem(w, r, s.participantOf, s.participantJSON)
}

func (s *Store) handleUpdateParticipant(w http.ResponseWriter, r *http.Request) *core.Error {
	c, pt, err := s.participantOf(r)
	if err != nil {
		return err
	}
	f, err := updateForm(r, c)
	if err != nil {
		return err
	}
	if rs := f.Get("RoleSid"); rs != "" && !core.ValidSID("RL", rs) {
		return core.BadParam("RoleSid", "must be a Role SID (RL…)")
	}
	lastRead, err := f.Int("LastReadMessageIndex", -1)
	if err != nil {
		return err
	}
	if id := f.Get("Identity"); id != "" && id != pt.Identity {
		if pt.Identity != "" {
			return core.Errf(http.StatusBadRequest, 50444, "Failed to add an identity to a participant: it already has one")
		}
		if participantByIdentity(c, id) != nil {
			return core.Errf(http.StatusConflict, codeIdentityTaken, "Participant already exists")
		}
	}
	dc, du, err := parseDates(f)
	if err != nil {
		return err
	}
	setAttributes(f, &pt.Attributes)
	if id := f.Get("Identity"); id != "" {
		pt.Identity = id
	}
	if rs := f.Get("RoleSid"); rs != "" {
		pt.RoleSid = rs
	}
	if pa := f.Get("MessagingBinding.ProxyAddress"); pa != "" && pt.Address != "" {
		pt.ProxyAddress = pa
	}
	if f.Has("LastReadMessageIndex") {
		if lastRead < 0 {
			pt.LastReadMessageIndex = nil
		} else {
			pt.LastReadMessageIndex = &lastRead
		}
	}
	if f.Has("LastReadTimestamp") {
		pt.LastReadTimestamp = f.Get("LastReadTimestamp")
	}
	s.stamp(&pt.DateCreated, &pt.DateUpdated, dc, du)
	if webhookEnabled(r) {
		s.emit(c, evParticipantUpdated, participantParams(pt, "API"), nil)
	}
	core.WriteJSON(w, http.StatusOK, s.participantJSON(c, pt))
	return nil
}

func (s *Store) handleDeleteParticipant(w http.ResponseWriter, r *http.Request) *core.Error {
	c, pt, err := s.participantOf(r)
	if err != nil {
		return err
	}
	s.removeParticipant(c, pt, webhookEnabled(r))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Store) participantJSON(c *Conversation, pt *Participant) map[string]any {
	var binding any
	if pt.Address != "" {
		binding = map[string]any{"type": bindingType(pt.Address), "address": pt.Address, "proxy_address": pt.ProxyAddress}
	} else if pt.ProxyAddress != "" {
		binding = map[string]any{"type": "sms", "projected_address": pt.ProxyAddress}
	}
	var lastRead any
	if pt.LastReadMessageIndex != nil {
		lastRead = *pt.LastReadMessageIndex
	}
	return map[string]any{
		"account_sid":             s.env.AccountSID,
		"chat_service_sid":        c.ServiceSid,
		"conversation_sid":        c.Sid,
		"sid":                     pt.Sid,
		"identity":                nullable(pt.Identity),
		"attributes":              pt.Attributes,
		"messaging_binding":       binding,
		"role_sid":                nullable(pt.RoleSid),
		"date_created":            core.ISO(pt.DateCreated),
		"date_updated":            core.ISO(pt.DateUpdated),
		"url":                     apiBase + s.conversationPath(c) + "/Participants/" + pt.Sid,
		"last_read_message_index": lastRead,
		"last_read_timestamp":     nullable(pt.LastReadTimestamp),
	}
}
