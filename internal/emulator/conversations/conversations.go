package conversations

import (
	"net/http"
	"slices"
	"time"

	"github.com/flexhooks/flexhooks/internal/emulator/core"
)

// ConversationParams creates a conversation from another product (the Flex
// glue); ServiceSid "" means the default service.
type ConversationParams struct {
	ServiceSid   string
	FriendlyName string
	UniqueName   string
	Attributes   string
}

// CreateConversation creates an active conversation. Like a REST create
// without X-Twilio-Webhook-Enabled, it sends no webhook.
func (s *Store) CreateConversation(p ConversationParams) (*Conversation, *core.Error) {
	return s.createConversation(newConversation{ConversationParams: p, State: "active"})
}

type newConversation struct {
	ConversationParams
	State               string
	MessagingServiceSid string
	InactiveAfter       time.Duration
	ClosedAfter         time.Duration
	DateCreated         time.Time
	DateUpdated         time.Time
}

func (s *Store) createConversation(n newConversation) (*Conversation, *core.Error) {
	if n.ServiceSid == "" {
		n.ServiceSid = s.defaultService
	}
	if s.services[n.ServiceSid] == nil {
		return nil, notFound("Services", n.ServiceSid)
	}
	if err := validAttributes("Attributes", n.Attributes); err != nil {
		return nil, err
	}
	if n.Attributes == "" {
		n.Attributes = "{}"
	}
	switch n.State {
	case "":
		n.State = "active"
	case "active", "inactive":
	case "closed":
		return nil, core.Errf(http.StatusBadRequest, codeInitialClosed, "Initial state can't be 'closed'")
	default:
		return nil, core.BadParam("State", "must be active or inactive")
	}
	if n.UniqueName != "" && s.conversation(n.ServiceSid, n.UniqueName) != nil {
		return nil, core.Errf(http.StatusConflict, codeUniqueNameTaken, "Conversation with provided unique name already exists")
	}
	now := s.env.Now()
	c := &Conversation{
		Sid:                 core.NewSID("CH"),
		ServiceSid:          n.ServiceSid,
		MessagingServiceSid: n.MessagingServiceSid,
		FriendlyName:        n.FriendlyName,
		UniqueName:          n.UniqueName,
		State:               n.State,
		Attributes:          n.Attributes,
		DateCreated:         now,
		DateUpdated:         now,
		InactiveAfter:       n.InactiveAfter,
		ClosedAfter:         n.ClosedAfter,
	}
	if !n.DateCreated.IsZero() {
		c.DateCreated = n.DateCreated
	}
	if !n.DateUpdated.IsZero() {
		c.DateUpdated = n.DateUpdated
	}
	s.convs[c.Sid] = c
	s.order = append(s.order, c)
	s.armTimers(c)
	return c, nil
}

// Close moves the conversation to its final closed state, as Flex does when
// an interaction channel is closed, and sends onConversationStateUpdated
// (Reason API). Closing a closed conversation does nothing.
func (s *Store) Close(conversationSid string) *core.Error {
	c := s.convs[conversationSid]
	if c == nil {
		return notFound("Conversations", conversationSid)
	}
	s.setState(c, "closed", "API", true, "API")
	return nil
}

func (s *Store) deleteConversation(c *Conversation, notify bool) {
	if notify {
		s.emit(c, evConversationRemoved, conversationParams(c, "API"), nil)
	}
	s.stopTimers(c)
	delete(s.convs, c.Sid)
	s.order = slices.DeleteFunc(s.order, func(x *Conversation) bool { return x == c })
}

// parseDate reads the optional DateCreated/DateUpdated/StartDate parameters
// (ISO 8601, or a plain date for list filters).
func parseDate(f core.Params, name string) (time.Time, *core.Error) {
	v := f.Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, core.BadParam(name, "must be an ISO 8601 date")
}

// readState reads the optional State parameter of an update or a list filter.
func readState(f core.Params) (string, *core.Error) {
	state := f.Get("State")
	switch state {
	case "", "active", "inactive", "closed":
		return state, nil
	default:
		return "", core.BadParam("State", "must be active, inactive or closed")
	}
}

// --- REST handlers ---

func (s *Store) handleCreateConversation(w http.ResponseWriter, r *http.Request) *core.Error {
	svc, err := s.serviceOf(r)
	if err != nil {
		return err
	}
	f, err := core.Form(r)
	if err != nil {
		return err
	}
	n := newConversation{
		ConversationParams: ConversationParams{
			ServiceSid: svc, FriendlyName: f.Get("FriendlyName"), UniqueName: f.Get("UniqueName"), Attributes: f.Get("Attributes"),
		},
		State:               f.Get("State"),
		MessagingServiceSid: f.Get("MessagingServiceSid"),
	}
	if n.MessagingServiceSid != "" && !core.ValidSID("MG", n.MessagingServiceSid) {
		return core.BadParam("MessagingServiceSid", "must be a Messaging Service SID (MG…)")
	}
	if n.InactiveAfter, n.ClosedAfter, _, _, err = parseTimers(f); err != nil {
		return err
	}
	if n.DateCreated, n.DateUpdated, err = parseDates(f); err != nil {
		return err
	}
	c, err := s.createConversation(n)
	if err != nil {
		return err
	}
	if webhookEnabled(r) {
		s.emit(c, evConversationAdded, conversationParams(c, "API"), nil)
	}
	core.WriteJSON(w, http.StatusCreated, s.conversationJSON(c))
	return nil
}

