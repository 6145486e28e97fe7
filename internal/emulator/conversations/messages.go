package conversations

import (
	"net/http"
	"slices"
	"time"

	"github.com/flexhooks/flexhooks/internal/emulator/core"
)

// MessageParams adds a message from another product. Source says where it
// came from (SMS, WHATSAPP, MESSENGER, SDK, API…); anything but API fires the
// webhooks, as Twilio does for messages that do not come from the REST API,
// and WebhooksEnabled makes an API message fire them too (the
// X-Twilio-Webhook-Enabled header).
type MessageParams struct {
	Author          string
	Body            string
	Attributes      string
	Source          string
	WebhooksEnabled bool
}

// AddMessage appends a message: it wakes an inactive conversation, restarts
// the timers, and sends onMessageAdded per the rule above. A closed
// conversation refuses it with 50377.
func (s *Store) AddMessage(conversationSid string, p MessageParams) (*Message, *core.Error) {
	c := s.convs[conversationSid]
	if c == nil {
		return nil, notFound("Conversations", conversationSid)
	}
	if p.Source == "" {
		p.Source = "API"
	}
	return s.addMessage(c, newMessage{MessageParams: p}, p.Source != "API" || p.WebhooksEnabled)
}

type newMessage struct {
	MessageParams
	HasMedia    bool
	DateCreated time.Time
	DateUpdated time.Time
}

func (s *Store) addMessage(c *Conversation, n newMessage, notify bool) (*Message, *core.Error) {
	if c.State == "closed" {
		return nil, errClosed(c.Sid)
	}
	if err := validAttributes("Attributes", n.Attributes); err != nil {
		return nil, err
	}
	if n.Body == "" && !n.HasMedia {
		return nil, core.Required("Body")
	}
	if n.Attributes == "" {
		n.Attributes = "{}"
	}
	if n.Author == "" {
		n.Author = "system"
	}
	now := s.env.Now()
	m := &Message{
		Sid:             core.NewSID("IM"),
		ConversationSid: c.Sid,
		Author:          n.Author,
		Body:            n.Body,
		Attributes:      n.Attributes,
		Source:          n.Source,
		Index:           c.nextIndex,
		DateCreated:     now,
		DateUpdated:     now,
	}
	if !n.DateCreated.IsZero() {
		m.DateCreated = n.DateCreated
	}
	if !n.DateUpdated.IsZero() {
		m.DateUpdated = n.DateUpdated
	}
	for _, pt := range c.participants {
		if pt.Identity != "" && pt.Identity == m.Author || pt.Address != "" && pt.Address == m.Author {
			m.ParticipantSid = pt.Sid
			break
		}
	}
	c.nextIndex++
	c.messages = append(c.messages, m)
	// A message wakes an inactive conversation (documented). Whether it also
	// restarts an active one's timers is not: a behaviour switch.
	if c.State == "inactive" {
		s.setState(c, "active", "EVENT", notify, n.Source)
	} else if s.env.Behaviour.InactiveTimerRestartsOnMessage {
		s.armTimers(c)
	}
	if notify {
		s.emit(c, evMessageAdded, messageParams(m, n.Source), m)
	}
	return m, nil
}

func (s *Store) messageOf(r *http.Request) (*Conversation, *Message, *core.Error) {
	return itemOf(s, r, "Messages", func(c *Conversation, id string) *Message { return bySid(c.messages, id) })
}

// --- REST handlers ---

func (s *Store) handleCreateMessage(w http.ResponseWriter, r *http.Request) *core.Error {
	c, f, err := s.conversationForm(r)
	if err != nil {
		return err
	}
	n := newMessage{
		MessageParams: MessageParams{Author: f.Get("Author"), Body: f.Get("Body"), Attributes: f.Get("Attributes"), Source: "API"},
		// Media is not emulated; a MediaSid or ContentSid only stands in for a body.
		HasMedia: f.Get("MediaSid") != "" || f.Get("ContentSid") != "",
	}
	if n.DateCreated, n.DateUpdated, err = parseDates(f); err != nil {
		return err
	}
	m, err := s.addMessage(c, n, webhookEnabled(r))
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusCreated, s.messageJSON(c, m))
	return nil
}

func (s *Store) handleListMessages(w http.ResponseWriter, r *http.Request) *core.Error {
	c, f, err := s.conversationForm(r)
	if err != nil {
		return err
	}
	msgs := slices.Clone(c.messages)
	switch f.Get("Order") {
	case "", "asc":
	case "desc":
		slices.Reverse(msgs)
	default:
		return core.BadParam("Order", "must be asc or desc")
	}
	return writeItems(w, r, "messages", c, msgs, s.messageJSON)
}

func (s *Store) handleFetchMessage(w http.ResponseWriter, r *http.Request) *core.Error {
	return fetchItem(w, r, s.messageOf, s.messageJSON)
}

func (s *Store) handleUpdateMessage(w http.ResponseWriter, r *http.Request) *core.Error {
	c, m, err := s.messageOf(r)
	if err != nil {
		return err
	}
	f, err := updateForm(r, c)
	if err != nil {
		return err
	}
	dc, du, err := parseDates(f)
	if err != nil {
		return err
	}
	if f.Has("Author") && f.Get("Author") != "" {
		m.Author = f.Get("Author")
	}
	if f.Has("Body") {
		m.Body = f.Get("Body")
	}
	setAttributes(f, &m.Attributes)
	s.stamp(&m.DateCreated, &m.DateUpdated, dc, du)
	if webhookEnabled(r) {
		s.emit(c, evMessageUpdated, messageParams(m, "API"), m)
	}
	core.WriteJSON(w, http.StatusOK, s.messageJSON(c, m))
	return nil
}

func (s *Store) handleDeleteMessage(w http.ResponseWriter, r *http.Request) *core.Error {
	c, m, err := s.messageOf(r)
	if err != nil {
		return err
	}
	c.messages = slices.DeleteFunc(c.messages, func(x *Message) bool { return x == m })
	if webhookEnabled(r) {
		s.emit(c, evMessageRemoved, messageParams(m, "API"), m)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Store) messageJSON(c *Conversation, m *Message) map[string]any {
	u := apiBase + s.conversationPath(c) + "/Messages/" + m.Sid
	return map[string]any{
		"account_sid":      s.env.AccountSID,
		"conversation_sid": c.Sid,
		"sid":              m.Sid,
		"index":            m.Index,
		"author":           nullable(m.Author),
		"body":             nullable(m.Body),
		"media":            nil,
		"attributes":       m.Attributes,
		"participant_sid":  nullable(m.ParticipantSid),
		"date_created":     core.ISO(m.DateCreated),
		"date_updated":     core.ISO(m.DateUpdated),
		"url":              u,
		"delivery":         nil,
		"links": map[string]string{
			"delivery_receipts": u + "/Receipts",
			"channel_metadata":  u + "/ChannelMetadata",
		},
		"content_sid": nil,
	}
}