func (s *Store) handleFetchConversation(w http.ResponseWriter, r *http.Request) *core.Error {
	c, err := s.conversationOf(r)
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, s.conversationJSON(c))
	return nil
}

func (s *Store) handleUpdateConversation(w http.ResponseWriter, r *http.Request) *core.Error {
	c, err := s.conversationOf(r)
	if err != nil {
		return err
	}
	// Validate everything before changing anything, so a 400 leaves no trace.
	f, err := updateForm(r, c)
	if err != nil {
		return err
	}
	state, err := readState(f)
	if err != nil {
		return err
	}
	inactive, closed, setInactive, setClosed, err := parseTimers(f)
	if err != nil {
		return err
	}
	if ms := f.Get("MessagingServiceSid"); ms != "" && !core.ValidSID("MG", ms) {
		return core.BadParam("MessagingServiceSid", "must be a Messaging Service SID (MG…)")
	}
	dc, du, err := parseDates(f)
	if err != nil {
		return err
	}
	if f.Has("UniqueName") && f.Get("UniqueName") != "" && f.Get("UniqueName") != c.UniqueName {
		if s.conversation(c.ServiceSid, f.Get("UniqueName")) != nil {
			return core.Errf(http.StatusConflict, codeUniqueNameTaken, "Conversation with provided unique name already exists")
		}
	}

	if f.Has("FriendlyName") {
		c.FriendlyName = f.Get("FriendlyName")
	}
	if f.Has("UniqueName") {
		c.UniqueName = f.Get("UniqueName")
	}
	setAttributes(f, &c.Attributes)
	if ms := f.Get("MessagingServiceSid"); ms != "" {
		c.MessagingServiceSid = ms
	}
	if !dc.IsZero() {
		c.DateCreated = dc
	}
	c.DateUpdated = s.env.Now()
	notify := webhookEnabled(r)
	if setInactive {
		c.InactiveAfter = inactive
	}
	if setClosed {
		c.ClosedAfter = closed
	}
	if state != "" && state != c.State {
		s.setState(c, state, "API", notify, "API")
	}
	if (setInactive || setClosed) && c.State != "closed" {
		// New timer values restart the timers from now.
		s.armTimers(c)
	}
	if !du.IsZero() {
		c.DateUpdated = du
	}
	if notify {
		s.emit(c, evConversationUpdated, conversationParams(c, "API"), nil)
	}
	core.WriteJSON(w, http.StatusOK, s.conversationJSON(c))
	return nil
}

func (s *Store) handleDeleteConversation(w http.ResponseWriter, r *http.Request) *core.Error {
	c, err := s.conversationOf(r)
	if err != nil {
		return err
	}
	s.deleteConversation(c, webhookEnabled(r))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Store) handleListConversations(w http.ResponseWriter, r *http.Request) *core.Error {
	svc, err := s.serviceOf(r)
	if err != nil {
		return err
	}
	f, err := core.Form(r)
	if err != nil {
		return err
	}
	state, err := readState(f)
	if err != nil {
		return err
	}
	start, err := parseDate(f, "StartDate")
	if err != nil {
		return err
	}
	end, err := parseDate(f, "EndDate")
	if err != nil {
		return err
	}
	items := []map[string]any{}
	for _, c := range s.order {
		if c.ServiceSid != svc || (state != "" && c.State != state) {
			continue
		}
		if !start.IsZero() && c.DateCreated.Before(start) {
			continue
		}
		// EndDate is inclusive of its whole day when given as a date.
		if !end.IsZero() && !c.DateCreated.Before(end.Add(24*time.Hour)) {
			continue
		}
		items = append(items, s.conversationJSON(c))
	}
	core.WriteList(w, r, items, "conversations")
	return nil
}

// --- JSON ---

const apiBase = "https://conversations.twilio.com"

func (s *Store) conversationPath(c *Conversation) string {
	if c.ServiceSid == s.defaultService {
		return "/v1/Conversations/" + c.Sid
	}
	return "/v1/Services/" + c.ServiceSid + "/Conversations/" + c.Sid
}

func nullable(v string) any {
	if v == "" {
		return nil
	}
	return v
}

func (s *Store) conversationJSON(c *Conversation) map[string]any {
	u := apiBase + s.conversationPath(c)
	timers := map[string]any{}
	if !c.DateInactive.IsZero() {
		timers["date_inactive"] = core.ISO(c.DateInactive)
	}
	if !c.DateClosed.IsZero() {
		timers["date_closed"] = core.ISO(c.DateClosed)
	}
	return map[string]any{
		"account_sid":           s.env.AccountSID,
		"chat_service_sid":      c.ServiceSid,
		"messaging_service_sid": nullable(c.MessagingServiceSid),
		"sid":                   c.Sid,
		"friendly_name":         nullable(c.FriendlyName),
		"unique_name":           nullable(c.UniqueName),
		"attributes":            c.Attributes,
		"state":                 c.State,
		"date_created":          core.ISO(c.DateCreated),
		"date_updated":          core.ISO(c.DateUpdated),
		"timers":                timers,
		"url":                   u,
		"links": map[string]string{
			"participants": u + "/Participants",
			"messages":     u + "/Messages",
			"webhooks":     u + "/Webhooks",
		},
		"bindings": nil,
	}
}
